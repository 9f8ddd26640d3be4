"""Sealing a message's context for the outbox: codes and links must not lie readable in the database.

A one-time code is stored only as a keyed hash; the message that carries it waits in the
outbox, so its context is encrypted (AES-GCM) with a key derived from the signing key, bound
to the message's id so that no sealed context can be moved to another message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Unsealable(Exception):
    """The context was sealed with another key (the signing key rotated since) or was altered."""


def outbox_key(code_key: bytes) -> bytes:
    """Derive the outbox's key from the one-time codes' key, itself derived from the signing key."""
    return hmac.new(code_key, b"mail outbox", hashlib.sha256).digest()


def seal(key: bytes, context: dict, bound_to: bytes) -> bytes:
    """Encrypt `context` (JSON) for the message `bound_to` names."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    plain = json.dumps(context, separators=(",", ":")).encode()
    return nonce + AESGCM(key).encrypt(nonce, plain, bound_to)


def unseal(key: bytes, sealed: bytes, bound_to: bytes) -> dict:
    """Decrypt what `seal` made for the same message; raise Unsealable otherwise."""
    nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        return json.loads(AESGCM(key).decrypt(nonce, body, bound_to))
    except InvalidTag:
        raise Unsealable() from None
