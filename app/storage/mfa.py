"""The second factor: each account's TOTP secret and recovery codes, and the pending mfaTokens of sign-ins.

`Mfa` holds one document per account that has set TOTP up (its `_id` is the user id): the
encrypted secret (pending until enabled), the last time step used, the recovery codes' bcrypt
hashes with their one salt, and the count of wrong codes in a row. `MfaTokens` holds the
sign-ins waiting for their second factor, by the hash of their token, removed by a TTL index.
Every change that must have a single winner (a step used, a recovery code spent, a token
spent) is one conditional update.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from .base import MFA, MFA_TOKENS, StoreBase


class MfaStore(StoreBase):
    """The `Mfa` and `MfaTokens` collections."""

    def ensure_indexes(self) -> None:
        with self._lock:
            tokens = self.db[MFA_TOKENS]
            tokens.create_index([("expiresAt", ASCENDING)], expireAfterSeconds=0)
            tokens.create_index([("userId", ASCENDING)])

    # --- the account's factors

    def find(self, user_id: str) -> dict | None:
        """Return the account's second-factor document, if it has one."""
        with self._lock:
            return self.db[MFA].find_one({"_id": user_id})

    def set_pending(self, user_id: str, secret: str, now: datetime) -> bool:
        """Store a new pending (encrypted) secret, replacing a pending one; False once TOTP is on."""
        try:
            with self._lock:
                self.db[MFA].update_one(
                    {"_id": user_id, "secret": None},
                    {"$set": {"pendingSecret": secret, "pendingAt": now}},
                    upsert=True,
                )
        except DuplicateKeyError:  # the document exists with an enabled secret
            return False
        return True

    def enable(
        self, user_id: str, pending: str, secret: str, step: int, salt: str, hashes: list[str]
    ) -> bool:
        """Turn the pending secret `pending` on (as `secret`), its first step used; say if this call did."""
        update = {
            "$set": {
                "secret": secret,
                "lastStep": step,
                "recoverySalt": salt,
                "recoveryHashes": hashes,
                "failStreak": 0,
            },
            "$unset": {"pendingSecret": "", "pendingAt": ""},
        }
        with self._lock:
            result = self.db[MFA].update_one(
                {"_id": user_id, "secret": None, "pendingSecret": pending}, update
            )
        return result.modified_count == 1

    def use_step(self, user_id: str, step: int) -> bool:
        """Record a TOTP step as used if it is later than every step used before; say whether it was."""
        query = {"_id": user_id, "secret": {"$ne": None}, "lastStep": {"$lt": step}}
        with self._lock:
            return self.db[MFA].update_one(query, {"$set": {"lastStep": step}}).modified_count == 1

    def spend_recovery_code(self, user_id: str, code_hash: str) -> bool:
        """Remove one unused recovery code by its hash; say whether this call spent it."""
        query = {"_id": user_id, "recoveryHashes": code_hash}
        with self._lock:
            result = self.db[MFA].update_one(query, {"$pull": {"recoveryHashes": code_hash}})
        return result.modified_count == 1

    def replace_recovery_codes(self, user_id: str, salt: str, hashes: list[str]) -> bool:
        """Replace every recovery code of an account with TOTP on; say whether it has it on."""
        query = {"_id": user_id, "secret": {"$ne": None}}
        update = {"$set": {"recoverySalt": salt, "recoveryHashes": hashes}}
        with self._lock:
            return self.db[MFA].update_one(query, update).matched_count == 1

    def replace_secret(self, user_id: str, old: str, new: str) -> bool:
        """Swap an enabled secret's ciphertext for another of the same secret (a newer key's)."""
        with self._lock:
            return (
                self.db[MFA]
                .update_one({"_id": user_id, "secret": old}, {"$set": {"secret": new}})
                .modified_count
                == 1
            )

    def count_wrong(self, user_id: str) -> int:
        """Count one more wrong code in a row; return how many there are now (0: no TOTP set up)."""
        with self._lock:
            document = self.db[MFA].find_one_and_update(
                {"_id": user_id},
                {"$inc": {"failStreak": 1}},
                projection={"failStreak": 1},
                return_document=ReturnDocument.AFTER,
            )
        return 0 if document is None else document["failStreak"]

    def clear_streak(self, user_id: str) -> None:
        """Start the count of wrong codes in a row again (a right code came)."""
        with self._lock:
            self.db[MFA].update_one({"_id": user_id, "failStreak": {"$ne": 0}}, {"$set": {"failStreak": 0}})

    def first_wrong_of_day(self, user_id: str, day: str) -> bool:
        """Mark `day` as one with a wrong code; say whether this call was the first to (one notice a day)."""
        query = {"_id": user_id, "wrongCodeDay": {"$ne": day}}
        with self._lock:
            return self.db[MFA].update_one(query, {"$set": {"wrongCodeDay": day}}).modified_count == 1

    def remove(self, user_id: str) -> bool:
        """Delete the account's secret and recovery codes (pending or on); say whether there were any."""
        with self._lock:
            return self.db[MFA].delete_one({"_id": user_id}).deleted_count == 1

    # --- sign-ins waiting for their second factor

    def add_token(self, token_hash: str, user_id: str, document: dict, expires_at: datetime) -> None:
        """Store a pending sign-in by its token's hash (`document`: its first factor, a link to make)."""
        with self._lock:
            self.db[MFA_TOKENS].insert_one(
                document | {"_id": token_hash, "userId": user_id, "expiresAt": expires_at, "wrongCodes": 0}
            )

    def find_token(self, token_hash: str, now: datetime, max_wrong: int) -> dict | None:
        """Return a live pending sign-in by its token's hash: unexpired, not voided by wrong codes."""
        query = {"_id": token_hash, "expiresAt": {"$gt": now}, "wrongCodes": {"$lt": max_wrong}}
        with self._lock:
            return self.db[MFA_TOKENS].find_one(query)

    def token_wrong_code(self, token_hash: str) -> None:
        """Count a wrong code against a pending sign-in."""
        with self._lock:
            self.db[MFA_TOKENS].update_one({"_id": token_hash}, {"$inc": {"wrongCodes": 1}})

    def spend_token(self, token_hash: str, now: datetime, max_wrong: int) -> bool:
        """Use up a live pending sign-in; say whether this call did (single use)."""
        query = {"_id": token_hash, "expiresAt": {"$gt": now}, "wrongCodes": {"$lt": max_wrong}}
        with self._lock:
            return self.db[MFA_TOKENS].delete_one(query).deleted_count == 1

    def void_tokens(self, user_id: str) -> int:
        """Void every pending sign-in of the account; return how many there were."""
        with self._lock:
            return self.db[MFA_TOKENS].delete_many({"userId": user_id}).deleted_count
