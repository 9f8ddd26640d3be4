"""JWT encoding and verification: pure functions plus a signer that holds the keys."""

from __future__ import annotations

import binascii
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import jwt

from .keys import Key, KeySet

ACCESS = "access"
REFRESH = "refresh"

# Tokens whose signature and claims were already checked, per signer: a client sends the same
# access token with every request until it expires, and checking it again is most of the cost
# of a guarded request. Only valid tokens get in (errors are not cached), and expiry is checked
# against the clock on every use, so a remembered token is refused the moment it expires.
# Each costs about 1.8 KB (the token and its claims); a token not remembered costs its check
# (7.5 us) again, so 1,024 active clients a process keep the saving and 2 MiB at most.
VERIFIED_TOKENS_CACHED = 1024


AAL2_MAX_AGE = 86400  # seconds a second factor counts for in `aal` (the AAL2_MAX_AGE setting)


@dataclass(frozen=True)
class Factors:
    """How a session proved who it is: what its access tokens say in `amr`, `aal` and `auth_time`.

    `amr`: RFC 8176 names (`pwd`, `otp`, `fed`, `hwk`, `swk`, `user`, `mfa`); `aal` 1, or 2 after
    a second factor or a passkey; `auth_time` when the session last proved a factor.
    """

    amr: tuple[str, ...]
    aal: int
    auth_time: datetime

    @classmethod
    def of_session(cls, session: Mapping) -> Factors:
        """Read a stored session's factors; a session stored before they were kept signed in with one."""
        return cls(
            tuple(session.get("amr") or ()),
            session.get("aal") or 1,
            session.get("authTime") or session["createdAt"],
        )

    def stored(self) -> dict:
        return {"amr": list(self.amr), "aal": self.aal, "authTime": self.auth_time}

    def with_second_factor(self, methods: tuple[str, ...], now: datetime) -> Factors:
        """Return these factors after a second factor (`otp`; a passkey's `hwk`/`swk`, `user`) was proved."""
        amr = tuple(dict.fromkeys((*self.amr, *methods, "mfa")))
        return Factors(amr, 2, now)

    def claims(self, now: datetime, aal2_max_age: int) -> dict:
        """Return the token claims: `aal` falls back to 1 once the proof is older than `aal2_max_age`."""
        fresh = epoch_seconds(now) - epoch_seconds(self.auth_time) <= aal2_max_age
        return {
            "amr": list(self.amr),
            "aal": self.aal if fresh else 1,
            "auth_time": int(epoch_seconds(self.auth_time)),
        }


class TokenError(Exception):
    """The token is not one this server issued, or it is not valid now."""


def new_jti() -> str:
    """Return a fresh token id, unique enough that two tokens never collide."""
    return secrets.token_urlsafe(12)


def encode(claims: dict, key: Key) -> str:
    """Sign `claims` with `key`, naming it in the header's `kid`."""
    return jwt.encode(claims, key.signer, algorithm=key.algorithm, headers={"kid": key.kid})


# The compact form this server issues: three base64url segments, no padding. Anything else
# (padding, other characters, more or fewer segments) is refused before anything is decoded.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


_TO_STANDARD_ALPHABET = bytes.maketrans(b"-_", b"+/")


def _segment(text: str) -> bytes:
    """Decode one base64url segment, refusing every spelling of its bytes but the canonical one."""
    if len(text) % 4 == 1:
        raise TokenError("malformed segment")
    standard = text.encode().translate(_TO_STANDARD_ALPHABET) + b"=" * (-len(text) % 4)
    try:
        data = binascii.a2b_base64(standard, strict_mode=True)
    except binascii.Error:
        raise TokenError("malformed segment") from None
    if binascii.b2a_base64(data, newline=False) != standard:  # spare bits set: another spelling
        raise TokenError("malformed segment")
    return data


def _json_object(data: bytes, name: str) -> dict:
    try:
        value = json.loads(data.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise TokenError(f"malformed {name}") from None
    if not isinstance(value, dict):
        raise TokenError(f"malformed {name}")
    return value


def verification_key(header: dict, keys: Mapping[str, Key]) -> Key:
    """Return the known key the header's `kid` names; other header fields (jku, x5u, jwk) are ignored."""
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        raise TokenError("unknown key id")
    key = keys[kid]
    if header.get("alg") != key.algorithm:  # each key verifies with its own algorithm only
        raise TokenError("algorithm not allowed")
    if "crit" in header or header.get("b64", True) is not True:  # extensions this server never uses
        raise TokenError("unsupported header")
    return key


# Header spellings remembered per signer: tokens from one key share one header segment. Only
# segments that passed verification_key get in, and only this many, so no client can grow it.
KNOWN_HEADERS = 16


class HeaderKeys:
    """The key a token's header segment names, parsed once per spelling in use."""

    def __init__(self, keys: Mapping[str, Key]) -> None:
        self.keys = keys
        self._known: dict[str, Key] = {}

    def __call__(self, segment: str) -> Key:
        key = self._known.get(segment)
        if key is None:
            key = verification_key(_json_object(_segment(segment), "header"), self.keys)
            if len(self._known) < KNOWN_HEADERS:
                self._known[segment] = key
        return key


def check_claims(claims: dict, expected_type: str, issuer: str | None, audience: str | None) -> None:
    """Raise TokenError unless the claims are complete, of the right types, of `expected_type`, for us."""
    # Required: sub, sid, jti, iat, exp, and type (checked against the expected one).
    if None in (
        claims.get("sub"),
        claims.get("sid"),
        claims.get("jti"),
        claims.get("iat"),
        claims.get("exp"),
    ):
        raise TokenError("missing claim")
    if claims.get("type") != expected_type:
        raise TokenError("wrong token type")
    if not (
        isinstance(claims["sub"], str) and isinstance(claims["sid"], str) and isinstance(claims["jti"], str)
    ):
        raise TokenError("malformed subject claims")
    if not isinstance(claims["exp"], int | float) or not isinstance(claims.get("nbf", 0), int | float):
        raise TokenError("malformed expiry")
    if issuer is not None and claims.get("iss") != issuer:
        raise TokenError("wrong issuer")
    if not _for_audience(claims.get("aud"), audience):
        raise TokenError("wrong audience")


def _for_audience(audiences: object, audience: str | None) -> bool:
    """Say whether a token's `aud` (a name or a list of names) suits a server expecting `audience`."""
    if audience is None:
        return not audiences  # a token meant for some audience is not for a server that names none
    if isinstance(audiences, str):
        return audiences == audience
    return (
        isinstance(audiences, list)
        and all(isinstance(name, str) for name in audiences)
        and audience in audiences
    )


def decode_signed(
    token: str,
    *,
    keys: Mapping[str, Key] | HeaderKeys,
    expected_type: str,
    issuer: str | None = None,
    audience: str | None = None,
) -> dict:
    """Verify `token` with the key its kid names, pinned to that key's algorithm (not its expiry).

    PyJWT's algorithms check the signature, with the key prepared once; the compact form is
    parsed here, once, since jwt.decode checks each segment a character at a time in Python
    and a kid lookup before it parsed the token twice: that was most of a guarded request
    with a token the server had not seen (bench/README.md). The claims are read only once
    the signature holds.
    """
    if not isinstance(token, str) or not _COMPACT.fullmatch(token):
        raise TokenError("not a compact JWS")
    header_segment, payload_segment, signature_segment = token.split(".")
    key = (keys if isinstance(keys, HeaderKeys) else HeaderKeys(keys))(header_segment)
    signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode()
    if not key.verifies(signing_input, _segment(signature_segment)):
        raise TokenError("signature verification failed")
    claims = _json_object(_segment(payload_segment), "payload")
    check_claims(claims, expected_type, issuer, audience)
    return claims


def epoch_seconds(now: datetime) -> float:
    """Return `now` in seconds since the epoch; a naive datetime is UTC, as everywhere in this server.

    (A naive datetime's own `timestamp()` reads it as local time, which would shift every `exp`
    by the machine's offset from UTC.)
    """
    return now.replace(tzinfo=UTC).timestamp() if now.tzinfo is None else now.timestamp()


def check_expiry(claims: dict, now: datetime, leeway: int = 0) -> None:
    """Raise TokenError from the moment `now` reaches `exp` plus `leeway` seconds, or before `nbf`."""
    seconds = epoch_seconds(now)
    if claims["exp"] + leeway <= seconds:
        raise TokenError("token expired")
    if "nbf" in claims and claims["nbf"] > seconds + leeway:
        raise TokenError("token not yet valid")


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
    aal2_max_age: int = AAL2_MAX_AGE
    # Set by __post_init__, from the fields above.
    _verified: Callable[[str, str], dict] = field(init=False, repr=False, compare=False)
    _header_keys: HeaderKeys = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        verified = lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._decode_signed)
        object.__setattr__(self, "_verified", verified)
        object.__setattr__(self, "_header_keys", HeaderKeys(self.keys.verifying))

    def _decode_signed(self, token: str, expected_type: str) -> dict:
        return decode_signed(
            token,
            keys=self._header_keys,
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

    def access_token(self, user: dict, session_id: str, now: datetime, factors: Factors | None = None) -> str:
        """Sign a short-lived access token carrying the user's public fields and role (as of now), and how
        its session signed in (`factors`; None: a password just now)."""
        claims = self._claims(ACCESS, user["id"], session_id, now, self.access_ttl)
        claims.update(email=user["email"], first=user["first"], last=user["last"])
        claims["role"] = user.get("role", "user")
        claims.update((factors or Factors(("pwd",), 1, now)).claims(now, self.aal2_max_age))
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
