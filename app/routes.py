"""The auth blueprint: thin views over the auth service, behind a bearer-token guard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import UnsupportedMediaType

from . import schemas
from .errors import ApiError, InvalidToken
from .service import AuthService, Client

bp = Blueprint("auth", __name__, url_prefix="/api/auth")

# Every other route of this blueprint needs a valid access token.
PUBLIC_ENDPOINTS = {"auth.signup", "auth.login", "auth.refresh_token"}

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def auth_service() -> AuthService:
    return current_app.extensions["auth_service"]


def read_body() -> Any:
    """Return the request body as parsed data: JSON, a form, or {} when there is none."""
    if request.mimetype in FORM_TYPES:
        return request.form.to_dict()
    if not request.get_data(cache=True):
        return {}
    if request.is_json:
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError("The request body is not valid JSON.")
        if not isinstance(data, dict):
            raise ApiError("The request body must be a JSON object.")
        return data
    raise UnsupportedMediaType()


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


@bp.post("/signup")
def signup() -> dict:
    data = schemas.load(schemas.signup_schema, read_body())
    auth_service().signup(data["first"], data["last"], data["email"], data["password"], client())
    return {"success": True}


@bp.post("/login")
def login() -> dict:
    data = schemas.load(schemas.login_schema, read_body())
    result = auth_service().login(data["email"], data["password"], client())
    return {
        "success": True,
        "authToken": result.auth_token,
        "refreshToken": result.refresh_token,
        "user": schemas.user_schema.dump(result.user),
    }


@bp.post("/refreshToken")
def refresh_token() -> dict:
    data = schemas.load(schemas.refresh_schema, read_body())
    return {"success": True, "authToken": auth_service().refresh(data["refreshToken"])}


@bp.route("/getAll", methods=["GET", "POST"])
def get_all() -> tuple[dict, int]:
    page = schemas.load(schemas.page_schema, request.args)
    users, next_cursor = auth_service().list_users(page["after"], page["limit"])
    return {"success": True, "message": schemas.user_schema.dump(users, many=True), "next": next_cursor}, 201


@bp.get("/me")
def me() -> dict:
    claims = g.claims
    user = {
        "id": claims["sub"],
        "first": claims.get("first"),
        "last": claims.get("last"),
        "email": claims.get("email"),
    }
    return {"success": True, "user": schemas.user_schema.dump(user)}
