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
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

# The original server's collection names, so its database can be reused as it is.
USERS = "Users"
ACTIVITY = "LoginActivity"
SESSIONS = "Sessions"
LOGIN_FAILURES = "LoginFailures"

DEFAULT_DB_NAME = "auth"
TIMEOUT_MS = 5000
PING_TIMEOUT_S = 2  # a readiness probe must answer before the prober gives up

# The database is down or unreachable: the client gets 503 and pymongo reconnects by itself.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure,)

_USER_FIELDS = {"first": 1, "last": 1, "email": 1, "password": 1, "createdAt": 1}


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
        # Users made by the original server have no createdAt; their id holds the time.
        "createdAt": document.get("createdAt") or object_id.generation_time.replace(tzinfo=None),
    }


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
        with self._lock:
            self.db[USERS].create_index([("email", ASCENDING)], unique=True)
            sessions = self.db[SESSIONS]
            sessions.create_index([("tokenHash", ASCENDING)])
            sessions.create_index([("userId", ASCENDING), ("createdAt", ASCENDING)])
            sessions.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)
            self.db[ACTIVITY].create_index([("userId", ASCENDING), ("_id", DESCENDING)])
            self.db[LOGIN_FAILURES].create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)

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
        document = {"first": first, "last": last, "email": email, "password": password_hash, "createdAt": now}
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

    def update_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace a user's stored bcrypt hash."""
        with self._lock:
            self.db[USERS].update_one({"_id": _object_id(user_id)}, {"$set": {"password": password_hash}})

    def list_users(self, after: str | None, limit: int) -> list[dict]:
        """Return up to `limit` users in id order, starting after the id `after`."""
        query = {}
        if after is not None:
            query = {"_id": {"$gt": _object_id(after)}}
        with self._lock:
            cursor = self.db[USERS].find(query, _USER_FIELDS).sort("_id", ASCENDING).limit(limit)
            return [_user(document) for document in cursor]

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
            "lastUsedAt": now,
            "expiresAt": expires_at,
            "endedAt": None,
            "ip": ip,
            "userAgent": user_agent,
        }
        with self._lock:
            self.db[SESSIONS].insert_one(document)

    def find_live_session(self, token_hash: str, now: datetime) -> dict | None:
        """Return the open, unexpired session whose current refresh token has this hash."""
        query = {"tokenHash": token_hash, "endedAt": None, "expiresAt": {"$gt": now}}
        with self._lock:
            document = self.db[SESSIONS].find_one(query)
        if document is None:
            return None
        return {"id": document["_id"], "userId": document["userId"]}

    def touch_session(self, session_id: str, now: datetime) -> None:
        """Record that a session was just used."""
        with self._lock:
            self.db[SESSIONS].update_one({"_id": session_id}, {"$set": {"lastUsedAt": now}})

    # Failed logins, per (normalised) email, known or not

    def record_login_failure(self, email: str, now: datetime, forget_at: datetime) -> int:
        """Count one more failed login in a row for `email` and return the count."""
        with self._lock:
            document = self.db[LOGIN_FAILURES].find_one_and_update(
                {"_id": email},
                {"$inc": {"count": 1}, "$set": {"lastFailureAt": now, "expiresAt": forget_at}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return document["count"]

    def login_failures(self, email: str, now: datetime) -> tuple[int, datetime] | None:
        """Return how many logins in a row failed for `email` and when the last one did, if any."""
        with self._lock:
            document = self.db[LOGIN_FAILURES].find_one({"_id": email, "expiresAt": {"$gt": now}})
        if document is None:
            return None
        return document["count"], document["lastFailureAt"]

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
