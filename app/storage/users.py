"""Users: accounts, their emails and password hashes."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import cached_property
from typing import overload

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, OperationFailure

from ..texts import InvalidEmailDomain, normalise_email
from .base import MIGRATIONS, USERS, StoreBase, id_time, object_id_of

log = logging.getLogger(__name__)

_USER_FIELDS = dict.fromkeys(("first", "last", "email", "password", "role", "disabled", "emailVerified"), 1)
# What a client may see of a user: everything but the password hash.
_PUBLIC_FIELDS = dict.fromkeys(("first", "last", "email", "role", "disabled", "emailVerified"), 1)
# Its marker in `Migrations`. The first version lower-cased ASCII letters only, so databases it
# ran on get this one too.
EMAILS_NORMALISED = "normalised-emails-unicode"
USER = "user"
ADMIN = "admin"
ROLES = (USER, ADMIN)


class EmailTaken(Exception):
    """Another account has the email address this change would give the user."""


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


@overload
def _user(document: dict) -> dict: ...
@overload
def _user(document: None) -> None: ...
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
        # None for an account without a password (made by signing in with Apple or Google):
        # PasswordHasher.check spends a whole bcrypt run on it and fails.
        "password": document.get("password") or None,
        # Users stored by the original server have no such field: not verified.
        "emailVerified": document.get("emailVerified") is True,
        "role": document.get("role") or USER,
        "disabled": bool(document.get("disabled", False)),
        # Every answer reads it from the id, as /me does with no document at hand: users made
        # by the original server have no createdAt, and ours store the id's time in it.
        "createdAt": id_time(object_id),
    }


class UserStore(StoreBase):
    """The `Users` collection."""

    def ensure_indexes(self) -> None:
        self._normalise_stored_emails()
        with self._lock:
            try:
                self.db[USERS].create_index([("email", ASCENDING)], unique=True)
            except OperationFailure as error:
                raise DuplicateEmails() from error

    def _normalise_stored_emails(self) -> None:
        """Trim and lower-case the emails the original server stored as typed, once per database.

        By the rules signup uses (Unicode's, which no database regex matches the same way), so
        every user is read once. Processes starting together may both run it: each write is
        the same, and the second marker is no error.
        """
        done = {"_id": EMAILS_NORMALISED}
        with self._lock:
            if self.db[MIGRATIONS].find_one(done):
                return
            for document in list(self.db[USERS].find({}, {"email": 1})):
                email = document.get("email")
                if not isinstance(email, str):
                    continue
                try:
                    normalised = normalise_email(email)
                except InvalidEmailDomain:
                    # No login can name it either; left as stored rather than refusing to start.
                    log.warning("user %s: the stored email's domain is no domain name", document["_id"])
                    continue
                if normalised == email:
                    continue
                try:
                    self.db[USERS].update_one({"_id": document["_id"]}, {"$set": {"email": normalised}})
                except DuplicateKeyError as error:
                    raise DuplicateEmails() from error
            try:
                self.db[MIGRATIONS].insert_one(done)
            except DuplicateKeyError:  # another process finished it first
                pass

    def insert(
        self,
        first: str,
        last: str,
        email: str,
        password_hash: str | None,
        now: datetime,
        *,
        email_verified: bool = False,
    ) -> str | None:
        """Store a new user and return its id, or None when the email is taken.

        `password_hash` is None for an account without a password.
        """
        user_id = _new_user_id(now)
        document = {
            "_id": user_id,
            "first": first,
            "last": last,
            "email": email,
            "password": password_hash,
            "emailVerified": email_verified,
            "createdAt": id_time(user_id),
        }
        try:
            with self._lock:
                return str(self.db[USERS].insert_one(document).inserted_id)
        except DuplicateKeyError:
            return None

    def find_by_email(self, email: str) -> dict | None:
        """Return the user with this (normalised) email, if any."""
        with self._lock:
            return _user(self.db[USERS].find_one({"email": email}, _USER_FIELDS))

    @cached_property
    def _users(self) -> Collection:
        """The collection's handle, made once: GET /me reads a user on every request."""
        return self.db[USERS]

    def find_by_id(self, user_id: str) -> dict | None:
        """Return the user with this id, if any."""
        object_id = object_id_of(user_id)
        if object_id is None:
            return None
        with self._lock:
            return _user(self._users.find_one({"_id": object_id}, _USER_FIELDS))

    def pending_migrations(self) -> list[str]:
        with self._lock:
            done = self.db[MIGRATIONS].find_one({"_id": EMAILS_NORMALISED}) is not None
        return [] if done else [EMAILS_NORMALISED]

    def list(self, after: str | None, limit: int, email_prefix: str | None = None) -> list[dict]:
        """Return up to `limit` users in id order after the id `after`, their email starting with a prefix."""
        query: dict = {}
        if after is not None:
            query["_id"] = {"$gt": object_id_of(after)}
        if email_prefix:
            # Anchored and escaped: a prefix match, which MongoDB can answer from the email index.
            query["email"] = {"$regex": "^" + re.escape(email_prefix)}
        with self._lock:
            cursor = self.db[USERS].find(query, _USER_FIELDS).sort("_id", ASCENDING).limit(limit)
            return [_user(document) for document in cursor]

    def update_password(self, user_id: str, password_hash: str | None, replacing: str | None = None) -> bool:
        """Replace the user's password hash, None for none (only while it is `replacing`, if given);
        say whether it did."""
        object_id = object_id_of(user_id)
        if object_id is None:
            return False
        match: dict = {"_id": object_id}
        if replacing is not None:
            match["password"] = replacing
        with self._lock:
            result = self.db[USERS].update_one(match, {"$set": {"password": password_hash}})
        return result.matched_count == 1

    def set_email_verified(self, user_id: str, email: str) -> bool:
        """Mark the user's email verified if it still is `email`; say whether it is."""
        object_id = object_id_of(user_id)
        if object_id is None:
            return False
        with self._lock:
            result = self.db[USERS].update_one(
                {"_id": object_id, "email": email}, {"$set": {"emailVerified": True}}
            )
        return result.matched_count == 1

    def passkey_user_handle(self, user_id: str, candidate: str) -> str | None:
        """Return the user's WebAuthn user handle, storing `candidate` if they have none yet; None if gone.

        One per user and stable: authenticators keep it with every passkey of the account.
        """
        object_id = object_id_of(user_id)
        if object_id is None:
            return None
        with self._lock:
            self.db[USERS].update_one(
                {"_id": object_id, "webauthnUserId": None}, {"$set": {"webauthnUserId": candidate}}
            )
            document = self.db[USERS].find_one({"_id": object_id}, {"webauthnUserId": 1})
        return None if document is None else document["webauthnUserId"]

    def update_names(self, user_id: str, names: dict[str, str]) -> dict | None:
        """Set the user's `first` and/or `last` and return the user as it is now (None if gone)."""
        return self._update_user(user_id, {"$set": names})

    def change_email(self, user_id: str, new_email: str) -> dict | None:
        """Give the user a new, verified email and return the user as it is now (None if gone).

        The unique index decides: raises EmailTaken when another account has the address.
        """
        try:
            return self._update_user(user_id, {"$set": {"email": new_email, "emailVerified": True}})
        except DuplicateKeyError:
            raise EmailTaken() from None

    def _update_user(self, user_id: str, update: dict) -> dict | None:
        object_id = object_id_of(user_id)
        if object_id is None:
            return None
        with self._lock:
            document = self.db[USERS].find_one_and_update(
                {"_id": object_id}, update, projection=_PUBLIC_FIELDS, return_document=ReturnDocument.AFTER
            )
        return _user(document)

    def _set_user_fields(self, user_id: str, fields: dict) -> bool:
        object_id = object_id_of(user_id)
        if object_id is None:
            return False
        with self._lock:
            return self.db[USERS].update_one({"_id": object_id}, {"$set": fields}).matched_count == 1

    def set_disabled(self, user_id: str, disabled: bool) -> bool:
        """Disable or enable the user; say whether the user exists."""
        return self._set_user_fields(user_id, {"disabled": disabled})

    def set_role(self, user_id: str, role: str) -> bool:
        """Give the user a role (`user` or `admin`); say whether the user exists."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return self._set_user_fields(user_id, {"role": role})
