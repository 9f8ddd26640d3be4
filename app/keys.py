"""Signing and verification keys, loaded once at start-up, each named by a `kid`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms

from config import SYMMETRIC_ALGORITHM, ConfigError, Settings

MIN_RSA_BITS = 2048
KID_LENGTH = 16  # 96 bits of the thumbprint: unique among a handful of keys, and keeps tokens short

# RFC 7638: the members of each key type that its thumbprint is computed over.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


@dataclass(frozen=True)
class Key:
    """One key: its id, the one algorithm it is used with, what verifies and signs, its public JWK."""

    kid: str
    algorithm: str
    verifier: Any = field(repr=False)  # a shared secret is its own verifier: never in a repr
    signer: Any = field(default=None, repr=False)  # None when only the public half is held (a retired key)
    public_jwk: dict | None = None  # None for shared secrets: those are never published
    # Set by __post_init__, from the fields above.
    _implementation: Algorithm = field(init=False, repr=False, compare=False)
    _prepared: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # PyJWT's implementation of this key's one algorithm, and the key in the form it
        # verifies with, made once: jwt.decode looks both up again on every call.
        implementation = get_default_algorithms()[self.algorithm]
        object.__setattr__(self, "_implementation", implementation)
        object.__setattr__(self, "_prepared", implementation.prepare_key(self.verifier))

    def verifies(self, signing_input: bytes, signature: bytes) -> bool:
        """Say whether `signature` is this key's signature of `signing_input`, with its own algorithm."""
        return self._implementation.verify(signing_input, self._prepared, signature)


@dataclass(frozen=True)
class KeySet:
    """The key that signs new tokens and every key that may verify one, by kid."""

    signing: Key
    verifying: Mapping[str, Key]

    def jwks(self) -> dict:
        """Return the JSON Web Key Set of the public keys (empty when only secrets are in use)."""
        return {"keys": [key.public_jwk for key in self.verifying.values() if key.public_jwk]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: Mapping[str, str]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of a JWK."""
    members = _THUMBPRINT_MEMBERS.get(jwk["kty"], ("k", "kty"))
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def key_id(jwk: Mapping[str, str]) -> str:
    """Return the kid of a key: the start of its thumbprint, which reveals nothing of a secret."""
    return thumbprint(jwk)[:KID_LENGTH]


def secret_key(secret: str) -> Key:
    """Return the HS256 key for a shared secret."""
    material = secret.encode()
    # Not a thumbprint (RFC 7638 section 7 warns against those for symmetric keys): an HMAC
    # of a fixed label, which tells nothing about the secret even if the secret is weak.
    kid = _b64(hmac.new(material, b"kid", hashlib.sha256).digest())[:KID_LENGTH]
    return Key(kid, SYMMETRIC_ALGORITHM, material, material)


def algorithm_of(public_key: Any) -> str:
    """Return the one algorithm this server uses with a public key of this type, or raise ConfigError."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise ConfigError(f"RSA keys must have at least {MIN_RSA_BITS} bits.")
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise ConfigError("Keys must be RSA, EC P-256 or Ed25519.")


def public_key(public: Any, signer: Any = None) -> Key:
    """Return the key (with its public JWK) for a public key; `signer` is its private half, if held."""
    algorithm = algorithm_of(public)
    jwk = get_default_algorithms()[algorithm].to_jwk(public, as_dict=True)
    kid = key_id(jwk)
    return Key(kid, algorithm, public, signer, {**jwk, "kid": kid, "alg": algorithm, "use": "sig"})


def read_pem(value: str, setting: str) -> bytes:
    """Return PEM bytes from PEM text (literal `\\n` allowed, as .env files write it) or a file path."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.replace("\\n", "\n").encode()
    try:
        return Path(text).read_bytes()
    except (OSError, ValueError):  # no such file, a name too long, a NUL byte, a directory ...
        # Never the value in the message: a key pasted without its PEM armour is still a key.
        raise ConfigError(f"{setting} must be PEM text or the path of a readable PEM file.") from None


def load_private_key(pem: bytes) -> Any:
    """Parse an unencrypted PEM private key, or raise ConfigError."""
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ConfigError(
            f"JWT_PRIVATE_KEY is not an unencrypted PEM private key ({type(error).__name__})."
        ) from None


def load_public_key(pem: bytes, setting: str) -> Any:
    """Parse a PEM public key, or raise ConfigError."""
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{setting} is not a PEM public key ({type(error).__name__}).") from None


def _public_bytes(public: Any) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _asymmetric_signing_key(settings: Settings) -> Key:
    private = load_private_key(read_pem(settings.tokens.jwt_private_key or "", "JWT_PRIVATE_KEY"))
    public = private.public_key()
    if settings.tokens.jwt_public_key:
        configured = load_public_key(
            read_pem(settings.tokens.jwt_public_key, "JWT_PUBLIC_KEY"), "JWT_PUBLIC_KEY"
        )
        if _public_bytes(configured) != _public_bytes(public):
            raise ConfigError("JWT_PUBLIC_KEY is not the public half of JWT_PRIVATE_KEY.")
    key = public_key(public, signer=private)
    if key.algorithm != settings.tokens.jwt_algorithm:
        raise ConfigError(
            f"JWT_PRIVATE_KEY is a key for {key.algorithm}, not {settings.tokens.jwt_algorithm}."
        )
    return key


def load_key_set(settings: Settings) -> KeySet:
    """Load every key the settings name; each verifies only with its own algorithm."""
    signing = (
        _asymmetric_signing_key(settings)
        if settings.tokens.asymmetric
        else secret_key(settings.tokens.secret_key)
    )
    retired = [secret_key(secret) for secret in settings.tokens.previous_secret_keys]
    retired += [
        public_key(load_public_key(read_pem(value, "JWT_PREVIOUS_PUBLIC_KEYS"), "JWT_PREVIOUS_PUBLIC_KEYS"))
        for value in settings.tokens.jwt_previous_public_keys
    ]
    verifying = {key.kid: key for key in retired}
    verifying[signing.kid] = signing
    return KeySet(signing, verifying)


def code_key(keys: KeySet) -> bytes:
    """Return the HMAC key of one-time codes, derived from the signing key (secret or private key).

    Derived rather than configured: every process that can sign tokens agrees on it with no new
    setting, and it is never stored with the codes it protects. Rotating the signing key voids
    the codes in flight (at most ONE_TIME_CODE_TTL old).
    """
    signer = keys.signing.signer
    if isinstance(signer, bytes):
        material = signer
    else:
        material = signer.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    return hmac.new(material, b"one-time codes", hashlib.sha256).digest()
