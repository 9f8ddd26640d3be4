"""One-time codes: at most one live code per user and purpose, stored only as a keyed hash."""

from __future__ import annotations

import hmac
from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from .base import ONE_TIME_CODES, StoreBase


def _code_id(user_id: str, purpose: str) -> str:
    """Return the id of the user's code for `purpose`: a new one replaces the last by this id."""
    return f"{user_id}:{purpose}"


class CodeStore(StoreBase):
    """The `OneTimeCodes` collection."""

    def ensure_indexes(self) -> None:
        with self._lock:
            codes = self.db[ONE_TIME_CODES]
            codes.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)
            codes.create_index([("userId", ASCENDING)])

    def store(
        self,
        user_id: str,
        purpose: str,
        email: str,
        code_hash: str,
        now: datetime,
        expires_at: datetime,
        new_email: str | None = None,
        session_id: str | None = None,
    ) -> None:
        """Store the user's code for `purpose`, sent to `email`, replacing any earlier one.

        `session_id` binds the code to the session that asked for it (an email change).
        """
        document = {
            "_id": _code_id(user_id, purpose),
            "userId": user_id,
            "purpose": purpose,
            "email": email,
            "newEmail": new_email,
            "sessionId": session_id,
            "codeHash": code_hash,
            "failures": 0,
            "createdAt": now,
            "expiresAt": expires_at,
        }
        for _ in range(2):  # two first codes at once: one insert loses the race, then replaces
            try:
                with self._lock:
                    self.db[ONE_TIME_CODES].replace_one({"_id": document["_id"]}, document, upsert=True)
                return
            except DuplicateKeyError:
                continue

    def use(
        self,
        user_id: str,
        purpose: str,
        email: str | None,
        code_hash: str,
        now: datetime,
        max_failures: int,
        session_id: str | None = None,
    ) -> dict | None:
        """Delete and return the live code if `code_hash` is its hash; None otherwise.

        With `email`, only a code that was sent to that address matches; with `session_id`,
        only a code stored for that session.

        Every guess is counted before it is compared, in one atomic update that matches only a
        code with fewer than `max_failures` tries: however many guesses race, at most that
        many are ever compared (checking first and counting after let them all through).
        Deleting is what uses the code: of concurrent requests with the right code, exactly one
        deletes it, and a newer code that replaced it in between has another hash and stays.
        """
        live: dict = {
            "_id": _code_id(user_id, purpose),
            "expiresAt": {"$gt": now},
            "failures": {"$lt": max_failures},
        }
        if email is not None:
            live["email"] = email
        if session_id is not None:
            live["sessionId"] = session_id
        with self._lock:
            document = self.db[ONE_TIME_CODES].find_one_and_update(
                live, {"$inc": {"failures": 1}}, return_document=ReturnDocument.AFTER
            )
        if document is None or not hmac.compare_digest(document["codeHash"], code_hash):
            return None
        with self._lock:
            used = self.db[ONE_TIME_CODES].delete_one({"_id": document["_id"], "codeHash": code_hash})
        return document if used.deleted_count == 1 else None

    def restore(self, document: dict) -> bool:
        """Put back a code `use_code` returned, unless a newer code of its purpose took its place."""
        try:
            with self._lock:
                self.db[ONE_TIME_CODES].insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    def has_live(self, user_id: str, purpose: str, now: datetime, max_failures: int) -> bool:
        """Say whether the user's code for `purpose` is still usable: unexpired, unused, tries left."""
        live = {
            "_id": _code_id(user_id, purpose),
            "expiresAt": {"$gt": now},
            "failures": {"$lt": max_failures},
        }
        with self._lock:
            return self.db[ONE_TIME_CODES].find_one(live, {"_id": 1}) is not None

    def delete_for_user(self, user_id: str) -> int:
        """Delete every pending code of the user (their credentials or sessions changed); return how many."""
        with self._lock:
            return self.db[ONE_TIME_CODES].delete_many({"userId": user_id}).deleted_count

    def delete_session_bound(self, user_id: str) -> int:
        """Delete the user's pending codes that a session asked for (email changes); return how many."""
        with self._lock:
            deleted = self.db[ONE_TIME_CODES].delete_many({"userId": user_id, "sessionId": {"$ne": None}})
        return deleted.deleted_count
