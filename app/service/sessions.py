"""Sessions: logging in opens one, and the user can list and end them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import AuthError, Code
from ..lockout import LoginThrottle, from_address, from_session
from ..passwords import PasswordHasher
from ..storage import Storage
from ..tokens import REFRESH, Factors, TokenError, TokenSigner
from .activity import ActivityLog
from .second_factor import SignInHold
from .shared import Client, Clock, SessionRules, ensure_email_verified, ensure_enabled, token_hash

PASSWORD_METHOD = "password"


def first_factor(method: str, now: datetime) -> Factors:
    """Return the factors of a sign-in by `method` alone: a password (`pwd`) or Google or Apple (`fed`)."""
    return Factors(("pwd",) if method == PASSWORD_METHOD else ("fed",), 1, now)


@dataclass(frozen=True)
class LoginResult:
    user: dict
    session_id: str
    auth_token: str
    refresh_token: str


@dataclass(frozen=True)
class Sessions:
    """Opens a session per login, and lists and ends the user's sessions."""

    storage: Storage
    signer: TokenSigner
    hasher: PasswordHasher
    throttle: LoginThrottle
    activity: ActivityLog
    rules: SessionRules
    require_verified_email: bool
    clock: Clock
    hold: SignInHold | None = None  # with TOTP on, a sign-in waits for its second factor

    def login(
        self, email: str, password: str, client: Client, refresh_token: str | None = None
    ) -> LoginResult:
        """Check the credentials and open a new session with its own refresh token.

        `refresh_token`, if it is the current token of an open session of this account, shows
        the client already holds the account: strangers' failed guesses do not delay it.
        """
        now = self.clock()
        user = self.storage.users.find_by_email(email)
        held = self._held_session(user, refresh_token, now)
        source = from_session(held) if held else from_address(client.ip)
        self.throttle.claim(email, source, now, holds_session=held is not None)
        stored_hash = user["password"] if user else None
        if not self.hasher.check(password, stored_hash) or user is None:
            raise AuthError(Code.INVALID_CREDENTIALS)
        self.throttle.succeeded(email, source, now)
        ensure_enabled(user)  # only now: saying so before the password check would tell anyone
        ensure_email_verified(user, required=self.require_verified_email)
        checked_hash = self._rehash_if_cheaper(user, password)
        if self.hold is not None:
            self.hold.hold_if_needed(user | {"password": checked_hash}, PASSWORD_METHOD)
        return self.start_session(user, client, now, PASSWORD_METHOD, checked_hash=checked_hash)

    def start_session(
        self,
        user: dict,
        client: Client,
        now: datetime,
        method: str,
        checked_hash: str | None = None,
        passkey_id: str | None = None,
        factors: Factors | None = None,
        second_factor: str | None = None,
    ) -> LoginResult:
        """Open a new session for a user who has just proved who they are, and issue its tokens.

        Every way of logging in ends here, so their answers and sessions are the same;
        `method` (password, google, apple) goes into the activity log. A password login
        passes the hash it checked, which must still be the account's once the session is open;
        a passkey sign-in its passkey, whose removal ends the session. `factors` default to the
        first factor `method` names; `second_factor` goes into the log.
        """
        factors = factors or first_factor(method, now)
        session_id = secrets.token_urlsafe(16)
        refresh_token = self.signer.refresh_token(user["id"], session_id, now)
        expires_at = now + timedelta(seconds=self.signer.refresh_ttl)
        self.storage.sessions.open(
            session_id,
            user["id"],
            token_hash(refresh_token),
            now,
            expires_at,
            client.ip,
            client.user_agent,
            passkey_id=passkey_id,
            factors=factors.stored(),
        )
        if checked_hash is not None:
            self.confirm_new_session(user["id"], session_id, now, checked_hash=checked_hash)
        self.activity.log(user["id"], "login", client, now, method, second_factor=second_factor)
        keep = self.rules.max_per_user - 1
        if self.storage.sessions.end_oldest(user["id"], keep, now, except_id=session_id):
            self.activity.log(user["id"], "sessionLimit", client, now)
        auth_token = self.signer.access_token(user, session_id, now, factors)
        return LoginResult(user, session_id, auth_token, refresh_token)

    def confirm_new_session(
        self, user_id: str, session_id: str, now: datetime, checked_hash: str | None = None
    ) -> dict:
        """Return the account a session was just opened for, or end that session and refuse the login.

        Call it right after opening a session: a password change (or a removal) that landed
        while the login was checking credentials has already ended the account's sessions but
        could not end this one. Reading the account after the session exists closes that gap:
        either the change comes later and ends this session too, or it is seen here. The
        login is refused when the account is gone, disabled meanwhile, or its password hash is
        no longer `checked_hash` (None: a login that checked no password).
        """
        current = self.storage.users.find_by_id(user_id)
        if current is None or (checked_hash is not None and current["password"] != checked_hash):
            self.storage.sessions.end(session_id=session_id, user_id=user_id, now=now)
            raise AuthError(Code.INVALID_CREDENTIALS)
        if current["disabled"]:
            self.storage.sessions.end(session_id=session_id, user_id=user_id, now=now)
            ensure_enabled(current)
        return current

    def _rehash_if_cheaper(self, user: dict, password: str) -> str:
        """Re-hash a password stored at a lower cost than configured; return the hash the account now has.

        Only while the stored hash is still the one just checked: a password change racing
        this login must not be overwritten by the old password.
        """
        checked = user["password"]
        if not self.hasher.needs_rehash(checked):
            return checked
        rehashed = self.hasher.hash(password)
        if self.storage.users.update_password(user["id"], rehashed, replacing=checked):
            return rehashed
        # Something else replaced it: another login re-hashing the same password (then it
        # matches), or a password change (then it does not, and the login will be refused).
        current = self.storage.users.find_by_id(user["id"])
        if current is not None and self.hasher.check(password, current["password"]):
            return current["password"]
        return checked

    def _held_session(self, user: dict | None, refresh_token: str | None, now: datetime) -> str | None:
        """Return the id of the open session of `user` whose current refresh token this is, if any."""
        if not refresh_token:
            return None
        try:  # verified whether or not the email is an account's, so its time tells nothing
            claims = self.signer.verify(refresh_token, REFRESH, now)
        except TokenError:
            return None
        if user is None or claims["sub"] != user["id"]:
            return None
        if not self.storage.sessions.use(
            session_id=claims["sid"], user_id=user["id"], token_hash=token_hash(refresh_token), now=now
        ):
            return None
        return claims["sid"]

    def list_sessions(self, user_id: str, current_session_id: str) -> list[dict]:
        """Return the user's open sessions, newest first, marking the one the caller uses."""
        sessions = self.storage.sessions.list_open(user_id, self.clock())
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
        if self.storage.sessions.end(session_id=claims["sid"], user_id=claims["sub"], now=now):
            self.activity.log(claims["sub"], "logout", client, now)

    def logout_all(self, user_id: str, client: Client) -> int:
        """End every open session of the user and return how many there were.

        Only the codes those sessions asked for end with them: a reset or verification code
        belongs to the mailbox, and a session holder must not be able to void it.
        """
        now = self.clock()
        ended = self.storage.sessions.end_all(user_id, now)
        self.storage.codes.delete_session_bound(user_id)
        self.activity.log(user_id, "logoutAll", client, now)
        return ended

    def end_session(self, *, user_id: str, session_id: str, client: Client) -> None:
        """End one of the user's own open sessions; another user's is as missing as an unknown one."""
        now = self.clock()
        if not self.storage.sessions.end(session_id=session_id, user_id=user_id, now=now):
            raise AuthError(Code.SESSION_NOT_FOUND)
        self.activity.log(user_id, "sessionEnded", client, now)
