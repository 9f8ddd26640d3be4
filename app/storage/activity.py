"""The activity log: the original server's `LoginActivity`, one entry per sign-up, login and change."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from .base import ACTIVITY, StoreBase, object_id_of


def _activity(document: dict) -> dict:
    """Turn a stored activity entry into the service's shape (string id; `by` only when stored)."""
    fields = ("activity", "time", "ip", "userAgent")
    entry = {"id": str(document["_id"])} | {name: document.get(name) for name in fields}
    if "method" in document:  # how a login signed in: password, google or apple
        entry["method"] = document["method"]
    if document.get("by"):
        entry["by"] = document["by"]
    return entry


class ActivityStore(StoreBase):
    """The `LoginActivity` collection."""

    def _ensure_activity_indexes(self, keep_for: timedelta) -> None:
        with self._lock:
            self.db[ACTIVITY].create_index([("userId", ASCENDING), ("_id", DESCENDING)])
            self._expire_activity_after(keep_for)

    def _expire_activity_after(self, keep_for: timedelta) -> None:
        """Let MongoDB delete entries older than `keep_for` (a TTL index on `time`)."""
        by_time, seconds = [("time", ASCENDING)], int(keep_for.total_seconds())
        try:
            self.db[ACTIVITY].create_index(by_time, expireAfterSeconds=seconds)
        except OperationFailure:  # made with another ACTIVITY_TTL_DAYS: replace it
            self.db[ACTIVITY].drop_index(by_time)
            self.db[ACTIVITY].create_index(by_time, expireAfterSeconds=seconds)

    def log_activity(
        self,
        user_id: str,
        activity: str,
        now: datetime,
        ip: str | None,
        user_agent: str | None,
        method: str | None = None,
        by: str | None = None,
    ) -> None:
        """Append one entry to the user's activity log.

        `method` says how a login signed in; `by` names who acted when not the user.
        """
        entry = {
            "userId": object_id_of(user_id),
            "activity": activity,
            "time": now,
            "ip": ip,
            "userAgent": user_agent,
        }
        if method is not None:
            entry["method"] = method
        if by:
            entry["by"] = by
        with self._lock:
            self.db[ACTIVITY].insert_one(entry)

    def list_activity(self, user_id: str, after: str | None, limit: int) -> list[dict]:
        """Return up to `limit` of the user's activity entries, newest first, older than the id `after`."""
        query: dict = {"userId": object_id_of(user_id)}
        if after is not None:
            query["_id"] = {"$lt": object_id_of(after)}
        with self._lock:
            cursor = self.db[ACTIVITY].find(query).sort("_id", DESCENDING).limit(limit)
            return [_activity(document) for document in cursor]
