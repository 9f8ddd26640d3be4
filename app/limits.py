"""Per-address rate limits on the routes that cost bcrypt work or guard tokens (Flask-Limiter)."""

from __future__ import annotations

import time

from flask import Flask, request
from flask_limiter import Limiter, RequestLimit

from config import Settings

from .errors import RateLimited


def client_address() -> str:
    """Return the client's address: the socket peer, or what ProxyFix took from trusted proxies."""
    return request.remote_addr or "unknown"


def refuse(limit: RequestLimit) -> None:
    """Refuse a request over its limit through the one error path, with `Retry-After`."""
    raise RateLimited(limit.reset_at - time.time())


def limited_endpoints(settings: Settings) -> dict[str, str]:
    """Return each limited endpoint and its limit, e.g. `20/minute`."""
    return {
        "auth.login": settings.rate_limit_login,
        "auth.signup": settings.rate_limit_signup,
        "auth.refresh_token": settings.rate_limit_refresh,
    }


def init_rate_limits(app: Flask, settings: Settings) -> Limiter | None:
    """Limit each address on login, signup and refreshToken; checked before the view runs."""
    if not settings.rate_limit_enabled:
        return None
    limiter = Limiter(
        key_func=client_address,
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        on_breach=refuse,
        # If a shared store (MongoDB, Redis) stops answering, each process keeps counting on its own.
        in_memory_fallback_enabled=True,
        key_prefix="auth",
    )
    limiter.init_app(app)
    for endpoint, limit in limited_endpoints(settings).items():
        # Flask-Limiter checks a route's own limits in a wrapper around its view, before the view.
        app.view_functions[endpoint] = limiter.limit(limit)(app.view_functions[endpoint])
    return limiter
