"""The OpenAPI document: valid, complete, and true to what the server really answers."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from app import create_app
from app.api import responds
from app.docs import SWAGGER_UI_ASSETS, build_spec
from app.rules import public, route_rules
from config import Settings
from helpers import PASSWORD, TEST_SECRET, bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# The docs themselves, and the development mailbox (which production never has).
UNDOCUMENTED = {"static", "docs.openapi_document", "docs.docs_page", "docs.docs_asset"} | {
    "devmail.mail_json",
    "devmail.mail_page",
    "devmail.mail_message",
    "devmail.mail_style",
}


def test_the_document_is_valid_openapi_3(client):
    document = client.get("/api/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_and_method_is_documented(app, client):
    paths = client.get("/api/openapi.json").json["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED:
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        assert path in paths, rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {rule.rule}"


def test_every_operation_is_in_one_described_group_of_the_docs_page(client):
    document = client.get("/api/openapi.json").json
    groups = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert all(groups.values())
    used = set()
    for path, operations in document["paths"].items():
        for method in operations.keys() & HTTP_METHODS:
            [tag] = operations[method]["tags"]
            assert tag in groups, f"{method} {path}"
            used.add(tag)
    assert used == set(groups)  # no empty group on the page
    assert document["paths"]["/api/auth/refreshToken"]["post"]["tags"] == ["tokens"]
    assert document["paths"]["/health"]["get"]["tags"] == ["operations"]


def test_a_view_in_an_unknown_group_stops_the_document_from_being_built(app):
    @app.get("/extra")
    @responds(200, tag="acounts")
    @public()
    def extra() -> dict:
        """A route whose group is misspelt."""
        return {"success": True}

    with pytest.raises(ValueError, match="extra: tag 'acounts' is not one of docs.TAGS"):
        build_spec(app, route_rules(app))


def test_request_bodies_come_from_the_validating_schemas(client):
    document = client.get("/api/openapi.json").json
    signup = document["components"]["schemas"]["Signup"]
    assert set(signup["required"]) == {"first", "last", "email", "password"}
    assert signup["properties"]["email"]["format"] == "email"
    assert signup["properties"]["password"]["maxLength"] == 72


def test_guarded_routes_declare_the_bearer_scheme_and_public_ones_say_they_need_none(client):
    document = client.get("/api/openapi.json").json
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/api/auth/getAll"]["post"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/auth/login"]["post"]["security"] == []


def test_every_operation_has_the_id_the_client_library_names_its_method_by(client):
    document = client.get("/api/openapi.json").json
    ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
    ]
    assert len(ids) == len(set(ids))
    paths = document["paths"]
    assert paths["/api/auth/me"]["patch"]["operationId"] == "updateMe"
    assert paths["/api/auth/sessions/{session_id}"]["delete"]["operationId"] == "endSession"
    assert paths["/api/auth/getAll"]["get"]["operationId"] == "getAll"
    assert paths["/api/auth/getAll"]["post"]["operationId"] == "getAllWithPost"


def test_the_documents_server_is_the_address_it_was_asked_at(client):
    document = client.get("/api/openapi.json", base_url="https://auth.example.com").json
    assert document["servers"] == [{"url": "https://auth.example.com"}]


def test_the_docs_page_loads_its_assets_from_this_server_only(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assert "<script>" not in html  # no inline script, so a strict CSP can stay on
    for name in [*SWAGGER_UI_ASSETS, "docs.js"]:
        assert client.get(f"/api/docs/{name}").status_code == 200, name


def test_the_docs_page_serves_no_other_files(client):
    assert client.get("/api/docs/..%2Fapp%2F__init__.py").status_code == 404
    assert client.get("/api/docs/index.template.html").status_code == 404


def documented_operations() -> list[tuple[str, str, GenerationMode]]:
    """Every (method, path, mode) to fuzz, read from an app built for collection only.

    Invalid requests are generated only for operations that take some input.
    """
    app = create_app(
        Settings.from_env({"APP_ENV": "testing", "SECRET_KEY": TEST_SECRET, "BCRYPT_ROUNDS": "4"})
    )
    paths = app.extensions["openapi"]["paths"]
    cases = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if (
                {"parameters", "requestBody"} & operation.keys()
                or operation["security"]
                or "parameters" in operations
            ):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.fixture
def api_schema(app):
    """The app's own document, loaded by schemathesis to call the app in-process."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def token(app):
    client = app.test_client()
    body = {"first": "Ada", "last": "L", "email": "ada@example.com", "password": PASSWORD}
    client.post("/api/auth/signup", json=body)
    return client.post("/api/auth/login", json=body).json["authToken"]


@pytest.mark.parametrize(("method", "path", "mode"), documented_operations())
def test_every_operation_answers_as_documented(api_schema, token, method, path, mode):
    """Generated requests, valid and invalid, never get a 500, an undocumented status or shape."""
    operation = api_schema[path][method]
    headers = bearer(token) if "security" in operation.definition.raw else None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()


def test_successful_answers_match_their_documented_schemas(api_schema, client):
    """Walk every route as a client would and check each success body against the document."""

    def call(method: str, path: str, template: str | None = None, **kwargs):
        response = client.open(path, method=method, **kwargs)
        assert response.status_code < 300, response.json
        api_schema[template or path][method].validate_response(response)
        return response.json

    body = {"first": "Ada", "last": "L", "email": "flow@example.com", "password": PASSWORD}
    call("POST", "/api/auth/signup", json=body)
    tokens = call("POST", "/api/auth/login", json=body)
    headers = bearer(tokens["authToken"])
    call("POST", "/api/auth/refreshToken", json={"refreshToken": tokens["refreshToken"]})
    call("GET", "/api/auth/getAll", headers=headers)
    call("POST", "/api/auth/getAll", query_string={"limit": 1}, headers=headers)
    call("GET", "/api/auth/me", headers=headers)
    phone = call("POST", "/api/auth/login", json=body)
    call("GET", "/api/auth/activity", query_string={"limit": 2}, headers=headers)
    sessions = call("GET", "/api/auth/sessions", headers=headers)["sessions"]
    other = next(session["id"] for session in sessions if not session["current"])
    call("DELETE", f"/api/auth/sessions/{other}", "/api/auth/sessions/{session_id}", headers=headers)
    call("POST", "/api/auth/logout", json={"refreshToken": phone["refreshToken"]})
    change = {"currentPassword": PASSWORD, "newPassword": PASSWORD + "!"}
    call("POST", "/api/auth/changePassword", json=change, headers=headers)
    assert call("POST", "/api/auth/logoutAll", headers=headers)["revoked"] == 1


def test_every_auth_operation_documents_the_503_it_gives_when_the_database_is_away(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path, operations in paths.items():
        if path.startswith("/api/auth/"):
            for method in operations.keys() & HTTP_METHODS:
                assert "503" in operations[method]["responses"], f"{method} {path}"
