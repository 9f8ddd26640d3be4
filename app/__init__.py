"""The application factory: a table of contents of the server."""

from __future__ import annotations

import logging

from flask import Flask

from config import Settings

from . import docs, health, jwks, routes
from .admission import Admission, init_admission
from .errors import register_error_handlers
from .keys import load_key_set
from .limits import init_rate_limits
from .lockout import LoginThrottle
from .logs import init_request_logging
from .passwords import PasswordHasher
from .security import init_security
from .service import AuthService, SessionRules
from .storage import UNAVAILABLE_ERRORS, connect
from .tokens import TokenSigner

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the server from `settings` (read from the environment when None)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # keep "success" first, as the original did
    app.extensions["settings"] = settings
    admission = init_admission(app, settings)  # innermost middleware: the request log counts the wait
    init_request_logging(app)  # before the hooks, so that requests refused by them are logged too
    init_security(app, settings)
    register_services(app, settings, admission)
    app.register_blueprint(routes.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(jwks.bp)
    init_rate_limits(app, settings)  # after the blueprints: it wraps their views
    register_error_handlers(app, unavailable=UNAVAILABLE_ERRORS)
    app.extensions["openapi"] = docs.build_spec(app, routes.PUBLIC_ENDPOINTS)
    warn_about_development_defaults(settings)
    return app


def register_services(app: Flask, settings: Settings, admission: Admission) -> None:
    """Connect storage and build the auth service the views use."""
    storage = connect(app, settings.mongo_uri)
    storage.ensure_indexes()
    signer = TokenSigner(
        keys=load_key_set(settings),
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=settings.jwt_leeway,
    )
    rules = SessionRules(
        rotation=settings.refresh_token_rotation,
        reuse_grace_seconds=settings.refresh_reuse_grace_seconds,
        check_access_session=settings.access_token_session_check,
        max_per_user=settings.max_sessions_per_user,
    )
    throttle = LoginThrottle(
        storage,
        free_failures=settings.login_failures_before_delay,
        first_delay=settings.login_delay_first,
        max_delay=settings.login_delay_max,
    )
    hasher = PasswordHasher(
        settings.bcrypt_rounds,
        settings.bcrypt_concurrency,
        settings.bcrypt_nice,
        waiting=admission.stepped_out,
    )
    app.extensions["auth_service"] = AuthService(storage, signer, hasher, throttle, rules=rules)


def warn_about_development_defaults(settings: Settings) -> None:
    """Say loudly when the server runs on settings that are fine only for development."""
    if settings.embedded_store:
        log.warning(
            "*** NO MONGO_URI: using the embedded in-memory store. "
            "Every user and session is lost when the process stops. ***"
        )
    if settings.rate_limit_storage == "memory://" and not settings.embedded_store:
        log.warning("Rate limits are counted in this process only (RATE_LIMIT_STORAGE_URI=memory://).")
    if settings.secret_key_generated and not settings.asymmetric:
        log.warning(
            "*** NO SECRET_KEY: signing tokens with a random key made at start-up. "
            "Tokens will not survive a restart. ***"
        )
