"""Structured JSON logs: one line per request with a request id, and no secrets in any line."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from queue import SimpleQueue

from flask import Flask, has_request_context, request
from werkzeug.wsgi import get_path_info

log = logging.getLogger("app.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # whole value (fullmatch)
# Where a request's id and its user's id wait in the WSGI environ until the request is logged.
REQUEST_ID_KEY = "app.request_id"
USER_ID_KEY = "app.user_id"
_QUIET_PATHS = {"/health", "/ready"}  # probes would drown the log at INFO

# Defence in depth: whatever a message carries, JWTs and bearer credentials never reach the log.
_SECRETS = [
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), "[token]"),
    (re.compile(r"(?i)(bearer)\s+\S+"), r"\1 [token]"),
]


def redact(text: str) -> str:
    """Replace anything shaped like a token in `text`."""
    if "eyJ" not in text and "bearer" not in text.lower():  # most lines: skip the patterns
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Stamp each record made during a request with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and REQUEST_ID_KEY in request.environ:
            record.request_id = request.environ[REQUEST_ID_KEY]
        return True


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if hasattr(record, "request_id"):
            entry["request_id"] = record.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))  # the whole line: a path can hold a token too


class LogWriter:
    """The thread that writes this process's log lines, one JSON line each, to stderr.

    Records are formatted where they are logged and queued; this thread writes them. A write
    lets go of the GIL, and on a request thread every write made the request queue up to take
    it back: the request log line cost a third of the guarded route's throughput under load,
    where queued it costs a few percent (bench/README.md).
    """

    def __init__(self) -> None:
        self.handler: QueueHandler | None = None
        self.listener: QueueListener | None = None

    def start(self, handler: QueueHandler) -> None:
        """Write out the lines `handler` queues, from now on."""
        self.stop()
        writer = logging.StreamHandler(sys.stderr)
        writer.setFormatter(logging.Formatter("%(message)s"))  # the queued line is already JSON
        self.handler, self.listener = handler, QueueListener(handler.queue, writer)
        self.listener.start()

    def stop(self) -> None:
        """Write out every line still queued, then stop the thread."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def restart_in_child(self) -> None:
        """Give a forked process (gunicorn --preload) its own queue and thread: neither survives a fork."""
        if self.listener is not None and self.handler is not None:
            self.listener = None  # its thread is not in this process; its queue may be mid-use
            self.handler.queue = SimpleQueue()
            self.start(self.handler)


log_writer = LogWriter()
atexit.register(log_writer.stop)
os.register_at_fork(after_in_child=log_writer.restart_in_child)


def configure_logging(level: str) -> None:
    """Log every record as one JSON line on stderr, at `level` and above, written by `log_writer`."""
    handler = QueueHandler(SimpleQueue())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    log_writer.start(handler)


def note_user(user_id: str) -> None:
    """Name the user of the current request in its log line."""
    request.environ[USER_ID_KEY] = user_id


class RequestLog:
    """WSGI middleware: give each request an id, echo it, and log one line when it is answered.

    The line holds method, path (never the query), status, duration, address and user id. As
    middleware on the WSGI environ and header list, rather than Flask hooks on its request and
    response objects, it costs a guarded request a fraction of the time.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> object:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
        environ[REQUEST_ID_KEY] = request_id

        def start_and_log(status: str, headers: list, exc_info: object = None) -> object:
            headers.append((REQUEST_ID_HEADER, request_id))
            log_request(environ, int(status[:3]), time.perf_counter() - started)
            return start_response(status, headers, exc_info)

        return self.app(environ, start_and_log)


def log_request(environ: dict, status: int, seconds: float) -> None:
    """Log the line of one answered request."""
    path = "/" + get_path_info(environ).lstrip("/")  # as Flask's request.path
    fields = {
        "method": environ.get("REQUEST_METHOD"),
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "ip": environ.get("REMOTE_ADDR"),
    }
    if USER_ID_KEY in environ:
        fields["user_id"] = environ[USER_ID_KEY]
    level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
    log.log(level, "request", extra={"fields": fields, "request_id": environ[REQUEST_ID_KEY]})


def init_request_logging(app: Flask) -> None:
    """Log every request; wraps the whole Flask app, so even refused requests are logged."""
    app.wsgi_app = RequestLog(app.wsgi_app)
