"""Settings: the one place that reads configuration, from the environment and `.env`."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv
from limits import parse_many

MIN_SECRET_BYTES = 32
SYMMETRIC_ALGORITHM = "HS256"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
MAX_LEEWAY = 300
# NIST SP 800-63B 5.2.2: at most 100 consecutive failed attempts on one account.
MAX_ACCOUNT_FAILURES_PER_DAY = 100
MAX_BREACH_CHECK_TIMEOUT = 10  # a signup waits for it: seconds, not minutes
LOG_FORMATS = ("text", "json")
GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
APPLE_JWKS_URL = "https://appleid.apple.com/auth/keys"
GETALL_ACCESS_MODES = ("all", "admin", "off")
APP_ENVS = ("production", "development", "testing")
PROXY_HEADERS = ("forwarded", "x-forwarded-for")
MAIL_BACKENDS = ("console", "smtp")
SMTP_SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_MAIL_FROM = "no-reply@localhost"
EMBEDDED_STORE_ONE_PROCESS = (
    "The embedded in-memory store (no MONGO_URI) lives inside one process: with {workers} workers "
    "each would keep its own users and sessions. Set MONGO_URI, or run one worker."
)


def usable_cores() -> int:
    """Return how many cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def is_safe_key_set_url(url: str) -> bool:
    """Say whether a provider's key set may be fetched from `url`: HTTPS, or plain HTTP on loopback only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class ConfigError(ValueError):
    """A setting is missing or malformed; the server must not start."""


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false.")


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = _text(env, name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every setting of the server; see the configuration table in README.md."""

    app_env: str = "development"
    # Set by the Dockerfile: the image refuses any APP_ENV but production unless told otherwise.
    production_image: bool = False
    allow_non_production: bool = False
    secret_key: str = field(default="", repr=False)
    secret_key_generated: bool = False
    mongo_uri: str | None = field(default=None, repr=False)  # may hold a password
    access_token_ttl: int = 900
    refresh_token_ttl: int = 7_776_000
    bcrypt_rounds: int = 12
    bcrypt_concurrency: int = field(default_factory=usable_cores)
    bcrypt_nice: int = 10
    request_concurrency: int = 4
    jwt_algorithm: str = "HS256"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    max_body_bytes: int = 64 * 1024
    port: int = 1140
    refresh_token_rotation: bool = False
    refresh_reuse_grace_seconds: int = 10
    access_token_session_check: bool = False
    max_sessions_per_user: int = 10
    # Keys: see README "Deploying" for rotation.
    jwt_private_key: str | None = field(default=None, repr=False)
    jwt_public_key: str | None = None
    jwt_previous_public_keys: tuple[str, ...] = ()
    previous_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    jwt_leeway: int = 0  # this server checks its own tokens: no foreign clock to allow for
    # Brute force
    rate_limit_enabled: bool = True
    rate_limit_storage_uri: str | None = field(default=None, repr=False)
    rate_limit_login: str = "20/minute"
    rate_limit_signup: str = "10/minute"
    rate_limit_refresh: str = "30/minute"
    login_failures_before_delay: int = 5
    login_delay_first: int = 1
    login_delay_max: int = 900
    login_account_failures_per_day: int = MAX_ACCOUNT_FAILURES_PER_DAY
    trusted_proxies: int = 0
    # Sign in with Google and Apple: the accepted `aud` values (none: the provider is off) and key sets.
    google_client_ids: tuple[str, ...] = ()
    apple_client_ids: tuple[str, ...] = ()
    google_jwks_url: str = GOOGLE_JWKS_URL
    apple_jwks_url: str = APPLE_JWKS_URL
    trusted_proxy_header: str = "forwarded"
    activity_ttl_days: int = 365
    # Accounts: mail, one-time codes, verification (README "Accounts")
    mail_backend: str = "console"
    mail_from: str = DEFAULT_MAIL_FROM
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "starttls"
    smtp_timeout: int = 10
    app_name: str = "Auth server"
    mail_templates_dir: str | None = None
    one_time_code_ttl: int = 900
    password_reset_url: str | None = None
    email_verification_url: str | None = None
    require_email_verification: bool = False
    mail_limit_per_hour: int = 3
    code_failures_per_day: int = 10
    mail_keep_days: int = 7  # sent and failed messages stay in the outbox this long
    rate_limit_forgot_password: str = "5/minute"
    rate_limit_reset_password: str = "10/minute"
    rate_limit_verify_email: str = "10/minute"
    rate_limit_resend_verification: str = "5/minute"
    # New passwords: the optional online breach check (README "Passwords: which are refused")
    password_breach_check_url: str | None = None
    password_breach_check_timeout: int = 2
    # Responses and logs
    cors_origins: tuple[str, ...] = ("*",)
    log_level: str = "INFO"
    log_format: str = "text"  # readable lines in development; JSON in production
    workers: int = 1
    # Reliability: how long a request waits for an absent database, how long a stop waits for requests.
    mongo_timeout_seconds: int = 5
    shutdown_grace_seconds: int = 20
    # Who may list users through getAll: every signed-in user (the original), admins, or nobody.
    getall_access: str = "all"

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def embedded_store(self) -> bool:
        return self.mongo_uri is None

    @property
    def asymmetric(self) -> bool:
        return self.jwt_algorithm in ASYMMETRIC_ALGORITHMS

    @property
    def rate_limit_storage(self) -> str:
        """Where rate-limit counters live: the setting, else the database, else this process."""
        return self.rate_limit_storage_uri or self.mongo_uri or "memory://"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env`, or from `.env` overlaid by the process environment."""
        if env is None:
            env = {
                **{k: v for k, v in dotenv_values(find_dotenv(usecwd=True)).items() if v is not None},
                **os.environ,
            }
        production_image = _bool(env, "PRODUCTION_IMAGE", False)
        app_env = (_text(env, "APP_ENV") or ("production" if production_image else "development")).lower()
        secret = _text(env, "SECRET_KEY")
        smtp_host = _text(env, "SMTP_HOST")
        settings = cls(
            app_env=app_env,
            production_image=production_image,
            allow_non_production=_bool(env, "ALLOW_NON_PRODUCTION", False),
            secret_key=secret or secrets.token_urlsafe(48),
            secret_key_generated=secret is None,
            mongo_uri=_text(env, "MONGO_URI"),
            access_token_ttl=_int(env, "ACCESS_TOKEN_TTL", 900, minimum=1),
            refresh_token_ttl=_int(env, "REFRESH_TOKEN_TTL", 7_776_000, minimum=1),
            bcrypt_rounds=_int(env, "BCRYPT_ROUNDS", 12, minimum=4),
            bcrypt_concurrency=_int(env, "BCRYPT_CONCURRENCY", usable_cores(), minimum=1),
            bcrypt_nice=_int(env, "BCRYPT_NICE", 10, minimum=0),
            # On MongoDB a request also waits for the database inside its turn: more at once.
            request_concurrency=_int(
                env, "REQUEST_CONCURRENCY", 4 if _text(env, "MONGO_URI") is None else 16, minimum=1
            ),
            jwt_algorithm=_text(env, "JWT_ALGORITHM", "HS256"),
            jwt_issuer=_text(env, "JWT_ISSUER"),
            jwt_audience=_text(env, "JWT_AUDIENCE"),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, minimum=1024),
            port=_int(env, "PORT", 1140, minimum=1),
            refresh_token_rotation=_bool(env, "REFRESH_TOKEN_ROTATION", False),
            refresh_reuse_grace_seconds=_int(env, "REFRESH_REUSE_GRACE_SECONDS", 10),
            access_token_session_check=_bool(env, "ACCESS_TOKEN_SESSION_CHECK", False),
            max_sessions_per_user=_int(env, "MAX_SESSIONS_PER_USER", 10, minimum=1),
            jwt_private_key=_text(env, "JWT_PRIVATE_KEY"),
            jwt_public_key=_text(env, "JWT_PUBLIC_KEY"),
            jwt_previous_public_keys=_list(env, "JWT_PREVIOUS_PUBLIC_KEYS"),
            previous_secret_keys=_list(env, "PREVIOUS_SECRET_KEYS"),
            jwt_leeway=_int(env, "JWT_LEEWAY", 0),
            rate_limit_enabled=_bool(env, "RATE_LIMIT_ENABLED", True),
            rate_limit_storage_uri=_text(env, "RATE_LIMIT_STORAGE_URI"),
            rate_limit_login=_text(env, "RATE_LIMIT_LOGIN", "20/minute"),
            rate_limit_signup=_text(env, "RATE_LIMIT_SIGNUP", "10/minute"),
            rate_limit_refresh=_text(env, "RATE_LIMIT_REFRESH", "30/minute"),
            login_failures_before_delay=_int(env, "LOGIN_FAILURES_BEFORE_DELAY", 5, minimum=1),
            login_delay_first=_int(env, "LOGIN_DELAY_FIRST_SECONDS", 1, minimum=1),
            login_delay_max=_int(env, "LOGIN_DELAY_MAX_SECONDS", 900, minimum=1),
            login_account_failures_per_day=_int(
                env, "LOGIN_ACCOUNT_FAILURES_PER_DAY", MAX_ACCOUNT_FAILURES_PER_DAY, minimum=1
            ),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
            google_client_ids=_list(env, "GOOGLE_CLIENT_IDS"),
            apple_client_ids=_list(env, "APPLE_CLIENT_IDS"),
            google_jwks_url=_text(env, "GOOGLE_JWKS_URL", GOOGLE_JWKS_URL),
            apple_jwks_url=_text(env, "APPLE_JWKS_URL", APPLE_JWKS_URL),
            trusted_proxy_header=(_text(env, "TRUSTED_PROXY_HEADER") or "forwarded").lower(),
            activity_ttl_days=_int(env, "ACTIVITY_TTL_DAYS", 365, minimum=1),
            # With an SMTP host named, mail goes there unless MAIL_BACKEND says otherwise.
            mail_backend=(_text(env, "MAIL_BACKEND") or ("smtp" if smtp_host else "console")).lower(),
            mail_from=_text(env, "MAIL_FROM", DEFAULT_MAIL_FROM),
            smtp_host=smtp_host,
            smtp_port=_int(env, "SMTP_PORT", 587, minimum=1),
            smtp_username=_text(env, "SMTP_USERNAME"),
            smtp_password=_text(env, "SMTP_PASSWORD"),
            smtp_security=(_text(env, "SMTP_SECURITY") or "starttls").lower(),
            smtp_timeout=_int(env, "SMTP_TIMEOUT", 10, minimum=1),
            app_name=_text(env, "APP_NAME", "Auth server"),
            mail_templates_dir=_text(env, "MAIL_TEMPLATES_DIR"),
            one_time_code_ttl=_int(env, "ONE_TIME_CODE_TTL", 900, minimum=60),
            password_reset_url=_text(env, "PASSWORD_RESET_URL"),
            email_verification_url=_text(env, "EMAIL_VERIFICATION_URL"),
            require_email_verification=_bool(env, "REQUIRE_EMAIL_VERIFICATION", False),
            mail_limit_per_hour=_int(env, "MAIL_LIMIT_PER_HOUR", 3, minimum=1),
            code_failures_per_day=_int(env, "CODE_FAILURES_PER_DAY", 10, minimum=1),
            mail_keep_days=_int(env, "MAIL_KEEP_DAYS", 7, minimum=1),
            rate_limit_forgot_password=_text(env, "RATE_LIMIT_FORGOT_PASSWORD", "5/minute"),
            rate_limit_reset_password=_text(env, "RATE_LIMIT_RESET_PASSWORD", "10/minute"),
            rate_limit_verify_email=_text(env, "RATE_LIMIT_VERIFY_EMAIL", "10/minute"),
            rate_limit_resend_verification=_text(env, "RATE_LIMIT_RESEND_VERIFICATION", "5/minute"),
            password_breach_check_url=_text(env, "PASSWORD_BREACH_CHECK_URL"),
            password_breach_check_timeout=_int(env, "PASSWORD_BREACH_CHECK_TIMEOUT", 2, minimum=1),
            # Production answers no browser origin until told which; development answers all.
            cors_origins=_list(env, "CORS_ORIGINS", () if app_env == "production" else ("*",)),
            log_level=(_text(env, "LOG_LEVEL") or "INFO").upper(),
            log_format=(_text(env, "LOG_FORMAT") or ("json" if app_env == "production" else "text")).lower(),
            workers=_int(env, "WEB_CONCURRENCY", 1, minimum=1),
            mongo_timeout_seconds=_int(env, "MONGO_TIMEOUT_SECONDS", 5, minimum=1),
            shutdown_grace_seconds=_int(env, "SHUTDOWN_GRACE_SECONDS", 20, minimum=1),
            getall_access=(_text(env, "GETALL_ACCESS") or "all").lower(),
        )
        settings.check()
        return settings

    def warnings(self) -> list[str]:
        """Return what start-up and `flask db check` warn about: settings fine only for development."""
        warnings = []
        if self.embedded_store:
            warnings.append(
                "*** NO MONGO_URI: using the embedded in-memory store. "
                "Every user and session is lost when the process stops. ***"
            )
        if self.rate_limit_storage == "memory://" and not self.embedded_store:
            warnings.append("Rate limits are counted in this process only (RATE_LIMIT_STORAGE_URI=memory://).")
        if self.secret_key_generated and not self.asymmetric:
            warnings.append(
                "*** NO SECRET_KEY: signing tokens with a random key made at start-up. "
                "Tokens will not survive a restart. ***"
            )
        if self.production and self.getall_access == "all":
            warnings.append(
                "GETALL_ACCESS=all: every signed-in user can list every account (names and emails). "
                "Set GETALL_ACCESS=admin or off unless the app needs it."
            )
        if self.production and self.mail_backend == "console":
            warnings.append("*** MAIL_BACKEND=console in production: no mail leaves this server. ***")
        return warnings

    def check(self) -> None:
        """Refuse settings that would be unsafe or meaningless."""
        self._check_environment()
        if self.bcrypt_rounds > 31:
            raise ConfigError("BCRYPT_ROUNDS must be between 4 and 31.")
        self._check_keys()
        self._check_limits()
        self._check_key_set_urls()
        self._check_mail()
        if not isinstance(logging.getLevelName(self.log_level), int):
            raise ConfigError("LOG_LEVEL is not a logging level (DEBUG, INFO, WARNING, ERROR).")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError("LOG_FORMAT must be text or json.")
        if self.bcrypt_nice > 19:
            raise ConfigError("BCRYPT_NICE must be between 0 and 19.")
        self.check_workers(self.workers)
        if self.getall_access not in GETALL_ACCESS_MODES:
            raise ConfigError("GETALL_ACCESS must be all, admin or off.")
        if not self.production:
            return
        if not self.asymmetric and (
            self.secret_key_generated or len(self.secret_key.encode()) < MIN_SECRET_BYTES
        ):
            raise ConfigError(
                f"APP_ENV=production needs a SECRET_KEY of at least {MIN_SECRET_BYTES} bytes "
                "(or JWT_ALGORITHM with JWT_PRIVATE_KEY)."
            )
        if any(len(secret.encode()) < MIN_SECRET_BYTES for secret in self.previous_secret_keys):
            raise ConfigError(f"Every PREVIOUS_SECRET_KEYS entry must be at least {MIN_SECRET_BYTES} bytes.")
        if self.embedded_store:
            raise ConfigError("APP_ENV=production needs MONGO_URI.")

    def _check_environment(self) -> None:
        if self.app_env not in APP_ENVS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}.")
        if self.production_image and not self.production and not self.allow_non_production:
            raise ConfigError(
                "This is the production image: APP_ENV must be production here "
                "(set ALLOW_NON_PRODUCTION=true to run it otherwise on purpose)."
            )
        if self.trusted_proxy_header not in PROXY_HEADERS:
            raise ConfigError("TRUSTED_PROXY_HEADER must be Forwarded or X-Forwarded-For.")

    def _check_keys(self) -> None:
        if self.jwt_algorithm not in (SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS):
            supported = ", ".join((SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS))
            raise ConfigError(f"JWT_ALGORITHM is not supported (use {supported}).")
        if self.asymmetric and not self.jwt_private_key:
            raise ConfigError(f"JWT_ALGORITHM={self.jwt_algorithm} needs JWT_PRIVATE_KEY.")
        if self.jwt_leeway > MAX_LEEWAY:
            raise ConfigError(f"JWT_LEEWAY must be at most {MAX_LEEWAY} seconds.")

    def _check_limits(self) -> None:
        for name, value in (
            ("RATE_LIMIT_LOGIN", self.rate_limit_login),
            ("RATE_LIMIT_SIGNUP", self.rate_limit_signup),
            ("RATE_LIMIT_REFRESH", self.rate_limit_refresh),
            ("RATE_LIMIT_FORGOT_PASSWORD", self.rate_limit_forgot_password),
            ("RATE_LIMIT_RESET_PASSWORD", self.rate_limit_reset_password),
            ("RATE_LIMIT_VERIFY_EMAIL", self.rate_limit_verify_email),
            ("RATE_LIMIT_RESEND_VERIFICATION", self.rate_limit_resend_verification),
        ):
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"{name} must read like '20/minute'.") from None
        if self.login_delay_first > self.login_delay_max:
            raise ConfigError("LOGIN_DELAY_FIRST_SECONDS must not exceed LOGIN_DELAY_MAX_SECONDS.")
        if self.login_account_failures_per_day > MAX_ACCOUNT_FAILURES_PER_DAY:
            raise ConfigError(
                f"LOGIN_ACCOUNT_FAILURES_PER_DAY must be at most {MAX_ACCOUNT_FAILURES_PER_DAY} "
                "(NIST SP 800-63B's bound on failed attempts at one account)."
            )

    def _check_key_set_urls(self) -> None:
        for name, url in (("GOOGLE_JWKS_URL", self.google_jwks_url), ("APPLE_JWKS_URL", self.apple_jwks_url)):
            if not is_safe_key_set_url(url):
                raise ConfigError(f"{name} must be an https:// URL (plain http only on a loopback address).")
        if self.password_breach_check_url and not is_safe_key_set_url(self.password_breach_check_url):
            raise ConfigError(
                "PASSWORD_BREACH_CHECK_URL must be an https:// URL (plain http only on a loopback address)."
            )
        if self.password_breach_check_timeout > MAX_BREACH_CHECK_TIMEOUT:
            raise ConfigError(
                f"PASSWORD_BREACH_CHECK_TIMEOUT must be at most {MAX_BREACH_CHECK_TIMEOUT} seconds."
            )

    def _check_mail(self) -> None:
        if self.mail_backend not in MAIL_BACKENDS:
            raise ConfigError(
                f"MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}, got {self.mail_backend!r}."
            )
        if self.smtp_security not in SMTP_SECURITY_MODES:
            raise ConfigError(
                f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_MODES)}, got {self.smtp_security!r}."
            )
        if self.mail_backend == "smtp" and not self.smtp_host:
            raise ConfigError("MAIL_BACKEND=smtp needs SMTP_HOST.")
        if self.production and self.mail_backend == "smtp" and self.mail_from == DEFAULT_MAIL_FROM:
            raise ConfigError(
                "APP_ENV=production with SMTP needs MAIL_FROM, e.g. 'Acme <no-reply@acme.example>'."
            )
        if self.mail_templates_dir and not os.path.isdir(self.mail_templates_dir):
            raise ConfigError(f"MAIL_TEMPLATES_DIR {self.mail_templates_dir!r} is not a folder.")
        for name, template in (
            ("PASSWORD_RESET_URL", self.password_reset_url),
            ("EMAIL_VERIFICATION_URL", self.email_verification_url),
        ):
            if template and "{code}" not in template:
                raise ConfigError(f"{name} must contain {{code}} (and may contain {{email}}).")

    def check_workers(self, workers: int) -> None:
        """Refuse several worker processes on the embedded store, which lives inside one."""
        if workers > 1 and self.embedded_store:
            raise ConfigError(EMBEDDED_STORE_ONE_PROCESS.format(workers=workers))
