"""Security headers on every answer, CORS, and trusting the proxies in front (app.addresses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Flask, Response, request
from flask_cors import CORS

from config import Settings

from .addresses import trust_proxies

# The JSON API loads nothing and may be framed by nobody.
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
# For the HTML pages of this server (the docs at /api/docs): their own scripts, styles and images only.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def _headers_for(csp: str | None, hsts: bool) -> tuple[tuple[str, str], ...]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        # Answers carry tokens and user data: never cached unless a view says otherwise (JWKS does).
        ("Cache-Control", "no-store"),
    ]
    if csp is not None:
        headers.append(("Content-Security-Policy", csp))
    if hsts:
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple(headers)


# Built once: this runs on every answer. Keyed by (the policy for the answer's kind, HTTPS?).
# A 304 gets no policy: it has no Content-Type to tell a page from JSON, and a cache keeps
# the policy of the answer it revalidates unless the 304 brings another.
SECURITY_HEADERS = {
    (policy, secure): _headers_for(policy, secure)
    for policy in (JSON_POLICY, PAGE_POLICY, None)
    for secure in (False, True)
}


def policy_for(status: str, content_type: str) -> str | None:
    """Return the Content-Security-Policy an answer gets: none for a 304, the page one for HTML."""
    if status.startswith("304"):
        return None
    return PAGE_POLICY if content_type.startswith("text/html") else JSON_POLICY


class SecurityHeaders:
    """WSGI middleware: add the security headers an answer does not set itself (errors included).

    Middleware on the raw header list rather than a Flask hook: every request passes here.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> object:
        secure = environ.get("wsgi.url_scheme") == "https"

        def start_with_headers(status: str, headers: list, exc_info: object = None) -> object:
            present = {name.lower(): value for name, value in headers}
            wanted = SECURITY_HEADERS[policy_for(status, present.get("content-type", "")), secure]
            headers.extend((name, value) for name, value in wanted if name.lower() not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_headers)


def init_security(app: Flask, settings: Settings) -> None:
    """Trust `TRUSTED_PROXIES` proxies, answer CORS for `CORS_ORIGINS`, add security headers."""
    # Flask declares wsgi_app as a method; WSGI middleware replaces it on the instance.
    cast(Any, app).wsgi_app = SecurityHeaders(app.wsgi_app)
    if settings.server.trusted_proxies:  # outermost: what it sets is what the others read
        cast(Any, app).wsgi_app = trust_proxies(
            app.wsgi_app, settings.server.trusted_proxies, settings.server.trusted_proxy_header
        )
    if settings.server.cors_origins:
        init_cors(app, settings.server.cors_origins)


def init_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer browsers from `origins` with Flask-CORS.

    Only browsers read CORS headers, and they send Origin on every cross-origin request: the
    apps, curl and servers that send none get none, and skip Flask-CORS's work altogether.
    """
    CORS(
        app,
        origins=list(origins),
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["Retry-After", "X-Request-ID"],
        max_age=600,
        always_send=False,
    )
    # The hook CORS() has just added (Flask-CORS's is synchronous).
    add_cors_headers = cast(Callable[[Response], Response], app.after_request_funcs[None].pop())

    @app.after_request
    def add_cors_headers_for_browsers(response: Response) -> Response:
        return add_cors_headers(response) if "HTTP_ORIGIN" in request.environ else response
