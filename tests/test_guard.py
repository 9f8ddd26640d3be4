"""The bearer-token guard in front of every protected route."""

import base64
import json

import jwt
import pytest

from helpers import INVALID, PASSWORD, bearer, claims_of, sign_like


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_missing_authorization_header_is_invalid_token_not_a_crash(client):
    response = client.post("/api/auth/getAll")
    assert response.status_code == 403
    assert response.json == INVALID


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.token", "Token x"]
)
def test_malformed_authorization_headers_are_invalid_token(client, header):
    response = client.post("/api/auth/getAll", headers={"Authorization": header})
    assert response.status_code == 403
    assert response.json == INVALID


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_scheme_is_case_insensitive(auth, client, scheme):
    token = auth.tokens()["authToken"]
    assert client.post("/api/auth/getAll", headers={"Authorization": f"{scheme} {token}"}).status_code == 201


def test_a_bare_token_without_the_scheme_is_accepted_as_the_original_did(auth, client):
    token = auth.tokens()["authToken"]
    assert client.post("/api/auth/getAll", headers={"Authorization": token}).status_code == 201


def test_a_refresh_token_does_not_pass_the_guard(auth, client):
    response = client.post("/api/auth/getAll", headers=bearer(auth.tokens()["refreshToken"]))
    assert response.status_code == 403
    assert response.json == INVALID


def test_an_expired_access_token_is_refused(auth, client, clock, app):
    token = auth.tokens()["authToken"]
    clock.advance(app.extensions["settings"].tokens.access_token_ttl - 1)
    assert client.post("/api/auth/getAll", headers=bearer(token)).status_code == 201
    clock.advance(2)
    assert client.post("/api/auth/getAll", headers=bearer(token)).json == INVALID


def test_alg_none_is_refused(auth, client):
    claims = jwt.decode(auth.tokens()["authToken"], options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert client.post("/api/auth/getAll", headers=bearer(unsigned)).json == INVALID


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_algorithms_are_refused_even_with_the_right_secret(auth, client, algorithm):
    token = auth.tokens()["authToken"]
    other = sign_like(token, claims_of(token), algorithm=algorithm)
    assert client.post("/api/auth/getAll", headers=bearer(other)).json == INVALID


def test_a_token_signed_with_another_secret_is_refused(auth, client):
    token = auth.tokens()["authToken"]
    forged = sign_like(token, claims_of(token), key="another-secret-of-at-least-32-bytes!!")
    assert client.post("/api/auth/getAll", headers=bearer(forged)).json == INVALID


@pytest.mark.parametrize("claim", ["sub", "sid", "type", "exp", "jti", "iat"])
def test_a_token_missing_a_required_claim_is_refused(auth, client, claim):
    token = auth.tokens()["authToken"]
    claims = claims_of(token)
    del claims[claim]
    assert client.post("/api/auth/getAll", headers=bearer(sign_like(token, claims))).json == INVALID


def test_the_access_token_carries_only_public_claims(auth):
    tokens = auth.tokens()
    claims = jwt.decode(tokens["authToken"], options={"verify_signature": False})
    assert set(claims) == {
        *("sub", "type", "sid", "email", "first", "last", "role", "iat", "exp", "jti"),
        *("amr", "aal", "auth_time"),  # how the session signed in
    }
    assert claims["role"] == "user"
    assert claims["type"] == "access"
    assert claims["sub"] == tokens["user"]["id"]
    assert len(tokens["authToken"]) < 480  # amr, aal and auth_time add about 60 characters


def test_the_refresh_token_carries_no_user_data(auth):
    claims = jwt.decode(auth.tokens()["refreshToken"], options={"verify_signature": False})
    assert set(claims) == {"sub", "sid", "type", "iat", "exp", "jti"}
    assert claims["type"] == "refresh"


def test_issuer_and_audience_are_set_and_checked_when_configured(make_app):
    app = make_app(jwt_issuer="https://auth.example.com", jwt_audience="mobile")
    client = app.test_client()
    client.post(
        "/api/auth/signup",
        json={"first": "A", "last": "B", "email": "a@example.com", "password": PASSWORD},
    )
    token = client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD}).json[
        "authToken"
    ]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "https://auth.example.com"
    assert claims["aud"] == "mobile"
    assert client.post("/api/auth/getAll", headers=bearer(token)).status_code == 201
    other_audience = sign_like(token, {**claims, "aud": "web"})
    assert client.post("/api/auth/getAll", headers=bearer(other_audience)).json == INVALID


def test_a_cors_preflight_is_not_refused_by_the_guard(client):
    response = client.options("/api/auth/getAll", headers={"Origin": "http://localhost:8081"})
    assert response.status_code == 200
