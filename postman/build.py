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


# Two-step verification, clicked through by hand: setting TOTP up needs a verified address, so the
# first request takes the code mailed at signup (paste it into the `emailCode` variable).
# Each code is made by the request's pre-request script from the saved secret (RFC 6238 with
# Postman's CryptoJS), one time step after the last one used, since a code is accepted once.
TOTP_CODE = [
    "// RFC 6238: HMAC-SHA1 of the time step, keyed by the base32 secret; 6 digits.",
    "const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';",
    "let bits = '';",
    "for (const char of pm.collectionVariables.get('totpSecret').replace(/=+$/, '')) {",
    "  bits += alphabet.indexOf(char).toString(2).padStart(5, '0');",
    "}",
    "let hex = '';",
    "for (let i = 0; i + 8 <= bits.length; i += 8) {",
    "  hex += parseInt(bits.slice(i, i + 8), 2).toString(16).padStart(2, '0');",
    "}",
    "const now = Math.floor(Date.now() / 1000 / 30);",
    "const last = Number(pm.collectionVariables.get('totpLastStep') || 0);",
    "const step = Math.max(now - 1, last + 1);  // one step either side is accepted, each step once",
    "pm.collectionVariables.set('totpLastStep', String(step));",
    "const counter = CryptoJS.enc.Hex.parse(step.toString(16).padStart(16, '0'));",
    "const mac = CryptoJS.HmacSHA1(counter, CryptoJS.enc.Hex.parse(hex)).toString();",
    "const offset = parseInt(mac.slice(-1), 16);",
    "const value = (parseInt(mac.slice(offset * 2, offset * 2 + 8), 16) & 0x7fffffff) % 1000000;",
    "pm.collectionVariables.set('totpCode', String(value).padStart(6, '0'));",
]
WITH_TOTP = {"code": "{{totpCode}}"}
TOTP_FLOW = [
    (
        "POST",
        "/api/auth/verifyEmail",
        "Verify the address (paste the code mailed at signup into the emailCode variable)",
        {"email": "{{email}}", "code": "{{emailCode}}"},
        200,
        [],
    ),
    ("POST", "/api/auth/login", "Log in (saves both tokens)", CREDENTIALS, 200, SAVE_BOTH_TOKENS),
    (
        "POST",
        "/api/auth/mfa/totp/setup",
        "Set up an authenticator (saves the secret; add it to an app too, if you like)",
        {"password": "{{password}}"},
        200,
        [
            'pm.collectionVariables.set("totpSecret", body.secret);',
            'pm.collectionVariables.set("totpLastStep", "0");',
        ],
    ),
    (
        "POST",
        "/api/auth/mfa/totp/enable",
        "Turn TOTP on (saves a recovery code and the aal 2 token)",
        WITH_TOTP,
        200,
        [
            'pm.collectionVariables.set("authToken", body.authToken);',
            'pm.collectionVariables.set("recoveryCode", body.recoveryCodes[0]);',
        ],
    ),
    ("GET", "/api/auth/mfa", "My second factors", None, 200, []),
    (
        "POST",
        "/api/auth/login",
        "Log in: the code is asked for (saves the mfaToken)",
        CREDENTIALS,
        400,
        [
            'pm.test("code is mfaRequired", () => pm.expect(body.code).to.eql("mfaRequired"));',
            'pm.collectionVariables.set("mfaToken", body.mfaToken);',
        ],
    ),
    (
        "POST",
        "/api/auth/mfa/verify",
        "Finish the log-in with the code (saves both tokens)",
        {"mfaToken": "{{mfaToken}}", **WITH_TOTP},
        200,
        SAVE_BOTH_TOKENS,
    ),
    ("POST", "/api/auth/mfa/stepUp", "Step up (a fresh aal 2 token)", WITH_TOTP, 200, SAVE_AUTH_TOKEN),
    (
        "POST",
        "/api/auth/mfa/totp/disable",
        "Turn TOTP off (password and a recovery code)",
        {"password": "{{password}}", "code": "{{recoveryCode}}"},
        200,
        [],
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


def _walk(flow: list, operations: dict) -> list[dict]:
    """Return the items of a walk: each request with its checks, and its code made first if it sends one."""
    items = []
    for method, path, name, body, status, extra in flow:
        if (method, path) in operations:
            item = _request(method, path, name, operations[method, path], body)
            item["event"] = _test_script(status, extra)
            if body and "{{totpCode}}" in body.values():
                script = {"type": "text/javascript", "exec": TOTP_CODE}
                item["event"].insert(0, {"listen": "prerequest", "script": script})
            items.append(item)
    return items


def build(document: dict) -> dict:
    """Return the collection for `document`: the walk first, then every other operation."""
    operations = {
        (method.upper(), path): op
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if method != "parameters"  # path-level parameters, not an operation
    }
    components = document["components"]["schemas"]
    walk = _walk(FLOW, operations)
    if walk and walk[0]["name"] == "Sign up":
        walk[0]["event"].insert(
            0, {"listen": "prerequest", "script": {"type": "text/javascript", "exec": [FRESH_EMAIL]}}
        )
    totp_walk = _walk(TOTP_FLOW, operations)
    walked = {(method, path) for method, path, *_ in FLOW + TOTP_FLOW}
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
            {"key": "emailCode", "value": ""},
            {"key": "totpSecret", "value": ""},
            {"key": "totpLastStep", "value": "0"},
            {"key": "totpCode", "value": ""},
            {"key": "recoveryCode", "value": ""},
            {"key": "mfaToken", "value": ""},
        ],
        "item": [
            {"name": "Walk through", "item": walk},
            {
                "name": "Two-step verification",
                "description": "After 'Sign up' of the walk through: needs the code mailed at signup.",
                "item": totp_walk,
            },
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
