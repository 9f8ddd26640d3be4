"""Verifying the ID tokens Google and Apple give a native app, against each provider's published keys.

PyJWT does the JOSE work: `PyJWKClient` fetches a key set (no redirects, a timeout, http(s)
only) and `PyJWKSet` parses it; `jwt.decode` checks the RS256 signature, `iss` and `aud`.
The key set's cache and refetch policy is kept here, on the service's clock: PyJWKClient's own
cache stops serving its keys once their lifespan is over even when the refetch fails, and its
refetch cooldown starts only after a successful fetch, so a provider that is down would be
asked again by every forged token, each waiting out the timeout in turn.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWTError

from config import Settings, is_safe_key_set_url

from .texts import InvalidEmailDomain, clean_name, normalise_email

log = logging.getLogger(__name__)

GOOGLE = "google"
APPLE = "apple"
PROVIDERS = (GOOGLE, APPLE)
ISSUERS = {
    GOOGLE: ("https://accounts.google.com", "accounts.google.com"),
    APPLE: ("https://appleid.apple.com",),
}
ALGORITHM = "RS256"  # what both providers sign with; nothing else is ever accepted
MAX_TOKEN_CHARS = 8192  # real ones are 1 to 2 KB; anything longer is refused before parsing
FETCH_TIMEOUT_S = 5
REFETCH_INTERVAL = timedelta(minutes=1)  # at most one fetch a minute, whatever tokens arrive
KEY_SET_LIFESPAN = timedelta(hours=1)  # then refetched on the next token
STALE_KEYS_GRACE = timedelta(hours=24)  # how long a stale key set still serves while its provider is down
FRESH_TOKEN_AGE = timedelta(minutes=10)  # for confirming an identity before deleting an account


def provider_named_by(token: str) -> str | None:
    """Name the provider whose issuer an ID token claims, read unverified (verifying it comes next)."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except PyJWTError:
        return None
    return next((name for name, issuers in ISSUERS.items() if issuer in issuers), None)


class InvalidIdToken(Exception):
    """The token was not issued by the provider for this app, or is not valid now."""


class ProviderDisabled(Exception):
    """No client ID is configured for this provider."""


class KeySetUnavailable(Exception):
    """The provider's key set cannot be fetched, and no usable copy of it is at hand."""

    def __init__(self, provider: str, retry_after: float) -> None:
        super().__init__(f"the {provider} key set cannot be fetched")
        self.provider = provider
        self.retry_after = retry_after


@dataclass(frozen=True)
class IdentityClaims:
    """What a verified ID token says about its holder."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    given_name: str | None
    family_name: str | None
    issued_at: datetime


class ProviderKeys:
    """One provider's signing keys: fetched on first use, kept an hour, refetched at most once a minute."""

    def __init__(self, provider: str, url: str, timeout: float = FETCH_TIMEOUT_S) -> None:
        if not is_safe_key_set_url(url):
            raise ValueError(f"{url!r}: a key set is fetched over HTTPS only (plain HTTP on loopback).")
        self.provider = provider
        self.url = url
        # Its cache off: PyJWKClient is used to fetch (no redirects, a timeout) and nothing else.
        self._client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: datetime | None = None  # last successful fetch
        self._tried_at: datetime | None = None  # last fetch, successful or not
        self._last_failed = False
        self._lock = threading.Lock()  # one fetch at a time; a burst waits for it instead of adding its own

    def key(self, kid: str, now: datetime) -> PyJWK:
        """Return the key `kid` names, fetching the set when it is unknown or old (at most once a minute)."""
        key = self._keys.get(kid)
        if key is None or self._old(now):
            # While another request refetches an old set, a key it holds serves without waiting.
            if self._lock.acquire(blocking=key is None):
                try:
                    if self._may_fetch(now) and (kid not in self._keys or self._old(now)):
                        self._fetch(now)
                finally:
                    self._lock.release()
            key = self._keys.get(kid)
        if self._fetched_at is None or (self._last_failed and (key is None or self._expired(now))):
            # Nothing to check it with: a key just rotated in, or a provider down for long, must
            # not turn into "the token is invalid"; and no token passes unchecked either.
            raise KeySetUnavailable(self.provider, self._seconds_to_next_fetch(now))
        if key is None:
            raise InvalidIdToken(f"no {self.provider} key has this kid")
        return key

    def _old(self, now: datetime) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= KEY_SET_LIFESPAN

    def _expired(self, now: datetime) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= KEY_SET_LIFESPAN + STALE_KEYS_GRACE

    def _may_fetch(self, now: datetime) -> bool:
        if self._tried_at is None:
            return True
        # A request that read the clock just before the last fetch began is within the minute too;
        # only a clock set back by more than that (adjusted, or a test's) may fetch again.
        return abs(now - self._tried_at) >= REFETCH_INTERVAL

    def _seconds_to_next_fetch(self, now: datetime) -> float:
        if self._tried_at is None:
            return 1
        return max(1.0, (self._tried_at + REFETCH_INTERVAL - now).total_seconds())

    def _fetch(self, now: datetime) -> None:
        """Replace the keys with the provider's current set; on any failure keep the ones held."""
        self._tried_at = now
        try:
            key_set = PyJWKSet.from_dict(self._client.fetch_data())
        except Exception as error:  # unreachable, an HTTP error, junk: all mean "no keys now"
            log.warning("the %s key set could not be fetched: %s", self.provider, type(error).__name__)
            self._last_failed = True
            return
        self._keys = {
            key.key_id: key
            for key in key_set.keys
            if isinstance(key.key_id, str)
            and key.algorithm_name == ALGORITHM
            and key.public_key_use in ("sig", None)
        }
        self._fetched_at = now
        self._last_failed = False


@dataclass(frozen=True)
class Provider:
    """One identity provider as configured: who issues its tokens, for which apps, with which keys."""

    name: str
    client_ids: tuple[str, ...]
    keys: ProviderKeys

    @property
    def enabled(self) -> bool:
        return bool(self.client_ids)


def _number(claims: dict, name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidIdToken(f"{name} is missing or not a number")
    return float(value)


def _time(seconds: float) -> datetime:
    try:
        return datetime(1970, 1, 1) + timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # ValueError: NaN, which Python's JSON reads
        raise InvalidIdToken("a time claim is out of range") from None


def _text_claim(claims: dict, name: str, max_chars: int) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:max_chars] or None


def _name(claims: dict, name: str) -> str | None:
    # Cleaned, not refused: the provider's name is no reason to turn the sign-in away.
    value = claims.get(name)
    return clean_name(value) if isinstance(value, str) else None


def _email(claims: dict) -> str | None:
    """Return the token's email, normalised as signup does, or None when it has no plausible one."""
    email = _text_claim(claims, "email", 254)
    if email is None or "@" not in email:
        return None
    try:
        return normalise_email(email)
    except InvalidEmailDomain:
        return None


def _email_verified(claims: dict) -> bool:
    # Google sends a boolean; Apple has sent the strings "true" and "false".
    value = claims.get("email_verified")
    return value is True or value == "true"


def _nonce_matches(token_nonce: object, nonce: str | None) -> bool:
    """Say whether the token's nonce is the SHA-256 hex of the raw nonce the client sent.

    Never the raw value itself: the token's own claim, which anyone holding a copy of the token
    can read, would then pass as the nonce.
    """
    if nonce is None:
        # A token bound to a nonce is only good to whoever knows it: without it, a copy is being replayed.
        return token_nonce is None
    if not isinstance(token_nonce, str):
        return False
    hashed = hashlib.sha256(nonce.encode()).hexdigest()
    return hmac.compare_digest(token_nonce.encode(), hashed.encode())


class IdTokenVerifier:
    """Checks a Google or Apple ID token: signature by the provider's key, issuer, audience, times, nonce."""

    def __init__(self, providers: dict[str, Provider], leeway: int = 0) -> None:
        self.providers = providers
        self.leeway = timedelta(seconds=leeway)

    @classmethod
    def from_settings(cls, settings: Settings) -> IdTokenVerifier:
        return cls(
            {
                GOOGLE: Provider(
                    GOOGLE,
                    settings.providers.google_client_ids,
                    ProviderKeys(GOOGLE, settings.providers.google_jwks_url),
                ),
                APPLE: Provider(
                    APPLE,
                    settings.providers.apple_client_ids,
                    ProviderKeys(APPLE, settings.providers.apple_jwks_url),
                ),
            },
            leeway=settings.tokens.jwt_leeway,
        )

    def verify(self, provider_name: str, token: str, nonce: str | None, now: datetime) -> IdentityClaims:
        """Return what a valid token says, or raise InvalidIdToken, ProviderDisabled or KeySetUnavailable."""
        provider = self.providers.get(provider_name)
        if provider is None or not provider.enabled:
            raise ProviderDisabled(provider_name)
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidIdToken("too long")
        try:
            header = jwt.get_unverified_header(token)
        except (PyJWTError, ValueError, TypeError):
            raise InvalidIdToken("not a JWT") from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
            raise InvalidIdToken("not RS256 with a kid")
        key = provider.keys.key(kid, now)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=list(provider.client_ids),
                issuer=list(ISSUERS[provider.name]),
                # Times are checked below on the service's clock, not PyJWT's.
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except (PyJWTError, ValueError, TypeError):
            raise InvalidIdToken("signature, issuer or audience") from None
        return self._check_claims(provider, claims, nonce, now)

    def _check_claims(
        self, provider: Provider, claims: dict, nonce: str | None, now: datetime
    ) -> IdentityClaims:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        # Every audience must be one of ours (OpenID Connect Core 3.1.3.7), not merely one of them.
        if not all(audience in provider.client_ids for audience in audiences):
            raise InvalidIdToken("an audience that is not ours")
        if _time(_number(claims, "exp")) + self.leeway <= now:
            raise InvalidIdToken("expired")
        issued_at = _time(_number(claims, "iat"))
        if issued_at - self.leeway > now:
            raise InvalidIdToken("issued in the future")
        if "nbf" in claims and _time(_number(claims, "nbf")) - self.leeway > now:
            raise InvalidIdToken("not valid yet")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
            raise InvalidIdToken("no usable sub")
        if not _nonce_matches(claims.get("nonce"), nonce):
            raise InvalidIdToken("nonce")
        return IdentityClaims(
            provider=provider.name,
            subject=subject,
            email=_email(claims),
            email_verified=_email_verified(claims),
            given_name=_name(claims, "given_name"),
            family_name=_name(claims, "family_name"),
            issued_at=issued_at,
        )
