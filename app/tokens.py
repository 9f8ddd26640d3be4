"""JWT encoding and verification: pure functions plus a signer that holds the keys."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import jwt

from .keys import Key, KeySet

ACCESS = "access"
REFRESH = "refresh"

_REQUIRED_CLAIMS = ["sub", "sid", "type", "iat", "exp", "jti"]

# Tokens whose signature and claims were already checked, per signer: a client sends the same
# access token with every request until it expires, and checking it again is most of the cost
# of a guarded request. Only valid tokens get in (errors are not cached), and expiry is checked
# against the clock on every use, so a remembered token is refused the moment it expires.
VERIFIED_TOKENS_CACHED = 4096


class TokenError(Exception):
    """The token is not one this server issued, or it is not valid now."""


def new_jti() -> str:
    """Return a fresh token id, unique enough that two tokens never collide."""
    return secrets.token_urlsafe(12)


def encode(claims: dict, key: Key) -> str:
    """Sign `claims` with `key`, naming it in the header's `kid`."""
    return jwt.encode(claims, key.signer, algorithm=key.algorithm, headers={"kid": key.kid})


def verification_key(token: str, keys: Mapping[str, Key]) -> Key:
    """Return the known key the token's `kid` names; other header fields (jku, x5u, jwk) are ignored."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as error:
        raise TokenError(str(error)) from None
    if not isinstance(kid, str) or kid not in keys:
        raise TokenError("unknown key id")
    return keys[kid]


def decode_signed(
    token: str,
    *,
    keys: Mapping[str, Key],
    expected_type: str,
    issuer: str | None = None,
    audience: str | None = None,
) -> dict:
    """Verify `token` with the key its kid names, pinned to that key's algorithm (not its expiry)."""
    key = verification_key(token, keys)
    try:
        claims = jwt.decode(
            token,
            key.verifier,
            algorithms=[key.algorithm],
            issuer=issuer,
            audience=audience,
            # Expiry is checked by check_expiry against the injected clock, so tests control time.
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as error:
        raise TokenError(str(error)) from None
    if claims.get("type") != expected_type:
        raise TokenError("wrong token type")
    if not all(isinstance(claims.get(name), str) for name in ("sub", "sid", "jti")):
        raise TokenError("malformed subject claims")
    if not isinstance(claims.get("exp"), int | float):
        raise TokenError("malformed expiry")
    return claims


def epoch_seconds(now: datetime) -> float:
    """Return `now` in seconds since the epoch; a naive datetime is UTC, as everywhere in this server.

    (A naive datetime's own `timestamp()` reads it as local time, which would shift every `exp`
    by the machine's offset from UTC.)
    """
    return now.replace(tzinfo=UTC).timestamp() if now.tzinfo is None else now.timestamp()


def check_expiry(claims: dict, now: datetime, leeway: int = 0) -> None:
    """Raise TokenError from the first moment `now` reaches the claims' `exp` plus `leeway` seconds."""
    if claims["exp"] + leeway <= epoch_seconds(now):
        raise TokenError("token expired")


def decode(
    token: str,
    *,
    keys: Mapping[str, Key],
    expected_type: str,
    now: datetime,
    issuer: str | None = None,
    audience: str | None = None,
    leeway: int = 0,
) -> dict:
    """Verify `token` fully, expiry included, and return its claims, or raise TokenError."""
    claims = decode_signed(token, keys=keys, expected_type=expected_type, issuer=issuer, audience=audience)
    check_expiry(claims, now, leeway)
    return claims


@dataclass(frozen=True)
class TokenSigner:
    """Issues and verifies this server's access and refresh tokens."""

    keys: KeySet
    access_ttl: int
    refresh_ttl: int
    issuer: str | None = None
    audience: str | None = None
    leeway: int = 0

    def __post_init__(self) -> None:
        verified = lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._decode_signed)
        object.__setattr__(self, "_verified", verified)

    def _decode_signed(self, token: str, expected_type: str) -> dict:
        return decode_signed(
            token,
            keys=self.keys.verifying,
            expected_type=expected_type,
            issuer=self.issuer,
            audience=self.audience,
        )

    def _claims(self, token_type: str, user_id: str, session_id: str, now: datetime, ttl: int) -> dict:
        issued = int(epoch_seconds(now))
        claims = {
            "sub": user_id,
            "sid": session_id,
            "type": token_type,
            "iat": issued,
            "exp": issued + ttl,
            "jti": new_jti(),
        }
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        return claims

    def access_token(self, user: dict, session_id: str, now: datetime) -> str:
        """Sign a short-lived access token carrying the user's public fields and role (as of now)."""
        claims = self._claims(ACCESS, user["id"], session_id, now, self.access_ttl)
        claims.update(email=user["email"], first=user["first"], last=user["last"])
        claims["role"] = user.get("role", "user")
        return encode(claims, self.keys.signing)

    def refresh_token(self, user_id: str, session_id: str, now: datetime) -> str:
        """Sign a long-lived refresh token for one session."""
        claims = self._claims(REFRESH, user_id, session_id, now, self.refresh_ttl)
        return encode(claims, self.keys.signing)

    def verify(self, token: str, expected_type: str, now: datetime) -> dict:
        """Return the claims of a valid token of `expected_type`, or raise TokenError."""
        claims = self._verified(token, expected_type)
        check_expiry(claims, now, self.leeway)
        return dict(claims)  # a copy: the remembered claims must not change under later requests
