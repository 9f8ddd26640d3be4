"""One-time codes by mail: a forgotten password, verifying the address, moving to a new one."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import public, signed_in
from .blueprint import auth_service, bp, client, current_session_id, current_user_id, signed_in_user_id
from .mfa import proof_of


@bp.post("/forgotPassword")
@accepts(schemas.email_schema)
@responds(200, schemas.SuccessSchema, tag="email")
@public(limit="forgot_password")
def forgot_password(data: dict) -> dict:
    """Mail a password-reset code, if an account has this email.

    The answer is the same for an unknown address.
    """
    auth_service().recovery.forgot_password(data["email"], client())
    return {"success": True}


@bp.post("/resetPassword")
@accepts(schemas.reset_password_schema)
@responds(200, schemas.SuccessSchema, tag="email")
@public(limit="reset_password")
def reset_password(data: dict) -> dict:
    """Set a new password with the mailed code; every session ends."""
    auth_service().recovery.reset_password(
        data["email"], data["code"], data["newPassword"], client(), mfa_code=data.get("mfaCode")
    )
    return {"success": True}


@bp.post("/verifyEmail")
@accepts(schemas.verify_email_schema)
@responds(200, schemas.VerifyEmailResponseSchema, tag="email")
@public(limit="verify_email", optional_bearer=True)
def verify_email(data: dict) -> dict:
    """Confirm the email address with the mailed code.

    At the address's first proof, the account's password is kept only if the caller shows
    they hold the account: a bearer token of an open session of it, or `password`. Else it
    is removed (it may be whoever signed up with this address's), every session ends, and
    `passwordRemoved` is true: the owner sets a password with forgotPassword.
    """
    removed = auth_service().verification.verify_email(
        data["email"], data["code"], client(), signed_in_as=signed_in_user_id(), password=data.get("password")
    )
    return {"success": True, "passwordRemoved": removed}


@bp.post("/resendVerification")
@accepts(schemas.email_schema)
@responds(200, schemas.SuccessSchema, tag="email")
@public(limit="resend_verification")
def resend_verification(data: dict) -> dict:
    """Mail a new verification code, if an unverified account has this email.

    The answer is the same for an unknown or already verified address.
    """
    auth_service().verification.resend_verification(data["email"], client())
    return {"success": True}


@bp.post("/changeEmail")
@accepts(schemas.change_email_schema)
@responds(200, schemas.SuccessSchema, tag="email")
@signed_in(limit="login")
def change_email(data: dict) -> dict:
    """Mail a code to the new address; the email changes once the code is confirmed.

    The proof: `password`, or for an account without one a fresh `currentIdToken`, or a `passkey`
    of the account. With TOTP on, `code` too unless the proof is a passkey.
    """
    auth_service().profile.change_email(
        current_user_id(), current_session_id(), proof_of(data), data.get("code"), data["newEmail"], client()
    )
    return {"success": True}


@bp.post("/confirmEmailChange")
@accepts(schemas.code_schema)
@responds(200, schemas.MeResponseSchema, tag="email")
@signed_in(limit="verify_email")
def confirm_email_change(data: dict) -> dict:
    """Move to the new address with the code mailed to it; the old address gets a notice."""
    user = auth_service().profile.confirm_email_change(
        current_user_id(), current_session_id(), data["code"], client()
    )
    return {"success": True, "user": schemas.user_with_role_schema.dump(user)}
