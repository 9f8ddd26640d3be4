"""JWT encoding and verification: pure functions plus a signer that holds the keys."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jwt

from .keys import Key, KeySet

ACCESS = "access"
REFRESH = "refresh"

_REQUIRED_CLAIMS = ["sub", "sid", "type", "iat", "exp", "jti"]


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
    """Verify `token` with the key its kid names, pinned to that key's algorithm; return its claims."""
    key = verification_key(token, keys)
    try:
        claims = jwt.decode(
            token,
            key.verifier,
            algorithms=[key.algorithm],
            issuer=issuer,
            audience=audience,
            # Expiry is checked below against the injected clock, so tests control time.
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as error:
        raise TokenError(str(error)) from None
    if claims.get("type") != expected_type:
        raise TokenError("wrong token type")
    if not all(isinstance(claims.get(name), str) for name in ("sub", "sid", "jti")):
        raise TokenError("malformed subject claims")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires + leeway <= now.timestamp():
        raise TokenError("token expired")
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

    def _claims(self, token_type: str, user_id: str, session_id: str, now: datetime, ttl: int) -> dict:
        issued = int(now.timestamp())
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
        """Sign a short-lived access token carrying the user's public fields."""
        claims = self._claims(ACCESS, user["id"], session_id, now, self.access_ttl)
        claims.update(email=user["email"], first=user["first"], last=user["last"])
        return encode(claims, self.keys.signing)

    def refresh_token(self, user_id: str, session_id: str, now: datetime) -> str:
        """Sign a long-lived refresh token for one session."""
        claims = self._claims(REFRESH, user_id, session_id, now, self.refresh_ttl)
        return encode(claims, self.keys.signing)

    def verify(self, token: str, expected_type: str, now: datetime) -> dict:
        """Return the claims of a valid token of `expected_type`, or raise TokenError."""
        return decode(
            token,
            keys=self.keys.verifying,
            expected_type=expected_type,
            now=now,
            issuer=self.issuer,
            audience=self.audience,
            leeway=self.leeway,
        )
