"""The `/api/auth` blueprint, its bearer-token guard, and what every view reads of the request."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from config import Settings

from ..errors import InvalidToken
from ..logs import note_user
from ..service import AuthService, Client

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


@bp.before_request
def require_access_token() -> None:
    """Let public routes and CORS preflights through; check the bearer token on the rest."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    g.claims = auth_service().verify_access(bearer_token())
    note_user(g.claims["sub"])
