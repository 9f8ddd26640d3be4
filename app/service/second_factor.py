"""Checking a second-factor code (TOTP or recovery code), and holding back sign-ins until one comes.

`SecondFactor` is what every route that takes a code uses: `mfa/verify`, `stepUp`, `enable`,
`disable`, the step-up of sensitive changes and `resetPassword`'s `mfaCode`. Wrong codes are
counted per account, atomically and before the comparison, so concurrent guesses cannot pass
MFA_FAILURES_PER_DAY together. `SignInHold` is what `login` and `loginWithIdToken` call once
the first factor is proved: with TOTP on they get a single-use `mfaToken` instead of a session.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import TOTP_LOCKED, AuthError, Code, RateLimited
from ..otp import looks_like_totp, matching_step, normalise_recovery_code
from ..passwords import PasswordHasher
from ..secret_box import SecretBox, Undecryptable
from ..storage import Storage
from .notices import Notices
from .shared import Clock, token_hash

log = logging.getLogger(__name__)

TOTP = "totp"
RECOVERY_CODE = "recoveryCode"
WRONG_MFA_CODES = "wrongMfaCodes"  # the daily counter of an account's wrong second-factor codes
DAY = timedelta(days=1)
LOCK_AFTER_IN_A_ROW = 100  # wrong codes in a row after which TOTP needs a recovery code or a reset
MFA_TOKEN_TTL = timedelta(minutes=5)
MFA_TOKEN_WRONG_CODES = 5


def invalid_code(message: str | None = None) -> AuthError:
    return AuthError(Code.INVALID_CODE, message)


def totp_enabled(factors: dict | None) -> bool:
    return factors is not None and factors.get("secret") is not None


def password_binding(user: dict) -> str:
    """What a pending sign-in remembers of the password: a reset or change since then voids it."""
    return token_hash(user.get("password") or "")


@dataclass(frozen=True)
class SecondFactor:
    """Checks an account's second-factor codes, counting the wrong ones."""

    storage: Storage
    box: SecretBox
    hasher: PasswordHasher
    notices: Notices
    failures_per_day: int
    clock: Clock

    def enabled(self, user_id: str) -> bool:
        """Say whether the account has TOTP on."""
        return totp_enabled(self.storage.mfa.find(user_id))

    def ensure_available(self) -> None:
        """Refuse TOTP on a server with no MFA_ENCRYPTION_KEYS (production without them)."""
        if not self.box.available:
            raise AuthError(Code.MFA_UNAVAILABLE)

    def require(self, user: dict, code: str | None, now: datetime, *, recovery_ok: bool = True) -> str | None:
        """Step-up: with TOTP on, check `code` (missing: stepUpRequired); return its kind, or None."""
        if not self.enabled(user["id"]):
            return None
        if not code:
            raise field_error_step_up()
        return self.check(user, code, now, recovery_ok=recovery_ok)

    def check(self, user: dict, code: str, now: datetime, *, recovery_ok: bool = True) -> str:
        """Check a TOTP code (accepted once) or, if `recovery_ok`, a recovery code (spent): its kind."""
        factors = self.storage.mfa.find(user["id"])
        if not totp_enabled(factors):
            raise AuthError(Code.MFA_NOT_ENABLED)
        assert factors is not None
        self.ensure_available()
        self._claim_try(user["id"], now)
        if looks_like_totp(code):
            if factors.get("failStreak", 0) >= LOCK_AFTER_IN_A_ROW:
                self._wrong(user, now)
                raise invalid_code(TOTP_LOCKED)
            kind = TOTP if self._totp_matches(user["id"], factors, code, now) else None
        else:
            kind = (
                RECOVERY_CODE if recovery_ok and self._spend_recovery_code(user, factors, code, now) else None
            )
        if kind is None:
            self._wrong(user, now)
            raise invalid_code()
        self._right(user["id"])
        return kind

    def check_pending(self, user: dict, pending: str, code: str, now: datetime) -> int:
        """Check the first code of a pending secret (the encrypted `pending`); return its time step."""
        self._claim_try(user["id"], now)
        try:
            secret = self.box.decrypt(pending, user["id"])
        except Undecryptable:  # set up under a key no longer configured (a development restart)
            self._give_back(user["id"])
            raise AuthError(Code.MFA_SETUP_MISSING) from None
        step = matching_step(secret, code, now)
        if step is None:
            self._wrong(user, now)
            raise invalid_code()
        self._right(user["id"])
        return step

    def _totp_matches(self, user_id: str, factors: dict, code: str, now: datetime) -> bool:
        try:
            secret = self.box.decrypt(factors["secret"], user_id)
        except Undecryptable:
            # Its key left MFA_ENCRYPTION_KEYS: no code can be checked; recovery codes still work.
            log.error("the TOTP secret of user %s names no configured MFA_ENCRYPTION_KEYS key", user_id)
            self._give_back(user_id)
            raise AuthError(Code.MFA_UNAVAILABLE) from None
        step = matching_step(secret, code, now)
        # The step must be later than every step used: the same code, or an earlier one, is refused.
        if step is None or not self.storage.mfa.use_step(user_id, step):
            return False
        if not self.box.names_current_key(factors["secret"]):  # rotate to the first key as it is used
            self.storage.mfa.replace_secret(user_id, factors["secret"], self.box.encrypt(secret, user_id))
        return True

    def _spend_recovery_code(self, user: dict, factors: dict, code: str, now: datetime) -> bool:
        normalised = normalise_recovery_code(code)
        if normalised is None or not factors.get("recoverySalt"):
            return False
        # One salt per account: one hash tests the guess against every unused code.
        hashed = self.hasher.hash_with_salt(normalised, factors["recoverySalt"])
        if not self.storage.mfa.spend_recovery_code(user["id"], hashed):
            return False
        left = len(factors.get("recoveryHashes", [])) - 1
        self.notices.send(
            "recovery_code_used", user["email"], now, address_proven=True, first=user["first"], left=left
        )
        return True

    def recovery_codes_left(self, user_id: str) -> int:
        factors = self.storage.mfa.find(user_id)
        return len(factors.get("recoveryHashes", [])) if totp_enabled(factors) and factors else 0

    def hash_recovery_codes(self, codes: list[str]) -> tuple[str, list[str]]:
        """Return a new salt and the hashes of `codes` under it (as typed back: normalised)."""
        salt = self.hasher.new_salt()
        hashes = [self.hasher.hash_with_salt(normalise_recovery_code(code) or "", salt) for code in codes]
        return salt, hashes

    def _claim_try(self, user_id: str, now: datetime) -> None:
        """Count a try against the account's daily ceiling before comparing; raise RateLimited past it."""
        if not self.storage.counters.count(WRONG_MFA_CODES, user_id, self.failures_per_day, now, window=DAY):
            wait = self.storage.counters.window_end(WRONG_MFA_CODES, user_id, now) - now
            raise RateLimited(wait.total_seconds())

    def _right(self, user_id: str) -> None:
        self._give_back(user_id)  # a right code is not a guess
        self.storage.mfa.clear_streak(user_id)

    def _give_back(self, user_id: str) -> None:
        """Take back a try counted against the daily ceiling: it turned out not to be a guess."""
        self.storage.counters.uncount(WRONG_MFA_CODES, user_id)

    def _wrong(self, user: dict, now: datetime) -> None:
        """Count a wrong code in a row; the first of a day tells the owner someone knows the password."""
        self.storage.mfa.count_wrong(user["id"])
        if self.storage.mfa.first_wrong_of_day(user["id"], now.date().isoformat()):
            self.notices.send("mfa_wrong_code", user["email"], now, address_proven=True, first=user["first"])


def field_error_step_up() -> AuthError:
    return AuthError(Code.STEP_UP_REQUIRED, errors={"code": ["Enter the code from your authenticator app."]})


@dataclass(frozen=True)
class SignInHold:
    """Holds back a sign-in whose account has TOTP on: it gets an mfaToken, and no session, until verify."""

    storage: Storage
    clock: Clock

    def hold_if_needed(self, user: dict, method: str, link: dict | None = None) -> None:
        """With TOTP on, raise mfaRequired with a new mfaToken for this first factor (and a link to make)."""
        if not totp_enabled(self.storage.mfa.find(user["id"])):
            return
        token = secrets.token_urlsafe(16)  # 128 bits
        document = {"method": method, "password": password_binding(user), "link": link}
        self.storage.mfa.add_token(token_hash(token), user["id"], document, self.clock() + MFA_TOKEN_TTL)
        raise AuthError(Code.MFA_REQUIRED, extra={"mfaToken": token})
