"""Settings: the one place that reads configuration, from the environment and `.env`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from dotenv import dotenv_values

MIN_SECRET_BYTES = 32
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


@dataclass(frozen=True)
class Settings:
    """Every setting of the server; see the configuration table in README.md."""

    app_env: str = "development"
    secret_key: str = field(default="", repr=False)
    secret_key_generated: bool = False
    mongo_uri: str | None = None
    access_token_ttl: int = 900
    refresh_token_ttl: int = 7_776_000
    bcrypt_rounds: int = 12
    bcrypt_concurrency: int = field(default_factory=usable_cores)
    bcrypt_nice: int = 10
    jwt_algorithm: str = "HS256"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    max_body_bytes: int = 64 * 1024
    port: int = 1140
    workers: int = 1

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def embedded_store(self) -> bool:
        return self.mongo_uri is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env`, or from `.env` overlaid by the process environment."""
        if env is None:
            env = {**{k: v for k, v in dotenv_values().items() if v is not None}, **os.environ}
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
            jwt_algorithm=_text(env, "JWT_ALGORITHM", "HS256"),
            jwt_issuer=_text(env, "JWT_ISSUER"),
            jwt_audience=_text(env, "JWT_AUDIENCE"),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, minimum=1024),
            port=_int(env, "PORT", 1140, minimum=1),
            workers=_int(env, "WEB_CONCURRENCY", 1, minimum=1),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would be unsafe or meaningless."""
        if self.bcrypt_rounds > 31:
            raise ConfigError("BCRYPT_ROUNDS must be between 4 and 31.")
        if self.bcrypt_nice > 19:
            raise ConfigError("BCRYPT_NICE must be between 0 and 19.")
        self.check_workers(self.workers)
        if self.jwt_algorithm != "HS256":
            raise ConfigError(f"JWT_ALGORITHM {self.jwt_algorithm!r} is not supported.")
        if not self.production:
            return
        if self.secret_key_generated or len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"APP_ENV=production needs a SECRET_KEY of at least {MIN_SECRET_BYTES} bytes.")
        if self.embedded_store:
            raise ConfigError("APP_ENV=production needs MONGO_URI.")

    def check_workers(self, workers: int) -> None:
        """Refuse several worker processes on the embedded store, which lives inside one."""
        if workers > 1 and self.embedded_store:
            raise ConfigError(EMBEDDED_STORE_ONE_PROCESS.format(workers=workers))
