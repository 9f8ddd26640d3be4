"""Per-address rate limits on login, signup and refreshToken: each trips, answers 429, and resets."""

import time
from functools import partial

import bcrypt
import pytest

from app.errors import Code
from app.limits import storage_options
from config import ConfigError, Settings
from helpers import PASSWORD, TEST_SECRET

RATE_LIMITED = Code.RATE_LIMITED

# Each limited route with its default limit per minute.
LIMITED = [("/api/auth/login", 20), ("/api/auth/signup", 10), ("/api/auth/refreshToken", 30)]


@pytest.fixture
def wall_clock(monkeypatch):
    """Move the time the rate-limit counters see, instead of sleeping."""
    offset = [0.0]
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def spend(client, path: str, times: int, **kwargs) -> None:
    """Send `times` requests that the route answers without a rate limit (any status but 429)."""
    for _ in range(times):
        assert client.post(path, json={}, **kwargs).status_code != 429


@pytest.mark.parametrize(("path", "limit"), LIMITED)
def test_each_limit_trips_at_its_default_and_answers_429_with_retry_after(client, path, limit):
    spend(client, path, limit)
    response = client.post(path, json={})
    assert response.status_code == 429
    assert response.json["success"] is False
    assert response.json["code"] == RATE_LIMITED
    assert response.json["message"].startswith("Too many attempts.")
    assert 1 <= int(response.headers["Retry-After"]) <= 61


@pytest.mark.parametrize(("path", "limit"), LIMITED)
def test_each_limit_resets_when_its_minute_has_passed(client, wall_clock, path, limit):
    spend(client, path, limit)
    assert client.post(path, json={}).status_code == 429
    wall_clock(61)
    assert client.post(path, json={}).status_code != 429


def test_the_limit_moves_with_time_rather_than_resetting_on_the_minute(client, wall_clock):
    """A moving window: requests spread over the last minute all count."""
    spend(client, "/api/auth/signup", 5)
    wall_clock(40)
    spend(client, "/api/auth/signup", 5)
    wall_clock(30)  # the first five are now more than a minute old
    spend(client, "/api/auth/signup", 5)
    assert client.post("/api/auth/signup", json={}).status_code == 429


@pytest.fixture
def bcrypt_calls(monkeypatch) -> list:
    """Count every bcrypt hash and check from here on."""
    calls = []
    for name in ("checkpw", "hashpw"):
        real = getattr(bcrypt, name)
        monkeypatch.setattr(
            bcrypt, name, lambda *args, real=real, name=name: calls.append(name) or real(*args)
        )
    return calls


def test_a_limited_login_is_refused_before_any_bcrypt_work(auth, client, bcrypt_calls):
    auth.signup()
    spend(client, "/api/auth/login", 20)
    bcrypt_calls.clear()
    assert auth.login().status_code == 429
    assert bcrypt_calls == []


def test_a_limited_signup_is_refused_before_any_bcrypt_work(auth, client, bcrypt_calls):
    spend(client, "/api/auth/signup", 10)
    assert auth.signup().status_code == 429
    assert bcrypt_calls == []


def test_routes_count_separately(auth, client):
    spend(client, "/api/auth/login", 20)
    assert auth.signup().status_code == 200


def test_limits_are_per_address(client):
    spend(client, "/api/auth/login", 20)
    assert client.post("/api/auth/login", json={}).status_code == 429
    other = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.post("/api/auth/login", json={}, environ_base=other).status_code == 400


def test_x_forwarded_for_is_ignored_without_trusted_proxies(client):
    for n in range(20):
        forwarded = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert client.post("/api/auth/login", json={}, headers=forwarded).status_code == 400
    assert (
        client.post("/api/auth/login", json={}, headers={"X-Forwarded-For": "198.51.100.99"}).status_code
        == 429
    )


def proxied(kind: str, *addresses: str) -> dict:
    """The header a chain of proxies would send, as `kind` spells it, naming `addresses` in order."""
    if kind == "forwarded":
        return {"Forwarded": ", ".join(f"for={address}" for address in addresses)}
    return {"X-Forwarded-For": ", ".join(addresses)}


PROXY_HEADERS = ["forwarded", "x-forwarded-for"]


@pytest.mark.parametrize("kind", PROXY_HEADERS)
def test_with_a_trusted_proxy_the_forwarded_address_is_the_client(make_app, kind):
    app = make_app(trusted_proxies=1, trusted_proxy_header=kind)
    client = app.test_client()
    spend(client, "/api/auth/login", 20, headers=proxied(kind, "198.51.100.1"))
    assert client.post("/api/auth/login", json={}, headers=proxied(kind, "198.51.100.1")).status_code == 429
    # Only the entry the one trusted proxy added counts: a client cannot prepend its way out.
    spoofed = proxied(kind, "203.0.113.9", "198.51.100.1")
    assert client.post("/api/auth/login", json={}, headers=spoofed).status_code == 429
    assert client.post("/api/auth/login", json={}, headers=proxied(kind, "198.51.100.2")).status_code == 400


@pytest.mark.parametrize("kind", PROXY_HEADERS)
def test_the_forwarded_address_is_what_sessions_record_behind_a_trusted_proxy(make_app, kind):
    app = make_app(trusted_proxies=1, trusted_proxy_header=kind)
    client = app.test_client()
    body = {"first": "A", "last": "B", "email": "a@example.com", "password": PASSWORD}
    client.post("/api/auth/signup", json=body)
    client.post(
        "/api/auth/login",
        json={"email": "a@example.com", "password": PASSWORD},
        headers=proxied(kind, "198.51.100.1"),
    )
    session = app.extensions["auth_service"].storage.db["Sessions"].find_one({})
    assert session["ip"] == "198.51.100.1"


def test_by_default_a_trusted_proxy_reports_the_client_in_forwarded_and_x_forwarded_for_is_ignored(make_app):
    client = make_app(trusted_proxies=1).test_client()
    for n in range(20):
        headers = {"X-Forwarded-For": f"198.51.100.{n}", "Forwarded": "for=203.0.113.7"}
        assert client.post("/api/auth/login", json={}, headers=headers).status_code == 400
    assert (
        client.post("/api/auth/login", json={}, headers={"Forwarded": "for=203.0.113.7"}).status_code == 429
    )


@pytest.mark.parametrize(
    ("element", "address"),
    [
        ('for="203.0.113.7:4711";proto=https', "203.0.113.7"),
        ('For="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ('for="2001:db8:cafe::17"', "2001:db8:cafe::17"),
        ("for=unknown", "127.0.0.1"),
        ("for=_hidden", "127.0.0.1"),
        ("proto=https", "127.0.0.1"),
    ],
)
def test_the_forwarded_element_of_the_proxy_is_read_and_anything_unusable_keeps_the_peer(
    make_app, element, address
):
    app = make_app(trusted_proxies=1)
    client = app.test_client()
    client.post(
        "/api/auth/signup", json={"first": "A", "last": "B", "email": "a@example.com", "password": PASSWORD}
    )
    headers = {"Forwarded": f'for="198.51.100.66", {element}'}
    client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD}, headers=headers)
    session = app.extensions["auth_service"].storage.db["Sessions"].find_one({})
    assert session["ip"] == address


def test_ipv6_clients_are_limited_per_64_network(client):
    for n in range(20):
        network_neighbour = {"REMOTE_ADDR": f"2001:db8:1:2::{n + 1:x}"}
        assert client.post("/api/auth/login", json={}, environ_base=network_neighbour).status_code == 400
    same_network = {"REMOTE_ADDR": "2001:db8:1:2:ffff:ffff:ffff:ffff"}
    assert client.post("/api/auth/login", json={}, environ_base=same_network).status_code == 429
    next_network = {"REMOTE_ADDR": "2001:db8:1:3::1"}
    assert client.post("/api/auth/login", json={}, environ_base=next_network).status_code == 400


def test_limits_are_settings(make_app):
    client = make_app(rate_limit_login="2/minute").test_client()
    spend(client, "/api/auth/login", 2)
    assert client.post("/api/auth/login", json={}).status_code == 429


def test_limits_can_be_switched_off(make_app):
    client = make_app(rate_limit_enabled=False).test_client()
    spend(client, "/api/auth/login", 25)


def test_the_getall_route_is_not_limited(auth, client):
    token = auth.tokens()["authToken"]
    for _ in range(40):
        assert client.get("/api/auth/getAll", headers={"Authorization": f"Bearer {token}"}).status_code == 201


def test_a_malformed_limit_refuses_to_start():
    with pytest.raises(ConfigError, match="RATE_LIMIT_LOGIN"):
        Settings.from_env({"SECRET_KEY": TEST_SECRET, "RATE_LIMIT_LOGIN": "lots"})


def test_the_counters_live_in_the_database_when_there_is_one():
    settings = Settings.from_env({"SECRET_KEY": TEST_SECRET, "MONGO_URI": "mongodb://db.example/auth"})
    assert settings.rate_limit_storage == "mongodb://db.example/auth"
    embedded = Settings.from_env({"SECRET_KEY": TEST_SECRET})
    assert embedded.rate_limit_storage == "memory://"
    chosen = Settings.from_env({"SECRET_KEY": TEST_SECRET, "RATE_LIMIT_STORAGE_URI": "redis://cache:6379"})
    assert chosen.rate_limit_storage == "redis://cache:6379"


def test_when_the_counter_store_fails_each_process_goes_on_counting_by_itself(client, app, monkeypatch):
    store = app.extensions["rate_limiter"].storage

    def lost(*args, **kwargs):
        raise ConnectionError("counter store unreachable")

    monkeypatch.setattr(store, "acquire_entry", lost)
    monkeypatch.setattr(store, "check", lambda: False)
    spend(client, "/api/auth/login", 20)
    response = client.post("/api/auth/login", json={})
    assert response.status_code == 429
    assert response.json["code"] == RATE_LIMITED


@pytest.mark.parametrize(
    ("uri", "option"),
    [("mongodb://db:27017/auth", "serverSelectionTimeoutMS"), ("redis://cache:6379", "socket_timeout")],
)
def test_a_shared_counter_store_is_opened_with_short_timeouts(uri, option):
    assert option in storage_options(uri)
    assert storage_options("memory://") == {}


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("mongodb://db:27017/accounts?authSource=admin", "accounts"),
        ("mongodb+srv://user:pw@cluster.example.net/prod", "prod"),
        ("mongodb://db:27017", "auth"),
    ],
)
def test_mongodb_counters_live_in_the_servers_own_database(uri, database):
    assert storage_options(uri)["database_name"] == database


def test_change_password_is_limited_per_address_like_login(auth, client):
    token = auth.tokens()["authToken"]
    spend(client, "/api/auth/changePassword", 20, headers={"Authorization": f"Bearer {token}"})
    response = client.post("/api/auth/changePassword", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 429


def test_requests_of_routes_without_limits_run_none_of_the_limiters_hooks(app):
    limiter = app.extensions["rate_limiter"]
    hooks = [
        *app.before_request_funcs[None],
        *app.after_request_funcs[None],
        *app.teardown_request_funcs[None],
    ]
    owners = [getattr(hook, "__self__", None) for hook in hooks] + [
        hook.args[0] for hook in hooks if isinstance(hook, partial) and hook.args
    ]
    assert limiter not in owners
