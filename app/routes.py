"""The auth blueprint: thin views over the auth service, behind a bearer-token guard."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, g, request

from config import Settings

from . import schemas
from .api import accepts, responds
from .errors import Forbidden, InvalidToken
from .logs import note_user
from .service import AuthService, Client, LinkProof

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
    "auth.login_with_id_token",
}
ADMINS_ONLY = "Only admins can list users."


def auth_service() -> AuthService:
    return current_app.extensions["auth_service"]


def settings() -> Settings:
    return current_app.extensions["settings"]


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


def switch_off_user_listing(app: Flask) -> None:
    """Make getAll answer 404 to everyone (GETALL_ACCESS=off), before the guard looks for a token."""

    def hide() -> None:
        if request.endpoint == "auth.get_all":
            abort(404)

    app.before_request(hide)  # the app's hooks run before the blueprint's guard


@bp.before_request
def require_access_token() -> None:
    """Let public routes and CORS preflights through; check the bearer token on the rest."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    g.claims = auth_service().verify_access(bearer_token())
    note_user(g.claims["sub"])


@bp.post("/signup")
@accepts(schemas.signup_schema)
@responds(200, schemas.SuccessSchema, tag="accounts", errors=(429,))
def signup(data: dict) -> dict:
    """Create an account."""
    auth_service().signup(data["first"], data["last"], data["email"], data["password"], client())
    return {"success": True}


@bp.post("/login")
@accepts(schemas.login_schema)
@responds(200, schemas.LoginResponseSchema, tag="tokens", errors=(429,))
def login(data: dict) -> dict:
    """Log in: open a new session and get its access and refresh tokens.

    An unknown email and a wrong password get the same answer. A disabled account gets 400
    `accountDisabled`, and only once the password is right.
    """
    result = auth_service().login(data["email"], data["password"], client(), data["refreshToken"])
    return {
        "success": True,
        "authToken": result.auth_token,
        "refreshToken": result.refresh_token,
        "user": schemas.user_with_role_schema.dump(result.user),
    }


@bp.post("/refreshToken")
@accepts(schemas.refresh_schema)
@responds(200, schemas.RefreshResponseSchema, tag="tokens", errors=(403, 429))
def refresh_token(data: dict) -> dict:
    """Trade a refresh token for a new access token (and, with rotation on, a new refresh token)."""
    result = auth_service().refresh(data["refreshToken"], client())
    body = {"success": True, "authToken": result.auth_token}
    if result.refresh_token is not None:
        body["refreshToken"] = result.refresh_token
    return body


@bp.route("/getAll", methods=["GET", "POST"])
@accepts(schemas.page_schema, location="query")
@responds(201, schemas.UsersPageSchema, tag="users", errors=(404,))
def get_all(data: dict) -> tuple[dict, int]:
    """List users, one page at a time (`next` is the cursor for `after`).

    Who may is set by GETALL_ACCESS: every signed-in user (`all`), admins only (`admin`:
    others get 403 `forbidden`), or nobody (`off`: 404). Admins also see each user's role.
    """
    caller_is_admin = auth_service().is_admin(current_user_id())
    if settings().getall_access == "admin" and not caller_is_admin:
        raise Forbidden(ADMINS_ONLY)
    users, next_cursor = auth_service().list_users(data["after"], data["limit"])
    shape = schemas.user_with_role_schema if caller_is_admin else schemas.user_schema
    return {"success": True, "message": shape.dump(users, many=True), "next": next_cursor}, 201


@bp.get("/me")
@responds(200, schemas.MeResponseSchema, tag="accounts")
def me() -> dict:
    """Show the user the access token belongs to, as stored now."""
    return {"success": True, "user": schemas.user_with_role_schema.dump(auth_service().me(current_user_id()))}


@bp.patch("/me")
@accepts(schemas.update_profile_schema)
@responds(200, schemas.MeResponseSchema, tag="accounts")
def update_me(data: dict) -> dict:
    """Change the user's first and/or last name."""
    user = auth_service().update_profile(current_user_id(), data, client())
    return {"success": True, "user": schemas.user_with_role_schema.dump(user)}


@bp.post("/forgotPassword")
@accepts(schemas.email_schema)
@responds(200, schemas.SuccessSchema, tag="email", errors=(429,))
def forgot_password(data: dict) -> dict:
    """Mail a password-reset code, if an account has this email.

    The answer is the same for an unknown address.
    """
    auth_service().forgot_password(data["email"], client())
    return {"success": True}


@bp.post("/resetPassword")
@accepts(schemas.reset_password_schema)
@responds(200, schemas.SuccessSchema, tag="email", errors=(429,))
def reset_password(data: dict) -> dict:
    """Set a new password with the mailed code; every session ends."""
    auth_service().reset_password(data["email"], data["code"], data["newPassword"], client())
    return {"success": True}


@bp.post("/verifyEmail")
@accepts(schemas.verify_email_schema)
@responds(200, schemas.SuccessSchema, tag="email", errors=(429,))
def verify_email(data: dict) -> dict:
    """Confirm the email address with the mailed code."""
    auth_service().verify_email(data["email"], data["code"], client())
    return {"success": True}


@bp.post("/resendVerification")
@accepts(schemas.email_schema)
@responds(200, schemas.SuccessSchema, tag="email", errors=(429,))
def resend_verification(data: dict) -> dict:
    """Mail a new verification code, if an unverified account has this email.

    The answer is the same for an unknown or already verified address.
    """
    auth_service().resend_verification(data["email"], client())
    return {"success": True}


@bp.post("/changeEmail")
@accepts(schemas.change_email_schema)
@responds(200, schemas.SuccessSchema, tag="email", errors=(429,))
def change_email(data: dict) -> dict:
    """Mail a code to the new address; the email changes once the code is confirmed."""
    auth_service().change_email(
        current_user_id(), current_session_id(), data["password"], data["newEmail"], client()
    )
    return {"success": True}


@bp.post("/confirmEmailChange")
@accepts(schemas.code_schema)
@responds(200, schemas.MeResponseSchema, tag="email", errors=(429,))
def confirm_email_change(data: dict) -> dict:
    """Move to the new address with the code mailed to it; the old address gets a notice."""
    user = auth_service().confirm_email_change(
        current_user_id(), current_session_id(), data["code"], client()
    )
    return {"success": True, "user": schemas.user_with_role_schema.dump(user)}


@bp.post("/deleteAccount")
@accepts(schemas.delete_account_schema)
@responds(200, schemas.SuccessSchema, tag="accounts", errors=(429,))
def delete_account(data: dict) -> dict:
    """Delete the account and everything it owns; every session ends.

    Send the password, or for an account without one (made with Google or Apple) a fresh
    ID token of a linked provider (issued in the last ten minutes).
    """
    if "password" in data:
        auth_service().delete_account_with_password(
            current_user_id(), current_session_id(), data["password"], client()
        )
    else:
        auth_service().delete_account_with_id_token(
            current_user_id(),
            current_session_id(),
            data["provider"],
            data["idToken"],
            data["nonce"],
            client(),
        )
    return {"success": True}


@bp.post("/logout")
@accepts(schemas.refresh_schema)
@responds(200, schemas.SuccessSchema, tag="sessions")
def logout(data: dict) -> dict:
    """End the session of this refresh token (200 even if it had already ended)."""
    auth_service().logout(data["refreshToken"], client())
    return {"success": True}


@bp.post("/logoutAll")
@responds(200, schemas.RevokedResponseSchema, tag="sessions")
def logout_all() -> dict:
    """End every session of the user, this one included."""
    return {"success": True, "revoked": auth_service().logout_all(current_user_id(), client())}


@bp.get("/sessions")
@responds(200, schemas.SessionsResponseSchema, tag="sessions")
def sessions() -> dict:
    """List the user's open sessions; `current` marks this one."""
    found = auth_service().list_sessions(current_user_id(), current_session_id())
    return {"success": True, "sessions": schemas.session_schema.dump(found, many=True)}


@bp.delete("/sessions/<session_id>")
@responds(200, schemas.SuccessSchema, tag="sessions", errors=(404,))
def end_session(session_id: str) -> dict:
    """End one of the user's own sessions (another user's is not found)."""
    auth_service().end_session(current_user_id(), session_id, client())
    return {"success": True}


@bp.post("/changePassword")
@accepts(schemas.change_password_schema)
@responds(200, schemas.RevokedResponseSchema, tag="accounts", errors=(429,))
def change_password(data: dict) -> dict:
    """Change the password and end every other session of the user."""
    revoked = auth_service().change_password(
        current_user_id(), current_session_id(), data["currentPassword"], data["newPassword"], client()
    )
    return {"success": True, "revoked": revoked}


@bp.get("/activity")
@accepts(schemas.page_schema, location="query")
@responds(200, schemas.ActivityPageSchema, tag="accounts")
def activity(data: dict) -> dict:
    """Show the user's own activity log, newest first, one page at a time."""
    entries, next_cursor = auth_service().list_activity(current_user_id(), data["after"], data["limit"])
    return {
        "success": True,
        "activity": schemas.activity_schema.dump(entries, many=True),
        "next": next_cursor,
    }


@bp.post("/loginWithIdToken")
@accepts(schemas.id_token_login_schema)
@responds(200, schemas.IdTokenLoginResponseSchema, tag="identities", errors=(429, 503))
def login_with_id_token(data: dict) -> dict:
    """Sign in with Google or Apple: verify the app's ID token and open a session.

    An identity seen before signs in to its account; a new one is linked to the account with
    its email when both sides have verified that email (else `accountExists`), or gets a new
    account without a password (`created: true`). The answer is a password login's.
    """
    login = auth_service().login_with_id_token(
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
@responds(200, schemas.SuccessSchema, tag="identities", errors=(429, 503))
def link_id_token(data: dict) -> dict:
    """Link a Google or Apple account to the signed-in user, to sign in with it from then on.

    The account's email must be verified, and the owner proves it is them: `password` for an
    account that has one, else `currentIdToken`, a fresh ID token of a sign-in already linked.
    """
    proof = LinkProof(data.get("password"), data.get("currentIdToken"), data["currentNonce"])
    auth_service().link_id_token(
        current_user_id(),
        current_session_id(),
        data["provider"],
        data["idToken"],
        data["nonce"],
        proof,
        client(),
    )
    return {"success": True}


@bp.get("/identities")
@responds(200, schemas.IdentitiesResponseSchema, tag="identities")
def identities() -> dict:
    """List the Google and Apple accounts linked to the user."""
    found = auth_service().list_identities(current_user_id())
    return {"success": True, "identities": schemas.identity_schema.dump(found, many=True)}


@bp.delete("/identities/<provider>")
@responds(200, schemas.SuccessSchema, tag="identities", errors=(404,))
def unlink_identity(provider: str) -> dict:
    """Unlink the user's Google or Apple account (refused if it is the last way to sign in)."""
    auth_service().unlink_identity(current_user_id(), provider, client())
    return {"success": True}
