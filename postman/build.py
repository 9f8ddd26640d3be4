"""Build the Postman collection from the server's OpenAPI document.

Run `python postman/build.py` after changing a route; a test fails while the committed
collection differs from what this script builds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = Path(__file__).resolve().parent / "auth-server.postman_collection.json"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

# The walk a user clicks through: (method, path, name, body, expected status, script lines after the check).
SAVE_BOTH_TOKENS = [
    'pm.collectionVariables.set("authToken", body.authToken);',
    'pm.collectionVariables.set("refreshToken", body.refreshToken);',
]
SAVE_AUTH_TOKEN = [
    'pm.collectionVariables.set("authToken", body.authToken);',
    "if (body.refreshToken) { pm.collectionVariables.set('refreshToken', body.refreshToken); }",
]
FRESH_EMAIL = "pm.collectionVariables.set('email', 'postman-' + Date.now() + '@example.com');"
CREDENTIALS = {"email": "{{email}}", "password": "{{password}}"}
FLOW = [
    ("POST", "/api/auth/signup", "Sign up", {"first": "Ada", "last": "Lovelace", **CREDENTIALS}, 200, []),
    ("POST", "/api/auth/login", "Log in (saves both tokens)", CREDENTIALS, 200, SAVE_BOTH_TOKENS),
    ("GET", "/api/auth/me", "Who am I", None, 200, []),
    ("PATCH", "/api/auth/me", "Fix my name", {"first": "Augusta"}, 200, []),
    ("POST", "/api/auth/getAll", "List users", None, 201, []),
    (
        "POST",
        "/api/auth/refreshToken",
        "Refresh (saves the new access token)",
        {"refreshToken": "{{refreshToken}}"},
        200,
        SAVE_AUTH_TOKEN,
    ),
    ("GET", "/api/auth/sessions", "My sessions", None, 200, []),
    ("GET", "/api/auth/activity", "My activity", None, 200, []),
    (
        "POST",
        "/api/auth/logout",
        "Log out (ends this session)",
        {"refreshToken": "{{refreshToken}}"},
        200,
        [],
    ),
    (
        "POST",
        "/api/auth/refreshToken",
        "Refresh after logout is refused",
        {"refreshToken": "{{refreshToken}}"},
        403,
        ['pm.test("code is refreshExpired", () => pm.expect(body.code).to.eql("refreshExpired"));'],
    ),
    (
        "POST",
        "/api/auth/forgotPassword",
        "Forgot password (mails a code; the same answer for any address)",
        {"email": "{{email}}"},
        200,
        [],
    ),
    # Logging out ended the session; deleting the account asks for an open one.
    ("POST", "/api/auth/login", "Log in again (saves both tokens)", CREDENTIALS, 200, SAVE_BOTH_TOKENS),
    ("POST", "/api/auth/deleteAccount", "Delete the account", {"password": "{{password}}"}, 200, []),
    (
        "GET",
        "/api/auth/me",
        "Who am I, after deletion, is refused",
        None,
        403,
        ['pm.test("code is invalidToken", () => pm.expect(body.code).to.eql("invalidToken"));'],
    ),
]


def _url(path: str) -> dict:
    postman_path = path.replace("{", ":").replace("}", "")
    return {
        "raw": "{{baseUrl}}" + postman_path,
        "host": ["{{baseUrl}}"],
        "path": postman_path.strip("/").split("/"),
    }


def _test_script(status: int, extra: list[str]) -> list[dict]:
    succeeded = "true" if status < 400 else "false"
    lines = [
        f'pm.test("answers {status}", function () {{ pm.response.to.have.status({status}); }});',
        "const body = pm.response.json();",
        f'pm.test("success is {succeeded}", function () {{ pm.expect(body.success).to.eql({succeeded}); }});',
        *extra,
    ]
    return [{"listen": "test", "script": {"type": "text/javascript", "exec": lines}}]


def _example_body(operation: dict, components: dict) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return None
    name = content["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = components[name]["properties"]
    return {field: spec.get("example", "") for field, spec in properties.items()}


def _request(method: str, path: str, name: str, operation: dict, body: dict | None) -> dict:
    request: dict = {
        "method": method,
        "header": [{"key": "Accept", "value": "application/json"}],
        "url": _url(path),
    }
    request["description"] = operation.get("summary", "")
    if "security" not in operation:
        request["auth"] = {"type": "noauth"}
    if body is not None:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2)}
    return {"name": name, "request": request}


def build(document: dict) -> dict:
    """Return the collection for `document`: the walk first, then every other operation."""
    operations = {
        (method.upper(), path): op
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if method != "parameters"  # path-level parameters, not an operation
    }
    components = document["components"]["schemas"]
    walk = []
    for method, path, name, body, status, extra in FLOW:
        if (method, path) in operations:
            item = _request(method, path, name, operations[method, path], body)
            item["event"] = _test_script(status, extra)
            walk.append(item)
    if walk and walk[0]["name"] == "Sign up":
        walk[0]["event"].insert(
            0, {"listen": "prerequest", "script": {"type": "text/javascript", "exec": [FRESH_EMAIL]}}
        )
    walked = {(method, path) for method, path, *_ in FLOW}
    others = [
        _request(method, path, f"{method} {path}", op, _example_body(op, components))
        for (method, path), op in sorted(operations.items())
        if (method, path) not in walked
    ]
    return {
        "info": {
            "name": document["info"]["title"],
            "description": "Run 'Walk through' in order: logging in saves both tokens for the rest.",
            "schema": SCHEMA_URL,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{authToken}}", "type": "string"}]},
        "variable": [
            {"key": "baseUrl", "value": "http://localhost:1140"},
            {"key": "email", "value": ""},
            {"key": "password", "value": "correct horse battery"},
            {"key": "authToken", "value": ""},
            {"key": "refreshToken", "value": ""},
        ],
        "item": [
            {"name": "Walk through", "item": walk},
            {"name": "Everything else", "item": others},
        ],
    }


def render(document: dict) -> str:
    return json.dumps(build(document), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from config import Settings

    app = create_app(Settings.from_env({"BCRYPT_ROUNDS": "4", "SECRET_KEY": "build-only-" + "x" * 32}))
    COLLECTION.write_text(render(app.extensions["openapi"]))
    print(f"wrote {COLLECTION.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
