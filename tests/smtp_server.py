"""A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, keeping every message it receives."""

from __future__ import annotations

import asyncio
import email
import re
import threading
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.smtp import SMTP

CODE = re.compile(r"\b[0-9]{6}\b")


class Mailbox:
    """Receives mail over SMTP in a thread of its own; tests read what arrived."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted"

    def start(self) -> Mailbox:
        self._thread.start()
        create = self._loop.create_server(lambda: SMTP(self, hostname="mailbox.test"), "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(create, self._loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _close(self) -> None:
        self._server.close()
        sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in sessions:  # clients still connected: end their sessions with the server
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
        await self._server.wait_closed()

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages that arrived for `address`, oldest first."""
        return [message for message in self.messages if message["To"] == address]

    def last(self, address: str, subject_part: str = "") -> EmailMessage:
        matching = [message for message in self.to(address) if subject_part in message["Subject"]]
        subjects = [message["Subject"] for message in self.messages]
        assert matching, f"no message for {address} about {subject_part!r}, only {subjects}"
        return matching[-1]


def bodies(message: EmailMessage) -> tuple[str, str]:
    """Return the plain-text and HTML bodies of a message."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def code_in(message: EmailMessage) -> str:
    """Return the one-time code a message carries (the same in both bodies)."""
    text, html = bodies(message)
    codes = set(CODE.findall(text))
    assert len(codes) == 1, text
    code = codes.pop()
    assert code in html
    return code
