"""Sign in with Apple and Google, and the sign-ins linked to the account."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import READS_UNTIL_EXPIRY, public, signed_in
from .blueprint import auth_service, bp, client, current_session_id, current_user_id
from .mfa import proof_of


@bp.post("/loginWithIdToken")
@accepts(schemas.id_token_login_schema)
@responds(200, schemas.IdTokenLoginResponseSchema, tag="identities")
@public(limit="login", errors=(503,))
def login_with_id_token(data: dict) -> dict:
    """Sign in with Google or Apple: verify the app's ID token and open a session.

    An identity seen before signs in to its account; a new one is linked to the account with
    its email when both sides have verified that email (else `accountExists`), or gets a new
    account without a password (`created: true`). The answer is a password login's.
    """
    login = auth_service().identities.login_with_id_token(
        data["provider"], data["idToken"], data["nonce"], data["first"], data["last"], client()
    )
    return {
        "success": True,
        "authToken": login.result.auth_token,
        "refreshToken": login.result.refresh_token,
        "user": schemas.user_schema.dump(login.result.user),
        "created": login.created,
    }


@bp.post("/linkIdToken")
@accepts(schemas.link_id_token_schema)
@responds(200, schemas.SuccessSchema, tag="identities")
@signed_in(limit="login", errors=(503,))
def link_id_token(data: dict) -> dict:
    """Link a Google or Apple account to the signed-in user, to sign in with it from then on.

    The account's email must be verified, and the owner proves it is them: `password` for an
    account that has one, else `currentIdToken`, a fresh ID token of a sign-in already linked; or
    a `passkey` of the account. With TOTP on, `code` too unless the proof is a passkey.
    """
    service, session_id, proof = auth_service(), current_session_id(), proof_of(data)
    service.identities.link_id_token(
        current_user_id(),
        session_id,
        data["provider"],
        data["idToken"],
        data["nonce"],
        lambda user: service.proofs.confirm(user, session_id, proof, data.get("code")),
        client(),
    )
    return {"success": True}


@bp.get("/identities")
@responds(200, schemas.IdentitiesResponseSchema, tag="identities")
@signed_in(ended_session_ok=READS_UNTIL_EXPIRY)
def identities() -> dict:
    """List the Google and Apple accounts linked to the user."""
    found = auth_service().identities.list_identities(current_user_id())
    return {"success": True, "identities": schemas.identity_schema.dump(found, many=True)}


@bp.delete("/identities/<provider>")
@responds(200, schemas.SuccessSchema, tag="identities")
@signed_in(errors=(404,))
def unlink_identity(provider: str) -> dict:
    """Unlink the user's Google or Apple account (refused if it is the last way to sign in)."""
    auth_service().identities.unlink_identity(current_user_id(), provider, client())
    return {"success": True}
