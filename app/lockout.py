"""Per-account login delays that a stranger cannot turn against the account's owner.

Two counters limit the guesses at one account's password:

- each *source* of attempts (an address, an IPv6 /64, or a session of the account) has its own
  delays: a few failures free, then each further attempt waits twice as long. One address
  guessing all day gets about a hundred guesses, and delays nobody else;
- the *account* has a daily ceiling of failures across all sources, at most 100 (NIST SP
  800-63B 5.2.2), which bounds guessing from many addresses. One address guessing alone
  reaches it only near the end of its first day (21.5 hours at the default delays), and
  never afterwards. Past it, strangers wait for the next day; a client that holds a session
  of the account (it sent that session's refresh token, or an access token for
  changePassword) is never kept out by the ceiling, and a password reset clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from config import LimitSettings

from .addresses import limit_key
from .errors import RateLimited
from .storage import Storage

# A run of failures from one source is forgotten after a day without one.
FORGET_AFTER = timedelta(days=1)
ACCOUNT_WINDOW = timedelta(days=1)  # the account's ceiling counts failures per day
MAX_DOUBLINGS = 30  # far beyond any cap in use; keeps the power of two small
CLAIM_TRIES = 20  # attempts racing for one counter each get a turn to be counted


def from_address(ip: str | None) -> str:
    """Return the source of a stranger's attempt: its address (an IPv6 client's /64)."""
    return f"from {limit_key(ip or 'unknown')}"


def from_session(session_id: str) -> str:
    """Return the source of an attempt by a client holding a session of the account."""
    return f"session {session_id}"


def source_key(email: str, source: str) -> str:
    """Return the counter of one source's attempts at one account (no source holds a space)."""
    return f"{email} {source}"


@dataclass(frozen=True)
class LoginThrottle:
    """Counts failed logins in the database, so the counts hold across processes."""

    storage: Storage
    free_failures: int
    first_delay: int
    max_delay: int
    account_failures_per_day: int

    @classmethod
    def from_settings(cls, storage: Storage, limits: LimitSettings) -> LoginThrottle:
        """Return the throttle the settings describe (config.py's `limits` section)."""
        return cls(
            storage,
            free_failures=limits.login_failures_before_delay,
            first_delay=limits.login_delay_first,
            max_delay=limits.login_delay_max,
            account_failures_per_day=limits.login_account_failures_per_day,
        )

    def delay_after(self, failures: int) -> int:
        """Return the seconds one source waits after `failures` failed attempts in a row."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, MAX_DOUBLINGS)
        return min(self.first_delay * 2**doublings, self.max_delay)

    def claim(self, email: str, source: str, now: datetime, *, holds_session: bool = False) -> None:
        """Count this attempt as failed before any bcrypt work, or raise RateLimited while it must wait.

        Counting first, and atomically, is what stops a burst of simultaneous guesses from
        all passing one check; a successful attempt then clears its source's count.
        """
        if not holds_session:
            self._refuse_while_closed(email, now)
        self._count_source(source_key(email, source), now)
        self._count_account(email, now, enforce=not holds_session)

    def succeeded(self, email: str, source: str, now: datetime) -> None:
        """Start counting afresh for this source, and take this attempt off the account's daily count."""
        self.storage.attempts.clear(source_key(email, source))
        self.storage.attempts.uncount(email, self.account_failures_per_day, now)

    def forget(self, email: str) -> None:
        """Forget every failed attempt at the account, from every source, the daily ceiling's count included.

        For a password reset or an operator's new password: whoever set it may log in at once.
        """
        self.storage.attempts.clear_account(email)

    def _refuse_while_closed(self, email: str, now: datetime) -> None:
        account = self.storage.attempts.failures(email, now)
        if account is not None and account.allowed_at > now:
            raise RateLimited((account.allowed_at - now).total_seconds())

    def _count_source(self, key: str, now: datetime) -> None:
        for _ in range(CLAIM_TRIES):
            record = self.storage.attempts.failures(key, now)
            if record is not None and record.allowed_at > now:
                raise RateLimited((record.allowed_at - now).total_seconds())
            seen_count = record.count if record else None
            failures = (seen_count or 0) + 1
            next_allowed = now + timedelta(seconds=self.delay_after(failures))
            if self.storage.attempts.count(key, seen_count, next_allowed, now + FORGET_AFTER, now):
                return
        raise RateLimited(1)  # other attempts from this source are under way right now

    def _count_account(self, email: str, now: datetime, *, enforce: bool) -> None:
        for _ in range(CLAIM_TRIES):
            record = self.storage.attempts.failures(email, now)
            if enforce and record is not None and record.allowed_at > now:
                raise RateLimited((record.allowed_at - now).total_seconds())
            seen_count = record.count if record else None
            window_end = record.forget_at if record else now + ACCOUNT_WINDOW
            failures = (seen_count or 0) + 1
            closed_until = window_end if failures >= self.account_failures_per_day else now
            if self.storage.attempts.count(email, seen_count, closed_until, window_end, now):
                return
        if enforce:
            raise RateLimited(1)
