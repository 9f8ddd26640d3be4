"""Identities: the Google and Apple accounts linked to a user, one per (provider, subject)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import overload

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .base import IDENTITIES, USERS, StoreBase, object_id_of


@overload
def _identity(document: dict) -> dict: ...
@overload
def _identity(document: None) -> None: ...
def _identity(document: dict | None) -> dict | None:
    """Turn a stored identity into the service's shape."""
    if document is None:
        return None
    fields = ("provider", "subject", "userId", "email", "emailVerified", "createdAt")
    return {name: document.get(name) for name in fields}


class IdentityStore(StoreBase):
    """The `Identities` collection, and the count of them each user keeps (`Users.identityCount`).

    The count lets unlinking refuse to remove a password-less user's last identity in one
    conditional update, so two unlinks racing cannot both pass the check. It is raised after
    an identity is stored and lowered before one is removed, so it never counts more than there are.
    """

    def ensure_indexes(self) -> None:
        with self._lock:
            identities = self.db[IDENTITIES]
            # One identity belongs to one account, and an account has one identity per provider.
            identities.create_index([("provider", ASCENDING), ("subject", ASCENDING)], unique=True)
            identities.create_index([("userId", ASCENDING), ("provider", ASCENDING)], unique=True)

    def find(self, provider: str, subject: str) -> dict | None:
        """Return the identity a provider's subject is linked as, if any."""
        with self._lock:
            return _identity(self.db[IDENTITIES].find_one({"provider": provider, "subject": subject}))

    def find_for_user(self, user_id: str, provider: str) -> dict | None:
        """Return the user's identity at `provider`, if one is linked."""
        with self._lock:
            return _identity(self.db[IDENTITIES].find_one({"userId": user_id, "provider": provider}))

    def link(
        self,
        user_id: str,
        provider: str,
        subject: str,
        email: str | None,
        email_verified: bool,
        now: datetime,
    ) -> bool:
        """Link a provider's subject to the user; False if it is linked already, or the user has one there."""
        document = {
            "provider": provider,
            "subject": subject,
            "userId": user_id,
            "email": email,
            "emailVerified": email_verified,
            "createdAt": now,
        }
        try:
            with self._lock:
                self.db[IDENTITIES].insert_one(document)
        except DuplicateKeyError:
            return False
        self._count_identities(user_id, +1)
        return True

    def list(self, user_id: str) -> list[dict]:
        """Return the user's identities, oldest first."""
        with self._lock:
            cursor = self.db[IDENTITIES].find({"userId": user_id}).sort("createdAt", ASCENDING)
            return [_identity(document) for document in cursor]

    def unlink(self, user_id: str, provider: str) -> bool | None:
        """Remove the user's identity at `provider` unless it is their last way to sign in.

        Returns True when removed, False when it was the last way in, None when none was linked.
        """
        object_id = object_id_of(user_id)
        if object_id is None or self.find_for_user(user_id, provider) is None:
            return None
        # The user keeps a way in: a password, another identity, or a passkey.
        still_in = {
            "$or": [
                {"password": {"$ne": None}},
                {"identityCount": {"$gte": 2}},
                {"passkeyCount": {"$gte": 1}},
            ]
        }
        with self._lock:
            claimed = self.db[USERS].update_one(
                {"_id": object_id, **still_in}, {"$inc": {"identityCount": -1}}
            )
        if claimed.matched_count == 0:
            return False
        with self._lock:
            removed = self.db[IDENTITIES].delete_one({"userId": user_id, "provider": provider}).deleted_count
        if not removed:  # another request unlinked it meanwhile
            self._count_identities(user_id, +1)
            return None
        return True

    def delete(self, provider: str, subject: str, user_id: str) -> bool:
        """Remove one identity if it is still linked to `user_id` (whose account is gone)."""
        with self._lock:
            query = {"provider": provider, "subject": subject, "userId": user_id}
            return self.db[IDENTITIES].delete_one(query).deleted_count == 1

    def remove_unproven(self, user_id: str, email: str) -> builtins.list[dict]:  # `list` is a method here
        """Remove the user's identities whose provider did not verify `email` itself; return them.

        Called when a code first proves the account's mailbox: an identity linked before then
        may belong to whoever signed up in that address's name. One whose provider verified
        this very address vouches for the same mailbox, so it stays.
        """
        unproven = {"userId": user_id, "$nor": [{"emailVerified": True, "email": email}]}
        with self._lock:
            found = [_identity(document) for document in self.db[IDENTITIES].find(unproven)]
            removed = self.db[IDENTITIES].delete_many(unproven).deleted_count
        self._count_identities(user_id, -removed)
        return found if removed else []

    def _count_identities(self, user_id: str, change: int) -> None:
        object_id = object_id_of(user_id)
        if object_id is None or change == 0:
            return
        with self._lock:
            self.db[USERS].update_one({"_id": object_id}, {"$inc": {"identityCount": change}})
