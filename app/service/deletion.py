"""Deleting an account: everything the user owns goes, every session ends, a notice is mailed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import Code, field_error
from ..id_tokens import provider_named_by
from ..storage import Storage
from .identities import Identities, invalid_id_token
from .notices import Notices
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

    def delete_account_with_password(
        self, user_id: str, session_id: str, password: str, client: Client
    ) -> None:
        """Check the password of the token's user, then delete the account."""
        user = self.reauth.signed_in_user(user_id, session_id)
        self.reauth.check_password(user, session_id, password, "password")
        self.delete_account(user_id, client)

    def delete_account_with_id_token(
        self,
        user_id: str,
        session_id: str,
        provider: str | None,
        id_token: str,
        nonce: str | None,
        client: Client,
    ) -> None:
        """Check a fresh ID token of a provider linked to an account without a password, then delete it.

        An account with a password must give the password: an access token stolen from it
        could link the thief's own Google or Apple account, and must not then delete it.
        """
        user = self.reauth.signed_in_user(user_id, session_id)
        if user["password"]:
            raise field_error(Code.PASSWORD_REQUIRED, "password")
        provider = provider or provider_named_by(id_token)
        if provider is None:
            raise invalid_id_token()
        self.identities.confirm_identity(user_id, provider, id_token, nonce)
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
