"""The `/api/auth` blueprint, its bearer-token guard, and what every view reads of the request."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from config import Settings

from ..errors import InvalidToken
from ..logs import note_user
from ..rules import RouteRules
from ..service import AuthService, Client

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


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


def current_user() -> dict:
    """Return the stored user of the guarded request, as the guard read it."""
    return g.user


def signed_in_user_id() -> str | None:
    """Return the user whose open session a public route's optional bearer token shows, or None."""
    claims = g.get("optional_claims")
    return claims["sub"] if claims else None


def signed_in_session_id() -> str | None:
    """Return the open session a public route's optional bearer token shows, or None."""
    claims = g.get("optional_claims")
    return claims["sid"] if claims else None


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


def rules() -> RouteRules:
    return current_app.extensions["route_rules"][request.endpoint]


@bp.before_request
def apply_route_rules() -> None:
    """Enforce what the route declared (app.rules): a valid token, an open session, a live account."""
    if request.method == "OPTIONS":  # CORS preflights carry no token
        return
    declared = rules()
    if declared.optional_bearer and "Authorization" in request.headers:
        g.optional_claims = auth_service().tokens.open_session_claims(bearer_token())
    if not declared.bearer:
        return
    g.claims, g.user = auth_service().tokens.authorize(bearer_token(), open_session=declared.open_session)
    note_user(g.claims["sub"])
