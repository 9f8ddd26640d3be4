"""The OpenAPI document, built from the views' own declarations, and a page to browse it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import flask_swagger_ui
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, abort, current_app, request, send_from_directory
from werkzeug.routing import Rule

from . import schemas
from .rules import RouteRules, public

bp = Blueprint("docs", __name__)

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
SWAGGER_UI_ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"}
OWN_ASSETS = Path(__file__).parent / "static"

ERROR_DESCRIPTIONS = {
    400: "Invalid input; the message says what, `errors` says which fields",
    403: "`code` is `invalidToken` (refresh and retry), `refreshExpired` (log out) or `forbidden`",
    404: "Not found",
    413: "The body is larger than MAX_BODY_BYTES",
    415: "The body is neither JSON nor a form",
    429: "Rate limited (`code: rateLimited`); wait `Retry-After` seconds",
    503: "The database does not answer, or a sign-in provider's keys cannot be fetched",
}


# The groups of the docs page, in its order: each view names its own with `@responds(tag=...)`.
TAGS = {
    "accounts": "Sign up, and the signed-in user's own account: who am I, password, activity log",
    "tokens": "Log in for an access and a refresh token; trade the refresh token for a new access token",
    "email": "One-time codes by mail: reset a forgotten password, verify the address, move to a new one",
    "identities": "Sign in with Apple or Google (native ID tokens), and the providers linked to the account",
    "passkeys": "Passkeys (WebAuthn): add one, sign in with one, list, rename and remove them; "
    "the files iOS and Android read to trust this server with their apps' passkeys",
    "sessions": "One session per login (per device): list them, end one, end all, log out",
    "mfa": "Two-step verification: an authenticator app (TOTP), recovery codes, held sign-ins, step-up",
    "users": "The user list of the original server (getAll)",
    "keys": "The public keys other services verify this server's tokens with",
    "operations": "Probes for load balancers and orchestrators",
}


def _openapi_path(rule: Rule) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = path.replace(f"<{argument}>", f"{{{argument}}}")
    return path


def _error_response(status: int) -> dict:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": "Error"}},
    }


def operation_id(view: Callable, method: str, methods: list[str]) -> str:
    """Return the operation's id: the view's name in camelCase, as the client library names its
    method (`update_me` is `updateMe`); a route's second method adds its own (`getAllWithPost`)."""
    first, *rest = view.__name__.split("_")
    name = first + "".join(word.capitalize() for word in rest)
    return name if method == methods[0] else f"{name}With{method.capitalize()}"


def _operation(view: Callable, notes: dict, rules: RouteRules, operation_id: str) -> dict:
    """Turn a view's declarations into one OpenAPI operation."""
    summary, _, description = (view.__doc__ or "").strip().partition("\n")
    if notes["tag"] not in TAGS:
        raise ValueError(f"{view.__name__}: tag {notes['tag']!r} is not one of docs.TAGS")
    operation: dict = {
        "operationId": operation_id,
        "tags": [notes["tag"]],
        "summary": summary,
        "description": description.strip(),
        "responses": {},
    }
    errors = rules.statuses()
    if "body" in notes:
        schema = notes["body"]
        operation["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": schema}
                for media in ("application/json", "application/x-www-form-urlencoded")
            },
        }
        errors |= {400, 413, 415}
    if "query" in notes:
        operation["parameters"] = [{"in": "query", "schema": notes["query"]}]
        errors.add(400)
    operation["security"] = [{"bearer": []}] if rules.bearer else []  # [] : no token, said outright
    for status, schema in notes["responses"].items():
        response: dict = {"description": "Success"}
        if schema is not None:
            response["content"] = {"application/json": {"schema": schema}}
        operation["responses"][str(status)] = response
    for status in sorted(errors):
        operation["responses"][str(status)] = _error_response(status)
    return operation


def build_spec(app: Flask, route_rules: dict[str, RouteRules]) -> dict:
    """Build the OpenAPI 3 document of every declared route of `app`."""
    spec = APISpec(
        title="JWT auth server",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Sign up, log in, refresh and manage sessions. Failures use `Error`."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for name, description in TAGS.items():
        spec.tag({"name": name, "description": description})
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        notes = getattr(view, "openapi", None)
        if notes is None:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        parameters = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in rule.arguments
        ]
        spec.path(
            path=_openapi_path(rule),
            operations={
                method.lower(): _operation(
                    view, notes, route_rules[rule.endpoint], operation_id(view, method, methods)
                )
                for method in methods
            },
            parameters=parameters,
        )
    return spec.to_dict()


@bp.get("/api/openapi.json")
@public(uses_database=False)
def openapi_document() -> dict:
    """Return the document, its server being the address it was asked at (behind trusted proxies too)."""
    return current_app.extensions["openapi"] | {"servers": [{"url": request.url_root.rstrip("/")}]}


@bp.get("/api/docs")
@public(uses_database=False)
def docs_page():  # noqa: ANN201 - a file response
    return send_from_directory(OWN_ASSETS, "docs.html")


@bp.get("/api/docs/<name>")
@public(uses_database=False)
def docs_asset(name: str):  # noqa: ANN201 - a file response
    if name in SWAGGER_UI_ASSETS:
        return send_from_directory(SWAGGER_UI_DIST, name)
    if name == "docs.js":
        return send_from_directory(OWN_ASSETS, name)
    abort(404)
