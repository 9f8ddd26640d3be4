"""Mail: messages rendered from replaceable templates, sent by Flask-Mailman off the request thread.

A view only queues a message (`Mailer.send`), or the work that ends in one (`Mailer.run`);
one worker thread does that work, renders each message, sends it, and retries a failed send
with backoff. Nothing about delivery ever reaches the HTTP answer, and
no log line written here holds a message's body (the console backend excepted: its whole
point is to put each message in the log for a developer to read).
"""

from __future__ import annotations

import atexit
import logging
import smtplib
import ssl
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from queue import Empty, Full, Queue

from flask import Flask
from flask_mailman import EmailMultiAlternatives, Mail
from flask_mailman.backends.console import EmailBackend as ConsoleBackend
from flask_mailman.backends.smtp import EmailBackend as SmtpBackend
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, TemplateError, select_autoescape

from config import Settings

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = Path(__file__).parent / "templates" / "mail"
RETRY_DELAYS_SECONDS = (2, 10, 30)  # after the first try; then the message is given up and logged
MAX_QUEUED_MESSAGES = 1000  # past it (the mail server gone for long), new messages are dropped and logged
IDLE_SECONDS = 30  # the worker ends after this long without mail, and starts again with the next one
FLUSH_AT_EXIT_SECONDS = 5

_mailers: weakref.WeakSet[Mailer] = weakref.WeakSet()


class LogBackend(ConsoleBackend):
    """Flask-Mailman's console backend, writing each whole message to the log instead of stdout."""

    def write_message(self, message: EmailMultiAlternatives) -> None:
        text = message.message().as_bytes().decode("utf-8", errors="replace")
        log.info("mail to the log (MAIL_BACKEND=console), not sent:\n%s", text)


class HeadersOnlyLogBackend(ConsoleBackend):
    """The console backend in production: who and what only, never the body with its code or link.

    Production logs are shipped and kept, and read by more people than the account's owner:
    a reset code there would let any of them take the account.
    """

    def write_message(self, message: EmailMultiAlternatives) -> None:
        log.warning(
            "mail to the log (MAIL_BACKEND=console in production), not sent; body withheld (it holds"
            " a code or a link):\nTo: %s\nSubject: %s",
            ", ".join(message.to),
            message.subject,
        )


class VerifyingSMTP(smtplib.SMTP):
    """An SMTP connection whose STARTTLS checks the server's certificate and name.

    Without a context, smtplib's STARTTLS accepts any certificate, so whoever sits on the
    path could read every code; Flask-Mailman passes none.
    """

    def starttls(self, *args: object, context: ssl.SSLContext | None = None, **kwargs: object) -> tuple:
        return super().starttls(*args, context=context or ssl.create_default_context(), **kwargs)


class VerifyingSmtpBackend(SmtpBackend):
    """Flask-Mailman's SMTP backend, with certificates checked on STARTTLS as on SSL."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return smtplib.SMTP_SSL if self.use_ssl else VerifyingSMTP


@dataclass(frozen=True)
class Outgoing:
    """One message waiting to be rendered and sent."""

    template: str  # the name of its templates: `<name>.subject.txt`, `<name>.txt`, `<name>.html`
    to: str
    context: dict = field(default_factory=dict)


def mailman_config(settings: Settings) -> dict:
    """Return Flask-Mailman's configuration for the server's mail settings."""
    smtp = settings.mail_backend == "smtp"
    return {
        "MAIL_BACKEND": VerifyingSmtpBackend
        if smtp
        else HeadersOnlyLogBackend
        if settings.production
        else LogBackend,
        "MAIL_SERVER": settings.smtp_host or "localhost",
        "MAIL_PORT": settings.smtp_port,
        "MAIL_USERNAME": settings.smtp_username,
        "MAIL_PASSWORD": settings.smtp_password,
        "MAIL_USE_TLS": settings.smtp_security == "starttls",
        "MAIL_USE_SSL": settings.smtp_security == "ssl",
        "MAIL_TIMEOUT": settings.smtp_timeout,
        "MAIL_DEFAULT_SENDER": settings.mail_from,
    }


@lru_cache(maxsize=8)
def template_environment(custom_dir: str | None) -> Environment:
    """Return the Jinja environment of the mail templates: files in `custom_dir` replace the defaults.

    One per folder, shared by every app of the process, so each template is compiled once.
    """
    folders = [custom_dir] if custom_dir else []
    loader = ChoiceLoader([FileSystemLoader(folder) for folder in [*folders, str(DEFAULT_TEMPLATES)]])
    return Environment(loader=loader, autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


class Mailer:
    """Queues messages and sends them from one worker thread, retrying with backoff."""

    def __init__(
        self, app: Flask, settings: Settings, retry_delays: tuple[float, ...] = RETRY_DELAYS_SECONDS
    ):
        app.config.update(mailman_config(settings))
        self.app = app
        self.settings = settings
        self.retry_delays = retry_delays
        self._mail = Mail(app)
        self._templates = template_environment(settings.mail_templates_dir)
        self._queue: Queue[Outgoing | Callable[[], None]] = Queue(maxsize=MAX_QUEUED_MESSAGES)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        _mailers.add(self)

    def describe(self) -> str:
        """Say where mail goes, for the start-up log."""
        if self.settings.mail_backend == "console":
            return "Mail is written to the log (MAIL_BACKEND=console): no message leaves this server."
        s = self.settings
        return f"Mail goes to {s.smtp_host}:{s.smtp_port} ({s.smtp_security}) from {s.mail_from}."

    def send(self, template: str, to: str, **context: object) -> None:
        """Queue a message for `to`; returns at once, whatever happens to it later."""
        self._put(Outgoing(template, to, {"app_name": self.settings.app_name, "email": to, **context}))

    def run(self, job: Callable[[], None]) -> None:
        """Queue work that ends in a message (e.g. storing the code it carries); returns at once."""
        self._put(job)

    def _put(self, item: Outgoing | Callable[[], None]) -> None:
        with self._lock:
            try:
                self._queue.put_nowait(item)
            except Full:
                name = item.template if isinstance(item, Outgoing) else "queued"
                log.error("mail queue full: a %s message was dropped", name, extra=_fields(name))
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="mail", daemon=True)
                self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every queued message to be sent or given up; say if all were."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout)

    def _work(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=IDLE_SECONDS)
            except Empty:
                with self._lock:  # send() queues under this lock: nothing can slip in unseen
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            try:
                if isinstance(item, Outgoing):
                    self._deliver(item)
                else:
                    item()  # it queues its message before this item is done: flush() sees both
            except Exception:  # the worker must outlive any one message
                log.exception("mail worker error")
            finally:
                self._queue.task_done()

    def _deliver(self, message: Outgoing) -> None:
        with self.app.app_context():
            try:
                email = self._render(message)
            except TemplateError as error:
                log.error(
                    "mail template %s could not be rendered: %s",
                    message.template,
                    type(error).__name__,
                    extra=_fields(message.template),
                )
                return
            failure = ""
            for attempt, delay in enumerate((0, *self.retry_delays), start=1):
                if delay and self._stopping.wait(delay):
                    break
                try:
                    email.send()
                except Exception as error:  # smtplib and socket errors alike: try again later
                    # The exception's text, never the message's: no code reaches the log.
                    failure = f"{type(error).__name__}: {error}"[:300]
                    continue
                if self.settings.mail_backend == "smtp":
                    log.info(
                        "mail sent: %s", message.template, extra=_fields(message.template, tries=attempt)
                    )
                return
            log.error(
                "mail not sent: %s, given up after %d tries (%s)",
                message.template,
                attempt,
                failure,
                extra=_fields(message.template, tries=attempt),
            )

    def _render(self, message: Outgoing) -> EmailMultiAlternatives:
        name, context = message.template, message.context
        subject = " ".join(self._templates.get_template(f"{name}.subject.txt").render(context).split())
        text = self._templates.get_template(f"{name}.txt").render(context)
        html = self._templates.get_template(f"{name}.html").render(context)
        email = EmailMultiAlternatives(subject, text, self.settings.mail_from, [message.to])
        email.attach_alternative(html, "text/html")
        return email


def _fields(template: str, **more: object) -> dict:
    return {"fields": {"mail": template, **more}}


@atexit.register
def _flush_at_exit() -> None:
    """Give queued mail a few seconds to leave when the process ends."""
    for mailer in list(_mailers):
        mailer._stopping.set()  # no more waiting between retries
        mailer.flush(FLUSH_AT_EXIT_SECONDS)
