"""Passkeys: the WebAuthn credentials users sign in with, and the single-use challenges of ceremonies."""

from __future__ import annotations

from datetime import datetime

from bson import Binary
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .base import PASSKEY_CHALLENGES, PASSKEYS, USERS, StoreBase, object_id_of

# A user keeps a way in: a password, an identity, or another passkey.
_ANOTHER_WAY_IN = {
    "$or": [{"password": {"$ne": None}}, {"identityCount": {"$gte": 1}}, {"passkeyCount": {"$gte": 2}}]
}


def _passkey(document: dict | None) -> dict | None:
    """Turn a stored passkey, if any, into the service's shape."""
    return None if document is None else _shaped(document)


def _shaped(document: dict) -> dict:
    """Turn a stored passkey into the service's shape; its key stays bytes for the verifier."""
    fields = (
        "userId",
        "credentialId",
        "userHandle",
        "signCount",
        "synced",
        "name",
        "transports",
        "createdAt",
        "lastUsedAt",
    )
    return (
        {"id": document["_id"]}
        | {name: document.get(name) for name in fields}
        | {
            "publicKey": bytes(document["publicKey"]),
            "cloneSuspected": bool(document.get("cloneSuspected")),
        }
    )


class PasskeyStore(StoreBase):
    """The `Passkeys` collection, and the count of them each user keeps (`Users.passkeyCount`).

    As with identities, the count lets removal refuse the last way in with one conditional
    update: raised after a passkey is stored, lowered before one is removed.
    """

    def ensure_indexes(self) -> None:
        with self._lock:
            passkeys = self.db[PASSKEYS]
            passkeys.create_index([("credentialId", ASCENDING)], unique=True)
            passkeys.create_index([("userId", ASCENDING), ("createdAt", ASCENDING)])

    def add(self, passkey_id: str, user_id: str, credential: dict, now: datetime) -> bool:
        """Store a verified credential for the user; False when that credential is registered already.

        `credential`: credentialId, userHandle, publicKey, signCount, synced, name, transports.
        """
        document = {
            "_id": passkey_id,
            "userId": user_id,
            "credentialId": credential["credentialId"],
            "userHandle": credential["userHandle"],
            "publicKey": Binary(credential["publicKey"]),
            "signCount": credential["signCount"],
            "synced": credential["synced"],
            "name": credential["name"],
            "transports": credential["transports"],
            "cloneSuspected": False,
            "createdAt": now,
            "lastUsedAt": None,
        }
        try:
            with self._lock:
                self.db[PASSKEYS].insert_one(document)
        except DuplicateKeyError:
            return False
        self._count(user_id, +1)
        return True

    def find_by_credential(self, credential_id: str) -> dict | None:
        """Return the passkey a credential id (base64url) names, whoever's it is."""
        with self._lock:
            return _passkey(self.db[PASSKEYS].find_one({"credentialId": credential_id}))

    def list_for_user(self, user_id: str) -> list[dict]:
        """Return the user's passkeys, oldest first."""
        with self._lock:
            cursor = self.db[PASSKEYS].find({"userId": user_id}).sort("createdAt", ASCENDING)
            return [_shaped(document) for document in cursor]

    def find_for_user(self, user_id: str, passkey_id: str) -> dict | None:
        """Return one of the user's passkeys; another user's is as missing as an unknown one."""
        with self._lock:
            return _passkey(self.db[PASSKEYS].find_one({"_id": passkey_id, "userId": user_id}))

    def rename(self, user_id: str, passkey_id: str, name: str) -> dict | None:
        """Rename one of the user's passkeys; return it, or None when the user has no such passkey."""
        with self._lock:
            result = self.db[PASSKEYS].update_one(
                {"_id": passkey_id, "userId": user_id}, {"$set": {"name": name}}
            )
        return self.find_for_user(user_id, passkey_id) if result.matched_count else None

    def record_use(self, passkey_id: str, stored_count: int, new_count: int, now: datetime) -> bool:
        """Store a verified assertion's counter if it still moves forward; say whether it did.

        Two assertions racing with one counter value cannot both pass: the second finds the
        counter already moved. A counter that stays 0 (a synced passkey keeps none) always passes.
        """
        counter = {"signCount": {"$lt": new_count}} if new_count else {"signCount": 0}
        query = {"_id": passkey_id, "cloneSuspected": {"$ne": True}, **counter}
        with self._lock:
            result = self.db[PASSKEYS].update_one(
                query, {"$set": {"signCount": new_count, "lastUsedAt": now}}
            )
        return result.matched_count == 1

    def mark_clone_suspected(self, passkey_id: str) -> bool:
        """Mark a passkey whose counter went backwards: it is refused from then on. Say whether it was new."""
        with self._lock:
            result = self.db[PASSKEYS].update_one(
                {"_id": passkey_id, "cloneSuspected": {"$ne": True}}, {"$set": {"cloneSuspected": True}}
            )
        return result.modified_count == 1

    def remove(self, user_id: str, passkey_id: str) -> bool | None:
        """Remove one of the user's passkeys unless it is their last way to sign in.

        Returns True when removed, False when it was the last way in, None when there is no such passkey.
        """
        object_id = object_id_of(user_id)
        if object_id is None or self.find_for_user(user_id, passkey_id) is None:
            return None
        with self._lock:
            claimed = self.db[USERS].update_one(
                {"_id": object_id, **_ANOTHER_WAY_IN}, {"$inc": {"passkeyCount": -1}}
            )
        if claimed.matched_count == 0:
            return False
        with self._lock:
            removed = self.db[PASSKEYS].delete_one({"_id": passkey_id, "userId": user_id}).deleted_count
        if not removed:  # another request removed it meanwhile
            self._count(user_id, +1)
            return None
        return True

    def remove_any(self, user_id: str, passkey_id: str) -> bool:
        """Remove one of the user's passkeys even if it is their last way in (an operator's removal)."""
        with self._lock:
            removed = self.db[PASSKEYS].delete_one({"_id": passkey_id, "userId": user_id}).deleted_count
        self._count(user_id, -removed)
        return removed == 1

    def remove_all(self, user_id: str) -> list[dict]:
        """Remove every passkey of the user (a squatted account's, once its owner proves the mailbox)."""
        with self._lock:
            found = [_shaped(document) for document in self.db[PASSKEYS].find({"userId": user_id})]
            removed = self.db[PASSKEYS].delete_many({"userId": user_id}).deleted_count
        self._count(user_id, -removed)
        return found if removed else []

    def _count(self, user_id: str, change: int) -> None:
        object_id = object_id_of(user_id)
        if object_id is None or change == 0:
            return
        with self._lock:
            self.db[USERS].update_one({"_id": object_id}, {"$inc": {"passkeyCount": change}})


class ChallengeStore(StoreBase):
    """The `PasskeyChallenges` collection: each challenge once, for five minutes, under a random id."""

    def ensure_indexes(self) -> None:
        with self._lock:
            challenges = self.db[PASSKEY_CHALLENGES]
            challenges.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)
            challenges.create_index([("userId", ASCENDING)])

    def add(
        self,
        challenge_id: str,
        challenge: bytes,
        purpose: str,
        user_id: str | None,
        session_id: str | None,
        expires_at: datetime,
    ) -> None:
        """Keep a challenge for one ceremony, bound to its purpose and (when signed in) user and session."""
        document = {
            "_id": challenge_id,
            "challenge": Binary(challenge),
            "purpose": purpose,
            "userId": user_id,
            "sessionId": session_id,
            "expiresAt": expires_at,
        }
        with self._lock:
            self.db[PASSKEY_CHALLENGES].insert_one(document)

    def take(self, challenge_id: str, now: datetime) -> dict | None:
        """Remove and return an unexpired challenge: whatever comes of it, it is used."""
        with self._lock:
            document = self.db[PASSKEY_CHALLENGES].find_one_and_delete(
                {"_id": challenge_id, "expiresAt": {"$gt": now}}
            )
        if document is None:
            return None
        return {
            "challenge": bytes(document["challenge"]),
            "purpose": document["purpose"],
            "userId": document.get("userId"),
            "sessionId": document.get("sessionId"),
        }
