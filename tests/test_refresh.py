"""POST /api/auth/refreshToken: a new access token for a live session, refreshExpired otherwise."""

import jwt
import pytest

from app.storage import SESSIONS, USERS
from helpers import EXPIRED, bearer, claims_of, refresh, sign_like


def test_refresh_returns_a_new_access_token(auth, client):
    tokens = auth.tokens()
    response = refresh(client, tokens["refreshToken"])
    assert response.status_code == 200
    assert response.json["success"] is True
    assert set(response.json) == {"success", "authToken"}
    assert client.get("/api/auth/getAll", headers=bearer(response.json["authToken"])).status_code == 201


def test_refresh_keeps_the_same_session_and_marks_it_used(auth, client, storage, clock):
    tokens = auth.tokens()
    clock.advance(60)
    new_token = refresh(client, tokens["refreshToken"]).json["authToken"]
    session = storage.db[SESSIONS].find_one({})
    assert jwt.decode(new_token, options={"verify_signature": False})["sid"] == session["_id"]
    assert session["lastUsedAt"] > session["createdAt"]


@pytest.mark.parametrize("body", [{}, {"refreshToken": ""}, {"refreshToken": None}, {"refreshToken": "   "}])
def test_an_empty_or_missing_token_gets_the_original_message(client, body):
    response = client.post("/api/auth/refreshToken", json=body)
    assert response.status_code == 400
    assert response.json["message"] == "There is no refresh token to check."


@pytest.mark.parametrize("value", [{"$ne": None}, ["token"], 7])
def test_a_token_that_is_not_a_string_is_refused(client, value):
    assert refresh(client, value).status_code == 400


def test_an_expired_refresh_token_ends_the_session(auth, client, clock, app):
    tokens = auth.tokens()
    clock.advance(app.extensions["settings"].tokens.refresh_token_ttl + 1)
    response = refresh(client, tokens["refreshToken"])
    assert response.status_code == 403
    assert response.json == EXPIRED


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_unknown_or_malformed_tokens_are_refused(client, token):
    response = refresh(client, token)
    assert response.status_code == 403
    assert response.json == EXPIRED


def test_a_tampered_token_is_refused(auth, client):
    token = auth.tokens()["refreshToken"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert refresh(client, tampered).json == EXPIRED


def test_an_access_token_is_not_a_refresh_token(auth, client):
    response = refresh(client, auth.tokens()["authToken"])
    assert response.status_code == 403
    assert response.json == EXPIRED


def test_a_validly_signed_token_for_no_session_is_refused(auth, client, clock):
    token = auth.tokens()["refreshToken"]
    forged = sign_like(token, {**claims_of(token), "sid": "no-such-session", "jti": "x"})
    assert refresh(client, forged).json == EXPIRED


def test_a_refresh_token_whose_user_is_gone_is_refused_not_a_crash(auth, client, storage):
    tokens = auth.tokens()
    storage.db[USERS].delete_many({})
    response = refresh(client, tokens["refreshToken"])
    assert response.status_code == 403
    assert response.json == EXPIRED


def test_a_refresh_token_whose_session_is_gone_is_refused_not_a_crash(auth, client, storage):
    tokens = auth.tokens()
    storage.db[SESSIONS].delete_many({})
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED


def test_a_refresh_token_whose_session_ended_is_refused(auth, client, storage, clock):
    tokens = auth.tokens()
    storage.db[SESSIONS].update_many({}, {"$set": {"endedAt": clock()}})
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED


def test_the_original_clients_whole_flow(auth, client, clock, app):
    """Sign up, log in, call getAll, get invalidToken after expiry, refresh, retry, get refreshExpired."""
    settings = app.extensions["settings"]
    tokens = auth.tokens()
    assert client.post("/api/auth/getAll", headers=bearer(tokens["authToken"])).status_code == 201

    clock.advance(settings.tokens.access_token_ttl + 1)
    failed = client.post("/api/auth/getAll", headers=bearer(tokens["authToken"]))
    assert failed.status_code == 403
    assert failed.json["code"] == "invalidToken"

    renewed = refresh(client, tokens["refreshToken"]).json
    assert renewed["success"] is True
    retried = client.post("/api/auth/getAll", headers=bearer(renewed["authToken"]))
    assert retried.status_code == 201
    assert retried.json["success"] is True

    clock.advance(settings.tokens.refresh_token_ttl)
    assert refresh(client, tokens["refreshToken"]).json["code"] == "refreshExpired"
