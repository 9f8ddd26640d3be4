"""Helpers the tests share: a hand-moved clock, HTTP auth actions, a bearer header, a refresh call."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import bson.objectid
import jwt
from bson import ObjectId

PASSWORD = "correct horse battery"
TEST_SECRET = "test-secret-long-enough-for-every-hmac-algorithm-0123456789abcdef"
EXPIRED = {"success": False, "message": "Refresh token expired - session ended.", "code": "refreshExpired"}
INVALID = {"success": False, "message": "Your access token is invalid.", "code": "invalidToken"}


def fresh_database_uri() -> str | None:
    """Return TEST_MONGO_URI pointed at a database of its own (so tests never share data), or None."""
    base = os.environ.get("TEST_MONGO_URI")
    if not base:
        return None
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/auth_test_{uuid.uuid4().hex[:12]}"))


class Clock:
    """A clock the tests move by hand instead of sleeping."""

    def __init__(self) -> None:
        # Start at the real time: MongoDB's TTL monitor (and mongomock's) uses the real clock.
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class AuthActions:
    """Sign up and log in through the HTTP API, as a client would."""

    def __init__(self, client) -> None:
        self.client = client

    def signup(self, email: str = "ada@example.com", password: str = PASSWORD, **extra):
        body = {"first": "Ada", "last": "Lovelace", "email": email, "password": password, **extra}
        return self.client.post("/api/auth/signup", json=body)

    def login(self, email: str = "ada@example.com", password: str = PASSWORD, **headers):
        return self.client.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=headers
        )

    def tokens(self, email: str = "ada@example.com") -> dict:
        """Sign up (if needed) and log in; return the login response body."""
        self.signup(email)
        response = self.login(email)
        assert response.status_code == 200, response.json
        return response.json


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def refresh(client, token):
    return client.post("/api/auth/refreshToken", json={"refreshToken": token})


def claims_of(token: str) -> dict:
    """Read a token's claims without checking it."""
    return jwt.decode(token, options={"verify_signature": False})


def sign_like(token: str, claims: dict, key=TEST_SECRET, algorithm: str = "HS256", **header) -> str:
    """Sign `claims` under the kid of `token`, as someone holding `key` would forge it."""
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid, **header})


def at_once(app, count: int, request) -> list:
    """Call `request(client)` from `count` threads released together, each with its own client."""
    barrier = threading.Barrier(count)
    responses = [None] * count

    def send(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        responses[index] = request(client)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def run_until_exit(args: list[str], cwd, env: dict[str, str], timeout: float = 60):
    """Run a command to its end in a process group of its own; on time-out, kill the whole group."""
    process = subprocess.Popen(  # noqa: S603 - the tests' own commands
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


class Processes:
    """Makes ObjectIds as several server processes would within one second: each with its own bytes.

    An ObjectId is its second, five bytes drawn once per process, and a counter; so of two ids
    made in one second by two processes, the one made later can sort first.
    """

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        second = int(time.time())
        monkeypatch.setattr(bson.objectid, "time", SimpleNamespace(time=lambda: second))

    def switch_to(self, process_bytes: bytes) -> None:
        """Make the ids that follow as the process with these five bytes would."""
        self.monkeypatch.setattr(ObjectId, "_ObjectId__random", process_bytes)


class MailLog:
    """A mail sender that keeps every message: (template, to, context)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []

    def send(self, template: str, to: str, **context) -> None:
        self.sent.append((template, to, context))

    def send_nothing(self, template: str, to: str, **context) -> None:
        return None

    def templates(self, to: str) -> list[str]:
        return [template for template, address, _ in self.sent if address == to]

    def last_code(self, to: str) -> str:
        return [context["code"] for _, address, context in self.sent if address == to and "code" in context][
            -1
        ]

    def last(self, template: str, to: str) -> dict:
        return [context for name, address, context in self.sent if (name, address) == (template, to)][-1]

    def capture(self, app) -> MailLog:
        """Keep what `app` sends instead of putting it in its outbox (the service's one mailer)."""
        mailer = app.extensions["mailer"]
        mailer.send, mailer.send_nothing = self.send, self.send_nothing
        return self


def storage_methods(storage) -> list[tuple[str, object, str]]:
    """Every public method of the storage: (`store.method` as named in reports, its owner, its name)."""
    owners = [("", storage)] + [(f"{name}.", getattr(storage, name)) for name in storage.STORES]
    return [
        (prefix + name, owner, name)
        for prefix, owner in owners
        for name in dir(owner)
        if not name.startswith("_") and callable(getattr(owner, name)) and name != "STORES"
    ]
