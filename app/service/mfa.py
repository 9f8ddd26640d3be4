"""Two-step verification: set TOTP up and turn it on or off, finish held sign-ins, step up, recovery codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import AuthError, Code
from ..otp import new_recovery_codes, new_secret, otpauth_url
from ..secret_box import SecretBox
from ..storage import Storage
from ..tokens import Factors, TokenSigner
from .activity import ActivityLog
from .identities import Identities
from .notices import Notices
from .proofs import PasskeyAssertion, Proof, Proofs
from .reauth import Reauth
from .second_factor import (
    MFA_TOKEN_WRONG_CODES,
    RECOVERY_CODE,
    SecondFactor,
    password_binding,
    totp_enabled,
)
from .sessions import PASSWORD_METHOD, LoginResult, Sessions, first_factor
from .shared import Client, Clock, ensure_email_verified, ensure_enabled, token_hash

EMAIL_CHANGE_HOLD = timedelta(days=7)
RECENT_EMAIL_CHANGE = (
    "The email of this account changed in the last 7 days: make sure the request comes from the "
    "owner, then use --force."
)


@dataclass(frozen=True)
class MfaRules:
    """The second factor's settings: secrets' keys, the daily ceiling of wrong codes, the app's name."""

    box: SecretBox
    failures_per_day: int
    app_name: str


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_url: str


@dataclass(frozen=True)
class Enabled:
    recovery_codes: list[str]
    auth_token: str


@dataclass(frozen=True)
class Verified:
    result: LoginResult
    recovery_codes_left: int | None  # set when a recovery code was used


@dataclass(frozen=True)
class Mfa:
    """The `mfa/*` routes' rules, on top of SecondFactor's code checks."""

    storage: Storage
    second_factor: SecondFactor
    proofs: Proofs
    reauth: Reauth
    sessions: Sessions
    identities: Identities
    signer: TokenSigner
    activity: ActivityLog
    notices: Notices
    app_name: str
    require_verified_email: bool
    clock: Clock

    def status(self, user_id: str) -> dict:
        """Say which factors the account has: TOTP on, recovery codes left, passkeys."""
        return {
            "totp": self.second_factor.enabled(user_id),
            "recoveryCodesLeft": self.second_factor.recovery_codes_left(user_id),
            "passkeys": self.proofs.passkey_count(user_id),
        }

    def setup(self, user_id: str, session_id: str, proof: Proof) -> TotpSetup:
        """Make a new pending secret (replacing a pending one), after the owner's proof."""
        self.second_factor.ensure_available()
        user = self.reauth.signed_in_user(user_id, session_id)
        if not user["emailVerified"]:
            raise AuthError(Code.EMAIL_NOT_VERIFIED)
        if self.second_factor.enabled(user_id):
            raise AuthError(Code.MFA_ALREADY_ENABLED)
        self.proofs.check(user, session_id, proof)
        secret = new_secret()
        if not self.storage.mfa.set_pending(
            user_id, self.second_factor.box.encrypt(secret, user_id), self.clock()
        ):
            raise AuthError(Code.MFA_ALREADY_ENABLED)
        return TotpSetup(secret, otpauth_url(secret, self.app_name, user["email"]))

    def enable(self, user_id: str, session_id: str, code: str, client: Client) -> Enabled:
        """Turn the pending secret on with its first code: recovery codes, aal 2 here, weaker sessions end."""
        self.second_factor.ensure_available()
        user = self.reauth.signed_in_user(user_id, session_id)
        factors = self.storage.mfa.find(user_id)
        if totp_enabled(factors):
            raise AuthError(Code.MFA_ALREADY_ENABLED)
        if factors is None or not factors.get("pendingSecret"):
            raise AuthError(Code.MFA_SETUP_MISSING)
        now = self.clock()
        pending = factors["pendingSecret"]
        step = self.second_factor.check_pending(user, pending, code, now)
        codes = new_recovery_codes()
        salt, hashes = self.second_factor.hash_recovery_codes(codes)
        if not self.storage.mfa.enable(user_id, pending, pending, step, salt, hashes):
            raise AuthError(Code.MFA_SETUP_MISSING)  # replaced by a new setup, or enabled, meanwhile
        auth_token = self._prove_second_factor(user, session_id, ("otp",), now)
        self.storage.sessions.end_below_aal2(user_id, now, except_id=session_id)
        self.activity.log(user_id, "mfaEnabled", client, now)
        self.notices.send("mfa_enabled", user["email"], now, address_proven=True, first=user["first"])
        return Enabled(codes, auth_token)

    def verify(self, mfa_token: str, code: str, client: Client) -> Verified:
        """Finish a held sign-in with a TOTP or recovery code: open its session with aal 2."""
        now = self.clock()
        held = token_hash(mfa_token)
        pending = self.storage.mfa.find_token(held, now, MFA_TOKEN_WRONG_CODES)
        if pending is None:
            raise AuthError(Code.MFA_TOKEN_INVALID)
        user = self._holder(pending)
        try:
            kind = self.second_factor.check(user, code, now)
        except AuthError as error:
            if error.code is Code.INVALID_CODE:
                self.storage.mfa.token_wrong_code(held)
            raise
        if not self.storage.mfa.spend_token(held, now, MFA_TOKEN_WRONG_CODES):
            raise AuthError(Code.MFA_TOKEN_INVALID)  # another request spent it first
        if pending.get("link"):
            self.identities.link_after_second_factor(user, pending["link"], client)
        method = pending["method"]
        result = self.sessions.start_session(
            user,
            client,
            now,
            method,
            checked_hash=user["password"] if method == PASSWORD_METHOD else None,
            factors=first_factor(method, now).with_second_factor(("otp",), now),
            second_factor=kind,
        )
        left = self.second_factor.recovery_codes_left(user["id"]) if kind == RECOVERY_CODE else None
        return Verified(result, left)

    def _holder(self, pending: dict) -> dict:
        """Return the account a held sign-in is for, if it still may finish; void it if not."""
        user = self.storage.users.find_by_id(pending["userId"])
        if user is None or password_binding(user) != pending["password"]:
            self.storage.mfa.void_tokens(pending["userId"])
            raise AuthError(Code.MFA_TOKEN_INVALID)
        if user["disabled"]:
            self.storage.mfa.void_tokens(user["id"])
        ensure_enabled(user)
        ensure_email_verified(user, required=self.require_verified_email)
        return user

    def step_up(
        self, user_id: str, session_id: str, code: str | None, passkey: PasskeyAssertion | None
    ) -> str:
        """Prove a second factor on this session again: a new access token with aal 2, auth_time now."""
        user = self.reauth.signed_in_user(user_id, session_id)
        now = self.clock()
        if passkey is not None:
            amr = self.proofs.check(user, session_id, Proof(passkey=passkey)).amr
            return self._prove_second_factor(user, session_id, amr, now)
        if not code:
            raise AuthError(Code.STEP_UP_REQUIRED, errors={"code": ["Send the code or a passkey."]})
        self.second_factor.check(user, code, now)
        return self._prove_second_factor(user, session_id, ("otp",), now)

    def require_step_up(self, user_id: str, code: str | None) -> None:
        """Before a sensitive change: with TOTP on, a TOTP or recovery code (missing: stepUpRequired).

        Asked before the change's own proof: a code spent on a change whose password then turns
        out wrong is spent all the same, as it would be at sign-in.
        """
        self.second_factor.require(self.reauth.existing_user(user_id), code, self.clock())

    def regenerate_recovery_codes(
        self,
        user_id: str,
        session_id: str,
        code: str | None,
        passkey: PasskeyAssertion | None,
        client: Client,
    ) -> list[str]:
        """Replace the recovery codes, with a TOTP code or a passkey (not a recovery code)."""
        user = self.reauth.signed_in_user(user_id, session_id)
        now = self.clock()
        if not self.second_factor.enabled(user_id):
            raise AuthError(Code.MFA_NOT_ENABLED)
        if passkey is not None:
            self.proofs.check(user, session_id, Proof(passkey=passkey))
        else:
            self.second_factor.require(user, code, now, recovery_ok=False)
        codes = new_recovery_codes()
        salt, hashes = self.second_factor.hash_recovery_codes(codes)
        if not self.storage.mfa.replace_recovery_codes(user_id, salt, hashes):
            raise AuthError(Code.MFA_NOT_ENABLED)
        self.activity.log(user_id, "recoveryCodesRegenerated", client, now)
        return codes

    def disable(self, user_id: str, session_id: str, proof: Proof, code: str | None, client: Client) -> None:
        """Turn TOTP off, with a proof and a code whatever the proof: secret and recovery codes go."""
        user = self.reauth.signed_in_user(user_id, session_id)
        if not self.second_factor.enabled(user_id):
            raise AuthError(Code.MFA_NOT_ENABLED)
        self.proofs.check(user, session_id, proof)
        now = self.clock()
        if not code:
            raise AuthError(
                Code.STEP_UP_REQUIRED, errors={"code": ["Enter the code from your authenticator app."]}
            )
        self.second_factor.check(user, code, now)
        self.storage.mfa.remove(user_id)
        self.storage.mfa.void_tokens(user_id)
        self.activity.log(user_id, "mfaDisabled", client, now)
        self.notices.send("mfa_disabled", user["email"], now, address_proven=True, first=user["first"])

    def operator_reset(self, user: dict, client: Client, *, force: bool = False) -> bool:
        """Remove the account's second factor (its owner lost it); end every session; say if it had one.

        Refused without `force` when the email changed in the last 7 days: whoever took an account
        over would change its address first, then ask support to remove the owner's factor.
        """
        now = self.clock()
        if not force and self.storage.activity.happened_since(
            user["id"], "emailChanged", now - EMAIL_CHANGE_HOLD
        ):
            raise AuthError(Code.FORBIDDEN, RECENT_EMAIL_CHANGE)
        had = self.storage.mfa.remove(user["id"])
        self.storage.mfa.void_tokens(user["id"])
        self.storage.sessions.end_all(user["id"], now)
        self.activity.log(user["id"], "mfaReset", client, now)
        self.notices.send("mfa_reset", user["email"], now, address_proven=True, first=user["first"])
        return had

    def _prove_second_factor(self, user: dict, session_id: str, amr: tuple[str, ...], now: datetime) -> str:
        """Record a second factor on the session and return its new access token (aal 2)."""
        session = self.storage.sessions.find_open(session_id=session_id, user_id=user["id"], now=now)
        if session is None:
            raise AuthError(Code.INVALID_TOKEN)
        factors = Factors.of_session(session).with_second_factor(amr, now)
        if not self.storage.sessions.set_factors(session_id, user["id"], factors.stored(), now):
            raise AuthError(Code.INVALID_TOKEN)
        return self.signer.access_token(user, session_id, now, factors)
