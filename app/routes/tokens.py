"""Tokens: log in for a session and its tokens, and refresh the access token."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import public
from .blueprint import auth_service, bp, client


@bp.post("/login")
@accepts(schemas.login_schema)
@responds(200, schemas.LoginResponseSchema, tag="tokens")
@public(limit="login")
def login(data: dict) -> dict:
    """Log in: open a new session and get its access and refresh tokens.

    An unknown email and a wrong password get the same answer. A disabled account gets 400
    `accountDisabled`, and only once the password is right.
    """
    result = auth_service().sessions.login(data["email"], data["password"], client(), data["refreshToken"])
    return {
        "success": True,
        "authToken": result.auth_token,
        "refreshToken": result.refresh_token,
        "user": schemas.user_with_role_schema.dump(result.user),
    }


@bp.post("/refreshToken")
@accepts(schemas.refresh_schema)
@responds(200, schemas.RefreshResponseSchema, tag="tokens")
@public(limit="refresh", errors=(403,))
def refresh_token(data: dict) -> dict:
    """Trade a refresh token for a new access token (and, with rotation on, a new refresh token)."""
    result = auth_service().tokens.refresh(data["refreshToken"], client())
    body = {"success": True, "authToken": result.auth_token}
    if result.refresh_token is not None:
        body["refreshToken"] = result.refresh_token
    return body
