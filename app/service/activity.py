"""The activity log: what happened to an account, when, and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..storage import Storage
from .shared import Client, page


@dataclass(frozen=True)
class ActivityLog:
    """Writes the user's activity entries and reads them back a page at a time."""

    storage: Storage

    def log(
        self,
        user_id: str,
        activity: str,
        client: Client,
        now: datetime,
        method: str | None = None,
        second_factor: str | None = None,
    ) -> None:
        """Write one entry: `activity` happened to the user at `now`, caused by `client`."""
        self.storage.activity.add(
            user_id,
            activity,
            now,
            client.ip,
            client.user_agent,
            method,
            by=client.by,
            second_factor=second_factor,
        )

    def list(self, user_id: str, after: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Return one page of the user's activity, newest first, and the cursor of the next page."""
        return page(self.storage.activity.list(user_id, after, limit + 1), limit)
