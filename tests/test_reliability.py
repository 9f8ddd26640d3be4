"""A clean stop: on SIGTERM the production server finishes what is in flight; no promised mail is lost.

Runs the production server with two workers on a database of its own, so only with
TEST_MONGO_URI set (CI's second run, on the wire server), like tests/test_workers.py.
"""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from helpers import PASSWORD
from smtp_server import Mailbox
from test_workers import SERVERS, SIGNUP, STOP_TIMEOUT_S, Server, Worker

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_MONGO_URI"),
    reason="workers share state only through a MongoDB: set TEST_MONGO_URI (CI's second run does)",
)

GRACE_S = 8
SLOW_S = 2  # the request in flight when the stop comes
MAIL_BOUND_S = 20  # a bound on a wait for an event, not a measure of speed


class MailingServer(Server):
    """The production server, mailing through SMTP to a test mailbox."""

    def __init__(self, name: str, log_path, mailbox: Mailbox, mongo_uri: str | None = None) -> None:
        super().__init__(name, log_path)
        if mongo_uri is not None:  # a second server on the first one's database
            self.mongo_uri = mongo_uri
            self.db = self.db.client[mongo_uri.rsplit("/", 1)[1]]
        self.mailbox = mailbox

    def environment(self) -> dict[str, str]:
        return super().environment() | {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.mailbox.port),
            "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT": "5",
            "SHUTDOWN_GRACE_SECONDS": str(GRACE_S),
            "MONGO_URI": self.mongo_uri,
        }

    def terminate(self) -> float:
        """Send SIGTERM to the server (its master process) and return how long it took to exit."""
        started = time.monotonic()
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(GRACE_S + STOP_TIMEOUT_S)
        return time.monotonic() - started

    def keep_database(self) -> None:
        """Close the connections, leaving the database for the next server."""
        for worker in self.connections:
            worker.close()
        self.db.client.close()


def wait_for(condition, timeout: float = MAIL_BOUND_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class GatedMailbox(Mailbox):
    """Answers every message with a temporary error (451) until the gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if not self.open.is_set():
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def mailbox():
    box = GatedMailbox().start()
    yield box
    box.stop()


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_sigterm_finishes_the_requests_in_flight_refuses_new_ones_and_loses_no_promised_mail(
    name, tmp_path, mailbox
):
    server = MailingServer(name, tmp_path / "server.log", mailbox)
    server.start()
    worker = server.pinned()[0]
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    answers: dict = {}

    mark = tmp_path / "in-flight"

    def slow() -> None:
        answers["slow"] = worker.send("GET", f"/test/slow?seconds={SLOW_S}&mark={quote(str(mark))}")

    try:
        signup = Worker(server.port).post(
            SIGNUP, {"first": "Ada", "last": "Lovelace", "email": email, "password": PASSWORD}
        )
        assert signup.status == 200, signup.body
        in_flight = threading.Thread(target=slow)
        in_flight.start()
        assert wait_for(mark.exists), "the slow request reached the worker"
        took = server.terminate()
        in_flight.join(GRACE_S)
        assert answers["slow"].status == 200, "the request in flight was answered"
        assert took < GRACE_S + STOP_TIMEOUT_S
        with pytest.raises(OSError):
            probe = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            probe.request("GET", "/health")
            probe.getresponse()
        waiting = server.db["MailOutbox"].find_one({"to": email, "state": {"$in": ["waiting", "sending"]}})
    finally:
        server.keep_database()
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)

    # The verification code was promised, and the mail server refused it for now: it waits in the
    # outbox, and the next server delivers it, once, when its next try is due (the longer the first
    # server lived, the further the backoff has pushed it).
    assert waiting is not None, "the promised mail waits in the outbox"
    due_in = max(0.0, (waiting["dueAt"] - datetime.now(UTC).replace(tzinfo=None)).total_seconds())
    mailbox.open.set()
    again = MailingServer(name, tmp_path / "again.log", mailbox, mongo_uri=server.mongo_uri)
    again.start()
    try:
        delivered = wait_for(lambda: mailbox.to(email), timeout=due_in + MAIL_BOUND_S)
        assert delivered, "the next server delivered what the stopped one left"
        time.sleep(1)  # a duplicate would arrive now
        assert len(mailbox.to(email)) == 1
    finally:
        again.stop()
