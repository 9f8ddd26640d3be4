"""Accounts: signing up, the signed-in user, passwords, and listing users and activity."""

from __future__ import annotations

from ..errors import ApiError, InvalidToken
from ..lockout import from_session
from ..storage import ADMIN, USER, created_at
from .base import Client, ServiceBase, page

EMAIL_TAKEN = "A user with that username already exists."
WRONG_CURRENT_PASSWORD = "The current password is incorrect."
NO_PASSWORD_CODE = "noPassword"
NO_PASSWORD = (
    "This account has no password: it signs in with Google or Apple. "
    "To add one, ask for a password reset (forgot password) for its email."
)


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
            "role": claims.get("role", USER),  # as of the token's issue, like the rest of it
        }

    def change_password(
        self, user_id: str, session_id: str, current_password: str, new_password: str, client: Client
    ) -> int:
        """Check the current password, set the new one, end every other session; return how many ended."""
        user = self._existing_user(user_id)
        if not user["password"]:
            raise ApiError(NO_PASSWORD, code=NO_PASSWORD_CODE, errors={"currentPassword": [NO_PASSWORD]})
        now = self.clock()
        # A stolen access token must not become a way to guess the password: this session's
        # guesses wait like a stranger's, but strangers' guesses never delay the session.
        source = from_session(session_id)
        self.throttle.claim(user["email"], source, now, holds_session=True)
        if not self.hasher.check(current_password, user["password"]):
            raise ApiError(WRONG_CURRENT_PASSWORD, errors={"currentPassword": [WRONG_CURRENT_PASSWORD]})
        self.throttle.succeeded(user["email"], source, now)
        self.storage.update_password(user_id, self.hasher.hash(new_password))
        ended = self.storage.end_user_sessions(user_id, now, except_id=session_id)
        self._log(user_id, "passwordChanged", client, now)
        return ended

    def list_users(self, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of users and the cursor of the next page (None on the last)."""
        return page(self.storage.list_users(after, limit + 1), limit)

    def is_admin(self, user_id: str) -> bool:
        """Say whether the user is, right now, an enabled admin (one read by id, never the token's word)."""
        user = self.storage.find_user_by_id(user_id)
        return user is not None and user["role"] == ADMIN and not user["disabled"]

    def list_activity(self, user_id: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of the user's activity, newest first, and the cursor of the next page."""
        return page(self.storage.list_activity(user_id, after, limit + 1), limit)
