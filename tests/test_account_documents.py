"""The account routes answer as the OpenAPI document says, walked end to end with real mail."""

import schemathesis

from helpers import PASSWORD, bearer
from smtp_server import code_in


def test_every_account_route_answers_its_documented_success_shape(mail_app, mail_client, mailbox, delivered):
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", mail_app)

    def call(method: str, path: str, **kwargs):
        response = mail_client.open(path, method=method, **kwargs)
        assert response.status_code < 300, response.json
        api_schema[path][method].validate_response(response)
        return response.json

    def last_code(email: str) -> str:
        delivered()
        return code_in(mailbox.last(email))

    body = {"first": "Ada", "last": "L", "email": "flow@example.com", "password": PASSWORD}
    call("POST", "/api/auth/signup", json=body)
    call(
        "POST",
        "/api/auth/verifyEmail",
        json={"email": "flow@example.com", "code": last_code("flow@example.com")},
    )
    call("POST", "/api/auth/resendVerification", json={"email": "flow@example.com"})
    call("POST", "/api/auth/forgotPassword", json={"email": "flow@example.com"})
    reset = {"email": "flow@example.com", "code": last_code("flow@example.com"), "newPassword": PASSWORD}
    call("POST", "/api/auth/resetPassword", json=reset)
    headers = bearer(call("POST", "/api/auth/login", json=body)["authToken"])
    call("GET", "/api/auth/me", headers=headers)
    call("PATCH", "/api/auth/me", json={"first": "Augusta"}, headers=headers)
    call(
        "POST",
        "/api/auth/changeEmail",
        json={"password": PASSWORD, "newEmail": "new@example.com"},
        headers=headers,
    )
    call("POST", "/api/auth/confirmEmailChange", json={"code": last_code("new@example.com")}, headers=headers)
    call("POST", "/api/auth/deleteAccount", json={"password": PASSWORD}, headers=headers)


def test_the_document_names_the_new_codes_and_the_email_verified_field(client):
    document = client.get("/api/openapi.json").json
    assert "emailVerified" in document["components"]["schemas"]["UserWithRole"]["properties"]
    codes = document["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
    assert "invalidCode" in codes and "emailNotVerified" in codes
    assert "code" in document["components"]["schemas"]["Error"]["required"], "every failure has one"
    assert set(document["paths"]["/api/auth/me"]) >= {"get", "patch"}
