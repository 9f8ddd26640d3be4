"""Sessions: one per login, holding the hash of its current refresh token."""

from __future__ import annotations

from datetime import datetime
from typing import overload

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from .base import SESSIONS, StoreBase

# A session's `seq` is an ObjectId made as it is stored: among sessions opened in one millisecond,
# those of one process follow each other in it. Sessions stored without one sort as the oldest.
NEWEST_SESSIONS = [("createdAt", DESCENDING), ("seq", DESCENDING)]
SESSIONS_BY_AGE = [("userId", ASCENDING), ("createdAt", ASCENDING), ("seq", ASCENDING)]


@overload
def _session(document: dict) -> dict: ...
@overload
def _session(document: None) -> None: ...
def _session(document: dict | None) -> dict | None:
    """Turn a stored session into the service's shape; its current token hash stays here."""
    if document is None:
        return None
    fields = (
        "userId",
        "createdAt",
        "lastUsedAt",
        "expiresAt",
        "ip",
        "userAgent",
        "previousTokenHash",
        "rotatedAt",
        "amr",
        "aal",
        "authTime",
    )
    return {"id": document["_id"]} | {name: document.get(name) for name in fields}


def _open_sessions(user_id: str, now: datetime) -> dict:
    """Return the filter that matches the user's sessions that are open and unexpired."""
    return {"userId": user_id, "endedAt": None, "expiresAt": {"$gt": now}}


def _open_session(session_id: str, user_id: str, now: datetime) -> dict:
    """Return the filter that matches one session of the user while it is open and unexpired."""
    return _open_sessions(user_id, now) | {"_id": session_id}


def _ended(now: datetime) -> dict:
    """Return the update that ends a session now."""
    # Expiring it now too lets the TTL index remove it within a minute, so the
    # user's index range (and the session cap's query) never fills up with ended sessions.
    return {"$set": {"endedAt": now, "expiresAt": now}}


class SessionStore(StoreBase):
    """The `Sessions` collection."""

    def ensure_indexes(self) -> None:
        with self._lock:
            sessions = self.db[SESSIONS]
            sessions.create_index([("tokenHash", ASCENDING)])
            sessions.create_index(SESSIONS_BY_AGE)
            sessions.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)

    def open(
        self,
        session_id: str,
        user_id: str,
        token_hash: str,
        now: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
        passkey_id: str | None = None,
        factors: dict | None = None,
    ) -> None:
        """Store a new session, identified by `session_id`, holding its refresh token's hash.

        `passkey_id`: the passkey that signed it in, whose removal ends it. `factors` (`amr`,
        `aal`, `authTime`): how it signed in, which its access tokens carry.
        """
        document = {
            "_id": session_id,
            "userId": user_id,
            "tokenHash": token_hash,
            "createdAt": now,
            "seq": ObjectId(),
            "lastUsedAt": now,
            "expiresAt": expires_at,
            "endedAt": None,
            "previousTokenHash": None,
            "rotatedAt": None,
            "ip": ip,
            "userAgent": user_agent,
        } | (factors or {})
        if passkey_id is not None:
            document["passkeyId"] = passkey_id
        with self._lock:
            self.db[SESSIONS].insert_one(document)

    def use(self, *, session_id: str, user_id: str, token_hash: str, now: datetime) -> bool:
        """Mark an open session used if `token_hash` is its current token's; say whether it was."""
        with self._lock:
            result = self.db[SESSIONS].update_one(
                _open_session(session_id, user_id, now) | {"tokenHash": token_hash},
                {"$set": {"lastUsedAt": now}},
            )
        return result.matched_count == 1

    def rotate_token(
        self, session_id: str, user_id: str, old_hash: str, new_hash: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Swap an open session's current token hash for a new one; only one of racing callers wins."""
        # One conditional update, never read-then-write: the filter on the current hash
        # is what makes concurrent refreshes of one token have a single winner.
        with self._lock:
            result = self.db[SESSIONS].update_one(
                _open_session(session_id, user_id, now) | {"tokenHash": old_hash},
                {
                    "$set": {
                        "tokenHash": new_hash,
                        "previousTokenHash": old_hash,
                        "rotatedAt": now,
                        "lastUsedAt": now,
                        "expiresAt": expires_at,
                    }
                },
            )
        return result.matched_count == 1

    def set_factors(self, session_id: str, user_id: str, factors: dict, now: datetime) -> bool:
        """Record a new proof of factors (`amr`, `aal`, `authTime`) on an open session; say if it is open."""
        with self._lock:
            result = self.db[SESSIONS].update_one(_open_session(session_id, user_id, now), {"$set": factors})
        return result.matched_count == 1

    def end_below_aal2(self, user_id: str, now: datetime, except_id: str) -> int:
        """End the user's open sessions (but `except_id`) without a second factor; return how many."""
        query = _open_sessions(user_id, now) | {"_id": {"$ne": except_id}, "aal": {"$ne": 2}}
        with self._lock:
            return self.db[SESSIONS].update_many(query, _ended(now)).modified_count

    def find_open(self, *, session_id: str, user_id: str, now: datetime) -> dict | None:
        """Return the user's open, unexpired session with this id, if any."""
        with self._lock:
            return _session(self.db[SESSIONS].find_one(_open_session(session_id, user_id, now)))

    def owner(self, session_id: str, now: datetime) -> str | None:
        """Return the id of the user whose open, unexpired session this is, if any."""
        query = {"_id": session_id, "endedAt": None, "expiresAt": {"$gt": now}}
        with self._lock:
            document = self.db[SESSIONS].find_one(query, {"userId": 1})
        return None if document is None else document["userId"]

    def list_open(self, user_id: str, now: datetime) -> list[dict]:
        """Return the user's open, unexpired sessions, newest first."""
        query = _open_sessions(user_id, now)
        with self._lock:
            cursor = self.db[SESSIONS].find(query).sort(NEWEST_SESSIONS)
            return [_session(document) for document in cursor]

    def end(self, *, session_id: str, user_id: str, now: datetime) -> bool:
        """End one of the user's open sessions; say whether this call ended it."""
        with self._lock:
            result = self.db[SESSIONS].update_one(_open_session(session_id, user_id, now), _ended(now))
        return result.modified_count == 1

    def end_all(self, user_id: str, now: datetime, except_id: str | None = None) -> int:
        """End every open session of the user but `except_id`; return how many ended."""
        query = _open_sessions(user_id, now)
        if except_id is not None:
            query["_id"] = {"$ne": except_id}
        with self._lock:
            return self.db[SESSIONS].update_many(query, _ended(now)).modified_count

    def end_opened_by(self, user_id: str, passkey_id: str, now: datetime) -> int:
        """End every open session of the user that a passkey signed in; return how many ended."""
        with self._lock:
            query = _open_sessions(user_id, now) | {"passkeyId": passkey_id}
            return self.db[SESSIONS].update_many(query, _ended(now)).modified_count

    def end_oldest(self, user_id: str, keep: int, now: datetime, except_id: str) -> int:
        """End the user's open sessions beyond the `keep` newest others than `except_id`."""
        # Ending is one-way and always picks the oldest, so two logins racing here
        # can only agree on which sessions end; no lock across the two steps is needed.
        query = _open_sessions(user_id, now) | {"_id": {"$ne": except_id}}
        with self._lock:
            cursor = self.db[SESSIONS].find(query, {"_id": 1}).sort(NEWEST_SESSIONS).skip(keep)
            surplus = [document["_id"] for document in cursor]
        if not surplus:
            return 0
        with self._lock:
            return (
                self.db[SESSIONS]
                .update_many({"_id": {"$in": surplus}, "endedAt": None}, _ended(now))
                .modified_count
            )
