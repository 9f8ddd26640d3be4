"""Sessions: logging in opens one, and the user can list and end them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from ..errors import ApiError
from ..tokens import REFRESH, TokenError
from .base import Client, ServiceBase, token_hash

BAD_CREDENTIALS = "The email or password is incorrect."
NO_SUCH_SESSION = "There is no such session."


@dataclass(frozen=True)
class LoginResult:
    user: dict
    session_id: str
    auth_token: str
    refresh_token: str


class Sessions(ServiceBase):
    """Opens a session per login, and lists and ends the user's sessions."""

    def login(self, email: str, password: str, client: Client) -> LoginResult:
        """Check the credentials and open a new session with its own refresh token."""
        now = self.clock()
        self.throttle.claim(email, now)
        user = self.storage.find_user_by_email(email)
        stored_hash = user["password"] if user else None
        if not self.hasher.check(password, stored_hash) or user is None:
            raise ApiError(BAD_CREDENTIALS)
        self.throttle.succeeded(email)
        self._check_email_verified(user)
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
