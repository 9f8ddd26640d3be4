"""How views declare their inputs and outputs: one decorator loads and documents each."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, request
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from . import schemas
from .errors import AuthError, Code

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def read_body() -> Any:
    """Return the request body as parsed data: JSON, a form, or {} when there is none."""
    raw = request.get_data(cache=True)  # forms are parsed from this cached copy
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body has no length to refuse up front; Werkzeug cuts it at the limit.
        raise RequestEntityTooLarge()
    if request.mimetype in FORM_TYPES:
        return request.form.to_dict()
    if not raw:
        return {}
    if request.is_json:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise AuthError(Code.INVALID_BODY, "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise AuthError(Code.INVALID_BODY, "The request body must be a JSON object.")
        return data
    raise UnsupportedMediaType()


JSON_SENT_AS_FORM = (
    "The body looks like JSON but was sent as a form: send it with Content-Type: application/json."
)


def json_sent_as_form(schema: schemas.RequestSchema) -> bool:
    """Say whether a form body names none of the schema's fields while it reads as a JSON object
    (curl -d '{...}' without -H 'Content-Type: application/json')."""
    if request.mimetype not in FORM_TYPES or set(request.form) & set(schema.fields):
        return False
    try:
        return isinstance(json.loads(request.get_data(cache=True)), dict)
    except (ValueError, RecursionError):
        return False


def _operation(view: Callable) -> dict:
    """Return the OpenAPI notes attached to `view`, creating them on first use."""
    notes: dict = vars(view).setdefault("openapi", {"responses": {}})  # the function's own attributes
    return notes


def accepts(schema: schemas.RequestSchema, *, location: str = "body") -> Callable:
    """Load the body (or query string) with `schema` and pass the result to the view as `data`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def load_then_call(**kwargs: Any) -> Any:
            source = read_body() if location == "body" else request.args
            try:
                data = schemas.load(schema, source)
            except AuthError as error:
                if error.code is Code.MISSING_FIELDS and location == "body" and json_sent_as_form(schema):
                    raise AuthError(Code.MISSING_FIELDS, JSON_SENT_AS_FORM, errors=error.errors) from None
                raise
            return view(data, **kwargs)

        _operation(load_then_call)[location] = schema
        return load_then_call

    return decorate


def responds(status: int, schema: type[Schema] | Schema | None = None, *, tag: str) -> Callable:
    """Document the success answer (`status`, `schema`) and the group of the docs page it belongs
    to (`tag`, one of `docs.TAGS`); the failures come from the route's rules (app.rules)."""

    def decorate(view: Callable) -> Callable:
        operation = _operation(view)
        operation["responses"][status] = schema
        operation["tag"] = tag
        return view

    return decorate
