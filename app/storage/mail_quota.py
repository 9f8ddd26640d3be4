"""Mail quota: how many messages of one purpose went to one address in the current hour.

The same windowed counters count other things per address or account (wrong codes a day).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .base import MAIL_QUOTA, StoreBase

MAIL_QUOTA_WINDOW = timedelta(hours=1)


class MailQuotaStore(StoreBase):
    """The `MailQuota` collection: one counter per (purpose, address), removed by a TTL index."""

    def ensure_indexes(self) -> None:
        with self._lock:
            quota = self.db[MAIL_QUOTA]
            quota.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)
            quota.create_index([("email", ASCENDING)])

    def count(
        self, purpose: str, email: str, limit: int, now: datetime, window: timedelta = MAIL_QUOTA_WINDOW
    ) -> bool:
        """Count one more message of `purpose` to `email` if the window's quota allows it; say whether it did.

        Each step is one atomic update, so concurrent requests cannot together pass the limit.
        """
        key = f"{purpose}:{email}"
        live = {"_id": key, "expiresAt": {"$gt": now}, "count": {"$lt": limit}}
        start = {"$set": {"email": email, "count": 1, "expiresAt": now + window}}
        for _ in range(2):  # the second time, against the counter a racing request has just made
            with self._lock:
                counted = self.db[MAIL_QUOTA].update_one(live, {"$inc": {"count": 1}})
            if counted.matched_count == 1:
                return True
            try:  # no counter, or one from a window that has passed: start a new window
                with self._lock:
                    started = self.db[MAIL_QUOTA].update_one(
                        {"_id": key, "expiresAt": {"$lte": now}}, start, upsert=True
                    )
            except DuplicateKeyError:  # a live counter: at its limit, or made just now by a racer
                continue
            return started.matched_count == 1 or started.upserted_id is not None
        return False

    def uncount(self, purpose: str, email: str) -> None:
        """Take one back from the counter of `purpose` for `email` (what it counted turned out free)."""
        with self._lock:
            self.db[MAIL_QUOTA].update_one(
                {"_id": f"{purpose}:{email}", "count": {"$gt": 0}}, {"$inc": {"count": -1}}
            )

    def window_end(self, purpose: str, email: str, now: datetime) -> datetime:
        """Return when the current window of the counter of `purpose` for `email` ends (now if none)."""
        with self._lock:
            counter = self.db[MAIL_QUOTA].find_one({"_id": f"{purpose}:{email}"}, {"expiresAt": 1})
        return counter["expiresAt"] if counter else now
