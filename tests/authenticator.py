"""A software WebAuthn authenticator: P-256 passkeys, attestation "none", assertions signed with cryptography.

It answers the server's options as a browser or a phone's OS would (the WebAuthn Level 3 JSON
forms), and every part a test may want wrong can be set per call: origin, RP ID, flags,
counter, user handle, challenge.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
SYNCED = UP | UV | BE | BS
DEVICE_BOUND = UP | UV
AAGUID = bytes(16)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """One passkey: its key, credential id, counter and the user handle it was made for.

    `flags`: SYNCED (backup-eligible and backed up, counter stays 0, as iCloud Keychain and
    Google Password Manager do) or DEVICE_BOUND (a security key: the counter goes up by one).
    """

    def __init__(
        self, origin: str = "https://example.test", rp_id: str = "example.test", flags: int = SYNCED
    ):
        self.origin = origin
        self.rp_id = rp_id
        self.flags = flags
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.sign_count = 0
        self.user_handle: bytes | None = None

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_key(self, x: bytes | None = None) -> bytes:
        numbers = self.key.public_key().public_numbers()
        x = x or numbers.x.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: numbers.y.to_bytes(32, "big")})

    def create(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int | None = None,
        cose_key: bytes | None = None,
    ) -> dict:
        """Answer PublicKeyCredentialCreationOptionsJSON with a RegistrationResponseJSON."""
        self.user_handle = from_b64url(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id
        attested += cose_key or self.cose_key()
        auth_data = self._auth_data(rp_id, (self.flags if flags is None else flags) | AT) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int | None = None,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
        forge: bool = False,
    ) -> dict:
        """Answer PublicKeyCredentialRequestOptionsJSON with an AuthenticationResponseJSON."""
        if sign_count is None:
            if not self.flags & BE:
                self.sign_count += 1
            sign_count = self.sign_count
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(rp_id, self.flags if flags is None else flags, sign_count)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signer = ec.generate_private_key(ec.SECP256R1()) if forge else self.key
        signature = signer.sign(signed, ec.ECDSA(hashes.SHA256()))
        handle = user_handle if user_handle is not None else self.user_handle
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(handle) if handle else None,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def _auth_data(self, rp_id: str | None, flags: int, sign_count: int | None = None) -> bytes:
        rp_id_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        count = self.sign_count if sign_count is None else sign_count
        return rp_id_hash + bytes([flags]) + struct.pack(">I", count)
