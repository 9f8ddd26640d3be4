"""The one package that talks to the database, in the auth service's words.

`Storage` is the single way in: it gathers one store per collection (users, sessions,
login attempts, activity, identities, one-time codes, mail quota, mail outbox), each in the
module named after it, and the deletion of everything a user owns, on one database handle.
"""

from __future__ import annotations

from datetime import timedelta

import mongomock
import pymongo
from flask import Flask
from flask_pymongo import PyMongo
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from .activity import ActivityStore
from .attempts import AttemptStore
from .base import (
    ACTIVITY,
    IDENTITIES,
    LOGIN_FAILURES,
    MAIL_OUTBOX,
    MAIL_QUOTA,
    MFA,
    MFA_TOKENS,
    MIGRATIONS,
    ONE_TIME_CODES,
    PASSKEY_CHALLENGES,
    PASSKEYS,
    SESSIONS,
    USERS,
    created_at,
    new_lock,
    object_id_of,
)
from .codes import CodeStore
from .identities import IdentityStore
from .mail_quota import MailQuotaStore
from .mfa import MfaStore
from .outbox import OutboxStore
from .passkeys import ChallengeStore, PasskeyStore
from .sessions import SessionStore
from .users import ADMIN, ROLES, USER, DuplicateEmails, EmailTaken, UserStore

__all__ = [
    "ACTIVITY",
    "ADMIN",
    "DEFAULT_DB_NAME",
    "IDENTITIES",
    "LOGIN_FAILURES",
    "MAIL_OUTBOX",
    "MAIL_QUOTA",
    "MFA",
    "MFA_TOKENS",
    "MIGRATIONS",
    "REQUIRED_INDEXES",
    "ROLES",
    "ONE_TIME_CODES",
    "PASSKEYS",
    "PASSKEY_CHALLENGES",
    "SESSIONS",
    "TIMEOUT_MS",
    "UNAVAILABLE_ERRORS",
    "USER",
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
KEEP_ACTIVITY_FOR = timedelta(days=365)  # ACTIVITY_TTL_DAYS

# The key of every index `ensure_indexes` creates, per collection: what `db check` looks for.
# tests/test_commands_db.py fails when this list and `ensure_indexes` disagree.
REQUIRED_INDEXES: dict[str, tuple[tuple[tuple[str, int], ...], ...]] = {
    USERS: ((("email", 1),),),
    SESSIONS: ((("tokenHash", 1),), (("userId", 1), ("createdAt", 1), ("seq", 1)), (("expiresAt", 1),)),
    LOGIN_FAILURES: ((("expiresAt", 1),),),
    ACTIVITY: ((("userId", 1), ("time", -1), ("_id", -1)), (("time", 1),)),
    IDENTITIES: ((("provider", 1), ("subject", 1)), (("userId", 1), ("provider", 1))),
    ONE_TIME_CODES: ((("expiresAt", 1),), (("userId", 1),)),
    MAIL_QUOTA: ((("expiresAt", 1),), (("email", 1),)),
    MAIL_OUTBOX: ((("state", 1), ("dueAt", 1)), (("expiresAt", 1),)),
    PASSKEYS: ((("credentialId", 1),), (("userId", 1), ("createdAt", 1))),
    PASSKEY_CHALLENGES: ((("expiresAt", 1),), (("userId", 1),)),
    MFA_TOKENS: ((("expiresAt", 1),), (("userId", 1),)),
}

# Indexes of earlier builds, for "newest first" orders that rested on ids (see activity.py, sessions.py).
SUPERSEDED_INDEXES = ((ACTIVITY, "userId_1__id_-1"), (SESSIONS, "userId_1_createdAt_1"))

# The database is down or unreachable: the client gets 503 and pymongo reconnects by itself.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (ConnectionFailure,)


class Storage:
    """One store per collection, on one database handle, and what spans them (indexes, deletion).

    `storage.users.find_by_email(...)`, `storage.sessions.end(...)`: each store is the one
    place its collection is read and written.
    """

    STORES = (
        "users",
        "sessions",
        "attempts",
        "activity",
        "identities",
        "codes",
        "counters",
        "outbox",
        "passkeys",
        "challenges",
        "mfa",
    )

    def __init__(
        self, db: Database, *, embedded: bool, keep_activity_for: timedelta = KEEP_ACTIVITY_FOR
    ) -> None:
        self.db = db
        self.embedded = embedded
        self.keep_activity_for = keep_activity_for  # the activity log's TTL (ACTIVITY_TTL_DAYS)
        self._lock = new_lock(embedded=embedded)
        self.users = UserStore(db, self._lock)
        self.sessions = SessionStore(db, self._lock)
        self.attempts = AttemptStore(db, self._lock)
        self.activity = ActivityStore(db, self._lock)
        self.identities = IdentityStore(db, self._lock)
        self.codes = CodeStore(db, self._lock)
        self.counters = MailQuotaStore(db, self._lock)
        self.outbox = OutboxStore(db, self._lock)
        self.passkeys = PasskeyStore(db, self._lock)
        self.challenges = ChallengeStore(db, self._lock)
        self.mfa = MfaStore(db, self._lock)

    def ensure_indexes(self) -> None:
        """Create the indexes the rules rely on, and run the one-time migrations (idempotent)."""
        self.users.ensure_indexes()
        self.sessions.ensure_indexes()
        self.attempts.ensure_indexes()
        self.activity.ensure_indexes(self.keep_activity_for)
        self.identities.ensure_indexes()
        self.codes.ensure_indexes()
        self.counters.ensure_indexes()
        self.outbox.ensure_indexes()
        self.passkeys.ensure_indexes()
        self.challenges.ensure_indexes()
        self.mfa.ensure_indexes()
        self._drop_superseded_indexes()

    def delete_user_everything(self, user_id: str, email: str) -> dict[str, int]:
        """Delete the user and all they own; return how many documents went from each collection.

        The user goes first: from then on the account's tokens are refused (`/me`, refresh),
        its email is free, and a login in flight can open no session that refreshes.
        A collection added later that holds a user's documents must be added here too.
        """
        object_id = object_id_of(user_id)
        if object_id is None:
            return {}
        by_user = {"userId": user_id}
        with self._lock:
            deleted = {USERS: self.db[USERS].delete_one({"_id": object_id}).deleted_count}
            deleted[SESSIONS] = self.db[SESSIONS].delete_many(by_user).deleted_count
            deleted[ONE_TIME_CODES] = self.db[ONE_TIME_CODES].delete_many(by_user).deleted_count
            deleted[ACTIVITY] = self.db[ACTIVITY].delete_many({"userId": object_id}).deleted_count
            deleted[IDENTITIES] = self.db[IDENTITIES].delete_many(by_user).deleted_count
            deleted[PASSKEYS] = self.db[PASSKEYS].delete_many(by_user).deleted_count
            deleted[PASSKEY_CHALLENGES] = self.db[PASSKEY_CHALLENGES].delete_many(by_user).deleted_count
            deleted[LOGIN_FAILURES] = self.attempts.clear_account(email)
            deleted[MFA] = self.db[MFA].delete_many({"_id": user_id}).deleted_count
            deleted[MFA_TOKENS] = self.db[MFA_TOKENS].delete_many(by_user).deleted_count
            # MailQuota stays: its counters belong to the address, not the account, and expire
            # within the hour. Deleting them let signup + deleteAccount loops flood an inbox.
        return deleted

    def _drop_superseded_indexes(self) -> None:
        """Drop the indexes earlier builds made for orders that rested on ids; the new ones serve them."""
        for collection, name in SUPERSEDED_INDEXES:
            try:
                with self._lock:
                    self.db[collection].drop_index(name)
            except OperationFailure:  # never made, or another process dropped it first
                pass

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
        return self.users.pending_migrations()

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


def connect(
    app: Flask,
    mongo_uri: str | None,
    keep_activity_for: timedelta = KEEP_ACTIVITY_FOR,
    timeout_ms: int = TIMEOUT_MS,
) -> Storage:
    """Open MongoDB at `mongo_uri` through flask-pymongo, or the embedded store when None.

    Each call gives up after `timeout_ms` when the database does not answer (MONGO_TIMEOUT_SECONDS).
    """
    if mongo_uri is None:
        db: Database = mongomock.MongoClient()[DEFAULT_DB_NAME]
        return Storage(db, embedded=True, keep_activity_for=keep_activity_for)
    mongo = PyMongo(
        app,
        uri=mongo_uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
    )
    assert mongo.cx is not None  # PyMongo(app, uri=...) has opened its client
    db = mongo.db if mongo.db is not None else mongo.cx[DEFAULT_DB_NAME]
    return Storage(db, embedded=False, keep_activity_for=keep_activity_for)
