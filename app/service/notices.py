"""Notices: the mails that tell an account's owner what changed (password, email, deletion, links)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..storage import Storage
from .shared import MailSender

NOTICE = "notice"  # the mail quota's purpose that every notice shares


@dataclass(frozen=True)
class Notices:
    """Mails notices; to an address nobody has proven, within an hourly quota."""

    storage: Storage
    mailer: MailSender
    limit_per_hour: int

    def send(self, template: str, to: str, now: datetime, *, address_proven: bool, **context: object) -> bool:
        """Mail a notice (password changed, account deleted, ...); say whether it went.

        An address nobody has proven is anyone's to sign up with: its notices share one hourly
        counter per address, apart from the codes' counters, so loops of signup and
        deleteAccount cannot flood an inbox. A proven address gets every notice: only its owner,
        or someone who took the account, can cause one, and a thief must not silence them.
        """
        if not address_proven and not self.storage.counters.count(NOTICE, to, self.limit_per_hour, now):
            return False
        self.mailer.send(template, to, **context)
        return True
