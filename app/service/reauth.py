"""Who is asking: the stored account a token names, its open session, its password asked again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import CURRENT_PASSWORD_WRONG, Code, InvalidToken, field_error
from ..lockout import LoginThrottle, from_session
from ..passwords import PasswordHasher
from ..storage import Storage
from .shared import Clock, ensure_enabled


@dataclass(frozen=True)
class Reauth:
    """Finds the account behind a token, and checks a signed-in user's password before a change."""

    storage: Storage
    hasher: PasswordHasher
    throttle: LoginThrottle
    clock: Clock

    def existing_user(self, user_id: str) -> dict:
        """Return the stored user a token names; a deleted user's token is invalid, a disabled one's refused.

        Disabling ends the sessions, but an access token lives on up to its lifetime: it must
        change nothing meanwhile.
        """
        user = self.storage.users.find_by_id(user_id)
        if user is None:
            raise InvalidToken()
        ensure_enabled(user)
        return user

    def signed_in_user(self, user_id: str, session_id: str) -> dict:
        """Return the token's stored user if its session is open (whatever ACCESS_TOKEN_SESSION_CHECK says).

        For the changes that hand the account over (email, password, identities, deletion):
        an access token outlives its session by up to its lifetime, and once the owner has
        reset the password or logged out everywhere, a thief's token must change nothing.
        """
        user = self.existing_user(user_id)
        if self.storage.sessions.find_open(session_id=session_id, user_id=user_id, now=self.clock()) is None:
            raise InvalidToken()
        return user

    def check_password(self, user: dict, session_id: str, password: str, field: str) -> datetime:
        """Check a signed-in user's password before a sensitive change; return the time of the check.

        A stolen access token must not become a way to guess the password: this session's
        guesses wait like a stranger's at login, but strangers' guesses never delay the session.
        """
        now = self.clock()
        source = from_session(session_id)
        self.throttle.claim(user["email"], source, now, holds_session=True)
        if not self.hasher.check(password, user["password"]):
            raise field_error(Code.INVALID_CREDENTIALS, field, CURRENT_PASSWORD_WRONG)
        self.throttle.succeeded(user["email"], source, now)
        return now
