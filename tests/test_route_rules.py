"""Every route declares its rules (app.rules), and the guard keeps them for every route."""

from __future__ import annotations

import pytest

from app.api import responds
from app.rules import READS_UNTIL_EXPIRY, route_rules, rules_of, signed_in
from helpers import INVALID, PASSWORD, AuthActions, bearer

DISABLED = {"success": False, "message": "This account is disabled.", "code": "accountDisabled"}


def calls(app, predicate) -> list[tuple[str, str]]:
    """Return (method, path) for each route whose rules satisfy `predicate`, path arguments filled."""
    found = []
    for rule in app.url_map.iter_rules():
        rules = rules_of(app.view_functions[rule.endpoint])
        if predicate(rules):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "x")
            found.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    assert found
    return found


def test_every_route_of_the_app_declares_its_rules(app):
    views = app.view_functions
    undeclared = [rule.rule for rule in app.url_map.iter_rules() if rules_of(views[rule.endpoint]) is None]
    assert undeclared == []


def test_an_app_with_an_undeclared_route_is_not_built(app):
    @app.get("/undeclared")
    @responds(200, tag="operations")
    def undeclared() -> dict:
        """A route that forgot its rules."""
        return {"success": True}

    with pytest.raises(LookupError, match="undeclared"):
        route_rules(app)


def test_a_bearer_route_that_lets_an_ended_session_through_must_say_why():
    with pytest.raises(ValueError, match="must say why"):
        signed_in(ended_session_ok="")


def test_every_bearer_route_refuses_a_request_without_a_token(app):
    client = app.test_client()
    for method, path in calls(app, lambda rules: rules.bearer):
        response = client.open(path, method=method)
        assert (response.status_code, response.json) == (403, INVALID), (method, path)


def test_a_token_of_an_ended_session_acts_only_where_the_route_says_why(app):
    client = app.test_client()
    auth = AuthActions(client)
    ended = auth.tokens()
    client.post("/api/auth/logout", json={"refreshToken": ended["refreshToken"]})
    for method, path in calls(app, lambda rules: rules.bearer and rules.open_session):
        response = client.open(path, method=method, headers=bearer(ended["authToken"]))
        assert (response.status_code, response.json) == (403, INVALID), (method, path)
    reads = calls(app, lambda rules: rules.bearer and not rules.open_session)
    for method, path in reads:
        assert rules_of_path(app, method, path).ended_session_ok == READS_UNTIL_EXPIRY
        response = client.open(path, method=method, headers=bearer(ended["authToken"]))
        assert response.status_code != 403, (method, path, response.json)


def rules_of_path(app, method: str, path: str):
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(path, method=method)
    return rules_of(app.view_functions[endpoint])


def test_a_token_of_a_deleted_account_acts_nowhere(app):
    client = app.test_client()
    auth = AuthActions(client)
    kept = auth.tokens()
    deleting = auth.login().json
    response = client.post(
        "/api/auth/deleteAccount", json={"password": PASSWORD}, headers=bearer(deleting["authToken"])
    )
    assert response.status_code == 200
    for method, path in calls(app, lambda rules: rules.bearer):
        response = client.open(path, method=method, headers=bearer(kept["authToken"]))
        assert (response.status_code, response.json) == (403, INVALID), (method, path)


def test_a_token_of_a_disabled_account_acts_nowhere(app):
    client = app.test_client()
    tokens = AuthActions(client).tokens()
    assert app.test_cli_runner().invoke(args=["users", "disable", "ada@example.com"]).exit_code == 0
    for method, path in calls(app, lambda rules: rules.bearer):
        response = client.open(path, method=method, headers=bearer(tokens["authToken"]))
        assert (response.status_code, response.json) == (400, DISABLED), (method, path)


def test_the_openapi_document_lists_what_the_rules_can_answer(client):
    operations = client.get("/api/openapi.json").json["paths"]
    logout_all = operations["/api/auth/logoutAll"]["post"]
    assert logout_all["security"] == [{"bearer": []}]
    assert {"403", "429", "503"} <= set(logout_all["responses"])
    login = operations["/api/auth/login"]["post"]
    assert login["security"] == [] and "429" in login["responses"]
    assert "429" not in operations["/api/auth/sessions"]["get"]["responses"]
