"""Sessions a user can see and end: me, sessions, DELETE sessions/<id>, logout, logoutAll, the cap."""

import pytest

from app.storage import SESSIONS, USERS
from helpers import EXPIRED, INVALID, AuthActions, bearer, claims_of, refresh, sign_like

SESSION_FIELDS = {"id", "createdAt", "lastUsedAt", "expiresAt", "ip", "userAgent", "current"}
NOT_FOUND = {"success": False, "message": "There is no such session.", "code": "sessionNotFound"}


def devices(auth, clock, *agents: str) -> list[dict]:
    """Sign up Ada (if needed) and log her in once per user agent, a second apart; return the logins."""
    auth.signup()
    logins = []
    for agent in agents:
        clock.advance(1)
        logins.append(auth.login(**{"User-Agent": agent}).json)
    return logins


def list_sessions(client, tokens) -> list[dict]:
    response = client.get("/api/auth/sessions", headers=bearer(tokens["authToken"]))
    assert response.status_code == 200
    assert response.json["success"] is True
    return response.json["sessions"]


def end(client, tokens, session_id):
    return client.delete(f"/api/auth/sessions/{session_id}", headers=bearer(tokens["authToken"]))


def logout(client, token):
    return client.post("/api/auth/logout", json={"refreshToken": token})


# GET /me


def test_me_returns_the_public_user_of_the_access_token(auth, client):
    tokens = auth.tokens()
    response = client.get("/api/auth/me", headers=bearer(tokens["authToken"]))
    assert response.status_code == 200
    assert response.json == {"success": True, "user": tokens["user"]}


def test_me_shows_the_same_user_as_login_and_get_all(auth, client, clock):
    clock.advance(0.75)  # an account's creation time is the second its id holds
    tokens = auth.tokens()
    me = client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json["user"]
    listed = client.get("/api/auth/getAll", headers=bearer(tokens["authToken"])).json["message"]
    assert me == tokens["user"] == listed[0] | {"role": "user"}  # a role only for oneself or an admin
    assert me["createdAt"] == clock.now.replace(microsecond=0).isoformat(timespec="milliseconds") + "Z"


def test_me_reads_the_stored_user_so_a_removed_users_token_is_invalid_there(auth, client, storage):
    tokens = auth.tokens()
    assert client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json["user"] == tokens["user"]
    storage.db[USERS].delete_many({})
    response = client.get("/api/auth/me", headers=bearer(tokens["authToken"]))
    assert (response.status_code, response.json) == (403, INVALID)


def test_a_token_whose_subject_is_not_a_user_id_is_invalid_not_a_crash(auth, client):
    tokens = auth.tokens()
    forged = sign_like(tokens["authToken"], claims_of(tokens["authToken"]) | {"sub": "someone-else"})
    response = client.get("/api/auth/me", headers=bearer(forged))
    assert response.status_code == 403
    assert response.json == INVALID


# GET /sessions


def test_sessions_lists_each_device_newest_first_with_the_current_one_marked(auth, client, clock):
    phone, tablet = devices(auth, clock, "Phone/1", "Tablet/1")
    sessions = list_sessions(client, phone)
    assert [session["userAgent"] for session in sessions] == ["Tablet/1", "Phone/1"]
    assert [session["current"] for session in sessions] == [False, True]
    assert all(set(session) == SESSION_FIELDS for session in sessions)
    assert sessions[1]["ip"] == "127.0.0.1"
    assert sessions[1]["createdAt"].endswith("Z") and sessions[1]["expiresAt"] > sessions[1]["createdAt"]


def test_sessions_opened_in_one_millisecond_are_listed_newest_first(auth, client):
    auth.signup()
    logins = [auth.login(**{"User-Agent": agent}).json for agent in ("One", "Two", "Three")]  # clock stands
    assert [session["userAgent"] for session in list_sessions(client, logins[0])] == ["Three", "Two", "One"]


def test_sessions_never_show_a_token_or_its_hash(auth, client, storage):
    tokens = auth.tokens()
    body = client.get("/api/auth/sessions", headers=bearer(tokens["authToken"])).get_data(as_text=True)
    stored_hash = storage.db[SESSIONS].find_one({})["tokenHash"]
    assert stored_hash not in body
    assert tokens["refreshToken"] not in body


def test_sessions_show_only_the_users_own(auth, client):
    ada = auth.tokens("ada@example.com")
    bob = auth.tokens("bob@example.com")
    assert len(list_sessions(client, ada)) == 1
    assert [session["current"] for session in list_sessions(client, bob)] == [True]
    assert list_sessions(client, ada)[0]["id"] != list_sessions(client, bob)[0]["id"]


def test_refreshing_updates_last_used(auth, client, clock):
    tokens = auth.tokens()
    before = list_sessions(client, tokens)[0]
    clock.advance(30)
    refresh(client, tokens["refreshToken"])
    after = list_sessions(client, tokens)[0]
    assert after["lastUsedAt"] > before["lastUsedAt"]
    assert after["createdAt"] == before["createdAt"]


# DELETE /sessions/<id>


def test_ending_a_session_by_id_refuses_its_refresh_token_and_keeps_the_others(auth, client, clock):
    phone, tablet = devices(auth, clock, "Phone/1", "Tablet/1")
    tablet_id = next(session["id"] for session in list_sessions(client, phone) if not session["current"])
    response = end(client, phone, tablet_id)
    assert response.status_code == 200
    assert response.json == {"success": True}
    assert refresh(client, tablet["refreshToken"]).json == EXPIRED
    assert refresh(client, phone["refreshToken"]).status_code == 200
    assert [session["userAgent"] for session in list_sessions(client, phone)] == ["Phone/1"]


def test_the_current_session_can_be_ended_by_id(auth, client):
    tokens = auth.tokens()
    current = list_sessions(client, tokens)[0]["id"]
    assert end(client, tokens, current).status_code == 200
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED


def test_another_users_session_is_as_not_found_as_an_unknown_one(auth, client):
    ada = auth.tokens("ada@example.com")
    bob = auth.tokens("bob@example.com")
    bobs_session = list_sessions(client, bob)[0]["id"]
    theirs = end(client, ada, bobs_session)
    unknown = end(client, ada, "no-such-session")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json == unknown.json == NOT_FOUND
    assert refresh(client, bob["refreshToken"]).status_code == 200


def test_ending_a_session_twice_finds_nothing_the_second_time(auth, client, clock):
    phone, tablet = devices(auth, clock, "Phone/1", "Tablet/1")
    tablet_id = list_sessions(client, tablet)[0]["id"]
    assert end(client, phone, tablet_id).status_code == 200
    assert end(client, phone, tablet_id).json == NOT_FOUND


@pytest.mark.parametrize("session_id", ["%24ne", "a" * 300, "{}"])
def test_odd_session_ids_are_simply_not_found(auth, client, session_id):
    response = end(client, auth.tokens(), session_id)
    assert response.status_code == 404
    assert response.json == NOT_FOUND


def test_a_session_cannot_be_read_by_id(auth, client):
    tokens = auth.tokens()
    session_id = list_sessions(client, tokens)[0]["id"]
    response = client.get(f"/api/auth/sessions/{session_id}", headers=bearer(tokens["authToken"]))
    assert response.status_code == 405
    assert response.json["success"] is False


# POST /logout


def test_logout_ends_that_session_only(auth, client, clock):
    phone, tablet = devices(auth, clock, "Phone/1", "Tablet/1")
    response = logout(client, phone["refreshToken"])
    assert response.status_code == 200
    assert response.json == {"success": True}
    assert refresh(client, phone["refreshToken"]).json == EXPIRED
    assert refresh(client, tablet["refreshToken"]).status_code == 200


def test_logout_needs_no_access_token(auth, client):
    tokens = auth.tokens()
    response = client.post(
        "/api/auth/logout", json={"refreshToken": tokens["refreshToken"]}, headers={"Authorization": "x"}
    )
    assert response.status_code == 200
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED


def test_logout_accepts_a_form_body(auth, client):
    tokens = auth.tokens()
    assert client.post("/api/auth/logout", data={"refreshToken": tokens["refreshToken"]}).status_code == 200
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED


def test_logout_is_idempotent(auth, client):
    tokens = auth.tokens()
    assert logout(client, tokens["refreshToken"]).json == {"success": True}
    assert logout(client, tokens["refreshToken"]).json == {"success": True}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_logout_with_a_token_of_no_session_is_already_done(client, token):
    assert logout(client, token).json == {"success": True}


def test_logout_with_an_access_token_ends_nothing(auth, client):
    tokens = auth.tokens()
    assert logout(client, tokens["authToken"]).status_code == 200
    assert refresh(client, tokens["refreshToken"]).status_code == 200


def test_logout_with_an_expired_refresh_token_is_already_done(auth, client, clock, app):
    tokens = auth.tokens()
    clock.advance(app.extensions["settings"].tokens.refresh_token_ttl + 1)
    assert logout(client, tokens["refreshToken"]).json == {"success": True}


@pytest.mark.parametrize("body", [{}, {"refreshToken": ""}, {"refreshToken": None}])
def test_logout_without_a_token_is_a_400(client, body):
    response = client.post("/api/auth/logout", json=body)
    assert response.status_code == 400
    assert response.json["message"] == "There is no refresh token to check."


@pytest.mark.parametrize("value", [{"$ne": None}, ["token"], 7])
def test_logout_with_a_token_that_is_not_a_string_is_a_400(auth, client, value):
    tokens = auth.tokens()
    assert logout(client, value).status_code == 400
    assert refresh(client, tokens["refreshToken"]).status_code == 200


# POST /logoutAll


def test_logout_all_ends_every_session_and_says_how_many(auth, client, clock):
    logins = devices(auth, clock, "Phone/1", "Tablet/1", "Laptop/1")
    response = client.post("/api/auth/logoutAll", headers=bearer(logins[0]["authToken"]))
    assert response.status_code == 200
    assert response.json == {"success": True, "revoked": 3}
    for tokens in logins:
        assert refresh(client, tokens["refreshToken"]).json == EXPIRED
    # Its own session has ended with the rest: the token no longer ends anything.
    assert client.post("/api/auth/logoutAll", headers=bearer(logins[0]["authToken"])).json == INVALID


def test_logout_all_leaves_other_users_alone(auth, client):
    ada = auth.tokens("ada@example.com")
    bob = auth.tokens("bob@example.com")
    assert client.post("/api/auth/logoutAll", headers=bearer(ada["authToken"])).json["revoked"] == 1
    assert refresh(client, bob["refreshToken"]).status_code == 200


def test_a_new_login_after_logout_all_works(auth, client):
    tokens = auth.tokens()
    client.post("/api/auth/logoutAll", headers=bearer(tokens["authToken"]))
    fresh = auth.login().json
    assert refresh(client, fresh["refreshToken"]).status_code == 200


# Access tokens of ended sessions


def test_access_tokens_of_ended_sessions_stay_valid_until_they_expire_by_default(auth, client):
    tokens = auth.tokens()
    logout(client, tokens["refreshToken"])
    assert client.get("/api/auth/me", headers=bearer(tokens["authToken"])).status_code == 200


def test_with_the_session_check_access_tokens_of_ended_sessions_are_refused(make_app, clock):
    client = make_app(access_token_session_check=True).test_client()
    auth = AuthActions(client)
    phone, tablet = devices(auth, clock, "Phone/1", "Tablet/1")
    assert client.get("/api/auth/me", headers=bearer(phone["authToken"])).status_code == 200
    logout(client, phone["refreshToken"])
    for path in ("/api/auth/me", "/api/auth/sessions", "/api/auth/getAll"):
        response = client.get(path, headers=bearer(phone["authToken"]))
        assert response.status_code == 403
        assert response.json == INVALID
    assert client.get("/api/auth/me", headers=bearer(tablet["authToken"])).status_code == 200


def test_with_the_session_check_an_expired_session_refuses_its_access_tokens(make_app, clock, settings):
    client = make_app(
        access_token_session_check=True, access_token_ttl=settings.tokens.refresh_token_ttl + 10
    ).test_client()
    tokens = AuthActions(client).tokens()
    clock.advance(settings.tokens.refresh_token_ttl + 1)
    assert client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json == INVALID


# The cap on open sessions


def test_the_oldest_session_ends_when_a_login_would_pass_the_cap(make_app, clock):
    client = make_app(max_sessions_per_user=3).test_client()
    auth = AuthActions(client)
    logins = devices(auth, clock, "One", "Two", "Three", "Four")
    assert refresh(client, logins[0]["refreshToken"]).json == EXPIRED
    for tokens in logins[1:]:
        assert refresh(client, tokens["refreshToken"]).status_code == 200
    assert [session["userAgent"] for session in list_sessions(client, logins[3])] == ["Four", "Three", "Two"]


def test_the_cap_defaults_to_ten_sessions(auth, client, clock):
    logins = devices(auth, clock, *(f"Device/{n}" for n in range(11)))
    sessions = list_sessions(client, logins[-1])
    assert len(sessions) == 10
    assert "Device/0" not in {session["userAgent"] for session in sessions}
    assert refresh(client, logins[0]["refreshToken"]).json == EXPIRED


def test_a_new_login_in_the_same_second_is_never_the_one_the_cap_ends(make_app):
    client = make_app(max_sessions_per_user=1).test_client()
    auth = AuthActions(client)
    auth.signup()
    first, second = auth.login().json, auth.login().json  # the test clock does not move
    assert refresh(client, second["refreshToken"]).status_code == 200
    assert refresh(client, first["refreshToken"]).json == EXPIRED


def test_the_cap_ends_the_oldest_of_sessions_opened_in_one_millisecond(make_app):
    client = make_app(max_sessions_per_user=2).test_client()
    auth = AuthActions(client)
    auth.signup()
    first, second, third = (auth.login().json for _ in range(3))  # the test clock does not move
    assert refresh(client, first["refreshToken"]).json == EXPIRED
    assert refresh(client, second["refreshToken"]).status_code == 200
    assert refresh(client, third["refreshToken"]).status_code == 200


def test_the_cap_counts_each_user_apart(make_app):
    client = make_app(max_sessions_per_user=1).test_client()
    auth = AuthActions(client)
    ada = auth.tokens("ada@example.com")
    auth.tokens("bob@example.com")
    assert refresh(client, ada["refreshToken"]).status_code == 200


def test_the_database_removes_expired_and_ended_sessions_through_a_ttl_index(storage):
    ttl = [
        (index["key"], index["expireAfterSeconds"])
        for index in storage.db[SESSIONS].index_information().values()
        if "expireAfterSeconds" in index
    ]
    assert ttl == [([("expiresAt", 1)], 0)]
