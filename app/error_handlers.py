"""The one place that turns a failure into the JSON envelope, and the one table of its statuses."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from .errors import MESSAGES, AuthError, Code, ServiceUnavailable
from .logs import note_error_code

log = logging.getLogger(__name__)

# Every code answers with one status; a code not named here answers 400.
STATUS: dict[Code, int] = {
    Code.INVALID_TOKEN: 403,
    Code.REFRESH_EXPIRED: 403,
    Code.FORBIDDEN: 403,
    Code.NOT_FOUND: 404,
    Code.NO_PUBLIC_KEYS: 404,
    Code.SESSION_NOT_FOUND: 404,
    Code.USER_NOT_FOUND: 404,
    Code.IDENTITY_NOT_LINKED: 404,
    Code.PASSKEY_NOT_FOUND: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.BODY_TOO_LARGE: 413,
    Code.UNSUPPORTED_MEDIA_TYPE: 415,
    Code.RATE_LIMITED: 429,
    Code.INTERNAL_ERROR: 500,
    Code.SERVICE_UNAVAILABLE: 503,
    Code.PROVIDER_UNAVAILABLE: 503,
}

# Werkzeug's HTTP errors, by status, as codes of the catalogue.
HTTP_CODES: dict[int, Code] = {
    400: Code.INVALID_BODY,
    404: Code.NOT_FOUND,
    405: Code.METHOD_NOT_ALLOWED,
    413: Code.BODY_TOO_LARGE,
    415: Code.UNSUPPORTED_MEDIA_TYPE,
    503: Code.SERVICE_UNAVAILABLE,
}


def status_of(code: Code) -> int:
    """Return the HTTP status a failure of `code` answers with."""
    return STATUS.get(code, 400)


def envelope(
    code: Code,
    message: str,
    errors: dict | None = None,
    retry_after: int | None = None,
    extra: dict | None = None,
) -> Response:
    """Build the failure envelope every error response uses."""
    body: dict = {"success": False, "message": message, "code": code.value}
    note_error_code(code.value)
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = status_of(code)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def render(error: AuthError) -> Response:
    """Render an AuthError as the envelope, for handlers of other libraries' exceptions too."""
    return envelope(error.code, error.message, error.errors, error.retry_after, error.extra)


def _unavailable(error: Exception) -> Response:
    log.warning("database unavailable: %s", type(error).__name__)
    return render(ServiceUnavailable())


def _http_error(error: HTTPException) -> Response:
    code = HTTP_CODES.get(error.code or 500, Code.INTERNAL_ERROR)
    response = envelope(code, MESSAGES[code])
    response.status_code = error.code or 500
    original_headers = error.get_response().headers
    for header in ("Allow", "Retry-After"):
        if header in original_headers:
            response.headers[header] = original_headers[header]
    return response


def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return envelope(Code.INTERNAL_ERROR, MESSAGES[Code.INTERNAL_ERROR])


def register_error_handlers(app: Flask, unavailable: tuple[type[Exception], ...] = ()) -> None:
    """Render every failure as the JSON envelope; `unavailable` errors (the database's) as 503."""
    app.register_error_handler(AuthError, render)
    for error_type in unavailable:
        app.register_error_handler(error_type, _unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
