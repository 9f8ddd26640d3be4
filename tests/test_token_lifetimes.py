"""Token lifetimes: the configured TTLs are what clients get; JWT_LEEWAY adds exactly its seconds."""

import time
from datetime import UTC

import pytest

from config import Settings
from helpers import EXPIRED, INVALID, AuthActions, bearer, claims_of, refresh


def get_all(client, token):
    return client.post("/api/auth/getAll", headers=bearer(token))


def test_the_default_leeway_is_zero():
    assert Settings.from_env({}).tokens.jwt_leeway == 0


@pytest.fixture
def short_lived(make_app):
    """An app with the TTLs a developer sets to watch the refresh flow, and every other setting as default."""
    return make_app(access_token_ttl=2, refresh_token_ttl=5)


@pytest.mark.parametrize("used_before", [False, True], ids=["fresh", "remembered"])
def test_an_access_token_works_within_its_ttl_and_is_refused_just_after(short_lived, clock, used_before):
    client = short_lived.test_client()
    token = AuthActions(client).tokens()["authToken"]
    clock.advance(1)
    if used_before:
        assert get_all(client, token).status_code == 201
    clock.advance(0.9)
    if used_before:  # the guard now remembers having verified this token
        assert get_all(client, token).status_code == 201
    clock.advance(0.2)  # 2.1 s after it was issued
    response = get_all(client, token)
    assert response.status_code == 403
    assert response.json == INVALID


def test_a_refresh_token_works_within_its_ttl_and_is_refused_just_after(short_lived, clock):
    client = short_lived.test_client()
    token = AuthActions(client).tokens()["refreshToken"]
    clock.advance(4.9)
    assert refresh(client, token).status_code == 200
    clock.advance(0.2)
    response = refresh(client, token)
    assert response.status_code == 403
    assert response.json == EXPIRED


def test_a_set_leeway_is_honoured_to_the_second(make_app, clock):
    app = make_app(access_token_ttl=2, jwt_leeway=3)
    client = app.test_client()
    token = AuthActions(client).tokens()["authToken"]
    clock.advance(2 + 3 - 0.1)  # just inside exp + leeway
    assert get_all(client, token).status_code == 201
    clock.advance(0.1)  # exactly exp + leeway: refused from here on
    assert get_all(client, token).json == INVALID


def test_a_leeway_does_not_outlast_the_session_of_a_refresh_token(make_app, clock):
    app = make_app(refresh_token_ttl=5, jwt_leeway=3)
    client = app.test_client()
    token = AuthActions(client).tokens()["refreshToken"]
    clock.advance(4.9)
    assert refresh(client, token).status_code == 200
    clock.advance(0.2)  # the token is within its leeway, but its session ended at REFRESH_TOKEN_TTL
    assert refresh(client, token).json == EXPIRED


@pytest.fixture
def local_time_zone(monkeypatch):
    """Run the test in a time zone five hours west of UTC, as a developer's laptop might be."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_exp_is_real_utc_whatever_the_machines_time_zone(local_time_zone, make_app, clock):
    client = make_app(access_token_ttl=2).test_client()
    claims = claims_of(AuthActions(client).tokens()["authToken"])
    # Clients and other services read `exp` against their own clocks: it must count from the epoch in UTC.
    assert claims["iat"] == clock.now.replace(tzinfo=UTC).timestamp()
    assert claims["exp"] == claims["iat"] + 2
