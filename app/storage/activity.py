"""The activity log: the original server's `LoginActivity`, one entry per sign-up, login and change."""

from __future__ import annotations

from datetime import datetime, timedelta

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from .base import ACTIVITY, StoreBase, id_time, object_id_of

# "Newest first" rests on a stored time, never on ids alone: an ObjectId starts with its second
# and goes on with bytes of the process that made it, so two processes' ids within one second are
# in no time order. Ties in time (one millisecond) fall back to the id, for a stable order.
NEWEST_ACTIVITY = [("time", DESCENDING), ("_id", DESCENDING)]
ACTIVITY_BY_TIME = [("userId", ASCENDING), ("time", DESCENDING), ("_id", DESCENDING)]


def _activity(document: dict) -> dict:
    """Turn a stored activity entry into the service's shape (string id; `by` only when stored)."""
    fields = ("activity", "time", "ip", "userAgent")
    entry = {"id": str(document["_id"])} | {name: document.get(name) for name in fields}
    if "method" in document:  # how a login signed in: password, google or apple
        entry["method"] = document["method"]
    if document.get("by"):
        entry["by"] = document["by"]
    if document.get("secondFactor"):
        entry["secondFactor"] = document["secondFactor"]
    return entry


class ActivityStore(StoreBase):
    """The `LoginActivity` collection."""

    def ensure_indexes(self, keep_for: timedelta) -> None:
        with self._lock:
            self.db[ACTIVITY].create_index(ACTIVITY_BY_TIME)
            self._expire_activity_after(keep_for)

    def _expire_activity_after(self, keep_for: timedelta) -> None:
        """Let MongoDB delete entries older than `keep_for` (a TTL index on `time`)."""
        by_time, seconds = [("time", ASCENDING)], int(keep_for.total_seconds())
        try:
            self.db[ACTIVITY].create_index(by_time, expireAfterSeconds=seconds)
        except OperationFailure:  # made with another ACTIVITY_TTL_DAYS: replace it
            self.db[ACTIVITY].drop_index(by_time)
            self.db[ACTIVITY].create_index(by_time, expireAfterSeconds=seconds)

    def add(
        self,
        user_id: str,
        activity: str,
        now: datetime,
        ip: str | None,
        user_agent: str | None,
        method: str | None = None,
        by: str | None = None,
        second_factor: str | None = None,
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
        if second_factor:
            entry["secondFactor"] = second_factor
        with self._lock:
            self.db[ACTIVITY].insert_one(entry)

    def happened_since(self, user_id: str, activity: str, since: datetime) -> bool:
        """Say whether the user's log has an entry of `activity` at or after `since`."""
        query = {"userId": object_id_of(user_id), "time": {"$gte": since}, "activity": activity}
        with self._lock:
            return self.db[ACTIVITY].find_one(query, {"_id": 1}) is not None

    def list(self, user_id: str, after: str | None, limit: int) -> list[dict]:
        """Return up to `limit` of the user's activity entries, newest first, from after the entry `after`."""
        owner, after_id = object_id_of(user_id), object_id_of(after) if after is not None else None
        if after is not None and after_id is None:  # no entry follows a cursor that is no id
            return []
        query: dict = {"userId": owner}
        with self._lock:
            if after_id is not None:
                query |= self._older_activity(owner, after_id)
            cursor = self.db[ACTIVITY].find(query).sort(NEWEST_ACTIVITY).limit(limit)
            return [_activity(document) for document in cursor]

    def _older_activity(self, owner: ObjectId | None, after: ObjectId) -> dict:
        """Return the filter for the entries that come after the entry `after` in newest-first order.

        The cursor stays an entry's id; its place in the order is the entry's (time, id). An id
        that names none of the user's entries (removed meanwhile, or never theirs) stands at the
        second it holds.
        """
        entry = self.db[ACTIVITY].find_one({"_id": after, "userId": owner}, {"time": 1}) or {}
        time = entry.get("time") or id_time(after)
        return {"$or": [{"time": {"$lt": time}}, {"time": time, "_id": {"$lt": after}}]}
