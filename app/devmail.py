"""The development mailbox: every mail the console backend "sends", kept and shown at /dev/mail.

Only with MAIL_BACKEND=console outside production: the routes do not exist anywhere else.
A developer reads the code of a signup at /dev/mail (or /dev/mail.json, for scripts), and
opens each message as its recipient would see it.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html import escape

from flask import Blueprint, Flask, Response, abort, current_app

from .rules import public

KEEP = 100  # the newest messages kept; older ones go
# A message's own HTML, shown as sent: its inline styles, and nothing that runs or calls out.
MESSAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

bp = Blueprint("devmail", __name__)


@dataclass(frozen=True)
class KeptMail:
    """One message the console backend would have sent."""

    id: int
    to: str
    subject: str
    time: str
    code: str | None
    link: str | None
    text: str
    html: str


class DevMailbox:
    """The newest `KEEP` messages of this process, newest first."""

    def __init__(self, keep: int = KEEP) -> None:
        self._mail: deque[KeptMail] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def keep(self, to: str, subject: str, text: str, html: str, context: dict) -> KeptMail:
        """Keep one message, with the code or link its context holds."""
        with self._lock:
            mail = KeptMail(
                id=next(self._ids),
                to=to,
                subject=subject,
                time=datetime.now(UTC).isoformat(timespec="seconds"),
                code=_text_or_none(context.get("code")),
                link=_text_or_none(context.get("link")),
                text=text,
                html=html,
            )
            self._mail.appendleft(mail)
        return mail

    def newest_first(self) -> list[KeptMail]:
        with self._lock:
            return list(self._mail)

    def find(self, mail_id: int) -> KeptMail | None:
        return next((mail for mail in self.newest_first() if mail.id == mail_id), None)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def summary(mail: KeptMail) -> str:
    """One readable line for the log: `mail to ada@example.com: Confirm ... (code 705672)`."""
    detail = f" (code {mail.code})" if mail.code else f" (link {mail.link})" if mail.link else ""
    return f"mail to {mail.to}: {mail.subject}{detail}"


def mailbox() -> DevMailbox:
    return current_app.extensions["dev_mailbox"]


@bp.get("/dev/mail.json")
@public(uses_database=False)
def mail_json() -> dict:
    """Every kept message, newest first, for scripts and tests."""
    messages = [asdict(mail) for mail in mailbox().newest_first()]
    return {"success": True, "messages": messages}


@bp.get("/dev/mail")
@public(uses_database=False)
def mail_page() -> Response:
    """The list of kept messages, newest first, each code or link in large type."""
    rows = "".join(_row(mail) for mail in mailbox().newest_first()) or '<p class="empty">No mail yet.</p>'
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Mail (development)</title>
<link rel="stylesheet" href="/dev/mail.css"></head>
<body><h1>Mail this server would have sent</h1>
<p class="note">Development only (MAIL_BACKEND=console): the newest {KEEP} messages, newest first.
Reload to see new ones.</p>{rows}</body></html>"""
    return Response(page, mimetype="text/html")


def _row(mail: KeptMail) -> str:
    secret = ""
    if mail.code:
        secret = f'<p class="code" data-code="{escape(mail.code)}">{escape(mail.code)}</p>'
    elif mail.link:
        secret = f'<p class="link"><a href="{escape(mail.link)}">{escape(mail.link)}</a></p>'
    return f"""
<article class="mail" data-to="{escape(mail.to)}">
<h2><a href="/dev/mail/{mail.id}">{escape(mail.subject)}</a></h2>
<p class="meta">to <span class="to">{escape(mail.to)}</span> at <time>{escape(mail.time)}</time></p>
{secret}
</article>"""


@bp.get("/dev/mail/<int:mail_id>")
@public(uses_database=False)
def mail_message(mail_id: int) -> Response:
    """One message's HTML, as its recipient would see it (sandboxed: nothing in it runs)."""
    mail = mailbox().find(mail_id)
    if mail is None:
        abort(404)
    return Response(mail.html, mimetype="text/html", headers={"Content-Security-Policy": MESSAGE_POLICY})


@bp.get("/dev/mail.css")
@public(uses_database=False)
def mail_style() -> Response:
    return Response(STYLE, mimetype="text/css")


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
.note, .meta { color: #555; }
.mail { border-top: 1px solid #ddd; padding: 0.5rem 0; }
.code { font: bold 2.5rem monospace; letter-spacing: 0.3rem; margin: 0.3rem 0; }
.link { font-size: 1.2rem; word-break: break-all; }
"""


def init_dev_mailbox(app: Flask) -> DevMailbox:
    """Keep the console backend's mail and serve it at /dev/mail (development only)."""
    box = app.extensions["dev_mailbox"] = DevMailbox()
    app.register_blueprint(bp)
    return box
