"""The outbox worker: one thread a process claims due messages from the database and delivers them.

Any process delivers any message: each is claimed atomically with a lease, so two workers
never both send it, and a worker that dies mid-send lets it go when the lease ends (the one
case where a message can go twice). A temporary failure is tried again after a delay stored
with the message; a permanent one (an SMTP 5xx, a template that does not render) is kept as
failed with its reason. A message waiting for its retry is not due, so it holds up no other.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import smtplib
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from jinja2 import TemplateError
from pymongo.errors import PyMongoError

from .sealed import Unsealable
from .storage import Storage
from .storage.outbox import FAILED, SENT, WAITING

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (2, 10, 30, 120, 600)  # after the first try; then the message is kept as failed
POLL_SECONDS = 5  # how soon a running worker sees a message another process stored
DATABASE_RETRY_SECONDS = 1  # the database away: how often the worker tries it again
MIN_LEASE_SECONDS = 30
LEASE_PER_SMTP_TIMEOUT = 6  # a send is a handful of exchanges, each within SMTP_TIMEOUT
STOP_AT_EXIT_SECONDS = 5
ERROR_CHARS = 300

_workers: weakref.WeakSet[OutboxWorker] = weakref.WeakSet()


def utc_now() -> datetime:
    """Return the current UTC time as a naive datetime, as MongoDB stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def lease_for(smtp_timeout: int) -> timedelta:
    """Return how long a claimed message stays its worker's: longer than any send can take."""
    return timedelta(seconds=max(MIN_LEASE_SECONDS, LEASE_PER_SMTP_TIMEOUT * smtp_timeout))


def is_permanent(error: Exception) -> bool:
    """Say whether trying again cannot help: a 5xx refusal, a template or context that cannot be used."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, TemplateError | Unsealable)


def describe(error: Exception) -> str:
    """Name the error for the log and the message's record: its type and text, never the message's."""
    text = str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(_reply(code, reply) for code, reply in error.recipients.values())
    elif isinstance(error, smtplib.SMTPResponseException):
        text = _reply(error.smtp_code, error.smtp_error)
    return f"{type(error).__name__}: {text}"[:ERROR_CHARS]


def _reply(code: int, reply: bytes | str) -> str:
    """Render an SMTP reply as the server sent it, e.g. `550 5.1.1 No such user`."""
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply
    return f"{code} {text}"


class OutboxWorker:
    """Delivers the outbox's due messages from one thread, started on demand and ended when idle."""

    def __init__(
        self,
        storage: Storage,
        deliver: Callable[[dict], None],
        *,
        lease: timedelta,
        keep_for: timedelta,
        log_sent: bool = True,
        retry_delays: tuple[float, ...] = RETRY_DELAYS_SECONDS,
    ) -> None:
        self.storage = storage
        self.deliver = deliver
        self.lease = lease
        self.keep_for = keep_for
        self.log_sent = log_sent
        self.retry_delays = retry_delays
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_look = 0.0
        _workers.add(self)

    def wake(self) -> None:
        """Have the worker look for due messages now, starting its thread if none runs."""
        with self._lock:
            self._wake.set()
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._work, name="mail-outbox", daemon=True)
                self._thread.start()

    def look_now_and_then(self) -> None:
        """Start the worker if none runs and it has not looked for a while (cheap: every request calls it).

        Messages stored by another process, or left by one that stopped, are found this way.
        """
        if self._thread is None and time.monotonic() >= self._next_look:
            self._next_look = time.monotonic() + POLL_SECONDS
            self.wake()

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until no message is due or being sent; say whether none is."""
        deadline = time.monotonic() + timeout
        while True:
            self.wake()
            if self.storage.outbox.count_in_flight(utc_now()) == 0:
                return True
            if time.monotonic() >= deadline or self._stopping.is_set():  # a stopped worker sends nothing
                return False
            time.sleep(0.01)

    def stop(self, timeout: float) -> None:
        """Claim nothing more, and wait up to `timeout` seconds for the message being sent."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                if self._deliver_next():
                    continue
                due = self.storage.outbox.next_due()
            except PyMongoError as error:  # the database is away: the messages wait there for it
                log.warning("mail outbox: the database does not answer (%s)", type(error).__name__)
                self._wake.wait(DATABASE_RETRY_SECONDS)
                continue
            if due is None and self._end_if_idle():
                return
            wait = POLL_SECONDS if due is None else (due - utc_now()).total_seconds()
            self._wake.wait(min(POLL_SECONDS, max(wait, 0.01)))
        with self._lock:
            self._thread = None

    def _end_if_idle(self) -> bool:
        with self._lock:  # wake() starts a thread under this lock: no message slips in unseen
            if self._wake.is_set():
                return False
            self._thread = None
            return True

    def _deliver_next(self) -> bool:
        """Claim the message due first and deliver it; say whether there was one."""
        now, holder = utc_now(), secrets.token_hex(8)
        message = self.storage.outbox.claim(now, now + self.lease, holder)
        if message is None:
            return False
        try:
            self.deliver(message)
        except Exception as error:  # smtplib, sockets, templates alike: the record says what next
            self._record(message, holder, self._after_failure(message, error))
            return True
        now = utc_now()
        self._record(message, holder, {"state": SENT, "doneAt": now, "expiresAt": now + self.keep_for})
        if self.log_sent:
            log.info("mail sent: %s", message["template"], extra=_fields(message, tries=message["attempts"]))
        return True

    def _after_failure(self, message: dict, error: Exception) -> dict:
        """Return the record of a failed try: due again after its delay, or failed for good."""
        tries, failure, now = message["attempts"], describe(error), utc_now()
        if not is_permanent(error) and tries <= len(self.retry_delays):
            due = now + timedelta(seconds=self.retry_delays[tries - 1])
            return {"state": WAITING, "dueAt": due, "error": failure}
        log.error(
            "mail not sent: %s, given up after %d tries (%s)",
            message["template"],
            tries,
            failure,
            extra=_fields(message, tries=tries),
        )
        return {"state": FAILED, "error": failure, "doneAt": now, "expiresAt": now + self.keep_for}

    def _record(self, message: dict, holder: str, changes: dict) -> None:
        """Store what became of a try, insisting while the lease lasts: a lost record means a second send."""
        lease_ends = message["dueAt"]
        forget = ("sealed",) if changes["state"] == SENT else ()  # a failed one keeps it for `mail retry`
        while True:
            try:
                self.storage.outbox.finish(message["_id"], holder, changes, forget)
                return
            except PyMongoError as error:
                if utc_now() + timedelta(seconds=DATABASE_RETRY_SECONDS) >= lease_ends:
                    log.error("mail outbox: the result of a try was not stored (%s)", type(error).__name__)
                    return
                time.sleep(DATABASE_RETRY_SECONDS)


def _fields(message: dict, **more: object) -> dict:
    return {"fields": {"mail": message["template"], **more}}


@atexit.register
def _stop_at_exit() -> None:
    """At exit, finish the message being sent; on the embedded store, first send what is due.

    On MongoDB what is not sent waits in the database for another process; the embedded store
    ends with this process, so it gets a few seconds to empty, as the old in-memory queue did.
    """
    for worker in list(_workers):
        try:
            if worker.storage.embedded:
                worker.flush(STOP_AT_EXIT_SECONDS)
        except PyMongoError:
            pass
        worker.stop(STOP_AT_EXIT_SECONDS)
