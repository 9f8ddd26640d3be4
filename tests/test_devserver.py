"""`python wsgi.py`: a banner that says where the server is, one readable line a request, and
the original client's refresh flow against a live server with short token lifetimes."""

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from app import create_app
from app.devserver import NOT_FOR_PRODUCTION, banner, store_description
from config import Settings
from helpers import PASSWORD, TEST_SECRET, claims_of

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60  # bounds, not expectations: the server usually answers within two


def test_the_banner_says_where_to_send_requests_the_docs_page_the_store_and_the_warnings():
    fields = banner(Settings.from_env({}), "127.0.0.1", 1140)
    assert fields["url"] == "http://127.0.0.1:1140"
    assert fields["docs"] == "http://127.0.0.1:1140/api/docs"
    assert fields["store"] == "embedded in-memory store (no MONGO_URI)"
    assert [warning[:17] for warning in fields["warnings"]] == [
        "*** NO MONGO_URI:",
        "*** NO SECRET_KEY",
        "*** NO MFA_ENCRYP",
    ]
    assert "network" not in fields


def test_on_every_address_the_banner_also_gives_the_address_a_phone_can_reach():
    fields = banner(Settings.from_env({"SECRET_KEY": TEST_SECRET}), "0.0.0.0", 1140)
    assert fields["url"] == "http://127.0.0.1:1140"
    assert fields["network"].startswith("http://") and ":1140 " in fields["network"]


def test_the_banner_never_shows_the_databases_password():
    settings = Settings.from_env(
        {"MONGO_URI": "mongodb://auth:s3cret@db1:27017,db2:27017/auth?replicaSet=rs"}
    )
    assert store_description(settings) == "MongoDB at db1:27017,db2:27017/auth"


def test_the_development_server_in_production_says_what_to_run_instead():
    production = Settings.from_env(
        {
            "APP_ENV": "production",
            "MONGO_URI": "mongodb://db/auth",
            "SECRET_KEY": TEST_SECRET,
            "GETALL_ACCESS": "admin",
            "SMTP_HOST": "smtp.example.com",
            "MAIL_FROM": "Acme <no-reply@acme.example>",
            "MFA_ENCRYPTION_KEYS": "A" * 43 + "=",
        }
    )
    assert banner(production, "127.0.0.1", 1140)["warnings"] == [NOT_FOR_PRODUCTION]


def test_an_app_built_for_the_banner_logs_no_warnings_of_its_own(caplog):
    with caplog.at_level(logging.WARNING):
        create_app(Settings.from_env({"BCRYPT_ROUNDS": "4"}), warn=False)
    assert not caplog.records


# A live server, as a developer starts it


class LiveServer:
    """`python wsgi.py` in a process of its own on a free port of 127.0.0.1, with its log lines."""

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        env |= {"SECRET_KEY": TEST_SECRET, "BCRYPT_ROUNDS": "4", "PYTHONUNBUFFERED": "1", **settings}
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter and the project's own script
            [sys.executable, str(ROOT / "wsgi.py"), "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp_path,  # no .env of a developer's checkout is read
            env=env,
            stderr=subprocess.STDOUT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.SimpleQueue = queue.SimpleQueue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_banner()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _wait_for_banner(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            name, _, value = line.strip().partition(" ")
            if name == "url":
                return value.strip()
        self.stop()
        raise AssertionError("the server did not start:\n" + "\n".join(self.seen))

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        """Send a request as the original client does and return the JSON body, whatever the status."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
                return json.load(response)
        except urllib.error.HTTPError as failure:
            return json.load(failure)

    def stop(self) -> list[str]:
        """Stop the server as Ctrl+C does (once), and return every line it wrote."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            while (line := self.lines.get(timeout=30)) is not None:
                self.seen.append(line)
        return self.seen


@pytest.fixture
def short_lived_server(tmp_path):
    server = LiveServer(tmp_path, ACCESS_TOKEN_TTL="2", REFRESH_TOKEN_TTL="4", LOG_FORMAT="text")
    yield server
    server.stop()


class OriginalClient:
    """The React Native client of the original server: it reads only the body, refreshes on
    invalidToken and retries once, keeps its login refresh token, and logs out on refreshExpired."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.auth_token = self.refresh_token = None
        self.logged_out = False
        self.seen: list[str] = []

    def log_in(self, email: str) -> None:
        self.server.call(
            "POST", "/api/auth/signup", {"first": "A", "last": "B", "email": email, "password": PASSWORD}
        )
        body = self.server.call("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
        self.auth_token, self.refresh_token = body["authToken"], body["refreshToken"]

    def get_all(self) -> dict:
        body = self.server.call("POST", "/api/auth/getAll", token=self.auth_token)
        self.seen.append("getAll: " + ("success" if body["success"] else body.get("code", body["message"])))
        if body.get("code") != "invalidToken":
            return body
        refreshed = self.server.call("POST", "/api/auth/refreshToken", {"refreshToken": self.refresh_token})
        self.seen.append("refreshToken: " + ("success" if refreshed["success"] else refreshed.get("code")))
        if refreshed.get("code") == "refreshExpired":
            self.logged_out = True
            return refreshed
        self.auth_token = refreshed["authToken"]  # the only thing the original client stores
        return self.get_all()


def wait_past(expiry: int) -> None:
    """Sleep until the wall clock, which the server reads too, has reached `expiry`."""
    while time.time() < expiry:
        time.sleep(max(0.01, expiry - time.time()))


def test_the_original_clients_refresh_flow_runs_end_to_end_with_short_lifetimes(short_lived_server):
    client = OriginalClient(short_lived_server)
    client.log_in("rn@example.com")
    assert client.get_all()["success"]

    wait_past(claims_of(client.auth_token)["exp"])  # the first request after exp is refused
    assert client.get_all()["success"]
    assert client.seen == [
        "getAll: success",
        "getAll: invalidToken",
        "refreshToken: success",
        "getAll: success",
    ]

    wait_past(claims_of(client.refresh_token)["exp"])
    wait_past(claims_of(client.auth_token)["exp"])
    client.get_all()
    assert client.seen[4:] == ["getAll: invalidToken", "refreshToken: refreshExpired"]
    assert client.logged_out

    lines = short_lived_server.stop()
    get_alls = [line for line in lines if " POST /api/auth/getAll " in line]
    # Each request logged once, in one line: Werkzeug's own line is gone.
    assert [line.split()[4] for line in get_alls] == ["201", "403", "201", "403"]
    assert not any("\x1b" in line or "werkzeug" in line for line in lines)
    assert any(line.strip().startswith("docs ") and line.endswith("/api/docs") for line in lines)


def test_the_live_banner_names_where_mail_goes_and_the_mailbox_page(tmp_path):
    server = LiveServer(tmp_path, LOG_FORMAT="text")
    lines = server.stop()
    rows = {
        line.split()[0]: line.split(None, 1)[1] for line in lines if line.startswith("    ") and line.split()
    }
    assert rows["mail"].startswith("Mail is written to the log (MAIL_BACKEND=console)")
    assert rows["mailbox"].startswith(f"{server.url}/dev/mail ")
