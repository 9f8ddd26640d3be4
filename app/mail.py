"""Mail: messages rendered from replaceable templates, sent by Flask-Mailman from the outbox.

A view only stores a message in the outbox (`Mailer.send`), before it answers; a worker thread
of any process delivers it (app/outbox.py). Nothing about delivery ever reaches the HTTP answer,
and no log line written here holds a message's body (the console backend excepted: its whole
point is to put each message in the log for a developer to read).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from bson import ObjectId
from flask import Flask
from flask_mailman import EmailMultiAlternatives, Mail
from flask_mailman.backends.console import EmailBackend as ConsoleBackend
from flask_mailman.backends.smtp import EmailBackend as SmtpBackend
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from config import MailSettings

from .devmail import DevMailbox, summary
from .outbox import OutboxWorker, lease_for, utc_now
from .sealed import seal, unseal
from .storage import Storage
from .storage.outbox import DECOY, WAITING

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = Path(__file__).parent / "templates" / "mail"


class LogBackend(ConsoleBackend):
    """Flask-Mailman's console backend, writing each whole message to the log (at DEBUG) instead of
    stdout; the development mailbox (app/devmail.py) keeps it and logs one readable line."""

    def write_message(self, message: EmailMultiAlternatives) -> None:
        if log.isEnabledFor(logging.DEBUG):
            text = message.message().as_bytes().decode("utf-8", errors="replace")
            log.debug("mail to the log (MAIL_BACKEND=console), not sent:\n%s", text)


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

    def starttls(self, *args: Any, **kwargs: Any) -> tuple:
        kwargs["context"] = kwargs.get("context") or ssl.create_default_context()
        return super().starttls(*args, **kwargs)


class VerifyingSmtpBackend(SmtpBackend):
    """Flask-Mailman's SMTP backend, with certificates checked on STARTTLS as on SSL."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return smtplib.SMTP_SSL if self.use_ssl else VerifyingSMTP


def mailman_config(mail: MailSettings, *, production: bool) -> dict:
    """Return Flask-Mailman's configuration for the server's mail settings."""
    if mail.mail_backend == "smtp":
        backend: type = VerifyingSmtpBackend
    else:  # in production the console backend logs no code or link
        backend = HeadersOnlyLogBackend if production else LogBackend
    return {
        "MAIL_BACKEND": backend,
        "MAIL_SERVER": mail.smtp_host or "localhost",
        "MAIL_PORT": mail.smtp_port,
        "MAIL_USERNAME": mail.smtp_username,
        "MAIL_PASSWORD": mail.smtp_password,
        "MAIL_USE_TLS": mail.smtp_security == "starttls",
        "MAIL_USE_SSL": mail.smtp_security == "ssl",
        "MAIL_TIMEOUT": mail.smtp_timeout,
        "MAIL_DEFAULT_SENDER": mail.mail_from,
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
    """Stores messages in the outbox before the answer; its worker renders and sends them."""

    def __init__(
        self,
        app: Flask,
        mail: MailSettings,
        storage: Storage,
        key: bytes,
        *,
        production: bool,
        dev_mailbox: DevMailbox | None = None,
    ) -> None:
        app.config.update(mailman_config(mail, production=production))
        self.app = app
        self.settings = mail
        self.storage = storage
        self._key = key  # seals each message's context (app/sealed.py)
        self._mail = Mail(app)
        self._templates = template_environment(mail.mail_templates_dir)
        self.dev_mailbox = dev_mailbox
        self.outbox = OutboxWorker(
            storage,
            self.deliver,
            lease=lease_for(mail.smtp_timeout),
            keep_for=timedelta(days=mail.mail_keep_days),
            log_sent=mail.mail_backend == "smtp",
        )

    def describe(self) -> str:
        """Say where mail goes, for the start-up log."""
        mail = self.settings
        if mail.mail_backend == "console":
            return "Mail is written to the log (MAIL_BACKEND=console): no message leaves this server."
        return f"Mail goes to {mail.smtp_host}:{mail.smtp_port} ({mail.smtp_security}) from {mail.mail_from}."

    def send(self, template: str, to: str, **context: object) -> None:
        """Store a message for `to` in the outbox and wake the worker; the worker sends it later."""
        context = {"app_name": self.settings.app_name, "email": to, **context}
        self.storage.outbox.add(self._message(template, to, context, WAITING))
        self.outbox.wake()

    def send_nothing(self, template: str, to: str, **context: object) -> None:
        """Do the work `send` does, storing a decoy nobody sends (removed by the TTL index).

        For an address that gets no message where another would get one: the answer costs the same.
        """
        context = {"app_name": self.settings.app_name, "email": to, **context}
        message = self._message(template, to, context, DECOY)
        self.storage.outbox.add(message | {"to": "", "expiresAt": message["createdAt"]})

    def _message(self, template: str, to: str, context: dict, state: str) -> dict:
        message_id, now = ObjectId(), utc_now()
        return {
            "_id": message_id,
            "template": template,
            "to": to,
            "sealed": seal(self._key, context, message_id.binary),
            "state": state,
            "attempts": 0,
            "dueAt": now,
            "createdAt": now,
        }

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until no message is due or being sent; say whether none is."""
        return self.outbox.flush(timeout)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return self.outbox.retry_delays

    @retry_delays.setter
    def retry_delays(self, delays: tuple[float, ...]) -> None:
        self.outbox.retry_delays = delays

    def deliver(self, message: dict) -> None:
        """Render a claimed message and send it; raise what stopped it (the outbox decides what next)."""
        context = unseal(self._key, message["sealed"], message["_id"].binary)
        with self.app.app_context():
            email = self._render(message["template"], message["to"], context)
            email.send()
        if self.dev_mailbox is not None:
            html = next((body for body, kind in email.alternatives if kind == "text/html"), "")
            kept = self.dev_mailbox.keep(message["to"], email.subject, email.body, str(html), context)
            log.info(summary(kept))

    def _render(self, name: str, to: str, context: dict) -> EmailMultiAlternatives:
        subject = " ".join(self._templates.get_template(f"{name}.subject.txt").render(context).split())
        text = self._templates.get_template(f"{name}.txt").render(context)
        html = self._templates.get_template(f"{name}.html").render(context)
        email = EmailMultiAlternatives(subject, text, self.settings.mail_from, [to])
        email.attach_alternative(html, "text/html")
        return email
