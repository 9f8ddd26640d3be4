"""Security headers on every answer, errors included, and CORS from CORS_ORIGINS."""

import pytest

from app.security import JSON_POLICY, PAGE_POLICY
from config import Settings
from helpers import TEST_SECRET, bearer

ORIGIN = "https://app.example.com"


def assert_secure(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == JSON_POLICY
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"


def test_answers_that_carry_tokens_are_never_stored(auth, client):
    tokens = auth.tokens()
    assert_secure(auth.login())
    assert_secure(client.post("/api/auth/refreshToken", json={"refreshToken": tokens["refreshToken"]}))
    assert_secure(client.get("/api/auth/getAll", headers=bearer(tokens["authToken"])))


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("DELETE", "/api/auth/login", 405),
        ("POST", "/api/auth/getAll", 403),
        ("POST", "/api/auth/login", 400),
        ("GET", "/health", 200),
    ],
)
def test_every_answer_carries_the_headers_errors_included(client, method, path, status):
    response = client.open(path, method=method, json={})
    assert response.status_code == status
    assert_secure(response)


def test_a_rate_limited_answer_carries_the_headers(make_app):
    client = make_app(rate_limit_login="1/minute").test_client()
    client.post("/api/auth/login", json={})
    response = client.post("/api/auth/login", json={})
    assert response.status_code == 429
    assert_secure(response)


def test_an_unexpected_error_carries_the_headers_and_no_detail(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "internal detail" not in response.get_data(as_text=True)
    assert_secure(response)


def test_the_docs_page_may_load_its_own_scripts_and_styles_and_nothing_else(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy == PAGE_POLICY
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_revalidating_the_docs_page_does_not_replace_its_policy(client):
    page = client.get("/api/docs")
    assert page.headers.get("ETag")
    revalidated = client.get("/api/docs", headers={"If-None-Match": page.headers["ETag"]})
    assert revalidated.status_code == 304
    # A cache keeps the page's own policy unless the 304 brings another: it brings none.
    assert "Content-Security-Policy" not in revalidated.headers
    assert revalidated.headers["X-Content-Type-Options"] == "nosniff"


def test_a_view_can_set_its_own_policy(app):
    @app.get("/page")
    def page():
        return "<html></html>", 200, {"Content-Security-Policy": "default-src 'self'"}

    assert app.test_client().get("/page").headers["Content-Security-Policy"] == "default-src 'self'"


@pytest.mark.parametrize(
    ("kind", "headers"),
    [
        ("forwarded", {"Forwarded": "for=192.0.2.1;proto=https"}),
        ("x-forwarded-for", {"X-Forwarded-Proto": "https"}),
    ],
)
def test_hsts_is_sent_over_https_only(make_app, kind, headers):
    client = make_app(trusted_proxies=1, trusted_proxy_header=kind).test_client()
    assert "Strict-Transport-Security" not in client.get("/health").headers
    behind_tls = client.get("/health", headers=headers)
    assert behind_tls.headers["Strict-Transport-Security"] == "max-age=31536000"


# CORS


def preflight(client, origin: str = ORIGIN):
    return client.options(
        "/api/auth/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_development_answers_every_origin(client):
    response = preflight(client, "http://localhost:8081")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in {"*", "http://localhost:8081"}
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_only_the_listed_origins_are_answered(make_app):
    client = make_app(cors_origins=(ORIGIN,)).test_client()
    assert preflight(client).headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Origin" not in preflight(client, "https://evil.example").headers


def test_cors_headers_are_on_errors_too_so_browsers_can_read_the_envelope(make_app):
    client = make_app(cors_origins=(ORIGIN,)).test_client()
    response = client.post("/api/auth/getAll", headers={"Origin": ORIGIN})
    assert response.status_code == 403
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]


def test_a_request_without_origin_gets_no_cors_headers(auth, client):
    token = auth.tokens()["authToken"]
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert not [name for name in response.headers.keys() if name.startswith("Access-Control-")]
    with_origin = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN})
    assert with_origin.headers["Access-Control-Allow-Origin"] in {"*", ORIGIN}


def test_with_no_origins_cors_is_off(make_app):
    client = make_app(cors_origins=()).test_client()
    assert "Access-Control-Allow-Origin" not in preflight(client).headers


def test_production_answers_no_origin_until_told_which():
    production = {
        "APP_ENV": "production",
        "SECRET_KEY": TEST_SECRET,
        "MONGO_URI": "mongodb://db.example/auth",
    }
    assert Settings.from_env(production).server.cors_origins == ()
    listed = Settings.from_env({**production, "CORS_ORIGINS": f"{ORIGIN}, https://admin.example.com"})
    assert listed.server.cors_origins == (ORIGIN, "https://admin.example.com")
    assert Settings.from_env({"SECRET_KEY": TEST_SECRET}).server.cors_origins == ("*",)
