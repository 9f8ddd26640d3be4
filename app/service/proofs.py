"""A proof that the caller of a sensitive route is the account's owner, not just a holder of its token.

A proof is the password; or, for an account without one, a fresh ID token of a linked provider
(`currentIdToken` + `currentNonce`); or a passkey assertion (`{challengeId, credential}`).
`Proofs.check` says which kind it was, since a passkey proof also stands in for the second factor;
`Proofs.confirm` adds the step-up: with TOTP on, a code unless the proof was a passkey. Every route
that asks the owner for a proof goes through here (changeEmail, deleteAccount, linkIdToken, the
passkey changes, the `mfa/*` routes).

Passkeys plug in through `PasskeyProofs`: build the service with an object that verifies an
assertion for a user and session (`build_auth_service(passkey_proofs=...)`). Until one is
given, a passkey proof answers `passkeysDisabled`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import CURRENT_ID_TOKEN_REQUIRED, AuthError, Code, field_error
from ..id_tokens import provider_named_by
from .identities import Identities
from .reauth import Reauth
from .second_factor import SecondFactor

PASSWORD = "password"
ID_TOKEN = "idToken"
PASSKEY = "passkey"


@dataclass(frozen=True)
class PasskeyAssertion:
    """A passkey proof as sent: the challenge asked for with the bearer token, and the assertion."""

    challenge_id: str
    credential: dict


class PasskeyProofs(Protocol):
    """What the passkey part provides to the second factor: proofs and a count for `GET /mfa`."""

    def check_proof(self, user: dict, session_id: str, assertion: PasskeyAssertion) -> tuple[str, ...]:
        """Verify an assertion of one of the user's passkeys, against a challenge bound to this session;
        return what it adds to `amr` (`("hwk", "user")` or `("swk", "user")`), or raise AuthError
        (invalidPasskey, challengeInvalid)."""
        ...

    def count(self, user_id: str) -> int:
        """Return how many passkeys the user has."""
        ...


@dataclass(frozen=True)
class Proof:
    """What a request sent as proof; the one that counts is checked in the order of the fields."""

    password: str | None = None
    current_id_token: str | None = None
    current_nonce: str | None = None
    passkey: PasskeyAssertion | None = None


@dataclass(frozen=True)
class ProofResult:
    kind: str  # PASSWORD, ID_TOKEN or PASSKEY
    amr: tuple[str, ...]  # what the proof adds to a session's `amr`: pwd; fed; hwk or swk, user

    @property
    def is_passkey(self) -> bool:
        return self.kind == PASSKEY


@dataclass(frozen=True)
class Proofs:
    """Checks a proof against the signed-in user."""

    reauth: Reauth
    identities: Identities
    passkeys: PasskeyProofs | None = None
    second_factor: SecondFactor | None = None

    def confirm(self, user: dict, session_id: str, proof: Proof, code: str | None) -> ProofResult:
        """A sensitive change's checks: with TOTP on, the step-up `code` unless the proof is a passkey
        (a passkey with user verification is two factors), then the proof itself.

        The code is asked before the proof: a code spent on a change whose password then turns
        out wrong is spent all the same, as it would be at sign-in.
        """
        if proof.passkey is None and self.second_factor is not None:
            self.second_factor.require(user, code, self.second_factor.clock())
        return self.check(user, session_id, proof)

    def check(self, user: dict, session_id: str, proof: Proof) -> ProofResult:
        """Check the proof; raise proofRequired, a wrong password, invalidIdToken or passkeysDisabled."""
        if proof.passkey is not None:
            if self.passkeys is None:
                raise AuthError(Code.PASSKEYS_DISABLED)
            return ProofResult(PASSKEY, self.passkeys.check_proof(user, session_id, proof.passkey))
        if user["password"]:
            if proof.password is None:
                raise field_error(Code.PROOF_REQUIRED, "password")
            self.reauth.check_password(user, session_id, proof.password, "password")
            return ProofResult(PASSWORD, ("pwd",))
        if proof.current_id_token is None:
            raise field_error(Code.PROOF_REQUIRED, "currentIdToken", CURRENT_ID_TOKEN_REQUIRED)
        provider = provider_named_by(proof.current_id_token)
        if provider is None:
            raise AuthError(Code.INVALID_ID_TOKEN)
        self.identities.confirm_identity(user["id"], provider, proof.current_id_token, proof.current_nonce)
        return ProofResult(ID_TOKEN, ("fed",))

    def passkey_count(self, user_id: str) -> int:
        return 0 if self.passkeys is None else self.passkeys.count(user_id)
