"""Operators: what the command line does to accounts that no HTTP route does for a user.

Every change goes through the same storage rules as the routes (hashing, ending sessions)
and is written to the user's activity log as done `by: "operator"`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..errors import AuthError, Code, message_of
from ..lockout import LoginThrottle
from ..passwords import PasswordHasher
from ..storage import ADMIN, Storage
from ..texts import InvalidEmailDomain, normalise_email
from .activity import ActivityLog
from .codes import Codes
from .deletion import Deletion
from .shared import OPERATOR, Clock, page

log = logging.getLogger(__name__)

USER_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class Operators:
    """Finds, disables, promotes, re-passwords and removes accounts for an operator."""

    storage: Storage
    hasher: PasswordHasher
    throttle: LoginThrottle
    codes: Codes
    deletion: Deletion
    activity: ActivityLog
    clock: Clock

    def find_user(self, email_or_id: str) -> dict:
        """Return the user with this id or email, or raise userNotFound naming what was looked for."""
        key = email_or_id.strip()
        if USER_ID.fullmatch(key.lower()):
            user = self.storage.users.find_by_id(key.lower())
        else:
            try:
                user = self.storage.users.find_by_email(normalise_email(key))
            except InvalidEmailDomain:
                user = None  # no account can hold such an address
        if user is None:
            raise AuthError(Code.USER_NOT_FOUND, message_of(Code.USER_NOT_FOUND, key=key))
        return user

    def find_users(
        self, email_prefix: str | None, after: str | None, limit: int
    ) -> tuple[list[dict], str | None]:
        """Return one page of users whose email starts with `email_prefix`, and the next page's cursor."""
        try:
            prefix = normalise_email(email_prefix) if email_prefix else None
        except InvalidEmailDomain:
            return [], None  # the start of a domain no account can hold
        return page(self.storage.users.list(after, limit + 1, email_prefix=prefix), limit)

    def open_sessions(self, user_id: str) -> list[dict]:
        """Return the user's open sessions, newest first."""
        return self.storage.sessions.list_open(user_id, self.clock())

    def failed_logins(self, user: dict) -> dict | None:
        """Return the account's failed logins today and each source's run of them, or None if none."""
        now = self.clock()
        account = self.storage.attempts.failures(user["email"], now)
        sources = self.storage.attempts.sources(user["email"], now)
        if account is None and not sources:
            return None
        return {
            "today": account.count if account else 0,
            "sources": [
                {"source": source, "count": run.count, "nextAttemptAt": run.allowed_at}
                for source, run in sorted(sources.items())
            ],
        }

    def set_password(self, user: dict, password: str) -> int:
        """Set a new password, end every session, forget failed logins; return how many sessions ended."""
        self.storage.users.update_password(user["id"], self.hasher.hash(password))
        now = self.clock()
        ended = self.storage.sessions.end_all(user["id"], now)
        self.codes.end_pending(user["id"])
        self.throttle.forget(user["email"])
        self.activity.log(user["id"], "passwordChanged", OPERATOR, now)
        return ended

    def disable(self, user: dict) -> tuple[bool, int]:
        """Disable the account and end every session; return whether it changed and how many ended."""
        now = self.clock()
        changed = not user["disabled"]
        self.storage.users.set_disabled(user["id"], True)
        # Always, not only on a change: nothing a disabled account holds may stay open.
        ended = self.storage.sessions.end_all(user["id"], now)
        self.codes.end_pending(user["id"])
        self.storage.mfa.void_tokens(user["id"])  # sign-ins waiting for their second factor too
        if changed:
            self.activity.log(user["id"], "disabled", OPERATOR, now)
        return changed, ended

    def enable(self, user: dict) -> bool:
        """Let a disabled account log in again; return whether it changed."""
        if not user["disabled"]:
            return False
        self.storage.users.set_disabled(user["id"], False)
        self.activity.log(user["id"], "enabled", OPERATOR, self.clock())
        return True

    def set_role(self, user: dict, role: str) -> bool:
        """Make the user an admin or a plain user; return whether the role changed."""
        if user["role"] == role:
            return False
        self.storage.users.set_role(user["id"], role)
        self.activity.log(user["id"], "promoted" if role == ADMIN else "demoted", OPERATOR, self.clock())
        return True

    def mark_email_verified(self, user: dict) -> bool:
        """Mark the user's email address verified without a code; return whether it changed.

        A first proof of the mailbox like a code's: identities linked before it are removed (and
        the sessions end). The password stays: the operator vouches for who holds the account.
        """
        if user["emailVerified"]:
            return False
        now = self.clock()
        self.codes.mailbox_proven(user, user["email"], OPERATOR, now, owner_shown=True)
        self.storage.users.set_email_verified(user["id"], user["email"])
        self.activity.log(user["id"], "emailVerified", OPERATOR, now)
        return True

    def end_any_session(self, session_id: str) -> str:
        """End an open session of any user; return its user's id, or raise sessionNotFound."""
        now = self.clock()
        user_id = self.storage.sessions.owner(session_id, now)
        if user_id is None or not self.storage.sessions.end(session_id=session_id, user_id=user_id, now=now):
            raise AuthError(Code.SESSION_NOT_FOUND)
        self.activity.log(user_id, "sessionEnded", OPERATOR, now)
        return user_id

    def delete_user(self, user: dict) -> None:
        """Remove the user and everything the user owns, as the delete-account rule does."""
        self.deletion.delete_account(user["id"], OPERATOR)  # the account-deletion rule of the HTTP API
        # The activity log goes with the user, so the server's log keeps the only trace.
        log.warning("operator deleted user %s", user["id"])
