"""Passkeys (WebAuthn): register one, sign in with one, prove with one, list, rename and remove them.

The WebAuthn checks themselves (challenge, origin, RP ID hash, user presence and
verification, algorithm, signature) are py_webauthn's; what it cannot know is kept here:
challenges that are single use and bound to their purpose, user and session, the signature
counter (compared only after the signature verified), the backup-eligible flag a passkey was
registered with, the user handle, and the account's state.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_authentication_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..errors import AuthError, Code
from ..storage import Storage
from ..tokens import Factors
from .activity import ActivityLog
from .identities import Identities
from .notices import Notices
from .proofs import PasskeyAssertion, Proof, ProofResult, Proofs
from .reauth import Reauth
from .second_factor import SecondFactor
from .sessions import LoginResult, Sessions
from .shared import Client, Clock, ensure_email_verified, ensure_enabled

log = logging.getLogger(__name__)

PASSKEY_METHOD = "passkey"
CHALLENGE_TTL = timedelta(minutes=5)
CEREMONY_TIMEOUT_MS = 300_000  # what the browser or OS may give the user: the challenge's lifetime
CHALLENGE_BYTES = 32
USER_HANDLE_BYTES = 32
DEFAULT_NAME = "Passkey"
# The algorithms offered, most preferred first; an authenticator's key of any other is refused.
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
# What a challenge was given for: it answers nothing else.
REGISTER, LOGIN, PROOF = "register", "login", "proof"
# Errors a malformed or failing response raises in py_webauthn (and in parsing its parts).
WEBAUTHN_FAILURES = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


def invalid_passkey() -> AuthError:
    return AuthError(Code.INVALID_PASSKEY)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_passkey_id() -> str:
    """Return a random passkey id (96 bits) that never starts with "-", which a command line reads as an
    option: operators pass it to `users passkeys-remove`."""
    while (passkey_id := secrets.token_urlsafe(12)).startswith("-"):
        pass
    return passkey_id


def passkey_amr(passkey: dict) -> tuple[str, ...]:
    """Return what a passkey says in `amr`: synced `swk` or device-bound `hwk`, and `user`."""
    return ("swk" if passkey["synced"] else "hwk", "user")


@dataclass(frozen=True)
class PasskeyRules:
    """The relying party: its id (None: passkeys are off), its name, and the origins it accepts."""

    rp_id: str | None
    rp_name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Ceremony:
    """A challenge handed to a client: its id (sent back with the answer) and the WebAuthn options JSON."""

    challenge_id: str
    options: dict


def assertion_of(sent: dict | None) -> PasskeyAssertion | None:
    """Read a body's `passkey` (`{"challengeId", "credential"}`); a malformed one is invalidPasskey."""
    if sent is None:
        return None
    challenge_id, credential = sent.get("challengeId"), sent.get("credential")
    if not isinstance(challenge_id, str) or not isinstance(credential, dict):
        raise invalid_passkey()
    return PasskeyAssertion(challenge_id, credential)


@dataclass(frozen=True)
class Passkeys:
    """Registers passkeys, signs in and proves with them, and lists, renames and removes them."""

    storage: Storage
    sessions: Sessions
    reauth: Reauth
    identities: Identities
    activity: ActivityLog
    notices: Notices
    rules: PasskeyRules
    require_verified_email: bool
    clock: Clock
    second_factor: SecondFactor | None = None  # with TOTP on, passkey changes take a step-up code

    def ensure_enabled(self) -> str:
        """Return the RP ID, or refuse with passkeysDisabled when WEBAUTHN_RP_ID is unset."""
        if self.rules.rp_id is None:
            raise AuthError(Code.PASSKEYS_DISABLED)
        return self.rules.rp_id

    # Registration

    def registration_options(
        self, user_id: str, session_id: str, proof: Proof, code: str | None = None
    ) -> Ceremony:
        """Check the owner's proof (and step-up code); return options for navigator.credentials.create()."""
        rp_id = self.ensure_enabled()
        user = self.reauth.signed_in_user(user_id, session_id)
        if not user["emailVerified"]:
            # Until the mailbox is proven the account may be a squatter's: no way in that outlives it.
            raise AuthError(Code.EMAIL_NOT_VERIFIED)
        self.check_owner_proof(user, session_id, proof, code)
        handle = self.storage.users.passkey_user_handle(
            user_id, b64url(secrets.token_bytes(USER_HANDLE_BYTES))
        )
        if handle is None:
            raise AuthError(Code.INVALID_TOKEN)
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        options = generate_registration_options(
            rp_id=rp_id,
            rp_name=self.rules.rp_name,
            user_name=user["email"],
            user_id=from_b64url(handle),
            user_display_name=" ".join(filter(None, (user["first"], user["last"]))) or user["email"],
            challenge=challenge,
            timeout=CEREMONY_TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=self._descriptors(user_id, usable_only=False),
            supported_pub_key_algs=ALGORITHMS,
        )
        return self._ceremony(challenge, REGISTER, user_id, session_id, options_to_json(options))

    def register(
        self,
        user_id: str,
        session_id: str,
        challenge_id: str,
        credential: dict,
        name: str | None,
        client: Client,
    ) -> dict:
        """Verify an authenticator's new credential against its challenge and store it as a passkey."""
        rp_id = self.ensure_enabled()
        user = self.reauth.signed_in_user(user_id, session_id)
        challenge = self._take(challenge_id, REGISTER, user_id, session_id)
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=list(self.rules.origins),
                require_user_presence=True,
                require_user_verification=True,
                supported_pub_key_algs=ALGORITHMS,
            )
            # py_webauthn reads the key's parameters but builds no key: a point off its curve shows here.
            decoded_public_key_to_cryptography(decode_credential_public_key(verified.credential_public_key))
        except WEBAUTHN_FAILURES as error:
            log.info("passkey registration refused: %s", error)
            raise invalid_passkey() from None
        handle = self.storage.users.passkey_user_handle(
            user_id, b64url(secrets.token_bytes(USER_HANDLE_BYTES))
        )
        now = self.clock()
        passkey_id = new_passkey_id()
        stored = {
            "credentialId": b64url(verified.credential_id),
            "userHandle": handle,
            "publicKey": verified.credential_public_key,
            "signCount": verified.sign_count,
            "synced": verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            "name": name or DEFAULT_NAME,
            "transports": _transports(credential),
        }
        if not self.storage.passkeys.add(passkey_id, user_id, stored, now):
            raise invalid_passkey()  # registered already, to this account or another
        self.activity.log(user_id, "passkeyAdded", client, now)
        self.notices.send(
            "passkey_added", user["email"], now, address_proven=True, first=user["first"], name=stored["name"]
        )
        return self.storage.passkeys.find_for_user(user_id, passkey_id) or {}

    # Sign-in and proofs

    def authentication_options(self, user_id: str | None, session_id: str | None) -> Ceremony:
        """Return options for navigator.credentials.get(): a sign-in's, or with a session a proof's.

        Without a session: no credentials listed (discoverable passkeys), so no account is named.
        """
        rp_id = self.ensure_enabled()
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        signed_in = user_id is not None and session_id is not None
        options = generate_authentication_options(
            rp_id=rp_id,
            challenge=challenge,
            timeout=CEREMONY_TIMEOUT_MS,
            allow_credentials=self._descriptors(user_id, usable_only=True) if signed_in else [],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        purpose = PROOF if signed_in else LOGIN
        return self._ceremony(challenge, purpose, user_id, session_id, options_to_json(options))

    def login(self, challenge_id: str, credential: dict, client: Client) -> LoginResult:
        """Verify a passkey's assertion against a sign-in challenge and open a session for its account."""
        self.ensure_enabled()
        challenge = self._take(challenge_id, LOGIN, None, None)
        passkey = self._verify_assertion(challenge, credential, user_id=None, client=client)
        user = self.storage.users.find_by_id(passkey["userId"])
        if user is None:
            raise invalid_passkey()
        ensure_enabled(user)  # only now: saying so before the signature would tell anyone
        ensure_email_verified(user, required=self.require_verified_email)
        now = self.clock()
        # A passkey with user verification is two factors: aal 2, whatever else the account has on.
        factors = Factors((*passkey_amr(passkey), "mfa"), 2, now)
        result = self.sessions.start_session(
            user, client, now, PASSKEY_METHOD, passkey_id=passkey["id"], factors=factors
        )
        # As other logins do: a removal, deletion or disabling that landed meanwhile ends this session.
        self.sessions.confirm_new_session(user["id"], result.session_id, now)
        current = self.storage.passkeys.find_for_user(user["id"], passkey["id"])
        if current is None or current["cloneSuspected"]:
            self.storage.sessions.end(session_id=result.session_id, user_id=user["id"], now=now)
            raise invalid_passkey()
        return result

    def verify_proof(
        self,
        challenge_id: str,
        credential: dict,
        *,
        user_id: str,
        session_id: str,
        client: Client | None = None,
    ) -> dict:
        """Check a passkey assertion as a signed-in user's proof; return the passkey record.

        The challenge must come from authenticationOptions called with this user's bearer token
        in this session, and the passkey must be this user's. The record says `synced` (its
        backup-eligible flag: `swk`, else `hwk`); user verification was required.
        """
        self.ensure_enabled()
        challenge = self._take(challenge_id, PROOF, user_id, session_id)
        return self._verify_assertion(challenge, credential, user_id=user_id, client=client)

    def check_proof(self, user: dict, session_id: str, assertion: PasskeyAssertion) -> tuple[str, ...]:
        """Check a passkey as a signed-in user's proof (the second factor's PasskeyProofs); return what
        it adds to `amr`: a synced passkey's `swk` or a device-bound one's `hwk`, and `user` (its
        user verification)."""
        passkey = self.verify_proof(
            assertion.challenge_id, assertion.credential, user_id=user["id"], session_id=session_id
        )
        return passkey_amr(passkey)

    def count(self, user_id: str) -> int:
        """Return how many passkeys the user has (for `GET /mfa`)."""
        return len(self.storage.passkeys.list_for_user(user_id))

    def check_owner_proof(self, user: dict, session_id: str, proof: Proof, code: str | None) -> ProofResult:
        """Check the proof a passkey change asks for, as every other sensitive change does (`Proofs`):
        a passkey of this account, else the password or a fresh ID token; with TOTP on, and a proof
        that is not a passkey, the step-up code too."""
        return Proofs(self.reauth, self.identities, self, self.second_factor).confirm(
            user, session_id, proof, code
        )

    def _verify_assertion(
        self, challenge: bytes, credential: dict, *, user_id: str | None, client: Client | None
    ) -> dict:
        """Verify an assertion and store its counter; return the passkey. `user_id`: whose it must be."""
        rp_id = self.ensure_enabled()
        try:
            parsed = parse_authentication_credential_json(credential)
        except WEBAUTHN_FAILURES:
            raise invalid_passkey() from None
        passkey = self.storage.passkeys.find_by_credential(parsed.id)
        if (
            passkey is None
            or passkey["cloneSuspected"]
            or (user_id is not None and passkey["userId"] != user_id)
        ):
            raise invalid_passkey()
        self._check_user_handle(parsed, passkey, discoverable=user_id is None)
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=list(self.rules.origins),
                credential_public_key=passkey["publicKey"],
                # Compared below, only once the signature verified: a forged assertion marks nothing.
                credential_current_sign_count=0,
                require_user_verification=True,
            )
        except WEBAUTHN_FAILURES as error:
            log.info("passkey assertion refused: %s", error)
            raise invalid_passkey() from None
        if (verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE) != passkey["synced"]:
            raise invalid_passkey()  # the backup-eligible flag never changes for a credential
        self._count_use(passkey, verified.new_sign_count, client or Client(None, None))
        return passkey

    def _check_user_handle(
        self, parsed: AuthenticationCredential, passkey: dict, *, discoverable: bool
    ) -> None:
        """Refuse an assertion whose user handle is not the passkey's (a sign-in must carry one)."""
        handle = parsed.response.user_handle
        if handle is None:
            if discoverable:
                raise invalid_passkey()
            return
        if not secrets.compare_digest(b64url(handle), passkey["userHandle"] or ""):
            raise invalid_passkey()

    def _count_use(self, passkey: dict, new_count: int, client: Client) -> None:
        """Store the counter, or mark the passkey a suspected clone when it did not move forward."""
        now = self.clock()
        if self.storage.passkeys.record_use(passkey["id"], passkey["signCount"], new_count, now):
            return
        # Another authenticator holds this key: its counter went backwards or repeated.
        if self.storage.passkeys.mark_clone_suspected(passkey["id"]):
            ended = self.storage.sessions.end_opened_by(passkey["userId"], passkey["id"], now)
            self.activity.log(passkey["userId"], "passkeyCloneSuspected", client, now)
            log.warning(
                "passkey counter went backwards: marked as cloned",
                extra={"fields": {"user_id": passkey["userId"], "passkey_id": passkey["id"], "ended": ended}},
            )
        raise invalid_passkey()

    # The user's own passkeys

    def list_passkeys(self, user_id: str) -> list[dict]:
        """Return the user's passkeys, oldest first."""
        self.ensure_enabled()
        return self.storage.passkeys.list_for_user(user_id)

    def rename(self, user_id: str, passkey_id: str, name: str) -> dict:
        """Rename one of the user's passkeys."""
        self.ensure_enabled()
        renamed = self.storage.passkeys.rename(user_id, passkey_id, name)
        if renamed is None:
            raise AuthError(Code.PASSKEY_NOT_FOUND)
        return renamed

    def remove(
        self,
        user_id: str,
        session_id: str,
        passkey_id: str,
        proof: Proof,
        client: Client,
        code: str | None = None,
    ) -> None:
        """Remove one of the user's passkeys (never their last way in) and end the sessions it opened."""
        self.ensure_enabled()
        user = self.reauth.signed_in_user(user_id, session_id)
        passkey = self.storage.passkeys.find_for_user(user_id, passkey_id)
        if passkey is None:
            raise AuthError(Code.PASSKEY_NOT_FOUND)
        self.check_owner_proof(user, session_id, proof, code)
        removed = self.storage.passkeys.remove(user_id, passkey_id)
        if removed is None:
            raise AuthError(Code.PASSKEY_NOT_FOUND)
        if not removed:
            raise AuthError(Code.LAST_SIGN_IN_METHOD)
        now = self.clock()
        self.storage.sessions.end_opened_by(user_id, passkey_id, now)
        self.activity.log(user_id, "passkeyRemoved", client, now)
        self.notices.send(
            "passkey_removed",
            user["email"],
            now,
            address_proven=True,
            first=user["first"],
            name=passkey["name"],
        )

    def remove_by_operator(self, user_id: str, passkey_id: str | None, client: Client) -> list[dict]:
        """Remove one passkey of the user, or all of them, whatever else the account has; return them.

        For a lost or stolen device: the owner gets back in with forgotPassword. The sessions
        each passkey signed in end.
        """
        chosen = [
            passkey
            for passkey in self.storage.passkeys.list_for_user(user_id)
            if passkey_id is None or passkey["id"] == passkey_id
        ]
        if passkey_id is not None and not chosen:
            raise AuthError(Code.PASSKEY_NOT_FOUND)
        now = self.clock()
        removed = [passkey for passkey in chosen if self.storage.passkeys.remove_any(user_id, passkey["id"])]
        for passkey in removed:
            self.storage.sessions.end_opened_by(user_id, passkey["id"], now)
            self.activity.log(user_id, "passkeyRemoved", client, now)
        return removed

    def _descriptors(self, user_id: str | None, *, usable_only: bool) -> list[PublicKeyCredentialDescriptor]:
        """Describe the user's passkeys; `usable_only` leaves out those marked as cloned."""
        if user_id is None:
            return []
        return [
            PublicKeyCredentialDescriptor(
                id=from_b64url(passkey["credentialId"]),
                transports=[
                    AuthenticatorTransport(t) for t in passkey["transports"] or [] if _known_transport(t)
                ],
            )
            for passkey in self.storage.passkeys.list_for_user(user_id)
            if not (usable_only and passkey["cloneSuspected"])
        ]

    def _ceremony(
        self, challenge: bytes, purpose: str, user_id: str | None, session_id: str | None, options_json: str
    ) -> Ceremony:
        challenge_id = secrets.token_urlsafe(16)
        expires_at = self.clock() + CHALLENGE_TTL
        self.storage.challenges.add(challenge_id, challenge, purpose, user_id, session_id, expires_at)
        return Ceremony(challenge_id, json.loads(options_json))

    def _take(self, challenge_id: str, purpose: str, user_id: str | None, session_id: str | None) -> bytes:
        """Use up a challenge; refuse one unknown, used, expired, or of another purpose, user or session."""
        found = self.storage.challenges.take(challenge_id, self.clock())
        if found is None or (found["purpose"], found["userId"], found["sessionId"]) != (
            purpose,
            user_id,
            session_id,
        ):
            raise AuthError(Code.CHALLENGE_INVALID)
        return found["challenge"]


def _known_transport(name: Any) -> bool:
    return name in {transport.value for transport in AuthenticatorTransport}


def _transports(credential: dict) -> list[str]:
    """Return the transports a registration response names (a hint for later allowCredentials)."""
    response = credential.get("response")
    names = response.get("transports") if isinstance(response, dict) else None
    return [name for name in names if _known_transport(name)] if isinstance(names, list) else []
