"""The mail outbox: every promised message, stored before the answer, claimed by one worker at a time.

A message is `waiting` until it is due (`dueAt`), `sending` while a worker holds its lease
(`dueAt` is then the lease's end: a worker that died mid-send lets it go when the lease ends),
and finally `sent` or `failed`; those two are removed by a TTL index on `expiresAt`. A `decoy`
is the write an address that gets no code pays for, so that its answer costs the same.
"""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from .base import MAIL_OUTBOX, StoreBase, object_id_of

WAITING, SENDING, SENT, FAILED, DECOY = "waiting", "sending", "sent", "failed", "decoy"
STATES = (WAITING, SENDING, SENT, FAILED)  # what an operator sees; decoys are not messages
_IN_FLIGHT = {"$in": [WAITING, SENDING]}


class OutboxStore(StoreBase):
    """The `MailOutbox` collection."""

    def ensure_indexes(self) -> None:
        with self._lock:
            outbox = self.db[MAIL_OUTBOX]
            outbox.create_index([("state", ASCENDING), ("dueAt", ASCENDING)])
            outbox.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)

    def add(self, message: dict) -> None:
        """Store a message (or a decoy) as it is."""
        with self._lock:
            self.db[MAIL_OUTBOX].insert_one(message)

    def claim(self, now: datetime, lease_until: datetime, holder: str) -> dict | None:
        """Take the message due first for `holder` until `lease_until`, counting a try; None when none is due.

        One atomic update: of workers racing for a message, exactly one gets it.
        """
        with self._lock:
            return self.db[MAIL_OUTBOX].find_one_and_update(
                {"state": _IN_FLIGHT, "dueAt": {"$lte": now}},
                {"$set": {"state": SENDING, "dueAt": lease_until, "holder": holder}, "$inc": {"attempts": 1}},
                sort=[("dueAt", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )

    def finish(
        self, message_id: ObjectId, holder: str, changes: dict, forget: tuple[str, ...] = ()
    ) -> bool:
        """Record what became of a claimed message, if `holder` still holds it; say whether it did."""
        update: dict = {"$set": changes}
        if forget:
            update["$unset"] = dict.fromkeys(forget, "")
        with self._lock:
            result = self.db[MAIL_OUTBOX].update_one({"_id": message_id, "holder": holder}, update)
        return result.matched_count == 1

    def next_due(self) -> datetime | None:
        """Return when the next waiting or leased message is due, or None when there is none."""
        with self._lock:
            first = self.db[MAIL_OUTBOX].find_one(
                {"state": _IN_FLIGHT}, {"dueAt": 1}, sort=[("dueAt", ASCENDING)]
            )
        return None if first is None else first["dueAt"]

    def count_in_flight(self, now: datetime) -> int:
        """Count the messages due now or being sent (those waiting for a later retry are not)."""
        with self._lock:
            return self.db[MAIL_OUTBOX].count_documents(
                {"$or": [{"state": WAITING, "dueAt": {"$lte": now}}, {"state": SENDING}]}
            )

    def counts(self) -> dict[str, int]:
        """Count the messages in each state."""
        counts = dict.fromkeys(STATES, 0)
        with self._lock:
            for state in STATES:
                counts[state] = self.db[MAIL_OUTBOX].count_documents({"state": state})
        return counts

    def oldest_waiting(self) -> dict | None:
        """Return the waiting or leased message stored first, or None."""
        with self._lock:
            return self.db[MAIL_OUTBOX].find_one(
                {"state": _IN_FLIGHT}, {"sealed": 0}, sort=[("createdAt", ASCENDING)]
            )

    def failed(self, limit: int) -> list[dict]:
        """Return the failed messages, latest first, up to `limit` (the sealed contexts left out)."""
        with self._lock:
            found = self.db[MAIL_OUTBOX].find({"state": FAILED}, {"sealed": 0})
            return list(found.sort("doneAt", -1).limit(limit))

    def retry(self, now: datetime, message_id: str | None = None) -> int:
        """Make a failed message (or every failed one, without an id) due again now; return how many."""
        query: dict = {"state": FAILED}
        if message_id is not None:
            query["_id"] = object_id_of(message_id)
        update = {"$set": {"state": WAITING, "dueAt": now, "attempts": 0}, "$unset": {"expiresAt": ""}}
        with self._lock:
            return self.db[MAIL_OUTBOX].update_many(query, update).modified_count
