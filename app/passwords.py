"""bcrypt hashing on a few low-priority threads, with a constant-cost check for unknown accounts."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

import bcrypt

MAX_PASSWORD_BYTES = 72  # bcrypt ignores everything after this, so longer is refused
DUMMY_PASSWORD = b"dummy-password"

T = TypeVar("T")


def lower_thread_priority(increment: int) -> None:
    """Make the calling thread `increment` steps nicer than it is (Linux only; elsewhere a no-op)."""
    if increment <= 0 or sys.platform != "linux":
        return  # elsewhere PRIO_PROCESS would renice the whole process, or another one
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + increment))
    except OSError:  # a sandbox that forbids it: hashing still works, at normal priority
        pass


def cost_of(stored_hash: str) -> int | None:
    """Return the cost a bcrypt hash (`$2b$12$...`) was made with, or None if it is not one."""
    parts = stored_hash.split("$")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


class PasswordHasher:
    """Hashes and checks passwords at the configured bcrypt cost.

    bcrypt releases the GIL, so hashing runs on its own pool of at most `concurrency` threads
    (one a core is the machine's limit anyway) at a lower priority: logins queue there, and
    the server's request threads stay free and first in line for cheap, guarded requests.
    """

    def __init__(
        self,
        rounds: int,
        concurrency: int = 1,
        nice: int = 0,
        waiting: Callable[[], AbstractContextManager] = nullcontext,
    ) -> None:
        self.rounds = rounds
        self._waiting = waiting  # entered while a hash runs: the request gives up its turn (app/admission.py)
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="bcrypt",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
        # Checked against when the email is unknown, so both failures cost one bcrypt run.
        self._dummy_hash = bcrypt.hashpw(DUMMY_PASSWORD, bcrypt.gensalt(rounds))
        self._dummies = {rounds: self._dummy_hash}  # by cost, made when first needed

    def _run(self, function: Callable[..., T], *args: object) -> T:
        future = self._pool.submit(function, *args)
        with self._waiting():
            return future.result()

    def _dummy_at(self, cost: int) -> bytes:
        if cost not in self._dummies:  # two threads making one at once waste a hash, nothing else
            self._dummies[cost] = bcrypt.hashpw(DUMMY_PASSWORD, bcrypt.gensalt(cost))
        return self._dummies[cost]

    def _top_up(self, candidate: bytes, cost: int) -> None:
        """Spend what a check at the configured cost spends beyond one at `cost`.

        bcrypt's work doubles with each step of cost, and 2**cost + ... + 2**(rounds - 1) is
        2**rounds - 2**cost: one check at each cost from `cost` to `rounds - 1` makes up the rest.
        """
        for extra in range(cost, self.rounds):
            bcrypt.checkpw(candidate, self._dummy_at(extra))

    def hash(self, password: str) -> str:
        """Return the bcrypt hash of `password`, exactly as typed."""
        return self._run(bcrypt.hashpw, password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def hash_with_salt(self, text: str, salt: str) -> str:
        """Return the bcrypt hash of `text` under a given salt (recovery codes share one per user)."""
        return self._run(bcrypt.hashpw, text.encode(), salt.encode()).decode()

    def new_salt(self) -> str:
        return bcrypt.gensalt(self.rounds).decode()

    def check(self, password: str, stored_hash: str | None) -> bool:
        """Say whether `password` matches `stored_hash`; every failure costs one check at the configured cost.

        With no hash, a dummy check at that cost; against a hash made at a lower cost (an
        imported account), a failure spends the difference too, so the time of a wrong answer
        tells nobody which accounts have cheaper hashes, or exist.
        """
        candidate = password.encode()
        if not stored_hash:
            self._run(bcrypt.checkpw, candidate, self._dummy_hash)
            return False
        try:
            matched = self._run(bcrypt.checkpw, candidate, stored_hash.encode())
        except ValueError:  # not a bcrypt hash: an account that cannot log in
            self._run(bcrypt.checkpw, candidate, self._dummy_hash)
            return False
        cost = cost_of(stored_hash)
        if not matched and cost is not None and cost < self.rounds:
            self._run(self._top_up, candidate, cost)
        return matched

    def needs_rehash(self, stored_hash: str) -> bool:
        """Say whether a hash was made at a lower cost than the one configured now."""
        cost = cost_of(stored_hash)
        return cost is not None and cost < self.rounds
