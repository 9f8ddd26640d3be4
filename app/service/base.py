"""What every part of the auth service shares: its collaborators, the clock, the request's client."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..errors import AccountDisabled, ApiError, InvalidToken
from ..id_tokens import IdTokenVerifier
from ..lockout import LoginThrottle, from_session
from ..password_policy import PasswordPolicy
from ..passwords import PasswordHasher
from ..storage import Storage
from ..tokens import TokenSigner

WRONG_CURRENT_PASSWORD = "The current password is incorrect."


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
    """How sessions behave: refresh-token rotation and its grace, the guard's check, the cap."""

    rotation: bool = False
    reuse_grace_seconds: int = 10
    check_access_session: bool = False
    max_per_user: int = 10


@dataclass(frozen=True)
class AccountRules:
    """How accounts behave: one-time codes, the mail quota, links in messages, verification at login."""

    # The HMAC key of one-time codes; the factory derives it from the signing key (keys.code_key).
    code_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    code_ttl: int = 900
    max_code_failures: int = 5
    code_failures_per_day: int = 10  # wrong codes an account (or unknown address) takes a day
    mail_limit_per_hour: int = 3
    password_reset_url: str | None = None
    email_verification_url: str | None = None
    require_email_verification: bool = False
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)  # rules for new passwords


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


NOTICE = "notice"  # the mail quota's purpose that every notice shares

EMAIL_NOT_VERIFIED = "Please verify your email address first."
EMAIL_NOT_VERIFIED_CODE = "emailNotVerified"


class ServiceBase:
    """The collaborators every part of the service works with."""

    def __init__(
        self,
        storage: Storage,
        signer: TokenSigner,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        clock: Callable[[], datetime] = utc_now,
        rules: SessionRules | None = None,
        id_tokens: IdTokenVerifier | None = None,
        mailer: MailSender | None = None,
        account_rules: AccountRules | None = None,
    ) -> None:
        self.storage = storage
        self.signer = signer
        self.hasher = hasher
        self.throttle = throttle
        self.clock = clock
        self.rules = rules or SessionRules()
        self.id_tokens = id_tokens or IdTokenVerifier({})  # no provider configured: each is disabled
        self.mailer = mailer or NoMail()
        self.account_rules = account_rules or AccountRules()

    def _log(
        self, user_id: str, activity: str, client: Client, now: datetime, method: str | None = None
    ) -> None:
        self.storage.activity.add(user_id, activity, now, client.ip, client.user_agent, method, by=client.by)

    def _send_notice(
        self, template: str, to: str, now: datetime, *, address_proven: bool, **context: object
    ) -> bool:
        """Mail a notice (password changed, account deleted, ...); to an unproven address, within a quota.

        An address nobody has proven is anyone's to sign up with: its notices share one hourly
        counter per address, apart from the codes' counters, so loops of signup and
        deleteAccount cannot flood an inbox. A proven address gets every notice: only its owner,
        or someone who took the account, can cause one, and a thief must not silence them.
        """
        limit = self.account_rules.mail_limit_per_hour
        if not address_proven and not self.storage.counters.count(NOTICE, to, limit, now):
            return False
        self.mailer.send(template, to, **context)
        return True

    def _check_signed_in_password(self, user: dict, session_id: str, password: str, field: str) -> datetime:
        """Check a signed-in user's password before a sensitive change; return the time of the check.

        A stolen access token must not become a way to guess the password: this session's
        guesses wait like a stranger's at login, but strangers' guesses never delay the session.
        """
        now = self.clock()
        source = from_session(session_id)
        self.throttle.claim(user["email"], source, now, holds_session=True)
        if not self.hasher.check(password, user["password"]):
            raise ApiError(WRONG_CURRENT_PASSWORD, errors={field: [WRONG_CURRENT_PASSWORD]})
        self.throttle.succeeded(user["email"], source, now)
        return now

    def _signed_in_user(self, user_id: str, session_id: str) -> dict:
        """Return the token's stored user if its session is open (whatever ACCESS_TOKEN_SESSION_CHECK says).

        For the changes that hand the account over (email, password, identities, deletion):
        an access token outlives its session by up to its lifetime, and once the owner has
        reset the password or logged out everywhere, a thief's token must change nothing.
        """
        user = self._existing_user(user_id)
        if self.storage.sessions.find_open(session_id, user_id, self.clock()) is None:
            raise InvalidToken()
        return user

    def _end_pending_codes(self, user_id: str) -> None:
        """Void the user's pending codes: what was asked before a credential change must not finish later."""
        self.storage.codes.delete_for_user(user_id)

    def _existing_user(self, user_id: str) -> dict:
        """Return the stored user a token names; a deleted user's token is invalid, a disabled one's refused.

        Disabling ends the sessions, but an access token lives on up to its lifetime: it must
        change nothing meanwhile.
        """
        user = self.storage.users.find_by_id(user_id)
        if user is None:
            raise InvalidToken()
        ensure_enabled(user)
        return user

    def _check_email_verified(self, user: dict) -> None:
        """With REQUIRE_EMAIL_VERIFICATION, refuse an unverified account (once its password was checked)."""
        if self.account_rules.require_email_verification and not user["emailVerified"]:
            raise ApiError(EMAIL_NOT_VERIFIED, code=EMAIL_NOT_VERIFIED_CODE)
