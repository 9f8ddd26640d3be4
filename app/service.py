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
from .storage import Storage, created_at
from .tokens import ACCESS, REFRESH, TokenError, TokenSigner

EMAIL_TAKEN = "A user with that username already exists."
BAD_CREDENTIALS = "The email or password is incorrect."
WRONG_CURRENT_PASSWORD = "The current password is incorrect."
NO_SUCH_SESSION = "There is no such session."


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


@dataclass(frozen=True)
class Refreshed:
    auth_token: str
    refresh_token: str | None  # set only when rotation issued a new one


@dataclass(frozen=True)
class SessionRules:
    """How sessions behave: refresh-token rotation and its grace, the guard's check, the cap."""

    rotation: bool = False
    reuse_grace_seconds: int = 10
    check_access_session: bool = False
    max_per_user: int = 10


def _page(items: list[dict], limit: int) -> tuple[list[dict], str | None]:
    """Split a fetch of up to `limit + 1` items into a page and the next page's cursor (or None)."""
    if len(items) > limit:
        return items[:limit], items[limit - 1]["id"]
    return items, None


class AuthService:
    """Signs users up and in, issues and refreshes tokens, and keeps sessions."""

    def __init__(
        self,
        storage: Storage,
        signer: TokenSigner,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        clock: Callable[[], datetime] = utc_now,
        rules: SessionRules | None = None,
    ) -> None:
        self.storage = storage
        self.signer = signer
        self.hasher = hasher
        self.throttle = throttle
        self.clock = clock
        self.rules = rules or SessionRules()

    def _log(self, user_id: str, activity: str, client: Client, now: datetime) -> None:
        self.storage.log_activity(user_id, activity, now, client.ip, client.user_agent)

    # Accounts

    def signup(self, first: str, last: str, email: str, password: str, client: Client) -> str:
        """Create an account and return its id; the unique email index settles races."""
        password_hash = self.hasher.hash(password)
        now = self.clock()  # after bcrypt, which can wait its turn: the new id holds this time
        user_id = self.storage.insert_user(first, last, email, password_hash, now)
        if user_id is None:
            raise ApiError(EMAIL_TAKEN)
        self._log(user_id, "signup", client, now)
        return user_id

    def login(self, email: str, password: str, client: Client) -> LoginResult:
        """Check the credentials and open a new session with its own refresh token."""
        now = self.clock()
        self.throttle.claim(email, now)
        user = self.storage.find_user_by_email(email)
        stored_hash = user["password"] if user else None
        if not self.hasher.check(password, stored_hash) or user is None:
            raise ApiError(BAD_CREDENTIALS)
        self.throttle.succeeded(email)
        if self.hasher.needs_rehash(user["password"]):
            self.storage.update_password(user["id"], self.hasher.hash(password))
        session_id = secrets.token_urlsafe(16)
        refresh_token = self.signer.refresh_token(user["id"], session_id, now)
        expires_at = now + timedelta(seconds=self.signer.refresh_ttl)
        self.storage.open_session(
            session_id, user["id"], token_hash(refresh_token), now, expires_at, client.ip, client.user_agent
        )
        self._log(user["id"], "login", client, now)
        keep = self.rules.max_per_user - 1
        if self.storage.end_oldest_sessions(user["id"], keep, now, except_id=session_id):
            self._log(user["id"], "sessionLimit", client, now)
        auth_token = self.signer.access_token(user, session_id, now)
        return LoginResult(user, session_id, auth_token, refresh_token)

    def me(self, claims: dict) -> dict:
        """Return the public user a valid access token was issued to, from the token alone.

        A user's public fields never change once the account exists, the token is this
        server's signed word for them, and the account's id holds its creation time: no
        database read, as on every other guarded request.
        """
        created = created_at(claims["sub"])
        if created is None:  # signed with our key, but not for one of our users
            raise InvalidToken()
        return {
            "id": claims["sub"],
            "first": claims.get("first", ""),
            "last": claims.get("last", ""),
            "email": claims.get("email", ""),
            "createdAt": created,
        }

    def _existing_user(self, user_id: str) -> dict:
        """Return the stored user a token names; a deleted user's token is invalid."""
        user = self.storage.find_user_by_id(user_id)
        if user is None:
            raise InvalidToken()
        return user

    def change_password(
        self, user_id: str, session_id: str, current_password: str, new_password: str, client: Client
    ) -> int:
        """Check the current password, set the new one, end every other session; return how many ended."""
        user = self._existing_user(user_id)
        now = self.clock()
        # A stolen access token must not become a way to guess the password: same delays as login.
        self.throttle.claim(user["email"], now)
        if not self.hasher.check(current_password, user["password"]):
            raise ApiError(WRONG_CURRENT_PASSWORD, errors={"currentPassword": [WRONG_CURRENT_PASSWORD]})
        self.throttle.succeeded(user["email"])
        self.storage.update_password(user_id, self.hasher.hash(new_password))
        ended = self.storage.end_user_sessions(user_id, now, except_id=session_id)
        self._log(user_id, "passwordChanged", client, now)
        return ended

    def list_users(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of users and the cursor of the next page (None on the last)."""
        return _page(self.storage.list_users(after, limit + 1), limit)

    def list_activity(self, user_id: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of the user's activity, newest first, and the cursor of the next page."""
        return _page(self.storage.list_activity(user_id, after, limit + 1), limit)

    # Tokens

    def verify_access(self, token: str) -> dict:
        """Return the claims of a valid access token, or raise InvalidToken."""
        now = self.clock()
        try:
            claims = self.signer.verify(token, ACCESS, now)
        except TokenError:
            raise InvalidToken() from None
        if self.rules.check_access_session and not self.storage.find_open_session(
            claims["sid"], claims["sub"], now
        ):
            raise InvalidToken()
        return claims

    def refresh(self, refresh_token: str, client: Client) -> Refreshed:
        """Give an open session's refresh token a new access token, and with rotation a new refresh token."""
        now = self.clock()
        try:
            claims = self.signer.verify(refresh_token, REFRESH, now)
        except TokenError:
            raise RefreshExpired() from None
        user = self.storage.find_user_by_id(claims["sub"])
        if user is None:
            raise RefreshExpired()
        session_id, presented = claims["sid"], token_hash(refresh_token)
        if self.rules.rotation:
            return self._rotate(user, session_id, presented, client, now)
        if not self.storage.use_session(session_id, user["id"], presented, now):
            raise RefreshExpired()
        return Refreshed(self.signer.access_token(user, session_id, now), None)

    def _rotate(
        self, user: dict, session_id: str, presented: str, client: Client, now: datetime
    ) -> Refreshed:
        """Retire the presented refresh token for a new one; a replay of a retired one ends the session."""
        new_token = self.signer.refresh_token(user["id"], session_id, now)
        expires_at = now + timedelta(seconds=self.signer.refresh_ttl)
        if self.storage.rotate_session_token(
            session_id, user["id"], presented, token_hash(new_token), now, expires_at
        ):
            return Refreshed(self.signer.access_token(user, session_id, now), new_token)
        session = self.storage.find_open_session(session_id, user["id"], now)
        if session is None:
            raise RefreshExpired()
        if self._just_retired(session, presented, now):
            return Refreshed(self.signer.access_token(user, session_id, now), None)
        # The token is signed for this open session but is neither its current one nor
        # the one just retired: it was retired earlier and is being replayed, by a thief
        # or by the client after a thief refreshed first. Neither can be trusted any more.
        if self.storage.end_session(session_id, user["id"], now):
            self._log(user["id"], "refreshReuse", client, now)
        raise RefreshExpired()

    def _just_retired(self, session: dict, presented: str, now: datetime) -> bool:
        """Say whether `presented` is the session's previous token, retired within the grace period."""
        if session["previousTokenHash"] != presented or session["rotatedAt"] is None:
            return False
        return now - session["rotatedAt"] <= timedelta(seconds=self.rules.reuse_grace_seconds)

    # Sessions

    def list_sessions(self, user_id: str, current_session_id: str) -> list[dict]:
        """Return the user's open sessions, newest first, marking the one the caller uses."""
        sessions = self.storage.list_open_sessions(user_id, self.clock())
        return [session | {"current": session["id"] == current_session_id} for session in sessions]

    def logout(self, refresh_token: str, client: Client) -> None:
        """End the session a refresh token belongs to; a token of no open session is already logged out."""
        now = self.clock()
        try:
            claims = self.signer.verify(refresh_token, REFRESH, now)
        except TokenError:
            return
        # Any token signed for the session ends it, a retired one too: ending grants nothing,
        # and a client whose rotated token got lost on the way must still be able to log out.
        if self.storage.end_session(claims["sid"], claims["sub"], now):
            self._log(claims["sub"], "logout", client, now)

    def logout_all(self, user_id: str, client: Client) -> int:
        """End every open session of the user and return how many there were."""
        now = self.clock()
        ended = self.storage.end_user_sessions(user_id, now)
        self._log(user_id, "logoutAll", client, now)
        return ended

    def end_session(self, user_id: str, session_id: str, client: Client) -> None:
        """End one of the user's own open sessions; another user's is as missing as an unknown one."""
        now = self.clock()
        if not self.storage.end_session(session_id, user_id, now):
            raise ApiError(NO_SUCH_SESSION, status=404)
        self._log(user_id, "sessionEnded", client, now)
