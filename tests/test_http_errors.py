"""Every failure, HTTP-level or unexpected, answers with the JSON envelope and the right status."""

import io
import logging

import pytest

from app.error_handlers import status_of
from app.errors import MESSAGES, AuthError, Code
from app.service.sessions import Sessions
from helpers import PASSWORD


def assert_envelope(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.json["success"] is False
    assert isinstance(response.json["message"], str) and response.json["message"]


def test_an_unknown_route_is_a_json_404(client):
    assert_envelope(client.get("/api/auth/nothing-here"), 404)
    assert_envelope(client.get("/"), 404)


def test_a_doubled_slash_is_a_json_404_not_a_redirect(client, auth):
    tokens = auth.tokens()
    response = client.delete(
        "/api/auth/identities/%2F0", headers={"Authorization": f"Bearer {tokens['authToken']}"}
    )
    assert response.status_code == 404 and response.is_json and response.json["success"] is False


def test_a_wrong_method_is_a_json_405_with_allow(client):
    response = client.get("/api/auth/signup")
    assert_envelope(response, 405)
    assert "POST" in response.headers["Allow"]


def test_an_oversized_body_is_a_json_413(client):
    body = {"first": "A", "last": "B", "email": "a@example.com", "password": PASSWORD, "pad": "x" * 70_000}
    assert_envelope(client.post("/api/auth/signup", json=body), 413)


@pytest.mark.parametrize(
    "data",
    ['{"email": "a@example.com",', "not json", "{'single': 'quotes'}", "\xff\xfe"],
)
def test_malformed_json_is_a_400(client, data):
    response = client.post("/api/auth/login", data=data, content_type="application/json")
    assert_envelope(response, 400)
    assert response.json["message"] == "The request body is not valid JSON."


@pytest.mark.parametrize("data", ["[]", '["a@example.com", "pw"]', '"text"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_a_400(client, data):
    response = client.post("/api/auth/login", data=data, content_type="application/json")
    assert_envelope(response, 400)


def test_an_empty_body_is_a_400_that_names_what_is_missing(client):
    response = client.post("/api/auth/signup")
    assert_envelope(response, 400)
    assert response.json["message"] == "You must send all details."


def test_an_unsupported_content_type_is_a_415(client):
    response = client.post("/api/auth/login", data="email=a", content_type="text/plain")
    assert_envelope(response, 415)


def test_deeply_nested_json_is_refused_without_a_500(client):
    nested = "[" * 5000 + "]" * 5000
    response = client.post("/api/auth/login", data=f'{{"email": {nested}}}', content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("value", [r"\u0000", r"\ud800", r"\udfff\ud800", "😀😀😀", r"\u202e"])
def test_odd_unicode_in_fields_never_causes_a_500(client, value):
    body = (
        f'{{"first": "{value}", "last": "x", "email": "{value}@example.com", "password": "{value}x12345678"}}'
    )
    response = client.post("/api/auth/signup", data=body.encode(), content_type="application/json")
    assert response.status_code in (200, 400)
    assert response.json["success"] in (True, False)


def test_an_unexpected_error_is_a_500_without_internals_and_is_logged(app, client, caplog, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Sessions, "login", explode)
    with caplog.at_level(logging.ERROR):
        response = client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
    assert_envelope(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("secret internal detail" in (record.exc_text or "") for record in caplog.records)


def test_an_error_carries_its_code_and_its_message_the_catalogues_unless_given():
    assert (AuthError(Code.EMAIL_TAKEN).message, AuthError(Code.EMAIL_TAKEN).code) == (
        "A user with that username already exists.",
        "emailTaken",
    )
    assert AuthError(Code.FORBIDDEN, "Not you.").message == "Not you."
    assert not hasattr(AuthError(Code.FORBIDDEN), "status"), "the service's errors know nothing of HTTP"


def test_every_code_has_a_message_and_one_status():
    assert set(MESSAGES) == set(Code)
    assert {status_of(code) for code in Code} <= {400, 403, 404, 405, 413, 415, 429, 500, 503}


def post_chunked(client, path: str, body: bytes):
    """POST a JSON body with no Content-Length, as a client streaming it in chunks does."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_a_413_not_silently_cut(client):
    body = b'{"email": "a@example.com", "password": "' + b"x" * 70_000 + b'"}'
    response = post_chunked(client, "/api/auth/login", body)
    assert_envelope(response, 413)


def test_a_small_chunked_body_is_read_whole(auth, client):
    auth.signup()
    body = b'{"email": "ada@example.com", "password": "' + PASSWORD.encode() + b'"}'
    response = post_chunked(client, "/api/auth/login", body)
    assert response.status_code == 200


def test_json_sent_as_a_form_is_told_to_say_it_is_json(client):
    body = '{"email": "ada@example.com", "password": "correct horse battery"}'
    response = client.post("/api/auth/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json["code"] == "missingFields"
    assert "Content-Type: application/json" in response.json["message"]
    form = client.post("/api/auth/login", data={"email": "ada@example.com"})
    assert form.json["message"] == "You must send the username and the password.", "a real form is unchanged"


def test_every_error_answer_the_document_lists_has_a_code_of_the_catalogue(client):
    """Each documented failure answers with the Error shape, whose `code` is required and one of ours."""
    document = client.get("/api/openapi.json").json
    error = document["components"]["schemas"]["Error"]
    assert "code" in error["required"] and set(error["properties"]["code"]["enum"]) == {
        code.value for code in Code
    }
    failures = [
        response
        for operations in document["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "responses" in operation
        for status, response in operation["responses"].items()
        if int(status) >= 400
    ]
    assert failures
    assert all(
        response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        for response in failures
    )
