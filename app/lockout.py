"""Per-account login delays: after a few failures in a row, each further attempt waits twice as long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import RateLimited
from .storage import Storage

# A run of failures is forgotten after a day without one, so the count cannot grow for ever.
FORGET_AFTER = timedelta(days=1)
MAX_DOUBLINGS = 30  # far beyond any cap in use; keeps the power of two small
CLAIM_TRIES = 20  # attempts racing for one account each get a turn to be counted


@dataclass(frozen=True)
class LoginThrottle:
    """Counts failed logins per email in the database, so the count holds across processes."""

    storage: Storage
    free_failures: int = 5
    first_delay: int = 1
    max_delay: int = 900

    def delay_after(self, failures: int) -> int:
        """Return the seconds to wait after `failures` failed logins in a row."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, MAX_DOUBLINGS)
        return min(self.first_delay * 2**doublings, self.max_delay)

    def claim(self, email: str, now: datetime) -> None:
        """Count this attempt as failed before any bcrypt work, or raise RateLimited while `email` must wait.

        Counting first, and atomically, is what stops a burst of simultaneous guesses from
        all passing one check; a successful login then clears the count.
        """
        for _ in range(CLAIM_TRIES):
            record = self.storage.login_failures(email, now)
            seen_count, allowed_at = record if record else (None, now)
            if allowed_at > now:
                raise RateLimited((allowed_at - now).total_seconds())
            failures = (seen_count or 0) + 1
            next_allowed = now + timedelta(seconds=self.delay_after(failures))
            if self.storage.count_login_attempt(email, seen_count, next_allowed, now + FORGET_AFTER, now):
                return
        raise RateLimited(1)  # other attempts on this account are under way right now

    def succeeded(self, email: str) -> None:
        """Start counting afresh after a successful login."""
        self.storage.clear_login_failures(email)
