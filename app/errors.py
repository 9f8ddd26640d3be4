"""The error type every failure is raised as, and the one place that renders the envelope."""

from __future__ import annotations

import logging
import math

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from .logs import note_error_code

log = logging.getLogger(__name__)

INVALID_TOKEN = "invalidToken"
REFRESH_EXPIRED = "refreshExpired"
RATE_LIMITED = "rateLimited"
ACCOUNT_DISABLED = "accountDisabled"
FORBIDDEN = "forbidden"
SERVICE_UNAVAILABLE = "serviceUnavailable"
UNAVAILABLE_RETRY_AFTER = 5  # seconds: about the time a database takes to come back from a restart

# Messages for HTTP-level failures; anything else falls back to Werkzeug's own name.
HTTP_MESSAGES = {
    400: "The request could not be read.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request body is too large.",
    415: "Send the body as JSON or as form data.",
    500: "Something went wrong on our side. Please try again later.",
    503: "The service is not ready. Please try again shortly.",
}


class ApiError(Exception):
    """A failure a client should see: a sentence, an optional machine code, a status."""

    status = 400
    code: str | None = None
    #: Seconds the client should wait before trying again, sent as `Retry-After`.
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors


class InvalidToken(ApiError):
    """The access token is missing, malformed, expired or of the wrong kind."""

    status = 403
    code = INVALID_TOKEN

    def __init__(self) -> None:
        super().__init__("Your access token is invalid.")


class RefreshExpired(ApiError):
    """The refresh token cannot be used: expired, revoked, unknown or tampered with."""

    status = 403
    code = REFRESH_EXPIRED

    def __init__(self) -> None:
        super().__init__("Refresh token expired - session ended.")


class AccountDisabled(ApiError):
    """An operator disabled the account: no login and no refresh until it is enabled again."""

    code = ACCOUNT_DISABLED

    def __init__(self) -> None:
        super().__init__("This account is disabled.")


class Forbidden(ApiError):
    """The caller is signed in but may not do this (for example, list users without being an admin)."""

    status = 403
    code = FORBIDDEN


class RateLimited(ApiError):
    """Too many attempts: from one address, or at one account's password."""

    status = 429
    code = RATE_LIMITED

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"Too many attempts. Please try again in {seconds} seconds.")
        self.retry_after = seconds


class ServiceUnavailable(ApiError):
    """The database does not answer; the client may retry after `Retry-After` seconds."""

    status = 503
    code = SERVICE_UNAVAILABLE
    retry_after = UNAVAILABLE_RETRY_AFTER

    def __init__(self) -> None:
        super().__init__(HTTP_MESSAGES[503])


def envelope(
    message: str,
    status: int,
    code: str | None = None,
    errors: dict | None = None,
    retry_after: int | None = None,
) -> Response:
    """Build the failure envelope every error response uses."""
    body: dict = {"success": False, "message": message}
    if code:
        body["code"] = code
        note_error_code(code)
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def render(error: ApiError) -> Response:
    """Render an ApiError as the envelope, for handlers of other libraries' exceptions."""
    return envelope(error.message, error.status, error.code, error.errors, error.retry_after)


def _unavailable(error: Exception) -> Response:
    log.warning("database unavailable: %s", type(error).__name__)
    return render(ServiceUnavailable())


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    response = envelope(HTTP_MESSAGES.get(status, error.name), status)
    original_headers = error.get_response().headers
    for header in ("Allow", "Retry-After"):
        if header in original_headers:
            response.headers[header] = original_headers[header]
    return response


def _unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return envelope(HTTP_MESSAGES[500], 500)


def register_error_handlers(app: Flask, unavailable: tuple[type[Exception], ...] = ()) -> None:
    """Render every failure as the JSON envelope; `unavailable` errors (the database's) as 503."""
    app.register_error_handler(ApiError, render)
    for error_type in unavailable:
        app.register_error_handler(error_type, _unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
