"""Structured JSON logs: one line per request with a request id, and no secrets in any line."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

log = logging.getLogger("app.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_QUIET_PATHS = {"/health", "/ready"}  # probes would drown the log at INFO

# Defence in depth: whatever a message carries, JWTs and bearer credentials never reach the log.
_SECRETS = [
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), "[token]"),
    (re.compile(r"(?i)(bearer)\s+\S+"), r"\1 [token]"),
]


def redact(text: str) -> str:
    """Replace anything shaped like a token in `text`."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Stamp each record made during a request with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if hasattr(record, "request_id"):
            entry["request_id"] = record.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON, at `level` and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def start_request() -> None:
    """Take the caller's request id if it is sane, else make one, and start the stopwatch."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    """Echo the request id and log one line: method, path (never the query), status, duration."""
    if "request_id" not in g:  # a failure before start_request ran
        start_request()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    fields = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
        "ip": request.remote_addr,
    }
    if "claims" in g:
        fields["user_id"] = g.claims.get("sub")
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    log.log(level, "request", extra={"fields": fields})
    return response


def init_request_logging(app: Flask) -> None:
    """Log every request; registered first, so even refused requests are logged."""
    app.before_request(start_request)
    app.after_request(finish_request)
