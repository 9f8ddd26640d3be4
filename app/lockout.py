"""Per-account login delays: after a few failures in a row, each further attempt waits twice as long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import RateLimited
from .storage import Storage

# A run of failures is forgotten after a day without one, so the count cannot grow for ever.
FORGET_AFTER = timedelta(days=1)
MAX_DOUBLINGS = 30  # far beyond any cap in use; keeps the power of two small


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

    def check(self, email: str, now: datetime) -> None:
        """Raise RateLimited while `email` must still wait; this costs no bcrypt work."""
        record = self.storage.login_failures(email, now)
        if record is None:
            return
        failures, last_failure = record
        wait_until = last_failure + timedelta(seconds=self.delay_after(failures))
        if wait_until > now:
            raise RateLimited((wait_until - now).total_seconds())

    def failed(self, email: str, now: datetime) -> None:
        """Count one more failed login for `email`."""
        self.storage.record_login_failure(email, now, now + FORGET_AFTER)

    def succeeded(self, email: str) -> None:
        """Start counting afresh after a successful login."""
        self.storage.clear_login_failures(email)
