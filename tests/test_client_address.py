"""Through the production server (serve.py, granian): a client cannot choose the address the server uses.

granian hands `X_Forwarded_For` to the app as `X-Forwarded-For`, the later one winning, so these
tests send both spellings, as a client behind a proxy that passes them on would.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import PASSWORD, TEST_SECRET, run_until_exit

ROOT = Path(__file__).resolve().parent.parent
CLIENT = "203.0.113.7"  # the address the trusted proxy saw
FORGED = ("198.51.100.1", "198.51.100.2", "198.51.100.3")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, port: int, process: subprocess.Popen, log: Path) -> None:
        self.port, self.process, self.log = port, process, log

    def send(self, method: str, path: str, headers: list[tuple[str, str]], body: dict | None = None) -> tuple:
        """Send one request with `headers` in this order, spelled exactly as given."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.putrequest(method, path)
        payload = json.dumps(body).encode() if body is not None else b""
        for name, value in [
            *headers,
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
        ]:
            connection.putheader(name, value)
        connection.endheaders(payload)
        response = connection.getresponse()
        answer = response.status, json.loads(response.read() or b"null")
        connection.close()
        return answer


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[Server]:
    """Run `python serve.py` on a free port of 127.0.0.1 with `settings`; stop it afterwards."""
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if key not in ("MONGO_URI", "TRUSTED_PROXIES")
    }
    environment |= {
        "APP_ENV": "testing",
        "LOG_FORMAT": "json",  # the lines are read back as JSON
        "SECRET_KEY": TEST_SECRET,
        "BCRYPT_ROUNDS": "4",
        "PORT": str(port),
        "RATE_LIMIT_STORAGE_URI": "memory://",
        **settings,
    }
    log = tmp_path / f"serve-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, the project's own server
            [sys.executable, str(ROOT / "serve.py"), "--host", "127.0.0.1"],
            cwd=tmp_path,  # no .env of a developer's
            env=environment | {"PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        wait_until_up(port, process, log)
        yield Server(port, process, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_up(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve.py exited: {log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"serve.py did not answer within {seconds} s: {log.read_text()}")


def forging(*proxy_headers: tuple[str, str]) -> list[tuple[str, str]]:
    """A client's own forwarding headers in every spelling, then what the proxy appended, then more forgeries.

    The underscore spellings come last: granian lets the later header win.
    """
    return [
        ("X-Forwarded-For", FORGED[0]),
        ("Forwarded", f"for={FORGED[0]}"),
        *proxy_headers,
        ("X_Forwarded_For", FORGED[1]),
        ("x_forwarded_for", FORGED[2]),
    ]


def session_address(server: Server, headers: list[tuple[str, str]]) -> str:
    """Sign up and log in with `headers`; return the address the server stored for the session."""
    account = {"first": "A", "last": "B", "email": "ada@example.com", "password": PASSWORD}
    server.send("POST", "/api/auth/signup", headers, account)
    status, body = server.send(
        "POST", "/api/auth/login", headers, {"email": account["email"], "password": PASSWORD}
    )
    assert status == 200, body
    bearer = [*headers, ("Authorization", f"Bearer {body['authToken']}")]
    status, body = server.send("GET", "/api/auth/sessions", bearer)
    [session] = body["sessions"]
    return session["ip"]


def logged_addresses(server: Server) -> set[str]:
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    return {line["ip"] for line in lines if "ip" in line}


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve")


def test_without_trusted_proxies_every_forwarding_header_is_ignored(module_tmp):
    with serving(module_tmp) as server:
        assert session_address(server, forging(("X-Forwarded-For", CLIENT))) == "127.0.0.1"
    assert logged_addresses(server) == {"127.0.0.1"}  # read once stopped: every line written out


def test_behind_a_trusted_proxy_only_what_the_proxy_appended_to_forwarded_counts(module_tmp):
    with serving(module_tmp, TRUSTED_PROXIES="1") as server:
        # What Caddy or nginx send when told to: their own Forwarded element, and X-Forwarded-For too.
        proxy = (("Forwarded", f"for={CLIENT}"), ("X-Forwarded-For", CLIENT))
        assert session_address(server, forging(*proxy)) == CLIENT
    assert logged_addresses(server) == {CLIENT}


def test_behind_a_trusted_proxy_a_new_underscore_header_each_time_does_not_escape_the_limit(module_tmp):
    with serving(module_tmp, TRUSTED_PROXIES="1") as server:
        statuses = []
        for n in range(21):
            headers = [("Forwarded", f"for={CLIENT}"), ("X_Forwarded_For", f"198.51.100.{n}")]
            statuses.append(server.send("POST", "/api/auth/login", headers, {})[0])
        assert statuses == [400] * 20 + [429]


def test_serve_refuses_x_forwarded_for_behind_proxies_under_granian(module_tmp):
    ended = run_until_exit(
        [sys.executable, str(ROOT / "serve.py"), "--host", "127.0.0.1"],
        cwd=module_tmp,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TRUSTED_PROXIES": "1",
            "TRUSTED_PROXY_HEADER": "X-Forwarded-For",
            "PORT": "1",
        },
    )
    assert ended.returncode != 0
    assert "X_Forwarded_For" in ended.stderr
