"""Request logs, as JSON or as text: one line per request with a request id, and never a password or token."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from queue import SimpleQueue

import pytest

from app import logs
from app.logs import (
    FORMATTERS,
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
    log_writer,
    redact,
)
from helpers import PASSWORD, bearer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lines(caplog):
    """Return every log record so far, formatted as the server writes it."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RequestIdFilter())  # as configure_logging installs it
    formatter = JsonFormatter()
    return lambda: [formatter.format(record) for record in caplog.records]


@pytest.fixture(params=sorted(FORMATTERS))
def any_lines(request, caplog):
    """Like `lines`, in each of the two formats in turn."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RequestIdFilter())
    formatter = FORMATTERS[request.param]()
    return lambda: [formatter.format(record) for record in caplog.records]


def request_lines(lines) -> list[dict]:
    return [entry for entry in map(json.loads, lines()) if entry["message"] == "request"]


def test_each_request_is_one_json_line_with_its_id(client, lines):
    response = client.post("/api/auth/login", json={})
    [entry] = request_lines(lines)
    assert entry["method"] == "POST"
    assert entry["path"] == "/api/auth/login"
    assert entry["status"] == 400
    assert entry["duration_ms"] >= 0
    assert entry["level"] == "INFO"
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert len(entry["request_id"]) == 32


def test_a_sane_request_id_from_the_caller_is_kept(client, lines):
    response = client.get("/health", headers={"X-Request-ID": "abc-123.x_y"})
    assert response.headers["X-Request-ID"] == "abc-123.x_y"
    assert request_lines(lines)[0]["request_id"] == "abc-123.x_y"


@pytest.mark.parametrize("request_id", ["has space", "a" * 129, "new\\nline", '{"json": 1}'])
def test_an_odd_request_id_is_replaced(client, request_id):
    assert client.get("/health", headers={"X-Request-ID": request_id}).headers["X-Request-ID"] != request_id


def test_the_user_of_a_guarded_request_is_logged_by_id(auth, client, lines):
    tokens = auth.tokens()
    client.get("/api/auth/getAll", headers=bearer(tokens["authToken"]))
    assert request_lines(lines)[-1]["user_id"] == tokens["user"]["id"]


def test_refused_and_failed_requests_are_logged_too(make_app, lines):
    app = make_app(rate_limit_signup="1/minute")

    @app.get("/boom")
    def boom():
        raise RuntimeError("broken")

    client = app.test_client()
    client.post("/api/auth/signup", json={})
    client.post("/api/auth/signup", json={})
    client.get("/boom")
    statuses = [entry["status"] for entry in request_lines(lines)]
    assert statuses == [400, 429, 500]
    errors = [json.loads(line) for line in lines() if '"exception"' in line]
    assert errors and errors[0]["request_id"]


def test_no_password_token_or_authorization_header_is_ever_logged(auth, client, any_lines):
    lines = any_lines
    tokens = auth.tokens()
    refresh = tokens["refreshToken"]
    client.post("/api/auth/refreshToken", json={"refreshToken": refresh})
    client.get("/api/auth/getAll", headers=bearer(tokens["authToken"]))
    client.get(f"/api/auth/getAll?token={tokens['authToken']}", headers=bearer("not-a-real-token"))
    auth.login(password="wrong password 123")
    client.post("/api/auth/login", data=f"password={PASSWORD}&email=ada@example.com")
    text = "\n".join(lines())
    assert "request" in text
    for secret in (PASSWORD, "wrong password 123", refresh, tokens["authToken"], "not-a-real-token"):
        assert secret not in text
    assert "Bearer" not in text and "Authorization" not in text


def test_a_token_in_a_message_or_a_traceback_is_redacted(any_lines, auth):
    lines = any_lines
    token = auth.tokens()["authToken"]
    logger = logging.getLogger("app.test")
    logger.warning("saw %s and Bearer abc.def", token)
    try:
        raise ValueError(f"bad token {token}")
    except ValueError:
        logger.exception("failed")
    text = "\n".join(lines())
    assert token not in text and "abc.def" not in text
    assert "[token]" in text


def test_a_token_sent_as_a_path_is_not_logged(auth, client, lines):
    token = auth.tokens()["authToken"]
    assert client.get(f"/api/auth/{token}").status_code == 404
    [entry] = [entry for entry in request_lines(lines) if entry["status"] == 404]
    assert entry["path"] == "/api/auth/[token]"


def test_a_redacted_line_is_still_one_json_object(client, lines):
    client.get("/x/bearer%20abc", headers={"X-Request-ID": "bearer"})
    [entry] = request_lines(lines)  # each line parses
    assert entry["path"] == "/x/bearer [token]"
    assert entry["status"] == 404


def test_redact_keeps_ordinary_text():
    assert redact("user ada@example.com logged in") == "user ada@example.com logged in"


@pytest.fixture
def restore_logging():
    """Put the test runner's logging back after a test that configures the server's."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    yield
    log_writer.stop()
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def test_the_server_writes_json_lines_to_stderr(capsys, restore_logging):
    configure_logging("INFO")
    logging.getLogger("app.test").debug("hidden")
    logging.getLogger("app.test").info("shown")
    log_writer.stop()  # writes out what is queued
    [line] = capsys.readouterr().err.strip().splitlines()
    assert json.loads(line)["message"] == "shown"


def test_a_logged_exception_keeps_its_traceback_in_its_own_field(capsys, restore_logging):
    configure_logging("INFO")  # here, not in a fixture: capsys captures only the test's own run
    try:
        raise RuntimeError("broken")
    except RuntimeError:
        logging.getLogger("app.test").exception("unhandled error")
    log_writer.stop()
    [line] = capsys.readouterr().err.strip().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "unhandled error"
    assert "Traceback" in entry["exception"] and "RuntimeError: broken" in entry["exception"]


def test_a_forked_process_writes_its_own_lines(capfd, restore_logging):
    configure_logging("INFO")
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn --preload worker
        try:
            logging.getLogger("app.test").info("from the child")
            log_writer.stop()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    logging.getLogger("app.test").info("from the parent")
    log_writer.stop()
    messages = [json.loads(line)["message"] for line in capfd.readouterr().err.strip().splitlines()]
    assert sorted(messages) == ["from the child", "from the parent"]


def test_a_worker_process_and_the_server_write_out_their_last_lines_when_they_end():
    """No stop() called: granian's workers end through multiprocessing, which skips atexit."""
    script = """
import logging, multiprocessing
from app.logs import configure_logging

def worker():
    logging.getLogger("app.test").info("from the worker")

configure_logging("INFO")
child = multiprocessing.get_context("fork").Process(target=worker)
child.start()
child.join()
logging.getLogger("app.test").info("from the server")
"""
    ended = subprocess.run(  # noqa: S603 - this interpreter, a script of the test
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    messages = [json.loads(line)["message"] for line in ended.stderr.splitlines()]
    assert sorted(messages) == ["from the server", "from the worker"]


def test_lines_past_the_queue_limit_are_counted_and_reported(monkeypatch):
    monkeypatch.setattr(logs, "MAX_QUEUED_LINES", 3)
    handler = logs.QueuedLines(SimpleQueue())
    handler.setFormatter(JsonFormatter())
    for number in range(5):
        handler.handle(logging.makeLogRecord({"msg": f"line {number}", "levelno": 20, "levelname": "INFO"}))
    handler.queue.put(None)  # write what there is, then stop
    written = io.StringIO()
    logs.write_lines(handler, written)
    messages = [json.loads(line)["message"] for line in written.getvalue().splitlines()]
    assert messages[:3] == ["line 0", "line 1", "line 2"]
    assert messages[3].startswith("2 log lines dropped")


def test_lines_are_written_whole_in_writes_a_pipe_never_interleaves():
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[str] = []

        def write(self, text: str) -> int:
            self.writes.append(text)
            return super().write(text)

    lines = [f'{{"n": {number}, "pad": "{"x" * 700}"}}' for number in range(20)]
    stream = Recorder()
    logs.write_in_pipe_sized_writes(lines, stream)
    assert len(stream.writes) > 1
    assert all(len(write) <= logs.PIPE_BUF and write.endswith("\n") for write in stream.writes)
    assert stream.getvalue().splitlines() == lines


# The text format (development)


def text_of(record: logging.LogRecord) -> str:
    return TextFormatter().format(record)


def test_a_request_in_text_is_one_readable_line_with_the_fields_of_its_json_line(auth, client, caplog):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())
    token = auth.tokens()["authToken"]
    client.get("/api/auth/getAll", headers=bearer(token))
    record = caplog.records[-1]
    entry, line = json.loads(JsonFormatter().format(record)), text_of(record)
    assert "\n" not in line
    assert f" INFO    GET /api/auth/getAll 201 {entry['duration_ms']}ms ip=127.0.0.1 " in line
    for name in ("request_id", "user_id", "ip"):
        assert f"{name}={entry[name]}" in line
    assert set(entry) - {"time", "level", "logger", "message"} == {
        "method",
        "path",
        "status",
        "duration_ms",
        "ip",
        "user_id",
        "request_id",
    }


def test_the_line_of_a_failure_names_the_code_it_answered(auth, client, caplog):
    caplog.set_level(logging.INFO)
    auth.signup()
    client.post("/api/auth/refreshToken", json={"refreshToken": "not a token"})
    refused = caplog.records[-1]
    assert "code=refreshExpired" in text_of(refused)
    assert json.loads(JsonFormatter().format(refused))["code"] == "refreshExpired"
    auth.login()
    assert "code" not in caplog.records[-1].fields


def test_text_lines_show_control_characters_escaped(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/x/%1b[31mred")
    logging.getLogger("app.test").warning("bell \a and \x1b[0m")
    request_line, warning_line = map(text_of, caplog.records)
    assert "\x1b" not in request_line + warning_line and "\a" not in warning_line
    assert "/x/\\x1b[31mred 404" in request_line
    assert "app.test: bell \\x07 and \\x1b[0m" in warning_line


def test_a_traceback_in_text_follows_its_line(caplog):
    caplog.set_level(logging.INFO)
    try:
        raise RuntimeError("broken")
    except RuntimeError:
        logging.getLogger("app.test").exception("unhandled error")
    first, *rest = text_of(caplog.records[0]).splitlines()
    assert first.endswith(" ERROR   app.test: unhandled error")
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "RuntimeError: broken"


def test_a_block_record_shows_a_field_a_row(caplog):
    caplog.set_level(logging.INFO)
    fields = {"url": "http://127.0.0.1:1140", "warnings": ["first", "second"], "none": []}
    logging.getLogger("app.test").info("started", extra={"fields": fields, "block": True})
    assert text_of(caplog.records[0]).splitlines()[1:] == [
        "    url       http://127.0.0.1:1140",
        "    warnings  first",
        "              second",
    ]
    assert json.loads(JsonFormatter().format(caplog.records[0]))["warnings"] == ["first", "second"]


def test_the_server_writes_text_lines_to_stderr_when_told(capsys, restore_logging):
    configure_logging("INFO", "text")
    logging.getLogger("app.test").info("shown as text")
    log_writer.stop()
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.endswith(" INFO    app.test: shown as text")


def test_a_write_counts_bytes_not_characters(monkeypatch):
    """Text lines may hold any character: a write stays within PIPE_BUF bytes all the same."""
    writes = []
    stream = io.StringIO()
    stream.write = lambda text: writes.append(text) or len(text)
    lines = ["é" * 300 for _ in range(20)]  # 600 bytes each, 300 characters
    logs.write_in_pipe_sized_writes(lines, stream)
    assert all(len(write.encode()) <= logs.PIPE_BUF for write in writes)
    assert "".join(writes).splitlines() == lines


@pytest.mark.parametrize("log_format", sorted(FORMATTERS))
@pytest.mark.parametrize(
    "environ",
    [
        {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/auth/me",
            "REMOTE_ADDR": "127.0.0.1",
            logs.USER_ID_KEY: "u1",
        },
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/x/\x1b[31m\u202e".encode().decode("latin1"),
            "REMOTE_ADDR": "::1",
            logs.ERROR_CODE_KEY: "c",
        },
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/eyJa.eyJb.c"},
        {"PATH_INFO": "/health"},
    ],
)
def test_a_request_line_queued_straight_is_the_line_its_record_makes(environ, log_format, restore_logging):
    """The server's handler takes a request's line without a LogRecord: it must be the same line."""
    configure_logging("DEBUG", log_format)
    handler = logging.getLogger().handlers[0]
    log_writer.stop()  # the lines stay on the queue, to be read here
    queued, made = [], []
    handler.enqueue = queued.append
    real_time = logs.time.time
    now = real_time()
    environ = {logs.REQUEST_ID_KEY: "abc-123", **environ}

    def through_a_record(level, message, extra):  # the way taken when others see the record
        record = logs.log.makeRecord(logs.log.name, level, "", 0, message, (), None, extra=extra)
        record.created, record.msecs = now, logs._msecs(now)
        made.append(handler.format(record))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(logs.time, "time", lambda: now)
        logs.log_request(environ, 200, 0.0123)
        patch.setattr(logs, "_only_handler", lambda: None)
        patch.setattr(logs.log, "log", through_a_record)
        logs.log_request(environ, 200, 0.0123)
    assert queued == made and len(made) == 1
    assert "eyJ" not in made[0]


def test_a_request_line_goes_through_the_logging_module_when_something_else_listens(caplog, restore_logging):
    configure_logging("INFO")
    logging.getLogger().addHandler(caplog.handler)  # a second handler: it must get the record
    logs.log_request({"REQUEST_METHOD": "GET", "PATH_INFO": "/", logs.REQUEST_ID_KEY: "r"}, 200, 0.001)
    assert [record.fields["path"] for record in caplog.records] == ["/"]
