"""Security headers on every answer, CORS, and the client address behind trusted proxies."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings

# The JSON API loads nothing and may be framed by nobody.
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
# For the HTML pages of this server (the docs at /api/docs): their own scripts, styles and images only.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def add_security_headers(response: Response) -> Response:
    """Set the security headers a view has not set itself (errors included)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault(
        "Content-Security-Policy", PAGE_POLICY if response.mimetype == "text/html" else JSON_POLICY
    )
    headers.setdefault("Referrer-Policy", "no-referrer")
    # Answers carry tokens and user data: never cached unless a view says otherwise (JWKS does).
    headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_security(app: Flask, settings: Settings) -> None:
    """Trust `TRUSTED_PROXIES` proxies, answer CORS for `CORS_ORIGINS`, add security headers."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    if settings.cors_origins:
        CORS(
            app,
            origins=list(settings.cors_origins),
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
            max_age=600,
        )
    app.after_request(add_security_headers)
