"""Signing in with Google and Apple: ID-token logins, linking and unlinking identities."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..errors import AuthError, Code, ServiceUnavailable, message_of
from ..id_tokens import (
    FRESH_TOKEN_AGE,
    IdentityClaims,
    IdTokenVerifier,
    InvalidIdToken,
    KeySetUnavailable,
    ProviderDisabled,
)
from ..storage import Storage
from .activity import ActivityLog
from .codes import PROVIDER_NAMES
from .notices import Notices
from .reauth import Reauth
from .second_factor import SignInHold
from .sessions import LoginResult, Sessions
from .shared import Client, Clock, ensure_email_verified, ensure_enabled

log = logging.getLogger(__name__)

NAMES = PROVIDER_NAMES
RESOLVE_TRIES = 4  # each lost race (another device signing in at the same moment) re-reads what it made


def invalid_id_token() -> AuthError:
    return AuthError(Code.INVALID_ID_TOKEN)


@dataclass(frozen=True)
class IdTokenLogin:
    result: LoginResult
    created: bool  # a new account was made for this identity


@dataclass(frozen=True)
class Identities:
    """Logs in with a provider's ID token, and links, lists and unlinks a user's identities."""

    storage: Storage
    verifier: IdTokenVerifier
    sessions: Sessions
    reauth: Reauth
    activity: ActivityLog
    notices: Notices
    require_verified_email: bool
    clock: Clock
    hold: SignInHold | None = None  # with TOTP on, a sign-in waits for its second factor

    def login_with_id_token(
        self,
        provider: str,
        id_token: str,
        nonce: str | None,
        first: str | None,
        last: str | None,
        client: Client,
    ) -> IdTokenLogin:
        """Verify the token, find or make its account, and open a session as a password login does."""
        now = self.clock()
        claims = self._verify(provider, id_token, nonce, now)
        user, created = self._account_for(claims, first, last, client, now)
        ensure_enabled(user)
        if self.hold is not None:  # before anything changes: the sign-in is not finished yet
            self.hold.hold_if_needed(user, claims.provider)
        user = self._verified_by_provider(user, claims)
        ensure_email_verified(
            user, required=self.require_verified_email
        )  # REQUIRE_EMAIL_VERIFICATION holds for every way in
        result = self.sessions.start_session(user, client, now, claims.provider)
        # As a password login does: once the session is open, the account must still exist, be
        # enabled, and this identity must still be its own, or an unlink, a deletion or
        # disabling meanwhile is undone.
        identity = self.storage.identities.find(claims.provider, claims.subject)
        current = self.storage.users.find_by_id(user["id"])
        if identity is None or identity["userId"] != user["id"] or current is None or current["disabled"]:
            self.storage.sessions.end(session_id=result.session_id, user_id=user["id"], now=now)
            if current is not None:
                ensure_enabled(current)
            raise invalid_id_token()
        return IdTokenLogin(result, created)

    def _verified_by_provider(self, user: dict, claims: IdentityClaims) -> dict:
        """Mark the account's email verified when the provider has verified that very address."""
        if user["emailVerified"] or not claims.email_verified or claims.email != user["email"]:
            return user
        if not self.storage.users.set_email_verified(user["id"], user["email"]):
            return user
        return user | {"emailVerified": True}

    def link_id_token(
        self,
        user_id: str,
        session_id: str,
        provider: str,
        id_token: str,
        nonce: str | None,
        prove_owner: Callable[[dict], object],
        client: Client,
    ) -> None:
        """Link the identity a token proves to the signed-in user (already theirs: nothing to do).

        Only once the account's email is verified: until then the account may be someone's
        who signed up in another person's name, and the identity would outlive the owner's
        recovery of it. And only with the owner's proof (the password, a fresh token of a sign-in
        already linked, or a passkey; `prove_owner` checks it, with the step-up, and raises when it
        fails): a stolen access token must not add a way in that outlives it.
        """
        user = self.reauth.signed_in_user(user_id, session_id)
        if not user["emailVerified"]:
            raise AuthError(Code.EMAIL_NOT_VERIFIED)
        prove_owner(user)
        now = self.clock()
        claims = self._verify(provider, id_token, nonce, now)
        for _ in range(RESOLVE_TRIES):
            identity = self.storage.identities.find(claims.provider, claims.subject)
            if identity is not None:
                if identity["userId"] != user_id:
                    raise AuthError(Code.IDENTITY_IN_USE)
                return
            if self._link(user_id, claims, client, now):
                self._notify_linked(user, claims.provider, now)
                return
            if self.storage.identities.find(claims.provider, claims.subject) is None:
                # The insert lost to the unique (user, provider) index, not to this identity.
                raise AuthError(
                    Code.PROVIDER_ALREADY_LINKED,
                    message_of(Code.PROVIDER_ALREADY_LINKED, name=NAMES[claims.provider]),
                )
        raise AuthError(Code.IDENTITY_IN_USE)

    def list_identities(self, user_id: str) -> list[dict]:
        """Return the user's linked identities, oldest first."""
        return self.storage.identities.list(user_id)

    def unlink_identity(self, user_id: str, provider: str, client: Client) -> None:
        """Unlink the user's identity at `provider`, unless it is their last way to sign in."""
        self.reauth.existing_user(user_id)
        unlinked = self.storage.identities.unlink(user_id, provider)
        if unlinked is None:
            raise AuthError(Code.IDENTITY_NOT_LINKED)
        if not unlinked:
            raise AuthError(Code.LAST_SIGN_IN_METHOD)
        self.activity.log(user_id, "identityUnlinked", client, self.clock(), provider)

    def confirm_identity(self, user_id: str, provider: str, id_token: str, nonce: str | None) -> None:
        """Check that a fresh token of a provider linked to this user proves it is them (before deleting).

        Raises invalidIdToken unless the token verifies, was issued in the last ten minutes,
        and its identity is linked to `user_id`; providerDisabled or a 503 as a login would.
        """
        now = self.clock()
        claims = self._verify(provider, id_token, nonce, now)
        identity = self.storage.identities.find(claims.provider, claims.subject)
        if now - claims.issued_at > FRESH_TOKEN_AGE or identity is None or identity["userId"] != user_id:
            raise invalid_id_token()

    def _verify(self, provider: str, id_token: str, nonce: str | None, now: datetime) -> IdentityClaims:
        """Verify an ID token, turning each way it can fail into the answer the client gets."""
        try:
            return self.verifier.verify(provider, id_token, nonce, now)
        except ProviderDisabled:
            raise AuthError(Code.PROVIDER_DISABLED) from None
        except InvalidIdToken as error:
            log.info("%s ID token refused: %s", provider, error)
            raise invalid_id_token() from None
        except KeySetUnavailable as error:
            message = message_of(Code.PROVIDER_UNAVAILABLE, name=NAMES[provider])
            retry_after = max(1, round(error.retry_after))
            raise ServiceUnavailable(Code.PROVIDER_UNAVAILABLE, message, retry_after) from None

    def _account_for(
        self, claims: IdentityClaims, first: str | None, last: str | None, client: Client, now: datetime
    ) -> tuple[dict, bool]:
        """Return the account an identity signs in to, and whether it was made just now.

        Linked already: its account. Else an account with its email, linked only when both the
        provider and the account have verified that email (else anyone who can make a Google
        account in someone's name could take theirs). Else a new account without a password.
        Two devices signing in at once race through the unique indexes and land in one account.
        """
        made = None
        for _ in range(RESOLVE_TRIES):
            identity = self.storage.identities.find(claims.provider, claims.subject)
            if identity is not None:
                user = self.storage.users.find_by_id(identity["userId"])
                if user is None:
                    # Its account was deleted but the identity not (yet): it is free again.
                    self.storage.identities.delete(claims.provider, claims.subject, identity["userId"])
                    continue
                return user, user["id"] == made
            if claims.email is None:  # nothing to find or make an account by
                raise invalid_id_token()
            user = self.storage.users.find_by_email(claims.email)
            if user is not None:
                if not (claims.email_verified and user["emailVerified"]):
                    if self.storage.identities.find(claims.provider, claims.subject) is not None:
                        continue  # another device of this person made the account and linked it meanwhile
                    raise AuthError(Code.ACCOUNT_EXISTS)
                self._hold_link(user, claims)
                if self._link(user["id"], claims, client, now):
                    self._notify_linked(user, claims.provider, now)
                    return user, user["id"] == made
                if self.storage.identities.find_for_user(user["id"], claims.provider) is not None and (
                    self.storage.identities.find(claims.provider, claims.subject) is None
                ):
                    # The account has another identity at this provider: it must be unlinked first.
                    raise AuthError(Code.ACCOUNT_EXISTS)
                continue
            if not claims.email_verified:
                # Before making it: an account that could not sign in would only hold the address.
                ensure_email_verified({"emailVerified": False}, required=self.require_verified_email)
            made = self._make_account(claims, first, last, client, now)
            if made is not None and self._link(made, claims, client, now, log_it=False):
                user = self.storage.users.find_by_id(made)
                if user is None:
                    raise invalid_id_token()
                return user, True
        raise invalid_id_token()

    def _make_account(
        self, claims: IdentityClaims, first: str | None, last: str | None, client: Client, now: datetime
    ) -> str | None:
        """Make an account without a password for a new identity; None when its email was taken meanwhile."""
        user_id = self.storage.users.insert(
            first or claims.given_name or "",
            last or claims.family_name or "",
            claims.email or "",
            None,
            now,
            email_verified=claims.email_verified,
        )
        if user_id is not None:
            self.activity.log(user_id, "signup", client, now, claims.provider)
        return user_id

    def _hold_link(self, user: dict, claims: IdentityClaims) -> None:
        """With TOTP on, link a new identity by email only once the second factor comes (`mfa/verify`)."""
        if self.hold is None:
            return
        ensure_enabled(user)
        link = {
            "provider": claims.provider,
            "subject": claims.subject,
            "email": claims.email,
            "emailVerified": claims.email_verified,
        }
        self.hold.hold_if_needed(user, claims.provider, link=link)

    def link_after_second_factor(self, user: dict, link: dict, client: Client) -> None:
        """Make the link a held ID-token sign-in asked for, now that its second factor came."""
        now = self.clock()
        linked = self.storage.identities.link(
            user["id"], link["provider"], link["subject"], link["email"], link["emailVerified"], now
        )
        if linked:
            self.activity.log(user["id"], "identityLinked", client, now, link["provider"])
            self._notify_linked(user, link["provider"], now)
            return
        identity = self.storage.identities.find(link["provider"], link["subject"])
        if identity is None or identity["userId"] != user["id"]:
            raise AuthError(Code.ACCOUNT_EXISTS)  # linked elsewhere, or another identity there meanwhile

    def _notify_linked(self, user: dict, provider: str, now: datetime) -> None:
        """Mail the owner that a sign-in was linked to the account, however it was linked."""
        self.notices.send(
            "identity_linked",
            user["email"],
            now,
            address_proven=True,  # linking asks for a verified email, at sign-in as by linkIdToken
            first=user["first"],
            provider=NAMES[provider],
        )

    def _link(
        self, user_id: str, claims: IdentityClaims, client: Client, now: datetime, *, log_it: bool = True
    ) -> bool:
        linked = self.storage.identities.link(
            user_id, claims.provider, claims.subject, claims.email, claims.email_verified, now
        )
        if linked and log_it:
            self.activity.log(user_id, "identityLinked", client, now, claims.provider)
        return linked
