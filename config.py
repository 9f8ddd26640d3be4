"""Settings: the one place that reads configuration, from the environment and `.env`.

Each setting is declared once, in the section of the concern it belongs to: its variable's
name, its default and its bounds, next to its field (`setting(...)`). `Settings.from_env`
reads every section from those declarations; each section checks what spans its fields, and
the parts of the server take the section they use. the tables of docs/configuration.md are
checked against these declarations by a test.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv
from limits import parse_many

MIN_SECRET_BYTES = 32
SYMMETRIC_ALGORITHM = "HS256"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
DEFAULT_MAIL_FROM = "no-reply@localhost"
EMBEDDED_STORE_ONE_PROCESS = (
    "The embedded in-memory store (no MONGO_URI) lives inside one process: with {workers} workers "
    "each would keep its own users and sessions. Set MONGO_URI, or run one worker."
)
Env = Mapping[str, str]


class ConfigError(ValueError):
    """A setting is missing or malformed; the server must not start."""


def settings_or_exit(env: Env | None = None) -> Settings:
    """Read the settings, or stop the process with one line on stderr and exit status 2 (no traceback)."""
    try:
        return Settings.from_env(env)
    except ConfigError as refusal:
        print(f"Error: {refusal}", file=sys.stderr)
        raise SystemExit(2) from None


def usable_cores() -> int:
    """Return how many cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def is_safe_key_set_url(url: str) -> bool:
    """Say whether a key set (or a breach check) may be fetched from `url`: HTTPS, or HTTP on loopback."""
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


def _text(env: Env, name: str) -> str | None:
    return env.get(name, "").strip() or None


def _app_env(env: Env) -> str:
    production_image = _parse_bool("PRODUCTION_IMAGE", _text(env, "PRODUCTION_IMAGE") or "false")
    return (_text(env, "APP_ENV") or ("production" if production_image else "development")).lower()


def setting(
    env: str,
    default: Any = None,
    *,
    default_from: Callable[[Env], Any] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    choices: tuple[str, ...] | None = None,
    lower: bool = False,
    secret: bool = False,
) -> Any:
    """Declare one setting: the variable it is read from, its default (or how the environment
    decides it), and its bounds. Its type is the field's annotation."""
    metadata = {
        "env": env,
        "default_from": default_from,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "lower": lower,
    }
    if isinstance(default, tuple | list):
        return field(default_factory=lambda: tuple(default), metadata=metadata, repr=not secret)
    return field(default=default, metadata=metadata, repr=not secret)


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false.")


def _parse(kind: str, name: str, raw: str) -> Any:
    """Turn a variable's text into the field's type (`int`, `bool`, `str`, a comma list)."""
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number.") from None
    if kind == "bool":
        return _parse_bool(name, raw)
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


def _bounded(declared: Any, name: str, value: Any) -> None:
    meta = declared.metadata
    if meta["minimum"] is not None and value < meta["minimum"]:
        raise ConfigError(f"{name} must be at least {meta['minimum']}, got {value}.")
    if meta["maximum"] is not None and value > meta["maximum"]:
        raise ConfigError(f"{name} must be at most {meta['maximum']}, got {value}.")
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ConfigError(f"{name} must be one of {', '.join(meta['choices'])}.")


def read_section(section: type, env: Env) -> Any:
    """Read one section from `env` by its declarations: parse, default, bound every field."""
    values = {}
    for declared in fields(section):
        meta = declared.metadata
        name = meta.get("env")
        if not name:  # derived by Settings, not read
            continue
        raw = _text(env, name)
        if raw is None:
            if meta["default_from"] is not None:
                value = meta["default_from"](env)
            elif declared.default is not MISSING:
                value = declared.default
            elif declared.default_factory is not MISSING:
                value = declared.default_factory()
            else:  # setting() always gives one or the other
                raise TypeError(f"{name} is declared without a default")
        else:
            value = _parse(str(declared.type).split(" ")[0], name, raw)
            if meta["lower"] and isinstance(value, str):
                value = value.lower()
        if value is not None and not isinstance(value, tuple):
            _bounded(declared, name, value)
        values[declared.name] = value
    instance = section(**values)
    instance.check()
    return instance


@dataclass(frozen=True)
class ServerSettings:
    """What the server is and how it serves: environment, port, processes, bodies, proxies, CORS."""

    app_env: str = setting(
        "APP_ENV",
        "development",
        default_from=_app_env,
        choices=("production", "development", "testing"),
        lower=True,
    )
    # Set by the Dockerfile: the image refuses any APP_ENV but production unless told otherwise.
    production_image: bool = setting("PRODUCTION_IMAGE", False)
    allow_non_production: bool = setting("ALLOW_NON_PRODUCTION", False)
    port: int = setting("PORT", 1140, minimum=1)
    workers: int = setting("WEB_CONCURRENCY", 1, minimum=1)
    # On MongoDB a request also waits for the database inside its turn: more at once.
    request_concurrency: int = setting(
        "REQUEST_CONCURRENCY",
        4,
        default_from=lambda env: 4 if _text(env, "MONGO_URI") is None else 16,
        minimum=1,
    )
    max_body_bytes: int = setting("MAX_BODY_BYTES", 64 * 1024, minimum=1024)
    trusted_proxies: int = setting("TRUSTED_PROXIES", 0, minimum=0)
    trusted_proxy_header: str = setting(
        "TRUSTED_PROXY_HEADER", "forwarded", choices=("forwarded", "x-forwarded-for"), lower=True
    )
    # Production answers no browser origin until told which; development answers all.
    cors_origins: tuple[str, ...] = setting(
        "CORS_ORIGINS", ("*",), default_from=lambda env: () if _app_env(env) == "production" else ("*",)
    )
    shutdown_grace_seconds: int = setting("SHUTDOWN_GRACE_SECONDS", 20, minimum=1)
    # Who may list users through getAll: every signed-in user (the original), admins, or nobody.
    getall_access: str = setting("GETALL_ACCESS", "all", choices=("all", "admin", "off"), lower=True)

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    def check(self) -> None:
        if self.production_image and not self.production and not self.allow_non_production:
            raise ConfigError(
                "This is the production image: APP_ENV must be production here "
                "(set ALLOW_NON_PRODUCTION=true to run it otherwise on purpose)."
            )


@dataclass(frozen=True)
class StoreSettings:
    """Where users and sessions are kept, and how long a call waits for the database."""

    mongo_uri: str | None = setting("MONGO_URI", secret=True)  # may hold a password
    mongo_timeout_seconds: int = setting("MONGO_TIMEOUT_SECONDS", 5, minimum=1)
    activity_ttl_days: int = setting("ACTIVITY_TTL_DAYS", 365, minimum=1)

    @property
    def embedded(self) -> bool:
        return self.mongo_uri is None

    def check(self) -> None:
        return None


@dataclass(frozen=True)
class TokenSettings:
    """How tokens are signed and how long they live. Key rotation: docs/deployment.md."""

    secret_key: str = setting(
        "SECRET_KEY", "", default_from=lambda env: secrets.token_urlsafe(48), secret=True
    )
    jwt_algorithm: str = setting(
        "JWT_ALGORITHM", SYMMETRIC_ALGORITHM, choices=(SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS)
    )
    jwt_issuer: str | None = setting("JWT_ISSUER")
    jwt_audience: str | None = setting("JWT_AUDIENCE")
    access_token_ttl: int = setting("ACCESS_TOKEN_TTL", 900, minimum=1)
    refresh_token_ttl: int = setting("REFRESH_TOKEN_TTL", 7_776_000, minimum=1)
    jwt_private_key: str | None = setting("JWT_PRIVATE_KEY", secret=True)
    jwt_public_key: str | None = setting("JWT_PUBLIC_KEY")
    jwt_previous_public_keys: tuple[str, ...] = setting("JWT_PREVIOUS_PUBLIC_KEYS", ())
    previous_secret_keys: tuple[str, ...] = setting("PREVIOUS_SECRET_KEYS", (), secret=True)
    # This server checks its own tokens: no foreign clock to allow for.
    jwt_leeway: int = setting("JWT_LEEWAY", 0, minimum=0, maximum=300)
    secret_key_generated: bool = field(default=False, metadata={"env": None})  # no SECRET_KEY was given

    @property
    def asymmetric(self) -> bool:
        return self.jwt_algorithm in ASYMMETRIC_ALGORITHMS

    def check(self) -> None:
        if self.asymmetric and not self.jwt_private_key:
            raise ConfigError(f"JWT_ALGORITHM={self.jwt_algorithm} needs JWT_PRIVATE_KEY.")

    def check_production(self) -> None:
        """Refuse what production must not run with: a made-up or short secret."""
        if not self.asymmetric and (
            self.secret_key_generated or len(self.secret_key.encode()) < MIN_SECRET_BYTES
        ):
            raise ConfigError(
                f"APP_ENV=production needs a SECRET_KEY of at least {MIN_SECRET_BYTES} bytes "
                "(or JWT_ALGORITHM with JWT_PRIVATE_KEY)."
            )
        if any(len(secret.encode()) < MIN_SECRET_BYTES for secret in self.previous_secret_keys):
            raise ConfigError(f"Every PREVIOUS_SECRET_KEYS entry must be at least {MIN_SECRET_BYTES} bytes.")


@dataclass(frozen=True)
class SessionSettings:
    """How sessions behave: refresh-token rotation, the guard's session check, the cap."""

    refresh_token_rotation: bool = setting("REFRESH_TOKEN_ROTATION", False)
    refresh_reuse_grace_seconds: int = setting("REFRESH_REUSE_GRACE_SECONDS", 10, minimum=0)
    access_token_session_check: bool = setting("ACCESS_TOKEN_SESSION_CHECK", False)
    max_sessions_per_user: int = setting("MAX_SESSIONS_PER_USER", 10, minimum=1)

    def check(self) -> None:
        return None


@dataclass(frozen=True)
class PasswordSettings:
    """How passwords are hashed, and the optional online breach check of new ones."""

    bcrypt_rounds: int = setting("BCRYPT_ROUNDS", 12, minimum=4, maximum=31)
    bcrypt_concurrency: int = setting(
        "BCRYPT_CONCURRENCY", 1, default_from=lambda env: usable_cores(), minimum=1
    )
    bcrypt_nice: int = setting("BCRYPT_NICE", 10, minimum=0, maximum=19)
    password_breach_check_url: str | None = setting("PASSWORD_BREACH_CHECK_URL")
    # A signup waits for it: seconds, not minutes.
    password_breach_check_timeout: int = setting("PASSWORD_BREACH_CHECK_TIMEOUT", 2, minimum=1, maximum=10)

    def check(self) -> None:
        if self.password_breach_check_url and not is_safe_key_set_url(self.password_breach_check_url):
            raise ConfigError(
                "PASSWORD_BREACH_CHECK_URL must be an https:// URL (plain http only on a loopback address)."
            )


RATE_LIMITS = {
    "rate_limit_login": "RATE_LIMIT_LOGIN",
    "rate_limit_signup": "RATE_LIMIT_SIGNUP",
    "rate_limit_refresh": "RATE_LIMIT_REFRESH",
    "rate_limit_forgot_password": "RATE_LIMIT_FORGOT_PASSWORD",
    "rate_limit_reset_password": "RATE_LIMIT_RESET_PASSWORD",
    "rate_limit_verify_email": "RATE_LIMIT_VERIFY_EMAIL",
    "rate_limit_resend_verification": "RATE_LIMIT_RESEND_VERIFICATION",
}
# NIST SP 800-63B 5.2.2: at most 100 consecutive failed attempts on one account.
MAX_ACCOUNT_FAILURES_PER_DAY = 100


@dataclass(frozen=True)
class LimitSettings:
    """How much anyone may try: per-address rate limits, login delays, the accounts' daily ceilings."""

    rate_limit_enabled: bool = setting("RATE_LIMIT_ENABLED", True)
    rate_limit_storage_uri: str | None = setting("RATE_LIMIT_STORAGE_URI", secret=True)
    rate_limit_login: str = setting("RATE_LIMIT_LOGIN", "20/minute")
    rate_limit_signup: str = setting("RATE_LIMIT_SIGNUP", "10/minute")
    rate_limit_refresh: str = setting("RATE_LIMIT_REFRESH", "30/minute")
    rate_limit_forgot_password: str = setting("RATE_LIMIT_FORGOT_PASSWORD", "5/minute")
    rate_limit_reset_password: str = setting("RATE_LIMIT_RESET_PASSWORD", "10/minute")
    rate_limit_verify_email: str = setting("RATE_LIMIT_VERIFY_EMAIL", "10/minute")
    rate_limit_resend_verification: str = setting("RATE_LIMIT_RESEND_VERIFICATION", "5/minute")
    login_failures_before_delay: int = setting("LOGIN_FAILURES_BEFORE_DELAY", 5, minimum=1)
    login_delay_first: int = setting("LOGIN_DELAY_FIRST_SECONDS", 1, minimum=1)
    login_delay_max: int = setting("LOGIN_DELAY_MAX_SECONDS", 900, minimum=1)
    login_account_failures_per_day: int = setting(
        "LOGIN_ACCOUNT_FAILURES_PER_DAY",
        MAX_ACCOUNT_FAILURES_PER_DAY,
        minimum=1,
        maximum=MAX_ACCOUNT_FAILURES_PER_DAY,
    )
    code_failures_per_day: int = setting("CODE_FAILURES_PER_DAY", 10, minimum=1)
    mail_limit_per_hour: int = setting("MAIL_LIMIT_PER_HOUR", 3, minimum=1)

    def check(self) -> None:
        for attribute, name in RATE_LIMITS.items():
            try:
                parse_many(getattr(self, attribute))
            except ValueError:
                raise ConfigError(f"{name} must read like '20/minute'.") from None
        if self.login_delay_first > self.login_delay_max:
            raise ConfigError("LOGIN_DELAY_FIRST_SECONDS must not exceed LOGIN_DELAY_MAX_SECONDS.")


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes, who it is from, and how long the outbox keeps what it sent."""

    # With an SMTP host named, mail goes there unless MAIL_BACKEND says otherwise.
    mail_backend: str = setting(
        "MAIL_BACKEND",
        "console",
        default_from=lambda env: "smtp" if _text(env, "SMTP_HOST") else "console",
        choices=("console", "smtp"),
        lower=True,
    )
    mail_from: str = setting("MAIL_FROM", DEFAULT_MAIL_FROM)
    smtp_host: str | None = setting("SMTP_HOST")
    smtp_port: int = setting("SMTP_PORT", 587, minimum=1)
    smtp_username: str | None = setting("SMTP_USERNAME")
    smtp_password: str | None = setting("SMTP_PASSWORD", secret=True)
    smtp_security: str = setting("SMTP_SECURITY", "starttls", choices=("starttls", "ssl", "none"), lower=True)
    smtp_timeout: int = setting("SMTP_TIMEOUT", 10, minimum=1)
    app_name: str = setting("APP_NAME", "Auth server")
    mail_templates_dir: str | None = setting("MAIL_TEMPLATES_DIR")
    # Sent and failed messages stay in the outbox this long.
    mail_keep_days: int = setting("MAIL_KEEP_DAYS", 7, minimum=1)

    def check(self) -> None:
        if self.mail_backend == "smtp" and not self.smtp_host:
            raise ConfigError("MAIL_BACKEND=smtp needs SMTP_HOST.")
        if self.mail_templates_dir and not os.path.isdir(self.mail_templates_dir):
            raise ConfigError(f"MAIL_TEMPLATES_DIR {self.mail_templates_dir!r} is not a folder.")


@dataclass(frozen=True)
class AccountSettings:
    """One-time codes, the links in their messages, and whether logins need a verified address."""

    one_time_code_ttl: int = setting("ONE_TIME_CODE_TTL", 900, minimum=60)
    password_reset_url: str | None = setting("PASSWORD_RESET_URL")
    email_verification_url: str | None = setting("EMAIL_VERIFICATION_URL")
    require_email_verification: bool = setting("REQUIRE_EMAIL_VERIFICATION", False)

    def check(self) -> None:
        for name, template in (
            ("PASSWORD_RESET_URL", self.password_reset_url),
            ("EMAIL_VERIFICATION_URL", self.email_verification_url),
        ):
            if template and "{code}" not in template:
                raise ConfigError(f"{name} must contain {{code}} (and may contain {{email}}).")


@dataclass(frozen=True)
class ProviderSettings:
    """Sign in with Google and Apple: the accepted `aud` values (none: the provider is off), key sets."""

    google_client_ids: tuple[str, ...] = setting("GOOGLE_CLIENT_IDS", ())
    apple_client_ids: tuple[str, ...] = setting("APPLE_CLIENT_IDS", ())
    google_jwks_url: str = setting("GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs")
    apple_jwks_url: str = setting("APPLE_JWKS_URL", "https://appleid.apple.com/auth/keys")

    def check(self) -> None:
        for name, url in (("GOOGLE_JWKS_URL", self.google_jwks_url), ("APPLE_JWKS_URL", self.apple_jwks_url)):
            if not is_safe_key_set_url(url):
                raise ConfigError(f"{name} must be an https:// URL (plain http only on a loopback address).")


ANDROID_ORIGIN = "android:apk-key-hash:"
_ANDROID_KEY_HASH = re.compile(r"^[A-Za-z0-9_-]{43}$")  # unpadded base64url of a SHA-256
_FINGERPRINT = re.compile(r"^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


@dataclass(frozen=True)
class PasskeySettings:
    """Passkeys (WebAuthn): the relying party, the origins its apps sign from, the apps it vouches for."""

    webauthn_rp_id: str | None = setting("WEBAUTHN_RP_ID", lower=True)
    webauthn_rp_name: str = setting(
        "WEBAUTHN_RP_NAME", "Auth server", default_from=lambda env: _text(env, "APP_NAME") or "Auth server"
    )
    webauthn_origins: tuple[str, ...] = setting("WEBAUTHN_ORIGINS", ())
    webauthn_ios_app_ids: tuple[str, ...] = setting("WEBAUTHN_IOS_APP_IDS", ())
    webauthn_android_apps: tuple[str, ...] = setting("WEBAUTHN_ANDROID_APPS", ())

    @property
    def enabled(self) -> bool:
        return self.webauthn_rp_id is not None

    @property
    def origins(self) -> tuple[str, ...]:
        """The accepted origins: the configured ones, else the RP's own web origin (what iOS apps send)."""
        if self.webauthn_origins or self.webauthn_rp_id is None:
            return self.webauthn_origins
        return (f"https://{self.webauthn_rp_id}",)

    def android_apps(self) -> list[tuple[str, str]]:
        """Return each (package, SHA-256 fingerprint) of WEBAUTHN_ANDROID_APPS."""
        return [
            (package, fingerprint)
            for package, _, fingerprint in (app.partition(":") for app in self.webauthn_android_apps)
        ]

    def check(self) -> None:
        if self.webauthn_rp_id is not None and not _DOMAIN.match(self.webauthn_rp_id):
            raise ConfigError(
                "WEBAUTHN_RP_ID must be a bare domain, like example.com (no scheme, port or path)."
            )
        for origin in self.webauthn_origins:
            self._check_origin(origin)
        for app in self.webauthn_ios_app_ids:
            team, _, bundle = app.partition(".")
            if not (len(team) == 10 and team.isalnum() and bundle):
                raise ConfigError(f"WEBAUTHN_IOS_APP_IDS: {app!r} is not TEAMID.bundle.id.")
        for app in self.webauthn_android_apps:
            package, _, fingerprint = app.partition(":")
            if not package or not _FINGERPRINT.match(fingerprint):
                raise ConfigError(
                    f"WEBAUTHN_ANDROID_APPS: {app!r} is not package:SHA-256 fingerprint (AB:CD:...)."
                )

    def _check_origin(self, origin: str) -> None:
        if origin.startswith(ANDROID_ORIGIN):
            if not _ANDROID_KEY_HASH.match(origin[len(ANDROID_ORIGIN) :]):
                raise ConfigError(
                    f"WEBAUTHN_ORIGINS: {origin!r} must end in the signing key's SHA-256, unpadded base64url."
                )
            return
        parts = urlsplit(origin)
        if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
            raise ConfigError(f"WEBAUTHN_ORIGINS: {origin!r} is not an https origin or {ANDROID_ORIGIN}...")
        rp_id = self.webauthn_rp_id or ""
        if parts.hostname != rp_id and not parts.hostname.endswith(f".{rp_id}"):
            raise ConfigError(f"WEBAUTHN_ORIGINS: {origin!r} is not on WEBAUTHN_RP_ID or a subdomain of it.")


@dataclass(frozen=True)
class MfaSettings:
    """The second factor: the keys of TOTP secrets, wrong-code ceilings, how long aal 2 lasts."""

    # Comma list of base64 32-byte keys: the first encrypts, every one decrypts (rotation).
    mfa_encryption_keys: tuple[str, ...] = setting("MFA_ENCRYPTION_KEYS", (), secret=True)
    mfa_failures_per_day: int = setting("MFA_FAILURES_PER_DAY", 10, minimum=1)
    aal2_max_age: int = setting("AAL2_MAX_AGE", 86400, minimum=60)

    def check(self) -> None:
        for text in self.mfa_encryption_keys:
            cleaned = text.replace("-", "+").replace("_", "/")
            try:
                key = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
            except ValueError:
                key = b""
            if len(key) != 32:
                raise ConfigError("Each MFA_ENCRYPTION_KEYS entry must be base64 of 32 random bytes.")


@dataclass(frozen=True)
class LogSettings:
    """How much is logged, and how: readable lines in development, JSON in production."""

    log_level: str = setting("LOG_LEVEL", "INFO")
    log_format: str = setting(
        "LOG_FORMAT",
        "text",
        default_from=lambda env: "json" if _app_env(env) == "production" else "text",
        choices=("text", "json"),
        lower=True,
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "log_level", self.log_level.upper())

    def check(self) -> None:
        if not isinstance(logging.getLevelName(self.log_level), int):
            raise ConfigError("LOG_LEVEL is not a logging level (DEBUG, INFO, WARNING, ERROR).")


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "store": StoreSettings,
    "tokens": TokenSettings,
    "sessions": SessionSettings,
    "passwords": PasswordSettings,
    "limits": LimitSettings,
    "mail": MailSettings,
    "accounts": AccountSettings,
    "providers": ProviderSettings,
    "passkeys": PasskeySettings,
    "mfa": MfaSettings,
    "logs": LogSettings,
}


def declarations() -> list[tuple[str, Any]]:
    """Every setting's declaration: (section name, the dataclass field) for each variable read."""
    return [
        (name, declared)
        for name, section in SECTIONS.items()
        for declared in fields(section)
        if declared.metadata.get("env")
    ]


@dataclass(frozen=True)
class Settings:
    """Every setting of the server, in sections; see docs/configuration.md."""

    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    providers: ProviderSettings = field(default_factory=ProviderSettings)
    passkeys: PasskeySettings = field(default_factory=PasskeySettings)
    mfa: MfaSettings = field(default_factory=MfaSettings)
    logs: LogSettings = field(default_factory=LogSettings)

    @property
    def production(self) -> bool:
        return self.server.production

    @property
    def embedded_store(self) -> bool:
        return self.store.embedded

    @property
    def rate_limit_storage(self) -> str:
        """Where rate-limit counters live: the setting, else the database, else this process."""
        return self.limits.rate_limit_storage_uri or self.store.mongo_uri or "memory://"

    @classmethod
    def from_env(cls, env: Env | None = None) -> Settings:
        """Read settings from `env`, or from `.env` overlaid by the process environment."""
        if env is None:
            env = {
                **{k: v for k, v in dotenv_values(find_dotenv(usecwd=True)).items() if v is not None},
                **os.environ,
            }
        sections = {name: read_section(section, env) for name, section in SECTIONS.items()}
        sections["tokens"] = replace(
            sections["tokens"], secret_key_generated=_text(env, "SECRET_KEY") is None
        )
        settings = cls(**sections)
        settings.check()
        return settings

    def replace(self, **changes: Any) -> Settings:
        """Return these settings with some fields changed, each named as in its section (tests, tools)."""
        by_section: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            section = next(
                (key for key, kind in SECTIONS.items() if name in {f.name for f in fields(kind)}), None
            )
            if section is None:
                raise TypeError(f"no setting is named {name!r}")
            by_section.setdefault(section, {})[name] = value
        return replace(
            self, **{key: replace(getattr(self, key), **values) for key, values in by_section.items()}
        )

    def warnings(self) -> list[str]:
        """Return what start-up and `flask db check` warn about: settings fine only for development."""
        warnings = []
        if self.embedded_store:
            warnings.append(
                "*** NO MONGO_URI: using the embedded in-memory store. "
                "Every user and session is lost when the process stops. ***"
            )
        if self.rate_limit_storage == "memory://" and not self.embedded_store:
            warnings.append(
                "Rate limits are counted in this process only (RATE_LIMIT_STORAGE_URI=memory://)."
            )
        if self.tokens.secret_key_generated and not self.tokens.asymmetric:
            warnings.append(
                "*** NO SECRET_KEY: signing tokens with a random key made at start-up. "
                "Tokens will not survive a restart. ***"
            )
        if self.production and self.server.getall_access == "all":
            warnings.append(
                "GETALL_ACCESS=all: every signed-in user can list every account (names and emails). "
                "Set GETALL_ACCESS=admin or off unless the app needs it."
            )
        if not self.mfa.mfa_encryption_keys:
            warnings.append(
                "MFA_ENCRYPTION_KEYS is not set: TOTP answers mfaUnavailable."
                if self.production
                else "*** NO MFA_ENCRYPTION_KEYS: TOTP secrets are encrypted with a key made at start-up. "
                "Authenticators set up now stop working after a restart. ***"
            )
        if self.production and self.mail.mail_backend == "console":
            warnings.append("*** MAIL_BACKEND=console in production: no mail leaves this server. ***")
        return warnings

    def check(self) -> None:
        """Refuse what spans sections (each section has checked its own fields)."""
        self.check_workers(self.server.workers)
        if not self.production:
            return
        self.tokens.check_production()
        if self.embedded_store:
            raise ConfigError("APP_ENV=production needs MONGO_URI.")
        if self.mail.mail_backend == "smtp" and self.mail.mail_from == DEFAULT_MAIL_FROM:
            raise ConfigError(
                "APP_ENV=production with SMTP needs MAIL_FROM, e.g. 'Acme <no-reply@acme.example>'."
            )

    def check_workers(self, workers: int) -> None:
        """Refuse several worker processes on the embedded store, which lives inside one."""
        if workers > 1 and self.embedded_store:
            raise ConfigError(EMBEDDED_STORE_ONE_PROCESS.format(workers=workers))
