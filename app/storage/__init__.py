"""The one package that talks to the database, in the auth service's words.

`Storage` is the single way in: it gathers one store per collection (users, sessions,
login attempts, activity), each in the module named after it, on one database handle.
"""

from __future__ import annotations

from datetime import timedelta

import mongomock
import pymongo
from flask import Flask
from flask_pymongo import PyMongo
from pymongo.errors import ConnectionFailure, PyMongoError

from .activity import ActivityStore
from .attempts import AttemptStore
from .base import ACTIVITY, LOGIN_FAILURES, MIGRATIONS, SESSIONS, USERS, created_at
from .sessions import SessionStore
from .users import DuplicateEmails, UserStore

__all__ = [
    "ACTIVITY",
    "DEFAULT_DB_NAME",
    "LOGIN_FAILURES",
    "MIGRATIONS",
    "SESSIONS",
    "TIMEOUT_MS",
    "UNAVAILABLE_ERRORS",
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

# The database is down or unreachable: the client gets 503 and pymongo reconnects by itself.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure,)


class Storage(UserStore, SessionStore, AttemptStore, ActivityStore):
    """Users, sessions, login attempts and the activity log, on MongoDB or the embedded store."""

    def ensure_indexes(self, keep_activity_for: timedelta = KEEP_ACTIVITY_FOR) -> None:
        """Create the indexes the rules rely on, and run the one-time migrations (idempotent)."""
        self._ensure_user_indexes()
        self._ensure_session_indexes()
        self._ensure_attempt_indexes()
        self._ensure_activity_indexes(keep_activity_for)

    def ping(self) -> bool:
        """Say whether the database answers, within a couple of seconds."""
        try:
            with self._lock, pymongo.timeout(PING_TIMEOUT_S):
                self.db.command("ping")
            return True
        except PyMongoError:
            return False


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
