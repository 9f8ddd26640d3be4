"""Two-step verification: TOTP on and off, finishing a held sign-in, step-up, recovery codes."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import READS_UNTIL_EXPIRY, public, signed_in
from ..service import PasskeyAssertion, Proof
from .blueprint import auth_service, bp, client, current_session_id, current_user_id


def proof_of(data: dict) -> Proof:
    """Return the proof a body sent: the password, a fresh ID token, or a passkey assertion."""
    return Proof(
        password=data.get("password"),
        current_id_token=data.get("currentIdToken"),
        current_nonce=data.get("currentNonce"),
        passkey=passkey_of(data),
    )


def passkey_of(data: dict) -> PasskeyAssertion | None:
    sent = data.get("passkey")
    return None if sent is None else PasskeyAssertion(sent["challengeId"], sent["credential"])


@bp.get("/mfa")
@responds(200, schemas.MfaStatusResponseSchema, tag="mfa")
@signed_in(ended_session_ok=READS_UNTIL_EXPIRY)
def mfa_status() -> dict:
    """Say which second factors the account has."""
    return {"success": True} | auth_service().mfa.status(current_user_id())


@bp.post("/mfa/totp/setup")
@accepts(schemas.proof_schema)
@responds(200, schemas.TotpSetupResponseSchema, tag="mfa")
@signed_in(limit="login")
def totp_setup(data: dict) -> dict:
    """Start setting up an authenticator app: a new secret, pending until enabled, shown this once.

    Send the password (or, without one, a fresh currentIdToken with currentNonce).
    """
    setup = auth_service().mfa.setup(current_user_id(), current_session_id(), proof_of(data))
    return {"success": True, "secret": setup.secret, "otpauthUrl": setup.otpauth_url}


@bp.post("/mfa/totp/enable")
@accepts(schemas.code_schema)
@responds(200, schemas.TotpEnableResponseSchema, tag="mfa")
@signed_in(limit="login")
def totp_enable(data: dict) -> dict:
    """Turn TOTP on with the app's first code: 10 recovery codes (shown once) and an aal 2 token.

    Every other session of the account that has not proved a second factor ends.
    """
    enabled = auth_service().mfa.enable(current_user_id(), current_session_id(), data["code"], client())
    return {"success": True, "recoveryCodes": enabled.recovery_codes, "authToken": enabled.auth_token}


@bp.post("/mfa/verify")
@accepts(schemas.mfa_verify_schema)
@responds(200, schemas.MfaVerifyResponseSchema, tag="mfa")
@public(limit="login")
def mfa_verify(data: dict) -> dict:
    """Finish a sign-in that answered mfaRequired: its mfaToken and a TOTP or recovery code."""
    verified = auth_service().mfa.verify(data["mfaToken"], data["code"], client())
    body = {
        "success": True,
        "authToken": verified.result.auth_token,
        "refreshToken": verified.result.refresh_token,
        "user": schemas.user_with_role_schema.dump(verified.result.user),
    }
    if verified.recovery_codes_left is not None:
        body["recoveryCodesLeft"] = verified.recovery_codes_left
    return body


@bp.post("/mfa/stepUp")
@accepts(schemas.step_up_schema)
@responds(200, schemas.StepUpResponseSchema, tag="mfa")
@signed_in(limit="login")
def mfa_step_up(data: dict) -> dict:
    """Prove the second factor again on this session: a new access token with aal 2."""
    token = auth_service().mfa.step_up(
        current_user_id(), current_session_id(), data.get("code"), passkey_of(data)
    )
    return {"success": True, "authToken": token}


@bp.post("/mfa/recoveryCodes")
@accepts(schemas.step_up_schema)
@responds(200, schemas.RecoveryCodesResponseSchema, tag="mfa")
@signed_in(limit="login")
def recovery_codes(data: dict) -> dict:
    """Replace the recovery codes (a TOTP code needed); the old ones stop working."""
    codes = auth_service().mfa.regenerate_recovery_codes(
        current_user_id(), current_session_id(), data.get("code"), passkey_of(data), client()
    )
    return {"success": True, "recoveryCodes": codes}


@bp.post("/mfa/totp/disable")
@accepts(schemas.totp_disable_schema)
@responds(200, schemas.SuccessSchema, tag="mfa")
@signed_in(limit="login")
def totp_disable(data: dict) -> dict:
    """Turn TOTP off: a proof and a code, whatever the proof; the recovery codes are deleted."""
    auth_service().mfa.disable(
        current_user_id(), current_session_id(), proof_of(data), data.get("code"), client()
    )
    return {"success": True}
