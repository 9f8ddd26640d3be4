"""GET /api/auth/activity: the user's own log, newest first, paged like getAll."""

import tracemalloc
from datetime import timedelta

import pytest
from bson import ObjectId

from app.service import Client
from app.storage import ACTIVITY
from config import ConfigError, Settings
from helpers import PASSWORD, AuthActions, bearer

ENTRY_FIELDS = {"activity", "time", "ip", "userAgent"}
LOGIN_FIELDS = ENTRY_FIELDS | {"method"}  # how the login signed in
FIRST_WORKER, SECOND_WORKER = b"\xff" * 5, b"\x00" * 5  # the second's ids sort before the first's


def activity(client, tokens, **query):
    response = client.get("/api/auth/activity", query_string=query, headers=bearer(tokens["authToken"]))
    assert response.status_code == 200, response.json
    return response.json


def test_the_log_lists_what_the_user_did_newest_first(auth, client, clock):
    auth.signup()
    clock.advance(1)
    phone = auth.login(**{"User-Agent": "Phone/1"}).json
    tablet = auth.login(**{"User-Agent": "Tablet/1"}).json
    client.post("/api/auth/logout", json={"refreshToken": tablet["refreshToken"]})
    auth.login()
    laptop_id = next(
        session["id"]
        for session in client.get("/api/auth/sessions", headers=bearer(phone["authToken"])).json["sessions"]
        if not session["current"]
    )
    client.delete(f"/api/auth/sessions/{laptop_id}", headers=bearer(phone["authToken"]))
    body = {"currentPassword": PASSWORD, "newPassword": "another passphrase"}
    client.post("/api/auth/changePassword", json=body, headers=bearer(phone["authToken"]))
    client.post("/api/auth/logoutAll", headers=bearer(phone["authToken"]))
    names = [entry["activity"] for entry in activity(client, phone)["activity"]]
    assert names == [
        "logoutAll",
        "passwordChanged",
        "sessionEnded",
        "login",
        "logout",
        "login",
        "login",
        "signup",
    ]


def test_each_entry_shows_what_when_and_from_where(auth, client, clock):
    auth.signup()
    clock.advance(5)
    tokens = auth.login(**{"User-Agent": "MyApp/2.0"}).json
    entry = activity(client, tokens)["activity"][0]
    assert set(entry) == LOGIN_FIELDS
    assert entry["activity"] == "login"
    assert entry["method"] == "password"
    assert entry["time"] == clock().isoformat(timespec="milliseconds") + "Z"
    assert entry["ip"] == "127.0.0.1"
    assert entry["userAgent"] == "MyApp/2.0"


def test_a_user_never_sees_another_users_log(auth, client):
    ada = auth.tokens("ada@example.com")
    bob = auth.tokens("bob@example.com")
    client.post("/api/auth/logoutAll", headers=bearer(bob["authToken"]))
    names = [entry["activity"] for entry in activity(client, ada)["activity"]]
    assert names == ["login", "signup"]


def test_the_cap_ending_a_session_is_in_the_log(make_app):
    client = make_app(max_sessions_per_user=1).test_client()
    auth = AuthActions(client)
    auth.signup()
    auth.login()
    tokens = auth.login().json
    names = [entry["activity"] for entry in activity(client, tokens)["activity"]]
    assert names[:2] == ["sessionLimit", "login"]


def test_pages_follow_the_cursor_newest_first_until_next_is_null(auth, client, storage, clock):
    tokens = auth.tokens()
    user_id = tokens["user"]["id"]
    for number in range(23):
        clock.advance(1)
        storage.activity.add(user_id, f"event{number}", clock(), "10.0.0.1", "Test")
    seen, cursor = [], None
    while True:
        body = activity(client, tokens, limit=10, **({"after": cursor} if cursor else {}))
        seen += [entry["activity"] for entry in body["activity"]]
        cursor = body["next"]
        if cursor is None:
            break
        assert len(body["activity"]) == 10
    assert seen == [f"event{number}" for number in reversed(range(23))] + ["login", "signup"]


def test_the_default_page_is_100_entries(auth, client, storage, clock):
    tokens = auth.tokens()
    for number in range(120):
        storage.activity.add(tokens["user"]["id"], f"event{number}", clock(), None, None)
    body = activity(client, tokens)
    assert len(body["activity"]) == 100
    assert body["next"] is not None


def test_a_full_last_page_says_there_is_no_next(auth, client):
    body = activity(client, auth.tokens(), limit=2)
    assert len(body["activity"]) == 2
    assert body["next"] is None


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"after": "nope"}, {"after": "z" * 24}],
)
def test_bad_paging_parameters_are_a_400(auth, client, query):
    tokens = auth.tokens()
    response = client.get("/api/auth/activity", query_string=query, headers=bearer(tokens["authToken"]))
    assert response.status_code == 400
    assert response.json["success"] is False
    assert response.json["errors"]


def test_another_users_cursor_shows_only_the_users_own_entries(auth, client):
    ada = auth.tokens("ada@example.com")
    bob = auth.tokens("bob@example.com")
    bobs_cursor = activity(client, bob, limit=1)["next"]
    names = [entry["activity"] for entry in activity(client, ada, after=bobs_cursor)["activity"]]
    assert names == ["login", "signup"]


# Nothing a client sends grows without bound.

HUGE_USER_AGENT = "Mozilla/5.0 " + "x" * 200_000


def test_a_huge_user_agent_is_stored_capped_in_the_session_and_the_activity_log(auth, client, storage):
    tokens = auth.tokens()
    auth.login(**{"User-Agent": HUGE_USER_AGENT})
    stored = [*storage.db["Sessions"].find({}), *storage.db["LoginActivity"].find({})]
    assert max(len(document.get("userAgent") or "") for document in stored) == 512
    sessions = client.get("/api/auth/sessions", headers=bearer(tokens["authToken"])).json["sessions"]
    [shown] = [session["userAgent"] for session in sessions if session["userAgent"].startswith("Mozilla")]
    assert shown == HUGE_USER_AGENT[:512]


def test_a_full_page_of_activity_made_with_huge_user_agents_stays_small(app, auth, client):
    tokens = auth.tokens()
    service = app.extensions["auth_service"]
    user_id = tokens["user"]["id"]
    for _ in range(200):  # as 200 logins with a 200 KB User-Agent would leave it
        service.activity.log(
            user_id, "login", Client("2001:db8::" + "f" * 100, HUGE_USER_AGENT), service.clock()
        )
    tracemalloc.start()
    try:
        response = client.get(
            "/api/auth/activity", query_string={"limit": 1000}, headers=bearer(tokens["authToken"])
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(response.json["activity"]) == 202
    assert len(response.get_data()) < 202 * 700, (
        "each entry: at most a 512-character agent and a 64-character address"
    )
    assert peak < 10 * 2**20, f"the request took {peak / 2**20:.0f} MiB"


def test_activity_entries_expire_through_a_ttl_index_of_activity_ttl_days(make_app):
    def time_index(app):
        indexes = app.extensions["auth_service"].storage.db["LoginActivity"].index_information().values()
        return [index for index in indexes if index["key"] == [("time", 1)]]

    app = make_app()
    [index] = time_index(app)
    assert index["expireAfterSeconds"] == 365 * 24 * 3600
    storage = app.extensions["auth_service"].storage
    storage.keep_activity_for = timedelta(days=30)  # restarted with ACTIVITY_TTL_DAYS=30
    storage.ensure_indexes()
    [index] = time_index(app)
    assert index["expireAfterSeconds"] == 30 * 24 * 3600


def test_activity_ttl_days_is_a_setting():
    assert Settings.from_env({}).store.activity_ttl_days == 365
    assert Settings.from_env({"ACTIVITY_TTL_DAYS": "90"}).store.activity_ttl_days == 90
    with pytest.raises(ConfigError, match="ACTIVITY_TTL_DAYS"):
        Settings.from_env({"ACTIVITY_TTL_DAYS": "0"})


def test_entries_two_worker_processes_wrote_in_one_second_come_newest_first(auth, client, clock, processes):
    processes.switch_to(FIRST_WORKER)
    auth.signup()
    clock.advance(0.3)
    processes.switch_to(SECOND_WORKER)
    tokens = auth.login().json
    clock.advance(0.3)
    processes.switch_to(FIRST_WORKER)
    client.post("/api/auth/logoutAll", headers=bearer(tokens["authToken"]))
    names = [entry["activity"] for entry in activity(client, tokens)["activity"]]
    assert names == ["logoutAll", "login", "signup"]


def test_pages_over_entries_of_two_workers_miss_and_repeat_nothing(auth, client, storage, clock, processes):
    tokens = auth.tokens()
    for number in range(7):
        clock.advance(0.1)
        processes.switch_to((FIRST_WORKER, SECOND_WORKER)[number % 2])
        storage.activity.add(tokens["user"]["id"], f"event{number}", clock(), None, None)
    clock.advance(0.1)  # and two in the same millisecond, which the ids order
    storage.activity.add(tokens["user"]["id"], "event7", clock(), None, None)
    storage.activity.add(tokens["user"]["id"], "event8", clock(), None, None)
    seen, cursor = [], None
    while True:
        body = activity(client, tokens, limit=2, **({"after": cursor} if cursor else {}))
        seen += [entry["activity"] for entry in body["activity"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == [f"event{number}" for number in reversed(range(9))] + ["login", "signup"]


def test_a_cursor_whose_entry_is_gone_pages_on_from_the_second_it_holds(auth, client, storage, clock):
    tokens = auth.tokens()
    for number in range(4):
        clock.advance(1)
        storage.activity.add(tokens["user"]["id"], f"event{number}", clock(), None, None)
    removed = storage.db[ACTIVITY].find_one_and_delete({"activity": "event2"})
    cursor = str(ObjectId.from_datetime(removed["time"]))
    body = activity(client, tokens, after=cursor)
    assert [entry["activity"] for entry in body["activity"]] == ["event1", "event0", "login", "signup"]


def test_storage_given_a_cursor_that_is_no_id_lists_nothing_rather_than_failing(auth, storage):
    user_id = auth.tokens()["user"]["id"]
    assert storage.activity.list(user_id, "not an id", 10) == []
    assert [entry["activity"] for entry in storage.activity.list(user_id, None, 10)] == ["login", "signup"]
