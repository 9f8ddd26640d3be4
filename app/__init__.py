"""The application factory: a table of contents of the server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import cast

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from config import Settings

from . import app_sites, docs, health, jwks, routes
from .admission import Admission, init_admission
from .commands import register_commands
from .devmail import init_dev_mailbox
from .error_handlers import register_error_handlers
from .id_tokens import IdTokenVerifier
from .keys import code_key, load_key_set
from .limits import init_rate_limits
from .lockout import LoginThrottle
from .logs import init_request_logging
from .mail import Mailer
from .password_policy import BreachCheck, PasswordPolicy
from .passwords import PasswordHasher
from .rules import route_rules
from .sealed import outbox_key
from .secret_box import SecretBox, new_key_text
from .security import init_security
from .service import AccountRules, MfaRules, PasskeyRules, SessionRules, build_auth_service
from .service.shared import Clock, utc_now
from .storage import UNAVAILABLE_ERRORS, Storage, connect
from .tokens import TokenSigner

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    warn: bool = True,
    prepare_database: bool = True,
    clock: Clock = utc_now,
) -> Flask:
    """Build the server from `settings` (read from the environment when None).

    `clock` is what the service reads the time from (tests pass one they move by hand).

    With `warn`, it logs `settings.warnings()`; `python wsgi.py` shows them in its banner.
    `prepare_database=False` (the command line) leaves the indexes and migrations to
    `flask db init`, or to the first request if the app ever serves one, so that building
    the app never waits on a database that is down.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)  # the docs page serves its own files
    # A doubled slash (an encoded "/" in a path parameter, say) is a 404 like any unknown
    # address, not Werkzeug's 308 redirect with an HTML body.
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    # Flask's own provider (json_provider_class): keep "success" first, as the original did.
    cast(DefaultJSONProvider, app.json).sort_keys = False
    app.extensions["settings"] = settings
    admission = init_admission(app, settings)  # innermost middleware: the request log counts the wait
    init_request_logging(app)  # before the hooks, so that requests refused by them are logged too
    init_security(app, settings)
    register_services(app, settings, admission, prepare_database, clock)
    app.register_blueprint(routes.bp)
    if settings.server.getall_access == "off":
        routes.switch_off_user_listing(app)
    app.register_blueprint(docs.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(jwks.bp)
    app.register_blueprint(app_sites.bp)
    app.extensions["route_rules"] = route_rules(app)  # every view declares its rules
    init_rate_limits(app, settings)  # after the blueprints: it wraps their views
    register_error_handlers(app, unavailable=UNAVAILABLE_ERRORS)
    app.extensions["openapi"] = docs.build_spec(app, app.extensions["route_rules"])
    register_commands(app)
    if warn:
        log.info(app.extensions["mailer"].describe())
        for warning in settings.warnings():
            log.warning(warning)
    return app


def register_services(
    app: Flask,
    settings: Settings,
    admission: Admission,
    prepare_database: bool = True,
    clock: Clock = utc_now,
) -> None:
    """Connect storage and build the auth service the views use."""
    storage = connect(
        app,
        settings.store.mongo_uri,
        keep_activity_for=timedelta(days=settings.store.activity_ttl_days),
        timeout_ms=settings.store.mongo_timeout_seconds * 1000,
    )
    if prepare_database:
        storage.ensure_indexes()
    else:
        app.before_request(prepare_before_first_request(storage))
    keys = load_key_set(settings)
    signer = TokenSigner(
        keys=keys,
        access_ttl=settings.tokens.access_token_ttl,
        refresh_ttl=settings.tokens.refresh_token_ttl,
        issuer=settings.tokens.jwt_issuer,
        audience=settings.tokens.jwt_audience,
        leeway=settings.tokens.jwt_leeway,
        aal2_max_age=settings.mfa.aal2_max_age,
    )
    rules = SessionRules(
        rotation=settings.sessions.refresh_token_rotation,
        reuse_grace_seconds=settings.sessions.refresh_reuse_grace_seconds,
        check_access_session=settings.sessions.access_token_session_check,
        max_per_user=settings.sessions.max_sessions_per_user,
    )
    throttle = LoginThrottle.from_settings(storage, settings.limits)
    hasher = PasswordHasher(
        settings.passwords.bcrypt_rounds,
        settings.passwords.bcrypt_concurrency,
        settings.passwords.bcrypt_nice,
        waiting=admission.stepped_out,
    )
    account_rules = AccountRules(
        code_key=code_key(keys),
        code_ttl=settings.accounts.one_time_code_ttl,
        mail_limit_per_hour=settings.limits.mail_limit_per_hour,
        code_failures_per_day=settings.limits.code_failures_per_day,
        password_reset_url=settings.accounts.password_reset_url,
        email_verification_url=settings.accounts.email_verification_url,
        require_email_verification=settings.accounts.require_email_verification,
        password_policy=new_password_policy(settings),
    )
    # Development with the console backend keeps every mail for /dev/mail (app/devmail.py).
    dev_mail = settings.mail.mail_backend == "console" and not settings.production
    mailer = app.extensions["mailer"] = Mailer(
        app,
        settings.mail,
        storage,
        outbox_key(account_rules.code_key),
        production=settings.production,
        dev_mailbox=init_dev_mailbox(app) if dev_mail else None,
    )
    # Any process delivers the outbox: a serving one looks at it now and then (app/outbox.py).
    app.before_request(mailer.outbox.look_now_and_then)
    app.extensions["auth_service"] = build_auth_service(
        storage,
        signer,
        hasher,
        throttle,
        verifier=IdTokenVerifier.from_settings(settings),
        mailer=mailer,
        session_rules=rules,
        account_rules=account_rules,
        mfa_rules=mfa_rules(settings),
        clock=clock,
        passkey_rules=PasskeyRules(
            rp_id=settings.passkeys.webauthn_rp_id,
            rp_name=settings.passkeys.webauthn_rp_name,
            origins=settings.passkeys.origins,
        ),
    )


def mfa_rules(settings: Settings) -> MfaRules:
    """Return the second factor's rules; development without MFA_ENCRYPTION_KEYS gets a key made now."""
    texts = settings.mfa.mfa_encryption_keys
    if not texts and not settings.production:
        texts = (new_key_text(),)  # warned about by settings.warnings()
    return MfaRules(
        box=SecretBox.from_texts(texts),
        failures_per_day=settings.mfa.mfa_failures_per_day,
        app_name=settings.mail.app_name,
    )


def new_password_policy(settings: Settings) -> PasswordPolicy:
    """Return the rules for new passwords, with the online breach check when a URL is set."""
    if not settings.passwords.password_breach_check_url:
        return PasswordPolicy()
    check = BreachCheck(
        settings.passwords.password_breach_check_url, settings.passwords.password_breach_check_timeout
    )
    return PasswordPolicy(breach_check=check)


def prepare_before_first_request(storage: Storage) -> Callable[[], None]:
    """Return a request hook that creates the indexes (and runs the migrations) once, before any answer."""
    prepared = threading.Event()
    lock = threading.Lock()

    def prepare() -> None:
        if prepared.is_set():
            return
        with lock:
            if not prepared.is_set():
                storage.ensure_indexes()
                prepared.set()

    return prepare
