"""What the parts of the auth service share: the clock, the request's client, the rules, the mail sender."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..errors import AccountDisabled, AuthError, Code
from ..password_policy import PasswordPolicy

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current UTC time as a naive datetime, as MongoDB stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest the database keeps instead of a refresh token."""
    return hashlib.sha256(token.encode()).hexdigest()


def page(items: list[dict], limit: int) -> tuple[list[dict], str | None]:
    """Split a fetch of up to `limit + 1` items into a page and the next page's cursor (or None)."""
    if len(items) > limit:
        return items[:limit], items[limit - 1]["id"]
    return items, None


# Client strings are stored with every session and activity entry: capped here, where every
# one of them passes, so no client can make either grow (real user agents are under 300).
MAX_USER_AGENT = 512
MAX_ADDRESS = 64  # an IPv6 address with a zone fits in 64


def _capped(text: str | None, limit: int) -> str | None:
    return text[:limit] if text is not None else None


@dataclass(frozen=True)
class Client:
    """Where a request came from, for sessions and the activity log (each string capped).

    `by` names an operator acting, when a command rather than the user did it.
    """

    ip: str | None
    user_agent: str | None
    by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ip", _capped(self.ip, MAX_ADDRESS))
        object.__setattr__(self, "user_agent", _capped(self.user_agent, MAX_USER_AGENT))


# Who acts when a command of `flask users ...` / `flask sessions ...` does something to an account.
OPERATOR = Client(ip=None, user_agent=None, by="operator")


def ensure_enabled(user: dict) -> None:
    """Refuse a disabled account: raise AccountDisabled (login only after the password checked out)."""
    if user.get("disabled"):
        raise AccountDisabled()


@dataclass(frozen=True)
class SessionRules:
    """How sessions behave: refresh-token rotation and its grace, the guard's check, the cap.

    Each value comes from its setting (config.py's `sessions` section, where its default is).
    """

    rotation: bool
    reuse_grace_seconds: int
    check_access_session: bool
    max_per_user: int


@dataclass(frozen=True)
class AccountRules:
    """How accounts behave: one-time codes, the mail quota, links in messages, verification at login.

    The values come from their settings (config.py, where their defaults are).
    """

    # The HMAC key of one-time codes; the factory derives it from the signing key (keys.code_key).
    code_key: bytes = field(repr=False)
    code_ttl: int
    code_failures_per_day: int  # wrong codes an account (or unknown address) takes a day
    mail_limit_per_hour: int
    password_reset_url: str | None
    email_verification_url: str | None
    require_email_verification: bool
    password_policy: PasswordPolicy  # rules for new passwords
    max_code_failures: int = 5  # the contract's: a code is void after 5 wrong tries


class MailSender(Protocol):
    """Stores a message to be sent (app.mail.Mailer: in the outbox, before the answer)."""

    def send(self, template: str, to: str, **context: object) -> None: ...

    def send_nothing(self, template: str, to: str, **context: object) -> None: ...


class NoMail:
    """A mail sender that sends nothing, for a service built without one."""

    def send(self, template: str, to: str, **context: object) -> None:
        return None

    def send_nothing(self, template: str, to: str, **context: object) -> None:
        return None


def ensure_email_verified(user: dict, *, required: bool) -> None:
    """With REQUIRE_EMAIL_VERIFICATION (`required`), refuse an unverified account (after its proof)."""
    if required and not user["emailVerified"]:
        raise AuthError(Code.EMAIL_NOT_VERIFIED)
