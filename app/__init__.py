"""The application factory: a table of contents of the server."""

from __future__ import annotations

import logging

from flask import Flask

from config import Settings

from . import routes
from .errors import register_error_handlers
from .passwords import PasswordHasher
from .service import AuthService
from .storage import connect
from .tokens import TokenSigner

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the server from `settings` (read from the environment when None)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # keep "success" first, as the original did
    app.extensions["settings"] = settings
    register_services(app, settings)
    app.register_blueprint(routes.bp)
    register_error_handlers(app)
    warn_about_development_defaults(settings)
    return app


def register_services(app: Flask, settings: Settings) -> None:
    """Connect storage and build the auth service the views use."""
    storage = connect(app, settings.mongo_uri)
    storage.ensure_indexes()
    signer = TokenSigner(
        key=settings.secret_key,
        algorithm=settings.jwt_algorithm,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    hasher = PasswordHasher(settings.bcrypt_rounds, settings.bcrypt_concurrency, settings.bcrypt_nice)
    app.extensions["auth_service"] = AuthService(storage, signer, hasher)


def warn_about_development_defaults(settings: Settings) -> None:
    """Say loudly when the server runs on settings that are fine only for development."""
    if settings.embedded_store:
        log.warning(
            "*** NO MONGO_URI: using the embedded in-memory store. "
            "Every user and session is lost when the process stops. ***"
        )
    if settings.secret_key_generated:
        log.warning(
            "*** NO SECRET_KEY: signing tokens with a random key made at start-up. "
            "Tokens will not survive a restart. ***"
        )
