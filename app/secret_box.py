"""TOTP secrets at rest: AES-256-GCM under MFA_ENCRYPTION_KEYS, with key rotation.

The keys are their own, never derived from the token signing key: a leaked signing key must
not also turn every stored secret into a working authenticator. Each ciphertext names the key
that made it (a short fingerprint), so a new key can go first while the old ones still decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"


class BadKey(ValueError):
    """An MFA_ENCRYPTION_KEYS entry is not base64 of 32 bytes."""


class Undecryptable(Exception):
    """The ciphertext names no configured key, was altered, or belongs to another user."""


def parse_key(text: str) -> bytes:
    """Return the 32 bytes a base64 (standard or url-safe, padded or not) entry holds."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadKey("an MFA_ENCRYPTION_KEYS entry is not base64") from None
    if len(key) != KEY_BYTES:
        raise BadKey(f"each MFA_ENCRYPTION_KEYS entry must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
    return key


def new_key_text() -> str:
    """Return a fresh key as MFA_ENCRYPTION_KEYS spells it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_id(key: bytes) -> str:
    """Name a key without revealing it: the start of a hash of it."""
    return hashlib.sha256(b"mfa key id:" + key).hexdigest()[:8]


@dataclass(frozen=True)
class SecretBox:
    """Encrypts with the first key; decrypts with whichever key a ciphertext names."""

    keys: tuple[bytes, ...]

    @classmethod
    def from_texts(cls, texts: tuple[str, ...]) -> SecretBox:
        return cls(tuple(parse_key(text) for text in texts))

    @property
    def available(self) -> bool:
        return bool(self.keys)

    def encrypt(self, plain: str, bound_to: str) -> str:
        """Encrypt `plain` for the user `bound_to` (the associated data): `v1.<key id>.<nonce+ciphertext>`."""
        key = self.keys[0]
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = nonce + AESGCM(key).encrypt(nonce, plain.encode(), bound_to.encode())
        return f"{VERSION}.{key_id(key)}.{base64.urlsafe_b64encode(sealed).decode()}"

    def decrypt(self, text: str, bound_to: str) -> str:
        """Decrypt what `encrypt` made for the same user, under any configured key."""
        parts = text.split(".", 2)
        if len(parts) != 3 or parts[0] != VERSION:
            raise Undecryptable("not a secret this server encrypted")
        _, named, body = parts
        key = next((key for key in self.keys if key_id(key) == named), None)
        if key is None:
            raise Undecryptable("no configured key made this secret")
        try:
            sealed = base64.urlsafe_b64decode(body)
            return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise Undecryptable("the secret was altered or is another user's") from None

    def names_current_key(self, text: str) -> bool:
        """Say whether `text` was encrypted under the first key (else it can be re-encrypted)."""
        return text.split(".")[1:2] == [key_id(self.keys[0])] if self.keys else False
