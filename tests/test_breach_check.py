"""The optional online check of new passwords against a Pwned Passwords range API (k-anonymity).

Against a real HTTP server on 127.0.0.1 that answers ranges the way the service does.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config import ConfigError, Settings
from helpers import PASSWORD, AuthActions, bearer

BREACHED = "This password has appeared in a data breach."
LEAKED = "purple giraffe tuesday"  # strong by zxcvbn's lists, but served as breached below
PADDED = "orange walrus monday"  # listed with count 0: padding, not a breach
FRESH = "a brand new passphrase"


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 - the service's own scheme


class RangeServer:
    """Answers GET /range/<5 hex> with `SUFFIX:COUNT` lines, padded, as the service does."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = {sha1(password): count for password, count in counts.items()}
        self.paths: list[str] = []
        self.headers: list[dict] = []
        self.status = 200
        self.hold = threading.Event()  # set: answers wait for `release` first (a slow service)
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
                server.paths.append(self.path)
                server.headers.append(dict(self.headers))
                if server.hold.is_set():
                    server.release.wait(timeout=10)
                body = server.answer(self.path.rpartition("/")[2]).encode()
                try:
                    self.send_response(server.status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/range/"

    def answer(self, prefix: str) -> str:
        listed = [(digest, count) for digest, count in self.counts.items() if digest.startswith(prefix)]
        lines = [f"{digest[5:]}:{count}" for digest, count in listed]
        padding = [f"{index:035X}:0" for index in range(20)]
        return "\r\n".join(lines + padding)

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pwned():
    server = RangeServer({LEAKED: 3861, PADDED: 0})
    yield server
    server.stop()


@pytest.fixture
def checked(make_app, pwned):
    """A client of an app that checks new passwords against the range server, waiting 1 s at most."""
    app = make_app(password_breach_check_url=pwned.url, password_breach_check_timeout=1)
    return app.test_client()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_listed_password_is_refused_and_only_five_hex_digits_of_its_hash_leave(checked, pwned):
    auth = AuthActions(checked)
    response = auth.signup(password=LEAKED)
    assert (response.status_code, response.json) == (
        400,
        {"success": False, "message": BREACHED, "code": "weakPassword", "errors": {"password": [BREACHED]}},
    )
    assert pwned.paths == [f"/range/{sha1(LEAKED)[:5]}"]
    assert pwned.headers[0]["Add-Padding"] == "true"
    assert auth.signup(password=FRESH).status_code == 200


def test_a_padding_line_is_not_a_breach(checked):
    assert AuthActions(checked).signup(password=PADDED).status_code == 200


def test_a_password_refused_offline_costs_no_request(checked, pwned):
    response = AuthActions(checked).signup(password="password123")
    assert response.json["message"] == "This password is too common."
    assert pwned.paths == []


def test_change_and_reset_refuse_a_listed_new_password_too(checked):
    token = AuthActions(checked).tokens()["authToken"]
    change = {"currentPassword": PASSWORD, "newPassword": LEAKED}
    changed = checked.post("/api/auth/changePassword", json=change, headers=bearer(token))
    assert changed.json["errors"] == {"newPassword": [BREACHED]}
    reset = {"email": "ada@example.com", "code": "123456", "newPassword": LEAKED}
    assert checked.post("/api/auth/resetPassword", json=reset).json["errors"] == {"newPassword": [BREACHED]}


@pytest.mark.parametrize("trouble", ["unreachable", "slow", "error"])
def test_a_service_that_cannot_answer_never_blocks_a_signup(make_app, pwned, caplog, trouble):
    url = pwned.url
    if trouble == "unreachable":
        url = f"http://127.0.0.1:{closed_port()}/range/"
    elif trouble == "slow":
        pwned.hold.set()  # answers only after the test, long after the 1 s timeout
    else:
        pwned.status = 503
    client = make_app(password_breach_check_url=url, password_breach_check_timeout=1).test_client()
    with caplog.at_level(logging.WARNING):
        response = AuthActions(client).signup(password=LEAKED)
    assert response.status_code == 200
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("password breach check failed" in message for message in warnings)
    assert not any(LEAKED in message or sha1(LEAKED)[:5] in message for message in warnings)


def test_the_check_is_off_by_default_and_its_settings_are_bounded():
    settings = Settings.from_env({})
    assert (
        settings.passwords.password_breach_check_url,
        settings.passwords.password_breach_check_timeout,
    ) == (None, 2)
    on = Settings.from_env({"PASSWORD_BREACH_CHECK_URL": "https://api.pwnedpasswords.com/range/"})
    assert on.passwords.password_breach_check_url == "https://api.pwnedpasswords.com/range/"
    with pytest.raises(ConfigError, match="PASSWORD_BREACH_CHECK_URL must be an https:// URL"):
        Settings.from_env({"PASSWORD_BREACH_CHECK_URL": "http://pwned.example/range/"})
    with pytest.raises(ConfigError, match="PASSWORD_BREACH_CHECK_TIMEOUT must be at most 10"):
        Settings.from_env({"PASSWORD_BREACH_CHECK_TIMEOUT": "11"})
