"""Users: accounts, their emails and password hashes."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, OperationFailure

from .base import MIGRATIONS, USERS, StoreBase, id_time, object_id_of

_USER_FIELDS = {"first": 1, "last": 1, "email": 1, "password": 1}


class DuplicateEmails(RuntimeError):
    """Two stored users share an email once case and spaces are ignored; the server cannot start."""

    def __init__(self) -> None:
        super().__init__(
            "Two users in Users have the same email once case and surrounding spaces are ignored. "
            "Merge or rename one of them, then start again."
        )


def _new_user_id(now: datetime) -> ObjectId:
    """Return a new id that holds `now` to the second, made unique the driver's way.

    An ObjectId starts with its creation second; the rest (per-process random bytes and a
    counter) keeps ids unique and in creation order. Taking the second from the service's
    clock makes the id the account's creation time, so `createdAt` can be read from it.
    """
    return ObjectId(ObjectId.from_datetime(now).binary[:4] + ObjectId().binary[4:])


def _user(document: dict | None) -> dict | None:
    """Turn a stored user into the service's shape (string id, createdAt always set)."""
    if document is None:
        return None
    object_id = document["_id"]
    return {
        "id": str(object_id),
        "first": document.get("first", ""),
        "last": document.get("last", ""),
        "email": document.get("email", ""),
        "password": document.get("password", ""),
        # Every answer reads it from the id, as /me does with no document at hand: users made
        # by the original server have no createdAt, and ours store the id's time in it.
        "createdAt": id_time(object_id),
    }


class UserStore(StoreBase):
    """The `Users` collection."""

    def _ensure_user_indexes(self) -> None:
        self._normalise_stored_emails()
        with self._lock:
            try:
                self.db[USERS].create_index([("email", ASCENDING)], unique=True)
            except OperationFailure as error:
                raise DuplicateEmails() from error

    def _normalise_stored_emails(self) -> None:
        """Trim and lower-case the emails the original server stored as typed, once per database."""
        done = {"_id": "normalised-emails"}
        with self._lock:
            if self.db[MIGRATIONS].find_one(done):
                return
            as_typed = self.db[USERS].find({"email": {"$regex": r"[A-Z]|^\s|\s$"}}, {"email": 1})
            for document in list(as_typed):
                try:
                    normalised = {"email": document["email"].strip().lower()}
                    self.db[USERS].update_one({"_id": document["_id"]}, {"$set": normalised})
                except DuplicateKeyError as error:
                    raise DuplicateEmails() from error
            self.db[MIGRATIONS].insert_one(done)

    def insert_user(self, first: str, last: str, email: str, password_hash: str, now: datetime) -> str | None:
        """Store a new user and return its id, or None when the email is taken."""
        user_id = _new_user_id(now)
        document = {
            "_id": user_id,
            "first": first,
            "last": last,
            "email": email,
            "password": password_hash,
            "createdAt": id_time(user_id),
        }
        try:
            with self._lock:
                return str(self.db[USERS].insert_one(document).inserted_id)
        except DuplicateKeyError:
            return None

    def find_user_by_email(self, email: str) -> dict | None:
        """Return the user with this (normalised) email, if any."""
        with self._lock:
            return _user(self.db[USERS].find_one({"email": email}, _USER_FIELDS))

    @cached_property
    def _users(self) -> Collection:
        """The collection's handle, made once: GET /me reads a user on every request."""
        return self.db[USERS]

    def find_user_by_id(self, user_id: str) -> dict | None:
        """Return the user with this id, if any."""
        object_id = object_id_of(user_id)
        if object_id is None:
            return None
        with self._lock:
            return _user(self._users.find_one({"_id": object_id}, _USER_FIELDS))

    def list_users(self, after: str | None, limit: int) -> list[dict]:
        """Return up to `limit` users in id order, starting after the id `after`."""
        query = {}
        if after is not None:
            query = {"_id": {"$gt": object_id_of(after)}}
        with self._lock:
            cursor = self.db[USERS].find(query, _USER_FIELDS).sort("_id", ASCENDING).limit(limit)
            return [_user(document) for document in cursor]

    def update_password(self, user_id: str, password_hash: str) -> bool:
        """Replace the user's password hash; say whether the user exists."""
        object_id = object_id_of(user_id)
        if object_id is None:
            return False
        with self._lock:
            result = self.db[USERS].update_one({"_id": object_id}, {"$set": {"password": password_hash}})
        return result.matched_count == 1
