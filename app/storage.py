"""The one module that talks to the database, in the auth service's words."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

import mongomock
import pymongo
from bson import ObjectId
from bson.errors import InvalidId
from flask import Flask
from flask_pymongo import PyMongo
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError

# The original server's collection names, so its database can be reused as it is.
USERS = "Users"
ACTIVITY = "LoginActivity"
SESSIONS = "Sessions"
LOGIN_FAILURES = "LoginFailures"
MIGRATIONS = "Migrations"

DEFAULT_DB_NAME = "auth"
TIMEOUT_MS = 5000
PING_TIMEOUT_S = 2  # a readiness probe must answer before the prober gives up

# The database is down or unreachable: the client gets 503 and pymongo reconnects by itself.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure,)

_USER_FIELDS = {"first": 1, "last": 1, "email": 1, "password": 1}

# "Newest first" rests on a stored time, never on ids alone: an ObjectId starts with its second
# and goes on with bytes of the process that made it, so two processes' ids within one second are
# in no time order. Ties in time (one millisecond) fall back to the id, for a stable order.
NEWEST_ACTIVITY = [("time", DESCENDING), ("_id", DESCENDING)]
ACTIVITY_BY_TIME = [("userId", ASCENDING), ("time", DESCENDING), ("_id", DESCENDING)]
# A session's `seq` is an ObjectId made as it is stored: among sessions opened in one millisecond,
# those of one process follow each other in it. Sessions stored without one sort as the oldest.
NEWEST_SESSIONS = [("createdAt", DESCENDING), ("seq", DESCENDING)]
SESSIONS_BY_AGE = [("userId", ASCENDING), ("createdAt", ASCENDING), ("seq", ASCENDING)]
SUPERSEDED_INDEXES = ((ACTIVITY, "userId_1__id_-1"), (SESSIONS, "userId_1_createdAt_1"))


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


def created_at(user_id: str) -> datetime | None:
    """Return when the account with this id was made, to the second: the time its id holds.

    None when `user_id` is not an ObjectId.
    """
    object_id = _object_id(user_id)
    return None if object_id is None else _id_time(object_id)


def _id_time(object_id: ObjectId) -> datetime:
    return object_id.generation_time.replace(tzinfo=None)


def _object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


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
        "createdAt": _id_time(object_id),
    }


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
    )
    return {"id": document["_id"]} | {name: document.get(name) for name in fields}


def _activity(document: dict) -> dict:
    """Turn a stored activity entry into the service's shape (string id)."""
    fields = ("activity", "time", "ip", "userAgent")
    return {"id": str(document["_id"])} | {name: document.get(name) for name in fields}


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


class Storage:
    """Users, sessions and the activity log, on MongoDB or on the embedded in-memory store."""

    def __init__(self, db: Database, *, embedded: bool) -> None:
        self.db = db
        self.embedded = embedded
        # The embedded store's check-then-write is not atomic across threads the way
        # MongoDB's operations are, so it serialises them; MongoDB needs no lock.
        self._lock: AbstractContextManager = threading.RLock() if embedded else nullcontext()

    def ensure_indexes(self) -> None:
        """Create the indexes the rules rely on (idempotent)."""
        self._normalise_stored_emails()
        with self._lock:
            try:
                self.db[USERS].create_index([("email", ASCENDING)], unique=True)
            except OperationFailure as error:
                raise DuplicateEmails() from error
            sessions = self.db[SESSIONS]
            sessions.create_index([("tokenHash", ASCENDING)])
            sessions.create_index(SESSIONS_BY_AGE)
            sessions.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)
            self.db[ACTIVITY].create_index(ACTIVITY_BY_TIME)
            self._drop_superseded_indexes()
            self.db[LOGIN_FAILURES].create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)

    def _drop_superseded_indexes(self) -> None:
        """Drop the indexes earlier builds made for orders that rested on ids; the new ones serve them."""
        for collection, name in SUPERSEDED_INDEXES:
            try:
                self.db[collection].drop_index(name)
            except OperationFailure:  # never made, or another process dropped it first
                pass

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

    def ping(self) -> bool:
        """Say whether the database answers, within a couple of seconds."""
        try:
            with self._lock, pymongo.timeout(PING_TIMEOUT_S):
                self.db.command("ping")
            return True
        except PyMongoError:
            return False

    # Users

    def insert_user(self, first: str, last: str, email: str, password_hash: str, now: datetime) -> str | None:
        """Store a new user and return its id, or None when the email is taken."""
        user_id = _new_user_id(now)
        document = {
            "_id": user_id,
            "first": first,
            "last": last,
            "email": email,
            "password": password_hash,
            "createdAt": _id_time(user_id),
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

    def find_user_by_id(self, user_id: str) -> dict | None:
        """Return the user with this id, if any."""
        object_id = _object_id(user_id)
        if object_id is None:
            return None
        with self._lock:
            return _user(self.db[USERS].find_one({"_id": object_id}, _USER_FIELDS))

    def list_users(self, after: str | None, limit: int) -> list[dict]:
        """Return up to `limit` users in id order, starting after the id `after`."""
        query = {}
        if after is not None:
            query = {"_id": {"$gt": _object_id(after)}}
        with self._lock:
            cursor = self.db[USERS].find(query, _USER_FIELDS).sort("_id", ASCENDING).limit(limit)
            return [_user(document) for document in cursor]

    def update_password(self, user_id: str, password_hash: str) -> bool:
        """Replace the user's password hash; say whether the user exists."""
        object_id = _object_id(user_id)
        if object_id is None:
            return False
        with self._lock:
            result = self.db[USERS].update_one({"_id": object_id}, {"$set": {"password": password_hash}})
        return result.matched_count == 1

    # Sessions

    def open_session(
        self,
        session_id: str,
        user_id: str,
        token_hash: str,
        now: datetime,
        expires_at: datetime,
        ip: str | None,
        user_agent: str | None,
    ) -> None:
        """Store a new session, identified by `session_id`, holding its refresh token's hash."""
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
        }
        with self._lock:
            self.db[SESSIONS].insert_one(document)

    def use_session(self, session_id: str, user_id: str, token_hash: str, now: datetime) -> bool:
        """Mark an open session used if `token_hash` is its current token's; say whether it was."""
        with self._lock:
            result = self.db[SESSIONS].update_one(
                _open_session(session_id, user_id, now) | {"tokenHash": token_hash},
                {"$set": {"lastUsedAt": now}},
            )
        return result.matched_count == 1

    def rotate_session_token(
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

    def find_open_session(self, session_id: str, user_id: str, now: datetime) -> dict | None:
        """Return the user's open, unexpired session with this id, if any."""
        with self._lock:
            return _session(self.db[SESSIONS].find_one(_open_session(session_id, user_id, now)))

    def list_open_sessions(self, user_id: str, now: datetime) -> list[dict]:
        """Return the user's open, unexpired sessions, newest first."""
        query = _open_sessions(user_id, now)
        with self._lock:
            cursor = self.db[SESSIONS].find(query).sort(NEWEST_SESSIONS)
            return [_session(document) for document in cursor]

    def end_session(self, session_id: str, user_id: str, now: datetime) -> bool:
        """End one of the user's open sessions; say whether this call ended it."""
        with self._lock:
            result = self.db[SESSIONS].update_one(_open_session(session_id, user_id, now), _ended(now))
        return result.modified_count == 1

    def end_user_sessions(self, user_id: str, now: datetime, except_id: str | None = None) -> int:
        """End every open session of the user but `except_id`; return how many ended."""
        query = _open_sessions(user_id, now)
        if except_id is not None:
            query["_id"] = {"$ne": except_id}
        with self._lock:
            return self.db[SESSIONS].update_many(query, _ended(now)).modified_count

    def end_oldest_sessions(self, user_id: str, keep: int, now: datetime, except_id: str) -> int:
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

    # Failed logins, per (normalised) email, known or not

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

    # Activity log

    def log_activity(
        self, user_id: str, activity: str, now: datetime, ip: str | None, user_agent: str | None
    ) -> None:
        """Append one entry to the user's activity log."""
        entry = {
            "userId": _object_id(user_id),
            "activity": activity,
            "time": now,
            "ip": ip,
            "userAgent": user_agent,
        }
        with self._lock:
            self.db[ACTIVITY].insert_one(entry)

    def list_activity(self, user_id: str, after: str | None, limit: int) -> list[dict]:
        """Return up to `limit` of the user's activity entries, newest first, from after the entry `after`."""
        owner, after_id = _object_id(user_id), _object_id(after) if after is not None else None
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
        time = entry.get("time") or _id_time(after)
        return {"$or": [{"time": {"$lt": time}}, {"time": time, "_id": {"$lt": after}}]}


def connect(app: Flask, mongo_uri: str | None) -> Storage:
    """Open MongoDB at `mongo_uri` through flask-pymongo, or the embedded store when None."""
    if mongo_uri is None:
        return Storage(mongomock.MongoClient()[DEFAULT_DB_NAME], embedded=True)
    mongo = PyMongo(
        app,
        uri=mongo_uri,
        serverSelectionTimeoutMS=TIMEOUT_MS,
        connectTimeoutMS=TIMEOUT_MS,
        socketTimeoutMS=TIMEOUT_MS,
    )
    db = mongo.db if mongo.db is not None else mongo.cx[DEFAULT_DB_NAME]
    return Storage(db, embedded=False)
