"""Refresh-token rotation: a new refresh token per refresh, grace for retries, a replay ends the session."""

import jwt
import pytest

from helpers import EXPIRED, AuthActions, at_once, bearer, refresh

GRACE = 10  # REFRESH_REUSE_GRACE_SECONDS by default


@pytest.fixture
def app(make_app):
    return make_app(refresh_token_rotation=True)


def activities(client, tokens) -> list[str]:
    body = client.get("/api/auth/activity", headers=bearer(tokens["authToken"])).json
    return [entry["activity"] for entry in body["activity"]]


def race(app, token: str, count: int = 20) -> list:
    """Send `count` refreshes of one token at once, each from its own thread and client."""
    return at_once(app, count, lambda client: refresh(client, token))


# Off by default: the original client keeps its first refresh token


def test_without_rotation_the_first_refresh_token_keeps_working(make_app):
    client = make_app().test_client()
    tokens = AuthActions(client).tokens()
    for _ in range(3):
        response = refresh(client, tokens["refreshToken"])
        assert response.status_code == 200
        assert "refreshToken" not in response.json


def test_without_rotation_twenty_concurrent_refreshes_all_succeed(make_app):
    app = make_app()
    tokens = AuthActions(app.test_client()).tokens()
    responses = race(app, tokens["refreshToken"])
    assert [response.status_code for response in responses] == [200] * 20
    assert not any("refreshToken" in response.json for response in responses)


# With rotation


def test_each_refresh_returns_a_new_refresh_token_for_the_same_session(auth, client):
    tokens = auth.tokens()
    response = refresh(client, tokens["refreshToken"])
    assert response.status_code == 200
    assert set(response.json) == {"success", "authToken", "refreshToken"}
    new_token = response.json["refreshToken"]
    assert new_token != tokens["refreshToken"]
    claims = [
        jwt.decode(token, options={"verify_signature": False})
        for token in (tokens["refreshToken"], new_token)
    ]
    assert claims[0]["sid"] == claims[1]["sid"]
    assert client.get("/api/auth/me", headers=bearer(response.json["authToken"])).status_code == 200


def test_the_newest_refresh_token_keeps_rotating(auth, client, clock):
    token = auth.tokens()["refreshToken"]
    for _ in range(5):
        clock.advance(60)
        response = refresh(client, token)
        assert response.status_code == 200
        token = response.json["refreshToken"]


def test_a_retired_token_within_the_grace_gets_an_access_token_and_no_refresh_token(auth, client, clock):
    tokens = auth.tokens()
    newest = refresh(client, tokens["refreshToken"]).json["refreshToken"]
    clock.advance(GRACE)
    retry = refresh(client, tokens["refreshToken"])
    assert retry.status_code == 200
    assert set(retry.json) == {"success", "authToken"}
    assert client.get("/api/auth/me", headers=bearer(retry.json["authToken"])).status_code == 200
    assert refresh(client, newest).status_code == 200


def test_a_retired_token_after_the_grace_ends_the_whole_session(auth, client, clock):
    tokens = auth.tokens()
    newest = refresh(client, tokens["refreshToken"]).json["refreshToken"]
    clock.advance(GRACE + 1)
    replay = refresh(client, tokens["refreshToken"])
    assert replay.status_code == 403
    assert replay.json == EXPIRED
    assert refresh(client, newest).json == EXPIRED
    assert activities(client, tokens)[0] == "refreshReuse"


def test_a_thief_who_refreshes_first_is_shut_out_when_the_real_client_comes_back(auth, client, clock):
    stolen = auth.tokens()
    thief_token = refresh(client, stolen["refreshToken"]).json["refreshToken"]
    clock.advance(60)
    thief_token = refresh(client, thief_token).json["refreshToken"]  # the client's token is now two back
    clock.advance(60)
    assert refresh(client, stolen["refreshToken"]).json == EXPIRED
    assert refresh(client, thief_token).json == EXPIRED


def test_only_the_token_just_retired_has_a_grace(auth, client):
    first = auth.tokens()["refreshToken"]
    second = refresh(client, first).json["refreshToken"]
    third = refresh(client, second).json["refreshToken"]
    assert refresh(client, first).json == EXPIRED  # the test clock has not moved: time is not the reason
    assert refresh(client, third).json == EXPIRED


def test_a_replay_ends_only_that_session(auth, client, clock):
    phone = auth.tokens()
    tablet = auth.login().json
    refresh(client, phone["refreshToken"])
    clock.advance(GRACE + 1)
    refresh(client, phone["refreshToken"])
    assert refresh(client, tablet["refreshToken"]).status_code == 200


def test_the_grace_period_is_a_setting(make_app, clock):
    client = make_app(refresh_token_rotation=True, refresh_reuse_grace_seconds=0).test_client()
    tokens = AuthActions(client).tokens()
    refresh(client, tokens["refreshToken"])
    clock.advance(1)
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED


def test_each_rotation_extends_the_session(auth, client, clock, app):
    ttl = app.extensions["settings"].tokens.refresh_token_ttl
    tokens = auth.tokens()
    clock.advance(ttl - 60)
    newest = refresh(client, tokens["refreshToken"]).json["refreshToken"]
    clock.advance(120)  # past the first token's expiry
    assert refresh(client, newest).status_code == 200


def test_logout_with_a_retired_token_still_ends_the_session(auth, client):
    tokens = auth.tokens()
    newest = refresh(client, tokens["refreshToken"]).json["refreshToken"]
    assert client.post("/api/auth/logout", json={"refreshToken": tokens["refreshToken"]}).status_code == 200
    assert refresh(client, newest).json == EXPIRED


def test_a_retired_token_of_an_ended_session_is_refused_without_more_ado(auth, client, clock):
    tokens = auth.tokens()
    newest = refresh(client, tokens["refreshToken"]).json["refreshToken"]
    client.post("/api/auth/logout", json={"refreshToken": newest})
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED
    assert "refreshReuse" not in activities(client, tokens)


def test_twenty_concurrent_refreshes_of_one_token_leave_exactly_one_new_token(app, clock):
    client = app.test_client()
    tokens = AuthActions(client).tokens()
    responses = race(app, tokens["refreshToken"])
    assert [response.status_code for response in responses] == [200] * 20
    assert all(response.json["authToken"] for response in responses)
    survivors = [response.json["refreshToken"] for response in responses if "refreshToken" in response.json]
    assert len(survivors) == 1
    clock.advance(60)
    assert refresh(client, survivors[0]).status_code == 200
    assert len(client.get("/api/auth/sessions", headers=bearer(tokens["authToken"])).json["sessions"]) == 1


def test_a_race_after_the_grace_ends_the_session_once_and_never_answers_500(auth, client, clock, app):
    tokens = auth.tokens()
    newest = refresh(client, tokens["refreshToken"]).json["refreshToken"]
    clock.advance(GRACE + 1)
    responses = race(app, tokens["refreshToken"])
    assert [response.json for response in responses] == [EXPIRED] * 20
    assert refresh(client, newest).json == EXPIRED
    assert activities(client, tokens).count("refreshReuse") == 1
