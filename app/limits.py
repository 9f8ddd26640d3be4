"""Per-address rate limits on the routes that cost bcrypt work or guard tokens (Flask-Limiter)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded

from config import Settings

from .addresses import limit_key
from .error_handlers import render
from .errors import RateLimited
from .storage import DEFAULT_DB_NAME

log = logging.getLogger(__name__)

COUNTER_TIMEOUT_S = 2  # a counter store answers in milliseconds; a lost one must not hold requests


def client_address() -> str:
    """Return what per-address limits count the client as: its address (an IPv6 client's /64).

    The address is the socket peer, or what the trusted proxies reported (app.addresses).
    """
    return limit_key(request.remote_addr or "unknown")


def refuse(error: RateLimitExceeded) -> Response:
    """Answer a request over its limit with the envelope, `rateLimited` and `Retry-After`."""
    limiter = current_app.extensions["rate_limiter"]
    breached = limiter.current_limit
    wait = breached.reset_at - time.time() if breached else 60
    return render(RateLimited(wait))


def storage_options(uri: str) -> dict:
    """Return time-outs (in each client's own words) and, on MongoDB, where the counters go."""
    if uri.startswith("mongodb"):
        milliseconds = COUNTER_TIMEOUT_S * 1000
        return {
            # The server's own database, so a user granted only that database can keep them.
            "database_name": urlsplit(uri).path.lstrip("/") or DEFAULT_DB_NAME,
            "counter_collection_name": "RateLimitCounters",
            "window_collection_name": "RateLimitWindows",
            "serverSelectionTimeoutMS": milliseconds,
            "connectTimeoutMS": milliseconds,
            "socketTimeoutMS": milliseconds,
        }
    if uri.startswith("redis"):
        return {"socket_timeout": COUNTER_TIMEOUT_S, "socket_connect_timeout": COUNTER_TIMEOUT_S}
    return {}


def limited_endpoints(app: Flask, settings: Settings) -> dict[str, str]:
    """Return each endpoint that declared a rate limit (app.rules) and its limit, e.g. `20/minute`."""
    return {
        endpoint: getattr(settings.limits, f"rate_limit_{rules.limit}")
        for endpoint, rules in app.extensions["route_rules"].items()
        if rules.limit is not None
    }


def drop_request_hooks(app: Flask, limiter: Limiter) -> None:
    """Remove the hooks init_app puts on every request of the app; the limited views keep theirs.

    The hooks check default limits (this server has none: each limited view checks its own in
    its wrapper, below), add X-RateLimit headers (off) and make conditional deductions (none),
    so on every other request, guarded ones first, they were pure cost.
    """

    def is_limiters(hook: Callable) -> bool:
        owner = hook.args[0] if isinstance(hook, partial) and hook.args else getattr(hook, "__self__", None)
        return owner is limiter

    # Three kinds of hook, one filter: each list keeps its own kind.
    hook_lists: tuple[dict[Any, list[Any]], ...] = (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
    )
    for hooks in hook_lists:
        hooks[None] = [hook for hook in hooks[None] if not is_limiters(hook)]


def init_rate_limits(app: Flask, settings: Settings) -> Limiter | None:
    """Limit each address on the routes that check passwords or refresh tokens, before the view runs."""
    if not settings.limits.rate_limit_enabled:
        return None
    limiter = Limiter(
        key_func=client_address,
        storage_uri=settings.rate_limit_storage,
        storage_options=storage_options(settings.rate_limit_storage),
        strategy="moving-window",
        # If a shared store (MongoDB, Redis) stops answering, each process keeps counting on its own.
        in_memory_fallback_enabled=True,
        key_prefix="auth",
    )
    limiter.init_app(app)
    drop_request_hooks(app, limiter)
    if settings.rate_limit_storage.startswith("mongodb") and not limiter.storage.check():
        # Opening the store now also works around limits' MongoDB store, whose __del__ opens a
        # client if none was opened, and so hangs a process that exits before its first request.
        log.warning("The rate-limit store does not answer; each process counts by itself until it does.")
    app.extensions["rate_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, refuse)
    for endpoint, limit in limited_endpoints(app, settings).items():
        # Flask-Limiter checks a route's own limits in a wrapper around its view, before the view.
        view: Callable[..., Any] = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(limit)(view)
    return limiter
