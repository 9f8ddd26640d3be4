"""Tokens: the guard's check of an access token, and refreshing (with rotation) for a refresh token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import InvalidToken, RefreshExpired
from ..storage import Storage
from ..tokens import ACCESS, REFRESH, Factors, TokenError, TokenSigner
from .activity import ActivityLog
from .reauth import Reauth
from .shared import Client, Clock, SessionRules, ensure_enabled, token_hash


@dataclass(frozen=True)
class Refreshed:
    auth_token: str
    refresh_token: str | None  # set only when rotation issued a new one


@dataclass(frozen=True)
class Tokens:
    """Verifies access tokens (the routes' guard) and refreshes sessions."""

    storage: Storage
    signer: TokenSigner
    reauth: Reauth
    activity: ActivityLog
    rules: SessionRules
    clock: Clock

    def verify_access(self, token: str, *, open_session: bool = False) -> dict:
        """Return the claims of a valid access token, or raise InvalidToken.

        With `open_session` (or ACCESS_TOKEN_SESSION_CHECK), its session must not have ended.
        """
        now = self.clock()
        claims = self._access_claims(token, now)
        self._check_session(claims, now, open_session)
        return claims

    def authorize(self, token: str, *, open_session: bool) -> tuple[dict, dict]:
        """Return the claims of a valid access token and its stored, enabled user (the routes' guard).

        A deleted account's token is invalid; a disabled one's is refused, before the route's
        own open-session check (disabling ends the sessions too), so that the answer says why.
        """
        now = self.clock()
        claims = self.verify_access(token)
        user = self.reauth.existing_user(claims["sub"])
        if open_session and not self.rules.check_access_session:  # else verify_access checked it
            self._check_session(claims, now, open_session=True)
        return claims, user

    def _access_claims(self, token: str, now: datetime) -> dict:
        try:
            return self.signer.verify(token, ACCESS, now)
        except TokenError:
            raise InvalidToken() from None

    def _check_session(self, claims: dict, now: datetime, open_session: bool) -> None:
        if not (open_session or self.rules.check_access_session):
            return
        if not self.storage.sessions.find_open(session_id=claims["sid"], user_id=claims["sub"], now=now):
            raise InvalidToken()

    def open_session_claims(self, token: str) -> dict | None:
        """Return the claims of a valid access token whose session is open, or None (never raises)."""
        try:
            return self.verify_access(token, open_session=True)
        except InvalidToken:
            return None

    def refresh(self, refresh_token: str, client: Client) -> Refreshed:
        """Give an open session's refresh token a new access token, and with rotation a new refresh token."""
        now = self.clock()
        try:
            claims = self.signer.verify(refresh_token, REFRESH, now)
        except TokenError:
            raise RefreshExpired() from None
        user = self.storage.users.find_by_id(claims["sub"])
        if user is None:
            raise RefreshExpired()
        ensure_enabled(user)
        session_id, presented = claims["sid"], token_hash(refresh_token)
        if self.rules.rotation:
            return self._rotate(user, session_id, presented, client, now)
        if not self.storage.sessions.use(
            session_id=session_id, user_id=user["id"], token_hash=presented, now=now
        ):
            raise RefreshExpired()
        return Refreshed(self._access_token(user, session_id, now), None)

    def _rotate(
        self, user: dict, session_id: str, presented: str, client: Client, now: datetime
    ) -> Refreshed:
        """Retire the presented refresh token for a new one; a replay of a retired one ends the session."""
        new_token = self.signer.refresh_token(user["id"], session_id, now)
        expires_at = now + timedelta(seconds=self.signer.refresh_ttl)
        if self.storage.sessions.rotate_token(
            session_id, user["id"], presented, token_hash(new_token), now, expires_at
        ):
            return Refreshed(self._access_token(user, session_id, now), new_token)
        session = self.storage.sessions.find_open(session_id=session_id, user_id=user["id"], now=now)
        if session is None:
            raise RefreshExpired()
        if self._just_retired(session, presented, now):
            return Refreshed(
                self.signer.access_token(user, session_id, now, Factors.of_session(session)), None
            )
        # The token is signed for this open session but is neither its current one nor
        # the one just retired: it was retired earlier and is being replayed, by a thief
        # or by the client after a thief refreshed first. Neither can be trusted any more.
        if self.storage.sessions.end(session_id=session_id, user_id=user["id"], now=now):
            self.activity.log(user["id"], "refreshReuse", client, now)
        raise RefreshExpired()

    def _access_token(self, user: dict, session_id: str, now: datetime) -> str:
        """Sign an access token that keeps how its session signed in (`amr`, `aal`, `auth_time`)."""
        session = self.storage.sessions.find_open(session_id=session_id, user_id=user["id"], now=now)
        if session is None:  # ended between its use and now
            raise RefreshExpired()
        return self.signer.access_token(user, session_id, now, Factors.of_session(session))

    def _just_retired(self, session: dict, presented: str, now: datetime) -> bool:
        """Say whether `presented` is the session's previous token, retired within the grace period."""
        if session["previousTokenHash"] != presented or session["rotatedAt"] is None:
            return False
        return now - session["rotatedAt"] <= timedelta(seconds=self.rules.reuse_grace_seconds)
