"""What every store shares: collection names, id helpers, and the lock of the embedded store."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.database import Database

# The original server's collection names, so its database can be reused as it is.
USERS = "Users"
ACTIVITY = "LoginActivity"
SESSIONS = "Sessions"
LOGIN_FAILURES = "LoginFailures"
MIGRATIONS = "Migrations"
IDENTITIES = "Identities"
ONE_TIME_CODES = "OneTimeCodes"
MAIL_QUOTA = "MailQuota"
MAIL_OUTBOX = "MailOutbox"
PASSKEYS = "Passkeys"
PASSKEY_CHALLENGES = "PasskeyChallenges"
MFA = "Mfa"
MFA_TOKENS = "MfaTokens"


def created_at(user_id: str) -> datetime | None:
    """Return when the account with this id was made, to the second: the time its id holds.

    None when `user_id` is not an ObjectId.
    """
    object_id = object_id_of(user_id)
    return None if object_id is None else id_time(object_id)


def id_time(object_id: ObjectId) -> datetime:
    """Return the creation second an ObjectId holds, as a naive UTC datetime."""
    return object_id.generation_time.replace(tzinfo=None)


def object_id_of(value: str) -> ObjectId | None:
    """Return `value` as an ObjectId, or None when it is not one."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


class StoreBase:
    """The database handle a store works on, and the lock every store of one database shares.

    The embedded store's check-then-write is not atomic across threads the way MongoDB's
    operations are, so it serialises them; MongoDB needs no lock.
    """

    def __init__(self, db: Database, lock: AbstractContextManager) -> None:
        self.db = db
        self._lock = lock


def new_lock(*, embedded: bool) -> AbstractContextManager:
    """Return the lock the stores of one database share: a real one for the embedded store only."""
    return threading.RLock() if embedded else nullcontext()
