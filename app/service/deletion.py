"""Deleting an account: everything the user owns goes, every session ends, a notice is mailed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import Code, field_error
from ..id_tokens import provider_named_by
from ..storage import Storage
from .identities import Identities, invalid_id_token
from .notices import Notices
from .proofs import Proof, Proofs
from .reauth import Reauth
from .shared import Client, Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deletion:
    """deleteAccount, and the deletion itself for any caller that has checked who is asking."""

    storage: Storage
    identities: Identities
    reauth: Reauth
    notices: Notices
    clock: Clock
    proofs: Proofs

    def delete_account_with_proof(
        self,
        user_id: str,
        session_id: str,
        proof: Proof,
        code: str | None,
        client: Client,
        *,
        provider: str | None = None,
    ) -> None:
        """Check the owner's proof (and step-up code), then delete the account.

        The proof: the password; a passkey of the account; or, for an account without a password,
        a fresh ID token of a linked provider (`provider`, when sent, must be the token's issuer's).
        An account with a password must give the password or a passkey: an access token stolen from
        it could link the thief's own Google or Apple account, and must not then delete it.
        """
        user = self.reauth.signed_in_user(user_id, session_id)
        if proof.current_id_token is not None and proof.password is None and proof.passkey is None:
            if user["password"]:
                raise field_error(Code.PASSWORD_REQUIRED, "password")
            if provider is not None and provider_named_by(proof.current_id_token) != provider:
                raise invalid_id_token()
        self.proofs.confirm(user, session_id, proof, code)
        self.delete_account(user_id, client)

    def delete_account(self, user_id: str, client: Client) -> dict[str, int] | None:
        """Delete the account and all it owns, and mail a notice; None when there is no such account.

        No check of who asks: the route checks the password first, an operator's command
        its own rights. Returns how many documents went from each collection.
        """
        user = self.storage.users.find_by_id(user_id)
        if user is None:
            return None
        deleted = self.storage.delete_user_everything(user_id, user["email"])
        log.info("account deleted", extra={"fields": {"user_id": user_id, "deleted": deleted}})
        self.notices.send(
            "account_deleted",
            user["email"],
            self.clock(),
            address_proven=user["emailVerified"],
            first=user["first"],
        )
        return deleted
