"""Deleting an account: everything the user owns goes, every session ends, a notice is mailed."""

from __future__ import annotations

import logging

from ..errors import ApiError
from .accounts import WRONG_CURRENT_PASSWORD
from .base import Client, ServiceBase

log = logging.getLogger(__name__)


class Deletion(ServiceBase):
    """deleteAccount, and the deletion itself for any caller that has checked who is asking."""

    def delete_account_with_password(self, user_id: str, password: str, client: Client) -> None:
        """Check the password of the token's user, then delete the account."""
        user = self._existing_user(user_id)
        now = self.clock()
        self.throttle.claim(user["email"], now)  # a password check: the same delays as login
        if not self.hasher.check(password, user["password"]):
            raise ApiError(WRONG_CURRENT_PASSWORD, errors={"password": [WRONG_CURRENT_PASSWORD]})
        self.delete_account(user_id, client)

    def delete_account(self, user_id: str, client: Client) -> dict[str, int] | None:
        """Delete the account and all it owns, and mail a notice; None when there is no such account.

        No check of who asks: the route checks the password first, an operator's command
        its own rights. Returns how many documents went from each collection.
        """
        user = self.storage.find_user_by_id(user_id)
        if user is None:
            return None
        deleted = self.storage.delete_user_everything(user_id, user["email"])
        log.info("account deleted", extra={"fields": {"user_id": user_id, "deleted": deleted}})
        self.mailer.send("account_deleted", user["email"], first=user["first"])
        return deleted
