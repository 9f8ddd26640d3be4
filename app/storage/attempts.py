"""Login attempts: the count of failed logins in a row, per (normalised) email, known or not."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .base import LOGIN_FAILURES, StoreBase


class AttemptStore(StoreBase):
    """The `LoginFailures` collection."""

    def _ensure_attempt_indexes(self) -> None:
        with self._lock:
            self.db[LOGIN_FAILURES].create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)

    def login_failures(self, email: str, now: datetime) -> tuple[int, datetime] | None:
        """Return how many attempts in a row failed (or are under way) and when the next may start."""
        with self._lock:
            document = self.db[LOGIN_FAILURES].find_one({"_id": email, "expiresAt": {"$gt": now}})
        if document is None:
            return None
        return document["count"], document["allowedAt"]

    def count_login_attempt(
        self, email: str, seen_count: int | None, allowed_at: datetime, forget_at: datetime, now: datetime
    ) -> bool:
        """Count one more attempt for `email` unless another was counted since `seen_count` was read.

        A compare-and-set on the count, so that of several attempts racing for one account
        exactly one is counted each round: none slips past the delay the others set.
        """
        if seen_count is None:  # no record, or a forgotten one the TTL monitor has not removed yet
            match: dict = {"_id": email, "expiresAt": {"$lte": now}}
        else:
            match = {"_id": email, "count": seen_count}
        update = {"$set": {"count": (seen_count or 0) + 1, "allowedAt": allowed_at, "expiresAt": forget_at}}
        try:
            with self._lock:
                result = self.db[LOGIN_FAILURES].update_one(match, update, upsert=seen_count is None)
        except DuplicateKeyError:  # another attempt created the record first
            return False
        return result.matched_count == 1 or result.upserted_id is not None

    def clear_login_failures(self, email: str) -> None:
        """Forget the failed logins of `email`."""
        with self._lock:
            self.db[LOGIN_FAILURES].delete_one({"_id": email})
