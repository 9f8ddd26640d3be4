"""Accounts: signing up (with a verification code), passwords, and listing users and activity."""

from __future__ import annotations

from ..errors import ApiError
from .base import Client, page
from .verification import Verification

EMAIL_TAKEN = "A user with that username already exists."
NO_PASSWORD_CODE = "noPassword"
NO_PASSWORD = (
    "This account has no password: it signs in with Google or Apple. "
    "To add one, ask for a password reset (forgot password) for its email."
)


class Accounts(Verification):
    """Creates accounts and changes their passwords."""

    def signup(self, first: str, last: str, email: str, password: str, client: Client) -> str:
        """Create an account and return its id; the unique email index settles races."""
        self.account_rules.password_policy.check(password, "password", email=email, first=first, last=last)
        password_hash = self.hasher.hash(password)
        now = self.clock()  # after bcrypt, which can wait its turn: the new id holds this time
        user_id = self.storage.users.insert(first, last, email, password_hash, now)
        if user_id is None:
            raise ApiError(EMAIL_TAKEN)
        self._log(user_id, "signup", client, now)
        self._mail_verification_code({"id": user_id, "first": first, "email": email}, now)
        return user_id

    def change_password(
        self, user_id: str, session_id: str, current_password: str, new_password: str, client: Client
    ) -> int:
        """Check the current password, set the new one, end every other session; return how many ended."""
        user = self._signed_in_user(user_id, session_id)
        if not user["password"]:
            raise ApiError(NO_PASSWORD, code=NO_PASSWORD_CODE, errors={"currentPassword": [NO_PASSWORD]})
        now = self._check_signed_in_password(user, session_id, current_password, "currentPassword")
        self.account_rules.password_policy.check(
            new_password, "newPassword", email=user["email"], first=user["first"], last=user["last"]
        )
        self.storage.users.update_password(user_id, self.hasher.hash(new_password))
        ended = self.storage.sessions.end_all(user_id, now, except_id=session_id)
        self._end_pending_codes(user_id)
        self._log(user_id, "passwordChanged", client, now)
        self._send_notice(
            "password_changed", user["email"], now, address_proven=user["emailVerified"], first=user["first"]
        )
        return ended

    def list_users(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of users and the cursor of the next page (None on the last)."""
        return page(self.storage.users.list(after, limit + 1), limit)

    def list_activity(self, user_id: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of the user's activity, newest first, and the cursor of the next page."""
        return page(self.storage.activity.list(user_id, after, limit + 1), limit)
