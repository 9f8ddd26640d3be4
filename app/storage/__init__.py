"""The one package that talks to the database, in the auth service's words.

`Storage` is the single way in: it gathers one store per collection (users, sessions,
login attempts, activity, identities), each in the module named after it, on one database handle.
"""

from __future__ import annotations

from datetime import timedelta

import mongomock
import pymongo
from flask import Flask
from flask_pymongo import PyMongo
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, PyMongoError

from .activity import ActivityStore
from .attempts import AttemptStore
from .base import ACTIVITY, IDENTITIES, LOGIN_FAILURES, MIGRATIONS, SESSIONS, USERS, created_at
from .identities import IdentityStore
from .sessions import SessionStore
from .users import ADMIN, ROLES, USER, DuplicateEmails, UserStore

__all__ = [
    "ACTIVITY",
    "ADMIN",
    "DEFAULT_DB_NAME",
    "IDENTITIES",
    "LOGIN_FAILURES",
    "MIGRATIONS",
    "REQUIRED_INDEXES",
    "ROLES",
    "SESSIONS",
    "TIMEOUT_MS",
    "UNAVAILABLE_ERRORS",
    "USER",
    "USERS",
    "DuplicateEmails",
    "Storage",
    "connect",
    "created_at",
]

DEFAULT_DB_NAME = "auth"
TIMEOUT_MS = 5000
PING_TIMEOUT_S = 2  # a readiness probe must answer before the prober gives up
KEEP_ACTIVITY_FOR = timedelta(days=365)  # ACTIVITY_TTL_DAYS

# The key of every index `ensure_indexes` creates, per collection: what `db check` looks for.
# tests/test_commands_db.py fails when this list and `ensure_indexes` disagree.
REQUIRED_INDEXES: dict[str, tuple[tuple[tuple[str, int], ...], ...]] = {
    USERS: ((("email", 1),),),
    SESSIONS: ((("tokenHash", 1),), (("userId", 1), ("createdAt", 1)), (("expiresAt", 1),)),
    LOGIN_FAILURES: ((("expiresAt", 1),),),
    ACTIVITY: ((("userId", 1), ("_id", -1)), (("time", 1),)),
    IDENTITIES: ((("provider", 1), ("subject", 1)), (("userId", 1), ("provider", 1))),
}

# The database is down or unreachable: the client gets 503 and pymongo reconnects by itself.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure,)


class Storage(UserStore, SessionStore, AttemptStore, ActivityStore, IdentityStore):
    """Users, sessions, login attempts, activity and identities, on MongoDB or the embedded store."""

    def __init__(
        self, db: Database, *, embedded: bool, keep_activity_for: timedelta = KEEP_ACTIVITY_FOR
    ) -> None:
        super().__init__(db, embedded=embedded)
        self.keep_activity_for = keep_activity_for  # the activity log's TTL (ACTIVITY_TTL_DAYS)

    def ensure_indexes(self) -> None:
        """Create the indexes the rules rely on, and run the one-time migrations (idempotent)."""
        self._ensure_user_indexes()
        self._ensure_session_indexes()
        self._ensure_attempt_indexes()
        self._ensure_activity_indexes(self.keep_activity_for)
        self._ensure_identity_indexes()

    def missing_indexes(self) -> list[str]:
        """Name each index `ensure_indexes` would create that the database lacks, as `Collection(key)`."""
        missing = []
        for collection, wanted in REQUIRED_INDEXES.items():
            with self._lock:
                present = {tuple(index["key"]) for index in self.db[collection].index_information().values()}
            missing += [f"{collection}({_index_name(key)})" for key in wanted if key not in present]
        return missing

    def pending_migrations(self) -> list[str]:
        """Name each one-time migration `ensure_indexes` has not run on this database yet."""
        return self._pending_user_migrations()

    def delete_user_everything(self, user_id: str, email: str) -> bool:
        """Remove the user and everything kept about them, in every collection; say whether the user existed.

        The user goes last, so an interrupted deletion can be run again.
        """
        self.delete_user_sessions(user_id)
        self.delete_user_identities(user_id)
        self.delete_user_activity(user_id)
        self.clear_account_login_failures(email)
        return self.delete_user(user_id)

    def ping(self) -> bool:
        """Say whether the database answers, within a couple of seconds."""
        try:
            with self._lock, pymongo.timeout(PING_TIMEOUT_S):
                self.db.command("ping")
            return True
        except PyMongoError:
            return False


def _index_name(key: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{field} {direction}" for field, direction in key)


def connect(app: Flask, mongo_uri: str | None, keep_activity_for: timedelta = KEEP_ACTIVITY_FOR) -> Storage:
    """Open MongoDB at `mongo_uri` through flask-pymongo, or the embedded store when None."""
    if mongo_uri is None:
        db = mongomock.MongoClient()[DEFAULT_DB_NAME]
        return Storage(db, embedded=True, keep_activity_for=keep_activity_for)
    mongo = PyMongo(
        app,
        uri=mongo_uri,
        serverSelectionTimeoutMS=TIMEOUT_MS,
        connectTimeoutMS=TIMEOUT_MS,
        socketTimeoutMS=TIMEOUT_MS,
    )
    db = mongo.db if mongo.db is not None else mongo.cx[DEFAULT_DB_NAME]
    return Storage(db, embedded=False, keep_activity_for=keep_activity_for)
