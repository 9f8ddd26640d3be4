"""Accounts: signing up (with a verification code), changing the password, listing users."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AuthError, Code, field_error
from ..password_policy import PasswordPolicy
from ..passwords import PasswordHasher
from ..storage import Storage
from .activity import ActivityLog
from .codes import Codes
from .notices import Notices
from .reauth import Reauth
from .shared import Client, Clock, page
from .verification import Verification


@dataclass(frozen=True)
class Accounts:
    """Creates accounts, changes their passwords, and lists them."""

    storage: Storage
    hasher: PasswordHasher
    policy: PasswordPolicy
    verification: Verification
    reauth: Reauth
    codes: Codes
    activity: ActivityLog
    notices: Notices
    clock: Clock

    def signup(self, first: str, last: str, email: str, password: str, client: Client) -> str:
        """Create an account and return its id; the unique email index settles races."""
        self.policy.check(password, "password", email=email, first=first, last=last)
        password_hash = self.hasher.hash(password)
        now = self.clock()  # after bcrypt, which can wait its turn: the new id holds this time
        user_id = self.storage.users.insert(first, last, email, password_hash, now)
        if user_id is None:
            raise AuthError(Code.EMAIL_TAKEN)
        self.activity.log(user_id, "signup", client, now)
        self.verification.mail_code({"id": user_id, "first": first, "email": email}, now)
        return user_id

    def change_password(
        self, user_id: str, session_id: str, current_password: str, new_password: str, client: Client
    ) -> int:
        """Check the current password, set the new one, end every other session; return how many ended."""
        user = self.reauth.signed_in_user(user_id, session_id)
        if not user["password"]:
            raise field_error(Code.NO_PASSWORD, "currentPassword")
        now = self.reauth.check_password(user, session_id, current_password, "currentPassword")
        self.policy.check(
            new_password, "newPassword", email=user["email"], first=user["first"], last=user["last"]
        )
        self.storage.users.update_password(user_id, self.hasher.hash(new_password))
        ended = self.storage.sessions.end_all(user_id, now, except_id=session_id)
        self.codes.end_pending(user_id)
        self.activity.log(user_id, "passwordChanged", client, now)
        self.notices.send(
            "password_changed", user["email"], now, address_proven=user["emailVerified"], first=user["first"]
        )
        return ended

    def list_users(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of users and the cursor of the next page (None on the last)."""
        return page(self.storage.users.list(after, limit + 1), limit)
