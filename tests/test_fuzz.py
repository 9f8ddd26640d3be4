"""Property-based: any JSON, form or bytes at any route gets the envelope, never a 500."""

import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import AuthActions, bearer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Bodies shaped like the real ones, with any value in each field, so validation is exercised deeply.
FIELDS = ["first", "last", "email", "password", "refreshToken", "currentPassword", "newPassword"]
shaped_bodies = st.dictionaries(st.sampled_from(FIELDS), json_values | st.emails(), max_size=len(FIELDS))
queries = st.dictionaries(st.sampled_from(["limit", "after", "x"]), st.text(max_size=30), max_size=2)
raw_bytes = st.binary(max_size=200)
PARAMETER = re.compile(r"<[^>]+>")


# Their successes are documents (the docs page, its assets, the OpenAPI JSON); their failures are envelopes.
DOCUMENT_BLUEPRINTS = {"docs", "devmail"}


def routes(app) -> list[tuple[str, str, bool]]:
    """Every (method, rule, serves-a-document) of the app, so new routes are covered without editing this."""
    return sorted(
        (method, rule.rule, rule.endpoint.partition(".")[0] in DOCUMENT_BLUEPRINTS)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def assert_envelope(response, document: bool) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    if document and response.status_code < 400:
        return
    body = response.get_json(silent=True)
    assert isinstance(body, dict), response.get_data(as_text=True)
    assert isinstance(body.get("success"), bool)
    if body["success"] is False:
        assert isinstance(body["message"], str) and body["message"]


def test_arbitrary_input_at_every_route_gets_the_envelope_and_never_a_500(make_app):
    app = make_app(rate_limit_enabled=False)  # the limits have their own tests; here they would only say 429
    client = app.test_client()
    token = AuthActions(client).tokens()["authToken"]
    served = routes(app)
    assert len(served) >= 6

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        route=st.sampled_from(served),
        parameter=st.text(min_size=1, max_size=30),
        body=json_values | shaped_bodies,
        raw=raw_bytes,
        kind=st.sampled_from(["json", "form", "raw json", "raw other"]),
        query=queries,
        signed_in=st.booleans(),
    )
    def check(route, parameter, body, raw, kind, query, signed_in):
        method, rule, document = route
        path = PARAMETER.sub(quote(parameter, safe=""), rule)
        headers = bearer(token) if signed_in else {}
        if kind == "json":
            request = {"json": body}
        elif kind == "form":
            form = body if isinstance(body, dict) else {"value": body}
            request = {"data": {key: str(value) for key, value in form.items()}}
        else:
            content_type = "application/json" if kind == "raw json" else "application/octet-stream"
            request = {"data": raw, "content_type": content_type}
        response = client.open(path, method=method, headers=headers, query_string=query, **request)
        assert_envelope(response, document)

    check()
