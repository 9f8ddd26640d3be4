"""The auth service: the rules for accounts, sessions and tokens, in parts built from what they use.

`AuthService` holds the parts the views and commands call (`auth.sessions.login(...)`,
`auth.recovery.reset_password(...)`); `build_auth_service` wires them, and reads as the
diagram of who depends on whom.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..id_tokens import IdTokenVerifier
from ..lockout import LoginThrottle
from ..passwords import PasswordHasher
from ..storage import Storage
from ..tokens import TokenSigner
from .accounts import Accounts
from .activity import ActivityLog
from .codes import Codes, InvalidCode
from .deletion import Deletion
from .identities import Identities, IdTokenLogin
from .mfa import Mfa, MfaRules
from .notices import Notices
from .operators import Operators
from .passkeys import PasskeyRules, Passkeys
from .profile import Profile
from .proofs import PasskeyAssertion, PasskeyProofs, Proof, Proofs
from .reauth import Reauth
from .recovery import Recovery
from .second_factor import SecondFactor, SignInHold
from .sessions import LoginResult, Sessions
from .shared import (
    OPERATOR,
    AccountRules,
    Client,
    Clock,
    MailSender,
    NoMail,
    SessionRules,
    ensure_enabled,
    token_hash,
    utc_now,
)
from .tokens import Refreshed, Tokens
from .verification import Verification

__all__ = [
    "OPERATOR",
    "AccountRules",
    "AuthService",
    "Client",
    "IdTokenLogin",
    "InvalidCode",
    "LoginResult",
    "MfaRules",
    "PasskeyAssertion",
    "PasskeyProofs",
    "PasskeyRules",
    "Proof",
    "Refreshed",
    "SessionRules",
    "build_auth_service",
    "ensure_enabled",
    "token_hash",
    "utc_now",
]


@dataclass(frozen=True)
class AuthService:
    """The parts of the auth service, each built from the collaborators it takes."""

    storage: Storage
    signer: TokenSigner
    clock: Clock
    activity: ActivityLog
    tokens: Tokens
    sessions: Sessions
    accounts: Accounts
    verification: Verification
    recovery: Recovery
    profile: Profile
    identities: Identities
    deletion: Deletion
    operators: Operators
    passkeys: Passkeys
    second_factor: SecondFactor
    proofs: Proofs
    mfa: Mfa


def build_auth_service(
    storage: Storage,
    signer: TokenSigner,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    *,
    verifier: IdTokenVerifier | None = None,
    mailer: MailSender | None = None,
    session_rules: SessionRules,
    account_rules: AccountRules,
    mfa_rules: MfaRules,
    passkey_rules: PasskeyRules,
    passkey_proofs: PasskeyProofs | None = None,
    clock: Clock = utc_now,
) -> AuthService:
    """Build every part from its collaborators: the wiring diagram of the service."""
    verifier = verifier or IdTokenVerifier({})  # no provider configured: each is disabled
    mailer = mailer or NoMail()
    require_verified = account_rules.require_email_verification
    policy = account_rules.password_policy

    activity = ActivityLog(storage)
    notices = Notices(storage, mailer, account_rules.mail_limit_per_hour)
    reauth = Reauth(storage, hasher, throttle, clock)
    codes = Codes(storage, mailer, account_rules, activity, notices)
    second_factor = SecondFactor(storage, mfa_rules.box, hasher, notices, mfa_rules.failures_per_day, clock)
    hold = SignInHold(storage, clock)
    tokens = Tokens(storage, signer, reauth, activity, session_rules, clock)
    sessions = Sessions(
        storage, signer, hasher, throttle, activity, session_rules, require_verified, clock, hold
    )
    verification = Verification(storage, codes, hasher, throttle, activity, clock)
    accounts = Accounts(storage, hasher, policy, verification, reauth, codes, activity, notices, clock)
    recovery = Recovery(storage, codes, hasher, policy, throttle, activity, notices, clock, second_factor)
    identities = Identities(
        storage, verifier, sessions, reauth, activity, notices, require_verified, clock, hold
    )
    passkeys = Passkeys(
        storage,
        sessions,
        reauth,
        identities,
        activity,
        notices,
        passkey_rules,
        require_verified,
        clock,
        second_factor,
    )
    proofs = Proofs(reauth, identities, passkey_proofs or passkeys, second_factor)
    mfa = Mfa(
        storage,
        second_factor,
        proofs,
        reauth,
        sessions,
        identities,
        signer,
        activity,
        notices,
        mfa_rules.app_name,
        require_verified,
        clock,
    )
    profile = Profile(storage, codes, reauth, activity, notices, clock, proofs)
    deletion = Deletion(storage, identities, reauth, notices, clock, proofs)
    operators = Operators(storage, hasher, throttle, codes, deletion, activity, clock)
    return AuthService(
        storage=storage,
        signer=signer,
        clock=clock,
        activity=activity,
        tokens=tokens,
        sessions=sessions,
        accounts=accounts,
        verification=verification,
        recovery=recovery,
        profile=profile,
        identities=identities,
        deletion=deletion,
        operators=operators,
        passkeys=passkeys,
        second_factor=second_factor,
        proofs=proofs,
        mfa=mfa,
    )
