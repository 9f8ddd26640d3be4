"""The auth service: the rules for accounts, sessions and tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import ApiError, InvalidToken, RefreshExpired
from .lockout import LoginThrottle
from .passwords import PasswordHasher
from .storage import Storage
from .tokens import ACCESS, REFRESH, TokenError, TokenSigner

EMAIL_TAKEN = "A user with that username already exists."
BAD_CREDENTIALS = "The email or password is incorrect."


def utc_now() -> datetime:
    """Return the current UTC time as a naive datetime, as MongoDB stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest the database keeps instead of a refresh token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Client:
    """Where a request came from, for sessions and the activity log."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class LoginResult:
    user: dict
    session_id: str
    auth_token: str
    refresh_token: str


class AuthService:
    """Signs users up and in, issues and refreshes tokens, and keeps sessions."""

    def __init__(
        self,
        storage: Storage,
        signer: TokenSigner,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.storage = storage
        self.signer = signer
        self.hasher = hasher
        self.throttle = throttle
        self.clock = clock

    def signup(self, first: str, last: str, email: str, password: str, client: Client) -> str:
        """Create an account and return its id; the unique email index settles races."""
        now = self.clock()
        user_id = self.storage.insert_user(first, last, email, self.hasher.hash(password), now)
        if user_id is None:
            raise ApiError(EMAIL_TAKEN)
        self.storage.log_activity(user_id, "signup", now, client.ip, client.user_agent)
        return user_id

    def login(self, email: str, password: str, client: Client) -> LoginResult:
        """Check the credentials and open a new session with its own refresh token."""
        now = self.clock()
        self.throttle.check(email, now)
        user = self.storage.find_user_by_email(email)
        stored_hash = user["password"] if user else None
        if not self.hasher.check(password, stored_hash) or user is None:
            self.throttle.failed(email, now)
            raise ApiError(BAD_CREDENTIALS)
        self.throttle.succeeded(email)
        if self.hasher.needs_rehash(user["password"]):
            self.storage.update_password_hash(user["id"], self.hasher.hash(password))
        session_id = secrets.token_urlsafe(16)
        refresh_token = self.signer.refresh_token(user["id"], session_id, now)
        expires_at = now + timedelta(seconds=self.signer.refresh_ttl)
        self.storage.open_session(
            session_id, user["id"], token_hash(refresh_token), now, expires_at, client.ip, client.user_agent
        )
        self.storage.log_activity(user["id"], "login", now, client.ip, client.user_agent)
        auth_token = self.signer.access_token(user, session_id, now)
        return LoginResult(user, session_id, auth_token, refresh_token)

    def refresh(self, refresh_token: str) -> str:
        """Return a new access token for a live session's refresh token."""
        now = self.clock()
        try:
            claims = self.signer.verify(refresh_token, REFRESH, now)
        except TokenError:
            raise RefreshExpired() from None
        session = self.storage.find_live_session(token_hash(refresh_token), now)
        if session is None or session["id"] != claims["sid"] or session["userId"] != claims["sub"]:
            raise RefreshExpired()
        user = self.storage.find_user_by_id(claims["sub"])
        if user is None:
            raise RefreshExpired()
        self.storage.touch_session(session["id"], now)
        return self.signer.access_token(user, session["id"], now)

    def verify_access(self, token: str) -> dict:
        """Return the claims of a valid access token, or raise InvalidToken."""
        try:
            return self.signer.verify(token, ACCESS, self.clock())
        except TokenError:
            raise InvalidToken() from None

    def list_users(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of users and the cursor of the next page (None on the last)."""
        users = self.storage.list_users(after, limit + 1)
        if len(users) > limit:
            return users[:limit], users[limit - 1]["id"]
        return users, None
