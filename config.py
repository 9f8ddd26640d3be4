"""Settings: the one place that reads configuration, from the environment and `.env`."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from dotenv import dotenv_values, find_dotenv
from limits import parse_many

MIN_SECRET_BYTES = 32
SYMMETRIC_ALGORITHM = "HS256"
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256", "EdDSA")
MAX_LEEWAY = 300
EMBEDDED_STORE_ONE_PROCESS = (
    "The embedded in-memory store (no MONGO_URI) lives inside one process: with {workers} workers "
    "each would keep its own users and sessions. Set MONGO_URI, or run one worker."
)


def usable_cores() -> int:
    """Return how many cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
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
    raise ConfigError(f"{name} must be true or false, got {raw!r}.")


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = _text(env, name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every setting of the server; see the configuration table in README.md."""

    app_env: str = "development"
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
    jwt_leeway: int = 10
    # Brute force
    rate_limit_enabled: bool = True
    rate_limit_storage_uri: str | None = field(default=None, repr=False)
    rate_limit_login: str = "20/minute"
    rate_limit_signup: str = "10/minute"
    rate_limit_refresh: str = "30/minute"
    login_failures_before_delay: int = 5
    login_delay_first: int = 1
    login_delay_max: int = 900
    trusted_proxies: int = 0
    # Responses and logs
    cors_origins: tuple[str, ...] = ("*",)
    log_level: str = "INFO"
    workers: int = 1

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
        app_env = (_text(env, "APP_ENV") or "development").lower()
        secret = _text(env, "SECRET_KEY")
        settings = cls(
            app_env=app_env,
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
            jwt_leeway=_int(env, "JWT_LEEWAY", 10),
            rate_limit_enabled=_bool(env, "RATE_LIMIT_ENABLED", True),
            rate_limit_storage_uri=_text(env, "RATE_LIMIT_STORAGE_URI"),
            rate_limit_login=_text(env, "RATE_LIMIT_LOGIN", "20/minute"),
            rate_limit_signup=_text(env, "RATE_LIMIT_SIGNUP", "10/minute"),
            rate_limit_refresh=_text(env, "RATE_LIMIT_REFRESH", "30/minute"),
            login_failures_before_delay=_int(env, "LOGIN_FAILURES_BEFORE_DELAY", 5, minimum=1),
            login_delay_first=_int(env, "LOGIN_DELAY_FIRST_SECONDS", 1, minimum=1),
            login_delay_max=_int(env, "LOGIN_DELAY_MAX_SECONDS", 900, minimum=1),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
            # Production answers no browser origin until told which; development answers all.
            cors_origins=_list(env, "CORS_ORIGINS", () if app_env == "production" else ("*",)),
            log_level=(_text(env, "LOG_LEVEL") or "INFO").upper(),
            workers=_int(env, "WEB_CONCURRENCY", 1, minimum=1),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would be unsafe or meaningless."""
        if self.bcrypt_rounds > 31:
            raise ConfigError("BCRYPT_ROUNDS must be between 4 and 31.")
        self._check_keys()
        self._check_limits()
        if not isinstance(logging.getLevelName(self.log_level), int):
            raise ConfigError(f"LOG_LEVEL {self.log_level!r} is not a logging level.")
        if self.bcrypt_nice > 19:
            raise ConfigError("BCRYPT_NICE must be between 0 and 19.")
        self.check_workers(self.workers)
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

    def _check_keys(self) -> None:
        if self.jwt_algorithm not in (SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS):
            supported = ", ".join((SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS))
            raise ConfigError(f"JWT_ALGORITHM {self.jwt_algorithm!r} is not supported (use {supported}).")
        if self.asymmetric and not self.jwt_private_key:
            raise ConfigError(f"JWT_ALGORITHM={self.jwt_algorithm} needs JWT_PRIVATE_KEY.")
        if self.jwt_leeway > MAX_LEEWAY:
            raise ConfigError(f"JWT_LEEWAY must be at most {MAX_LEEWAY} seconds.")

    def _check_limits(self) -> None:
        for name, value in (
            ("RATE_LIMIT_LOGIN", self.rate_limit_login),
            ("RATE_LIMIT_SIGNUP", self.rate_limit_signup),
            ("RATE_LIMIT_REFRESH", self.rate_limit_refresh),
        ):
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"{name} must read like '20/minute', got {value!r}.") from None
        if self.login_delay_first > self.login_delay_max:
            raise ConfigError("LOGIN_DELAY_FIRST_SECONDS must not exceed LOGIN_DELAY_MAX_SECONDS.")

    def check_workers(self, workers: int) -> None:
        """Refuse several worker processes on the embedded store, which lives inside one."""
        if workers > 1 and self.embedded_store:
            raise ConfigError(EMBEDDED_STORE_ONE_PROCESS.format(workers=workers))
