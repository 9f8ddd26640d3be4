"""Logs: one line per request with a request id, as JSON or as readable text, and no secrets in any line."""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import random
import re
import select
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from logging.handlers import QueueHandler
from queue import SimpleQueue
from typing import Any, TextIO, cast

from flask import Flask, has_request_context, request
from werkzeug.wsgi import get_path_info

from .texts import UNSAFE_CODE_POINTS

log = logging.getLogger("app.requests")
_root = logging.getLogger()
REQUEST_MESSAGE = "request"

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # whole value (fullmatch)
# Where a request's id and its user's id wait in the WSGI environ until the request is logged.
REQUEST_ID_KEY = "app.request_id"
USER_ID_KEY = "app.user_id"
ERROR_CODE_KEY = "app.error_code"
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
        if hasattr(record, "request_id"):  # the request line brings its own: no context lookups
            return True
        if has_request_context() and REQUEST_ID_KEY in request.environ:
            record.request_id = request.environ[REQUEST_ID_KEY]
        return True


_to_json = json.JSONEncoder(default=str).encode  # made once: this runs for every request
_json_text = json.encoder.encode_basestring_ascii  # what _to_json makes of a str, without its checks


def _json_value(value: object) -> str:
    """Return `value` as _to_json writes it."""
    kind = type(value)
    if kind is str:
        return _json_text(cast(str, value))
    if kind is int or (kind is float and math.isfinite(cast(float, value))):
        return repr(value)  # what the encoder writes for these
    return _to_json(value)


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
        return self._line(entry)

    def request_line(self, created: float, level: str, request_id: str, fields: dict) -> str:
        """Return the line `format` makes of a request's record, without the record.

        Written out rather than encoded from a dict: the same text (the encoder's separators,
        its escaping of each string), for less work (bench/README.md).
        """
        time_text = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        line = (
            f'{{"time": "{time_text}", "level": "{level}", "logger": "{log.name}", '
            f'"message": "{REQUEST_MESSAGE}", "request_id": {_json_value(request_id)}'
            + "".join(f", {_json_text(name)}: {_json_value(value)}" for name, value in fields.items())
            + "}"
        )
        if "eyJ" not in line and "bearer" not in line.lower():
            return line
        entry = {"time": time_text, "level": level, "logger": log.name, "message": REQUEST_MESSAGE}
        return self._line({**entry, "request_id": request_id, **fields})

    @staticmethod
    def _line(entry: dict) -> str:
        line = _to_json(entry)
        # Every text value, not only the message: a path can hold a token too. JSON keeps a value's
        # letters as they are, so a line without these has no value that redact() would change.
        if "eyJ" not in line and "bearer" not in line.lower():
            return line
        return _to_json(
            {name: redact(value) if isinstance(value, str) else value for name, value in entry.items()}
        )


# Control characters (a path can hold any) are shown escaped, so a line cannot rewrite the
# terminal; bidirectional controls too, so it cannot show text in an order other than stored.
_CONTROL_CHARACTERS = str.maketrans(
    {code: f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" for code in UNSAFE_CODE_POINTS}
)
_REQUEST_FIELDS_IN_TEXT = ("method", "path", "status")  # shown first and bare; the rest as name=value


def escaped(value: object) -> str:
    """Return `value` as text with every control character escaped (`\\x1b`, `\\u202e`), for a terminal."""
    return str(value).translate(_CONTROL_CHARACTERS)


class TextFormatter(logging.Formatter):
    """Format each record as one readable line, with the fields and the redaction of the JSON lines.

    `00:17:31.002 INFO    POST /api/auth/login 400 3.2ms ip=127.0.0.1 request_id=2f9c...` for a
    request; time, level, logger, message and `name=value` fields for any other record. A record
    logged with `block=True` (the development server's banner) shows a field per line instead.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", {}))
        if hasattr(record, "request_id"):
            fields["request_id"] = record.request_id
        if record.name == log.name:
            words = [escaped(fields.pop(name)) for name in _REQUEST_FIELDS_IN_TEXT if name in fields]
            words.append(f"{fields.pop('duration_ms', '?')}ms")
        else:
            words = [f"{record.name}:", escaped(record.getMessage())]
        line = f"{_clock(record.created, record.msecs)} {record.levelname:<7} {' '.join(words)}"
        if getattr(record, "block", False):
            line += "".join(f"\n    {name:<9} {escaped(value)}" for name, value in _block_rows(fields))
        elif fields:
            line += " " + " ".join(f"{name}={escaped(value)}" for name, value in fields.items())
        if record.exc_info:
            line += "\n" + "\n".join(map(escaped, self.formatException(record.exc_info).splitlines()))
        return redact(line)

    def request_line(self, created: float, level: str, request_id: str, fields: dict) -> str:
        """Return the line `format` makes of a request's record, without the record."""
        fields = {**fields, "request_id": request_id}
        words = [escaped(fields.pop(name)) for name in _REQUEST_FIELDS_IN_TEXT if name in fields]
        words.append(f"{fields.pop('duration_ms', '?')}ms")
        line = f"{_clock(created, _msecs(created))} {level:<7} {' '.join(words)} "
        return redact(line + " ".join(f"{name}={escaped(value)}" for name, value in fields.items()))


def _clock(created: float, msecs: float) -> str:
    """Return `created` as local `HH:MM:SS.mmm`, as a text line starts."""
    return f"{datetime.fromtimestamp(created).strftime('%H:%M:%S')}.{int(msecs):03d}"


def _msecs(created: float) -> float:
    """Return the milliseconds of `created` as a LogRecord computes them."""
    return int((created - int(created)) * 1000) + 0.0


def _block_rows(fields: dict) -> list[tuple[str, object]]:
    """One (name, value) row per field, and one per item of a list (named on its first row only)."""
    rows: list[tuple[str, object]] = []
    for name, value in fields.items():
        items = value if isinstance(value, list | tuple) else [value]
        rows.extend((name if index == 0 else "", item) for index, item in enumerate(items))
    return rows


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}

BATCH_SECONDS = 0.05  # how long a line waits for others, so that one write carries many
MAX_QUEUED_LINES = 100_000  # some 30 MB; past it (stderr not reading), lines are counted and dropped
STOP_TIMEOUT_SECONDS = 5
PIPE_BUF = select.PIPE_BUF  # a write this small to a pipe never interleaves with another process's


class QueuedLines(QueueHandler):
    """Queue each record as its line, formatted on the thread that logs it."""

    queue: SimpleQueue  # the lines, as `prepare` makes them

    def __init__(self, lines: SimpleQueue) -> None:
        super().__init__(lines)
        self.dropped = 0

    def handle(self, record: logging.LogRecord) -> bool:
        # Handler.handle holds the handler's lock around emit, and request threads would queue
        # on it: the queue is thread-safe without it.
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):  # Python 3.12+: a filter may return a new record
            record = result
        if result:
            self.emit(record)
        return bool(result)

    def prepare(self, record: logging.LogRecord) -> str:
        return self.format(record)

    def request_line(self, created: float, level: int, request_id: str, fields: dict) -> bool:
        """Queue a request's line made straight from its fields; False if it must go through `log`.

        It does when anything else would see the record: another handler (a test's capture),
        a filter other than the request ids', a formatter of another kind.
        """
        formatter = self.formatter
        if not (type(formatter) is JsonFormatter or type(formatter) is TextFormatter) or level < self.level:
            return False  # a subclass, or no formatter: the logging module's way
        assert isinstance(formatter, JsonFormatter | TextFormatter)  # for the type checker
        if any(type(kept) is not RequestIdFilter for kept in self.filters):
            return False
        self.enqueue(formatter.request_line(created, logging.getLevelName(level), request_id, fields))
        return True

    # typeshed types the argument as the record, but QueueHandler.emit passes what `prepare`
    # returns, which here is the formatted line.
    def enqueue(self, line: str) -> None:  # type: ignore[override]
        if self.queue.qsize() < MAX_QUEUED_LINES:
            self.queue.put_nowait(line)
        else:
            self.dropped += 1  # counted under the GIL: at worst, a few too few


class LogWriter:
    """The thread that writes this process's queued log lines to stderr, a batch at a time.

    A write lets go of the GIL, and every time it did on a request thread, the request waited
    for its turn to take it back, and under load that was a large share of a guarded
    request's time (bench/README.md). So request threads only queue their lines, and this thread
    writes what gathered in BATCH_SECONDS. It is not a daemon: when the main thread ends
    (interpreter exit, or a server's worker process returning), Python waits for it to write
    out the last lines.
    """

    def __init__(self) -> None:
        self.handler: QueuedLines | None = None
        self.thread: threading.Thread | None = None

    def start(self, handler: QueuedLines) -> None:
        """Write out the lines `handler` queues, from now on."""
        self.stop()
        self.handler = handler
        self.thread = threading.Thread(target=write_lines, args=(handler, sys.stderr), name="log-writer")
        self.thread.start()

    def stop(self) -> None:
        """Write out every line queued so far, then stop the thread."""
        if self.thread is not None and self.handler is not None:
            self.handler.queue.put(None)
            self.thread.join(STOP_TIMEOUT_SECONDS)
            self.thread = None

    def restart_in_child(self) -> None:
        """Give a forked process (gunicorn --preload) its own queue and thread: neither survives a fork."""
        if self.thread is not None and self.handler is not None:
            self.thread = None  # not in this process; and its queue may have been mid-use
            self.handler.queue = SimpleQueue()
            self.start(self.handler)


def write_lines(handler: QueuedLines, stream: TextIO) -> None:
    """Write `handler`'s queued lines every BATCH_SECONDS, until a None comes or the main thread ends."""
    main_thread = threading.main_thread()
    done = False
    while not done:
        time.sleep(BATCH_SECONDS)
        done = not main_thread.is_alive()  # before taking the lines: the last ones are taken too
        lines = take_queued(handler.queue)
        done = done or None in lines
        if handler.dropped:
            dropped, handler.dropped = handler.dropped, 0
            lines.append(handler.format(dropped_lines_record(dropped)))
        write_in_pipe_sized_writes([line for line in lines if line is not None], stream)


def take_queued(lines: SimpleQueue) -> list:
    taken = []
    while not lines.empty():
        taken.append(lines.get_nowait())
    return taken


def dropped_lines_record(count: int) -> logging.LogRecord:
    message = f"{count} log lines dropped: stderr did not take them as fast as they came"
    return logging.makeLogRecord(
        {"name": __name__, "levelno": logging.WARNING, "levelname": "WARNING", "msg": message}
    )


def write_in_pipe_sized_writes(lines: list[str], stream: TextIO) -> None:
    """Write whole lines in writes of at most PIPE_BUF bytes (when the lines are no longer)."""
    chunk, size = "", 0
    try:
        for line in lines:
            line_size = len(line) + 1 if line.isascii() else len(line.encode()) + 1  # JSON lines are ASCII
            if chunk and size + line_size > PIPE_BUF:
                stream.write(chunk)
                stream.flush()
                chunk, size = "", 0
            chunk += line + "\n"
            size += line_size
        if chunk:
            stream.write(chunk)
            stream.flush()
    except (OSError, ValueError):
        pass  # stderr is gone: there is nowhere to say so, and the queue must still drain


log_writer = LogWriter()
atexit.register(log_writer.stop)
os.register_at_fork(after_in_child=log_writer.restart_in_child)


def configure_logging(level: str, log_format: str = "json") -> None:
    """Log records at `level` and above as `json` or `text` lines, written to stderr by `log_writer`."""
    handler = QueuedLines(SimpleQueue())
    handler.setFormatter(FORMATTERS[log_format]())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # What a record would otherwise look up on every call, and the lines never show (the
    # "Optimization" section of the logging HOWTO).
    logging._srcfile = None  # the caller's file and line
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    log_writer.start(handler)


def new_request_id() -> str:
    """Return 32 random hex digits, the id of a request that brought none.

    A correlation id, not a secret: `random` makes one without the system call `secrets`
    needs, which would let go of the GIL on every request.
    """
    return f"{random.getrandbits(128):032x}"


def note_user(user_id: str) -> None:
    """Name the user of the current request in its log line."""
    request.environ[USER_ID_KEY] = user_id


def note_error_code(code: str) -> None:
    """Name the `code` a failure answered with in the request's log line."""
    if has_request_context():
        request.environ[ERROR_CODE_KEY] = code


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
        request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else new_request_id()
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
    if ERROR_CODE_KEY in environ:
        fields["code"] = environ[ERROR_CODE_KEY]
    level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
    if not log.isEnabledFor(level):
        return
    # The logging module's record, its lookups and its locks cost a served request more than
    # the line itself (bench/README.md): when the server's own handler is the only one to see
    # it, the line goes straight onto its queue, the same line the record would have made.
    handler = _only_handler()
    if handler is None or not handler.request_line(time.time(), level, environ[REQUEST_ID_KEY], fields):
        log.log(level, REQUEST_MESSAGE, extra={"fields": fields, "request_id": environ[REQUEST_ID_KEY]})


def _only_handler() -> QueuedLines | None:
    """Return the server's handler when it alone would handle a request's record, else None."""
    if log.filters:
        return None
    logger = log
    while logger is not _root:  # the loggers a record goes through on its way up
        if logger.handlers or not logger.propagate or logger.parent is None:
            return None
        logger = logger.parent
    handlers = _root.handlers
    if len(handlers) != 1 or _root.filters:
        return None
    handler = handlers[0]
    return handler if type(handler) is QueuedLines else None


def init_request_logging(app: Flask) -> None:
    """Log every request; wraps the whole Flask app, so even refused requests are logged."""
    # Flask declares wsgi_app as a method; WSGI middleware replaces it on the instance.
    cast(Any, app).wsgi_app = RequestLog(app.wsgi_app)
