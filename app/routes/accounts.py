"""Accounts: sign up, the signed-in user, the password, the activity log, deletion."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import READS_UNTIL_EXPIRY, public, signed_in
from ..service import Proof
from .blueprint import auth_service, bp, client, current_session_id, current_user, current_user_id
from .mfa import passkey_of


@bp.post("/signup")
@accepts(schemas.signup_schema)
@responds(200, schemas.SuccessSchema, tag="accounts")
@public(limit="signup")
def signup(data: dict) -> dict:
    """Create an account."""
    auth_service().accounts.signup(data["first"], data["last"], data["email"], data["password"], client())
    return {"success": True}


@bp.get("/me")
@responds(200, schemas.MeResponseSchema, tag="accounts")
@signed_in(ended_session_ok=READS_UNTIL_EXPIRY)
def me() -> dict:
    """Show the user the access token belongs to, as stored now."""
    return {"success": True, "user": schemas.user_with_role_schema.dump(current_user())}


@bp.patch("/me")
@accepts(schemas.update_profile_schema)
@responds(200, schemas.MeResponseSchema, tag="accounts")
@signed_in()
def update_me(data: dict) -> dict:
    """Change the user's first and/or last name."""
    user = auth_service().profile.update_profile(current_user_id(), data, client())
    return {"success": True, "user": schemas.user_with_role_schema.dump(user)}


@bp.post("/changePassword")
@accepts(schemas.change_password_schema)
@responds(200, schemas.RevokedResponseSchema, tag="accounts")
@signed_in(limit="login")
def change_password(data: dict) -> dict:
    """Change the password and end every other session of the user."""
    auth_service().mfa.require_step_up(current_user_id(), data.get("code"))
    revoked = auth_service().accounts.change_password(
        current_user_id(), current_session_id(), data["currentPassword"], data["newPassword"], client()
    )
    return {"success": True, "revoked": revoked}


@bp.get("/activity")
@accepts(schemas.page_schema, location="query")
@responds(200, schemas.ActivityPageSchema, tag="accounts")
@signed_in(ended_session_ok=READS_UNTIL_EXPIRY)
def activity(data: dict) -> dict:
    """Show the user's own activity log, newest first, one page at a time."""
    entries, next_cursor = auth_service().activity.list(current_user_id(), data["after"], data["limit"])
    return {
        "success": True,
        "activity": schemas.activity_schema.dump(entries, many=True),
        "next": next_cursor,
    }


@bp.post("/deleteAccount")
@accepts(schemas.delete_account_schema)
@responds(200, schemas.SuccessSchema, tag="accounts")
@signed_in(limit="login")
def delete_account(data: dict) -> dict:
    """Delete the account and everything it owns; every session ends.

    Send the password, or a `passkey` of the account, or for an account without a password
    (made with Google or Apple) a fresh ID token of a linked provider (issued in the last ten
    minutes). With TOTP on, `code` too unless the proof is a passkey.
    """
    proof = Proof(
        password=data.get("password"),
        current_id_token=data.get("idToken"),
        current_nonce=data.get("nonce"),
        passkey=passkey_of(data),
    )
    auth_service().deletion.delete_account_with_proof(
        current_user_id(), current_session_id(), proof, data.get("code"), client(), provider=data["provider"]
    )
    return {"success": True}
