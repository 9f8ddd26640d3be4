"""Accounts: signing up, the signed-in user, passwords, and listing users and activity."""

from __future__ import annotations

from ..errors import ApiError, InvalidToken
from .base import Client, ServiceBase, page

EMAIL_TAKEN = "A user with that username already exists."
WRONG_CURRENT_PASSWORD = "The current password is incorrect."


class Accounts(ServiceBase):
    """Creates accounts and changes their passwords."""

    def signup(self, first: str, last: str, email: str, password: str, client: Client) -> str:
        """Create an account and return its id; the unique email index settles races."""
        password_hash = self.hasher.hash(password)
        now = self.clock()  # after bcrypt, which can wait its turn: the new id holds this time
        user_id = self.storage.insert_user(first, last, email, password_hash, now)
        if user_id is None:
            raise ApiError(EMAIL_TAKEN)
        self._log(user_id, "signup", client, now)
        return user_id

    def me(self, claims: dict) -> dict:
        """Return the stored public user a valid access token was issued to (one read by id)."""
        user = self.storage.find_user_by_id(claims["sub"])
        if user is None:  # signed with our key, but the account is gone (or never was ours)
            raise InvalidToken()
        return {name: user[name] for name in ("id", "first", "last", "email", "createdAt")}

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
        return page(self.storage.list_users(after, limit + 1), limit)

    def list_activity(self, user_id: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of the user's activity, newest first, and the cursor of the next page."""
        return page(self.storage.list_activity(user_id, after, limit + 1), limit)
