"""The auth blueprint: thin views over the auth service, behind a bearer-token guard."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from . import schemas
from .api import accepts, responds
from .errors import InvalidToken
from .logs import note_user
from .service import AuthService, Client

bp = Blueprint("auth", __name__, url_prefix="/api/auth")

# Every other route of this blueprint needs a valid access token.
PUBLIC_ENDPOINTS = {
    "auth.signup",
    "auth.login",
    "auth.refresh_token",
    "auth.logout",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.verify_email",
    "auth.resend_verification",
}


def auth_service() -> AuthService:
    return current_app.extensions["auth_service"]


def current_user_id() -> str:
    """Return the id of the user the guarded request's access token belongs to."""
    return g.claims["sub"]


def current_session_id() -> str:
    """Return the id of the session the guarded request's access token belongs to."""
    return g.claims["sid"]


def client() -> Client:
    return Client(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))


def bearer_token() -> str:
    """Return the token from `Authorization: Bearer <token>` (a bare token is accepted too)."""
    header = request.headers.get("Authorization", "").strip()
    scheme, _, rest = header.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else header
    if not token:
        raise InvalidToken()
    return token


@bp.before_request
def require_access_token() -> None:
    """Let public routes and CORS preflights through; check the bearer token on the rest."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    g.claims = auth_service().verify_access(bearer_token())
    note_user(g.claims["sub"])


@bp.post("/signup")
@accepts(schemas.signup_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def signup(data: dict) -> dict:
    """Create an account."""
    auth_service().signup(data["first"], data["last"], data["email"], data["password"], client())
    return {"success": True}


@bp.post("/login")
@accepts(schemas.login_schema)
@responds(200, schemas.LoginResponseSchema, errors=(429,))
def login(data: dict) -> dict:
    """Log in: open a new session and get its access and refresh tokens.

    An unknown email and a wrong password get the same answer.
    """
    result = auth_service().login(data["email"], data["password"], client())
    return {
        "success": True,
        "authToken": result.auth_token,
        "refreshToken": result.refresh_token,
        "user": schemas.user_schema.dump(result.user),
    }


@bp.post("/refreshToken")
@accepts(schemas.refresh_schema)
@responds(200, schemas.RefreshResponseSchema, errors=(403, 429))
def refresh_token(data: dict) -> dict:
    """Trade a refresh token for a new access token (and, with rotation on, a new refresh token)."""
    result = auth_service().refresh(data["refreshToken"], client())
    body = {"success": True, "authToken": result.auth_token}
    if result.refresh_token is not None:
        body["refreshToken"] = result.refresh_token
    return body


@bp.route("/getAll", methods=["GET", "POST"])
@accepts(schemas.page_schema, location="query")
@responds(201, schemas.UsersPageSchema)
def get_all(data: dict) -> tuple[dict, int]:
    """List users, one page at a time (`next` is the cursor for `after`)."""
    users, next_cursor = auth_service().list_users(data["after"], data["limit"])
    return {"success": True, "message": schemas.user_schema.dump(users, many=True), "next": next_cursor}, 201


@bp.get("/me")
@responds(200, schemas.MeResponseSchema)
def me() -> dict:
    """Show the user the access token belongs to, as stored now."""
    return {"success": True, "user": schemas.user_schema.dump(auth_service().me(current_user_id()))}


@bp.patch("/me")
@accepts(schemas.update_profile_schema)
@responds(200, schemas.MeResponseSchema)
def update_me(data: dict) -> dict:
    """Change the user's first and/or last name."""
    user = auth_service().update_profile(current_user_id(), data, client())
    return {"success": True, "user": schemas.user_schema.dump(user)}


@bp.post("/forgotPassword")
@accepts(schemas.email_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def forgot_password(data: dict) -> dict:
    """Mail a password-reset code, if an account has this email.

    The answer is the same for an unknown address.
    """
    auth_service().forgot_password(data["email"], client())
    return {"success": True}


@bp.post("/resetPassword")
@accepts(schemas.reset_password_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def reset_password(data: dict) -> dict:
    """Set a new password with the mailed code; every session ends."""
    auth_service().reset_password(data["email"], data["code"], data["newPassword"], client())
    return {"success": True}


@bp.post("/verifyEmail")
@accepts(schemas.verify_email_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def verify_email(data: dict) -> dict:
    """Confirm the email address with the mailed code."""
    auth_service().verify_email(data["email"], data["code"], client())
    return {"success": True}


@bp.post("/resendVerification")
@accepts(schemas.email_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def resend_verification(data: dict) -> dict:
    """Mail a new verification code, if an unverified account has this email.

    The answer is the same for an unknown or already verified address.
    """
    auth_service().resend_verification(data["email"], client())
    return {"success": True}


@bp.post("/changeEmail")
@accepts(schemas.change_email_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def change_email(data: dict) -> dict:
    """Mail a code to the new address; the email changes once the code is confirmed."""
    auth_service().change_email(current_user_id(), data["password"], data["newEmail"], client())
    return {"success": True}


@bp.post("/confirmEmailChange")
@accepts(schemas.code_schema)
@responds(200, schemas.MeResponseSchema, errors=(429,))
def confirm_email_change(data: dict) -> dict:
    """Move to the new address with the code mailed to it; the old address gets a notice."""
    user = auth_service().confirm_email_change(current_user_id(), data["code"], client())
    return {"success": True, "user": schemas.user_schema.dump(user)}


@bp.post("/deleteAccount")
@accepts(schemas.delete_account_schema)
@responds(200, schemas.SuccessSchema, errors=(429,))
def delete_account(data: dict) -> dict:
    """Delete the account and everything it owns; every session ends."""
    auth_service().delete_account_with_password(current_user_id(), data["password"], client())
    return {"success": True}


@bp.post("/logout")
@accepts(schemas.refresh_schema)
@responds(200, schemas.SuccessSchema)
def logout(data: dict) -> dict:
    """End the session of this refresh token (200 even if it had already ended)."""
    auth_service().logout(data["refreshToken"], client())
    return {"success": True}


@bp.post("/logoutAll")
@responds(200, schemas.RevokedResponseSchema)
def logout_all() -> dict:
    """End every session of the user, this one included."""
    return {"success": True, "revoked": auth_service().logout_all(current_user_id(), client())}


@bp.get("/sessions")
@responds(200, schemas.SessionsResponseSchema)
def sessions() -> dict:
    """List the user's open sessions; `current` marks this one."""
    found = auth_service().list_sessions(current_user_id(), current_session_id())
    return {"success": True, "sessions": schemas.session_schema.dump(found, many=True)}


@bp.delete("/sessions/<session_id>")
@responds(200, schemas.SuccessSchema, errors=(404,))
def end_session(session_id: str) -> dict:
    """End one of the user's own sessions (another user's is not found)."""
    auth_service().end_session(current_user_id(), session_id, client())
    return {"success": True}


@bp.post("/changePassword")
@accepts(schemas.change_password_schema)
@responds(200, schemas.RevokedResponseSchema, errors=(429,))
def change_password(data: dict) -> dict:
    """Change the password and end every other session of the user."""
    revoked = auth_service().change_password(
        current_user_id(), current_session_id(), data["currentPassword"], data["newPassword"], client()
    )
    return {"success": True, "revoked": revoked}


@bp.get("/activity")
@accepts(schemas.page_schema, location="query")
@responds(200, schemas.ActivityPageSchema)
def activity(data: dict) -> dict:
    """Show the user's own activity log, newest first, one page at a time."""
    entries, next_cursor = auth_service().list_activity(current_user_id(), data["after"], data["limit"])
    return {
        "success": True,
        "activity": schemas.activity_schema.dump(entries, many=True),
        "next": next_cursor,
    }
