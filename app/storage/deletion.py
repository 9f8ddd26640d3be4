"""Deleting an account: everything a user owns, in every collection."""

from __future__ import annotations

from .base import (
    ACTIVITY,
    IDENTITIES,
    LOGIN_FAILURES,
    ONE_TIME_CODES,
    SESSIONS,
    USERS,
    StoreBase,
    object_id_of,
)


class DeletionStore(StoreBase):
    """Removes a user and every document that belongs to them."""

    def delete_user_everything(self, user_id: str, email: str) -> dict[str, int]:
        """Delete the user and all they own; return how many documents went from each collection.

        The user goes first: from then on the account's tokens are refused (`/me`, refresh),
        its email is free, and a login in flight can open no session that refreshes.
        A collection added later that holds a user's documents must be added here too.
        """
        object_id = object_id_of(user_id)
        if object_id is None:
            return {}
        by_user = {"userId": user_id}
        with self._lock:
            deleted = {USERS: self.db[USERS].delete_one({"_id": object_id}).deleted_count}
            deleted[SESSIONS] = self.db[SESSIONS].delete_many(by_user).deleted_count
            deleted[ONE_TIME_CODES] = self.db[ONE_TIME_CODES].delete_many(by_user).deleted_count
            deleted[ACTIVITY] = self.db[ACTIVITY].delete_many({"userId": object_id}).deleted_count
            deleted[IDENTITIES] = self.db[IDENTITIES].delete_many(by_user).deleted_count
            deleted[LOGIN_FAILURES] = self.clear_account_login_failures(email)  # AttemptStore's, on Storage
            # MailQuota stays: its counters belong to the address, not the account, and expire
            # within the hour. Deleting them let signup + deleteAccount loops flood an inbox.
        return deleted
