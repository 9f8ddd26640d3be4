"""Login attempts: counts of failed logins, per account and per (account, where from), known or not."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .base import LOGIN_FAILURES, StoreBase


@dataclass(frozen=True)
class Attempts:
    """One counter: failed (or under way) attempts, when the next may start, when it is forgotten."""

    count: int
    allowed_at: datetime
    forget_at: datetime


class AttemptStore(StoreBase):
    """The `LoginFailures` collection: one document per counter, `_id` its key."""

    def ensure_indexes(self) -> None:
        with self._lock:
            self.db[LOGIN_FAILURES].create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)

    def failures(self, key: str, now: datetime) -> Attempts | None:
        """Return the counter `key` unless it is forgotten."""
        with self._lock:
            document = self.db[LOGIN_FAILURES].find_one({"_id": key, "expiresAt": {"$gt": now}})
        if document is None:
            return None
        return Attempts(document["count"], document["allowedAt"], document["expiresAt"])

    def count(
        self, key: str, seen_count: int | None, allowed_at: datetime, forget_at: datetime, now: datetime
    ) -> bool:
        """Count one more attempt on `key` unless another was counted since `seen_count` was read.

        A compare-and-set on the count, so that of several attempts racing for one counter
        exactly one is counted each round: none slips past the delay the others set.
        """
        if seen_count is None:  # no record, or a forgotten one the TTL monitor has not removed yet
            match: dict = {"_id": key, "expiresAt": {"$lte": now}}
        else:
            match = {"_id": key, "count": seen_count}
        update = {"$set": {"count": (seen_count or 0) + 1, "allowedAt": allowed_at, "expiresAt": forget_at}}
        try:
            with self._lock:
                result = self.db[LOGIN_FAILURES].update_one(match, update, upsert=seen_count is None)
        except DuplicateKeyError:  # another attempt created the record first
            return False
        return result.matched_count == 1 or result.upserted_id is not None

    def uncount(self, key: str, limit: int, now: datetime) -> None:
        """Take back one attempt counted on `key`; open it again if that brings it under `limit`."""
        with self._lock:
            failures = self.db[LOGIN_FAILURES]
            failures.update_one({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})
            failures.update_one({"_id": key, "count": {"$lt": limit}}, {"$set": {"allowedAt": now}})

    def clear(self, key: str) -> None:
        """Forget the counter `key`."""
        with self._lock:
            self.db[LOGIN_FAILURES].delete_one({"_id": key})

    def sources(self, email: str, now: datetime) -> dict[str, Attempts]:
        """Return each source's live counter of failed attempts at the account, by source."""
        prefix = {"_id": {"$regex": f"^{re.escape(email)} "}, "expiresAt": {"$gt": now}}
        with self._lock:
            documents = list(self.db[LOGIN_FAILURES].find(prefix))
        return {
            document["_id"][len(email) + 1 :]: Attempts(
                document["count"], document["allowedAt"], document["expiresAt"]
            )
            for document in documents
        }

    def clear_account(self, email: str) -> int:
        """Forget every counter of the account: its daily count and each source's; return how many."""
        # Source counters are keyed "<email> <source>" (lockout.source_key): a prefix the _id index serves.
        every = {"$or": [{"_id": email}, {"_id": {"$regex": f"^{re.escape(email)} "}}]}
        with self._lock:
            return self.db[LOGIN_FAILURES].delete_many(every).deleted_count
