"""Passkeys: register one, sign in with one, and the user's list of them."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import READS_UNTIL_EXPIRY, public, signed_in
from ..service import Proof
from ..service.passkeys import Ceremony, assertion_of
from .blueprint import (
    auth_service,
    bp,
    client,
    current_session_id,
    current_user_id,
    signed_in_session_id,
    signed_in_user_id,
)


def owner_proof(data: dict) -> Proof:
    return Proof(
        data.get("password"),
        data.get("currentIdToken"),
        data.get("currentNonce"),
        assertion_of(data.get("passkey")),
    )


def ceremony_answer(ceremony: Ceremony) -> dict:
    return {"success": True, "challengeId": ceremony.challenge_id, "options": ceremony.options}


@bp.post("/passkeys/registrationOptions")
@accepts(schemas.owner_proof_schema)
@responds(200, schemas.CeremonyResponseSchema, tag="passkeys")
@signed_in(limit="login", errors=(503,))
def registration_options(data: dict) -> dict:
    """Start adding a passkey: the options for navigator.credentials.create(), after a proof it is the owner.

    The proof: `password`, or for an account without one a fresh `currentIdToken`, or a
    `passkey` of this account. The account's email must be verified. With TOTP on, `code` too
    (a TOTP or recovery code) unless the proof is a passkey.
    """
    ceremony = auth_service().passkeys.registration_options(
        current_user_id(), current_session_id(), owner_proof(data), data.get("code")
    )
    return ceremony_answer(ceremony)


@bp.post("/passkeys/register")
@accepts(schemas.register_passkey_schema)
@responds(200, schemas.PasskeyResponseSchema, tag="passkeys")
@signed_in(limit="login")
def register_passkey(data: dict) -> dict:
    """Add the passkey the authenticator made for the challenge of registrationOptions."""
    passkey = auth_service().passkeys.register(
        current_user_id(),
        current_session_id(),
        data["challengeId"],
        data["credential"],
        data["name"],
        client(),
    )
    return {"success": True, "passkey": schemas.passkey_schema.dump(passkey)}


@bp.post("/passkeys/authenticationOptions")
@responds(200, schemas.CeremonyResponseSchema, tag="passkeys")
@public(limit="login", errors=(400,), optional_bearer=True)  # 400: passkeysDisabled
def authentication_options() -> dict:
    """The options for navigator.credentials.get(): to sign in, or with the bearer token, for a proof.

    Without a token no passkeys are listed (the authenticator offers its discoverable ones), so
    the answer names no account. With the token of an open session the challenge is bound to that
    user and session, and answers only as a proof (`passkey` in another call's body).
    """
    ceremony = auth_service().passkeys.authentication_options(signed_in_user_id(), signed_in_session_id())
    return ceremony_answer(ceremony)


@bp.post("/passkeys/login")
@accepts(schemas.passkey_assertion_schema)
@responds(200, schemas.LoginResponseSchema, tag="passkeys")
@public(limit="login")
def passkey_login(data: dict) -> dict:
    """Sign in with a passkey: its assertion to a challenge of authenticationOptions opens a session."""
    result = auth_service().passkeys.login(data["challengeId"], data["credential"], client())
    return {
        "success": True,
        "authToken": result.auth_token,
        "refreshToken": result.refresh_token,
        "user": schemas.user_with_role_schema.dump(result.user),
    }


@bp.get("/passkeys")
@responds(200, schemas.PasskeysResponseSchema, tag="passkeys")
@signed_in(errors=(400,), ended_session_ok=READS_UNTIL_EXPIRY)  # 400: passkeysDisabled
def list_passkeys() -> dict:
    """List the user's passkeys, oldest first."""
    found = auth_service().passkeys.list_passkeys(current_user_id())
    return {"success": True, "passkeys": schemas.passkey_schema.dump(found, many=True)}


@bp.patch("/passkeys/<passkey_id>")
@accepts(schemas.rename_passkey_schema)
@responds(200, schemas.PasskeyResponseSchema, tag="passkeys")
@signed_in(errors=(404,))
def rename_passkey(data: dict, passkey_id: str) -> dict:
    """Rename one of the user's passkeys."""
    passkey = auth_service().passkeys.rename(current_user_id(), passkey_id, data["name"])
    return {"success": True, "passkey": schemas.passkey_schema.dump(passkey)}


@bp.delete("/passkeys/<passkey_id>")
@accepts(schemas.owner_proof_schema)
@responds(200, schemas.SuccessSchema, tag="passkeys")
@signed_in(limit="login", errors=(404, 503))
def delete_passkey(data: dict, passkey_id: str) -> dict:
    """Remove one of the user's passkeys, with a proof; never the last way to sign in.

    With TOTP on, `code` too (a TOTP or recovery code) unless the proof is a passkey.
    The sessions it signed in end.
    """
    auth_service().passkeys.remove(
        current_user_id(), current_session_id(), passkey_id, owner_proof(data), client(), data.get("code")
    )
    return {"success": True}
