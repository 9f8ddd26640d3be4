"""GET /api/auth/activity: the user's own log, newest first, paged like getAll."""

import pytest
from bson import ObjectId

from app.storage import ACTIVITY
from helpers import PASSWORD, AuthActions, bearer

ENTRY_FIELDS = {"activity", "time", "ip", "userAgent"}
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
    laptop = auth.login().json
    laptop_id = next(
        session["id"]
        for session in client.get("/api/auth/sessions", headers=bearer(phone["authToken"])).json["sessions"]
        if not session["current"]
    )
    client.delete(f"/api/auth/sessions/{laptop_id}", headers=bearer(phone["authToken"]))
    body = {"currentPassword": PASSWORD, "newPassword": "another passphrase"}
    client.post("/api/auth/changePassword", json=body, headers=bearer(phone["authToken"]))
    client.post("/api/auth/logoutAll", headers=bearer(laptop["authToken"]))
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
    assert set(entry) == ENTRY_FIELDS
    assert entry["activity"] == "login"
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
        storage.log_activity(user_id, f"event{number}", clock(), "10.0.0.1", "Test")
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
        storage.log_activity(tokens["user"]["id"], f"event{number}", clock(), None, None)
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
        storage.log_activity(tokens["user"]["id"], f"event{number}", clock(), None, None)
    clock.advance(0.1)  # and two in the same millisecond, which the ids order
    storage.log_activity(tokens["user"]["id"], "event7", clock(), None, None)
    storage.log_activity(tokens["user"]["id"], "event8", clock(), None, None)
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
        storage.log_activity(tokens["user"]["id"], f"event{number}", clock(), None, None)
    removed = storage.db[ACTIVITY].find_one_and_delete({"activity": "event2"})
    cursor = str(ObjectId.from_datetime(removed["time"]))
    body = activity(client, tokens, after=cursor)
    assert [entry["activity"] for entry in body["activity"]] == ["event1", "event0", "login", "signup"]


def test_storage_given_a_cursor_that_is_no_id_lists_nothing_rather_than_failing(auth, storage):
    user_id = auth.tokens()["user"]["id"]
    assert storage.list_activity(user_id, "not an id", 10) == []
    assert [entry["activity"] for entry in storage.list_activity(user_id, None, 10)] == ["login", "signup"]
