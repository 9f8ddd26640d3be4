"""The one package that talks to the database, in the auth service's words.

`Storage` is the single way in: it gathers one store per collection (users, sessions,
login attempts, activity, one-time codes, mail quota), each in the module named after it,
and the deletion of everything a user owns, on one database handle.
"""

from __future__ import annotations

import mongomock
import pymongo
from flask import Flask
from flask_pymongo import PyMongo
from pymongo.errors import ConnectionFailure, PyMongoError

from .activity import ActivityStore
from .attempts import AttemptStore
from .base import (
    ACTIVITY,
    LOGIN_FAILURES,
    MAIL_QUOTA,
    MIGRATIONS,
    ONE_TIME_CODES,
    SESSIONS,
    USERS,
    created_at,
)
from .codes import CodeStore
from .deletion import DeletionStore
from .mail_quota import MailQuotaStore
from .sessions import SessionStore
from .users import DuplicateEmails, EmailTaken, UserStore

__all__ = [
    "ACTIVITY",
    "DEFAULT_DB_NAME",
    "LOGIN_FAILURES",
    "MAIL_QUOTA",
    "MIGRATIONS",
    "ONE_TIME_CODES",
    "SESSIONS",
    "TIMEOUT_MS",
    "UNAVAILABLE_ERRORS",
    "USERS",
    "DuplicateEmails",
    "EmailTaken",
    "Storage",
    "connect",
    "created_at",
]

DEFAULT_DB_NAME = "auth"
TIMEOUT_MS = 5000
PING_TIMEOUT_S = 2  # a readiness probe must answer before the prober gives up

# The database is down or unreachable: the client gets 503 and pymongo reconnects by itself.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure,)


class Storage(UserStore, SessionStore, AttemptStore, ActivityStore, CodeStore, MailQuotaStore, DeletionStore):
    """Users, sessions, login attempts, the activity log, one-time codes and the mail quota."""

    def ensure_indexes(self) -> None:
        """Create the indexes the rules rely on, and run the one-time migrations (idempotent)."""
        self._ensure_user_indexes()
        self._ensure_session_indexes()
        self._ensure_attempt_indexes()
        self._ensure_activity_indexes()
        self._ensure_code_indexes()
        self._ensure_mail_quota_indexes()

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
