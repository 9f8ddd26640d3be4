"""bcrypt hashing, with a constant-cost check for unknown accounts."""

from __future__ import annotations

import bcrypt

MAX_PASSWORD_BYTES = 72  # bcrypt ignores everything after this, so longer is refused


def cost_of(stored_hash: str) -> int | None:
    """Return the cost a bcrypt hash (`$2b$12$...`) was made with, or None if it is not one."""
    parts = stored_hash.split("$")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


class PasswordHasher:
    """Hashes and checks passwords at the configured bcrypt cost."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        # Checked against when the email is unknown, so both failures cost one bcrypt run.
        self._dummy_hash = bcrypt.hashpw(b"dummy-password", bcrypt.gensalt(rounds))

    def hash(self, password: str) -> str:
        """Return the bcrypt hash of `password`, exactly as typed."""
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def check(self, password: str, stored_hash: str | None) -> bool:
        """Say whether `password` matches `stored_hash`; with no hash, spend the same time and fail."""
        candidate = password.encode()
        if not stored_hash:
            bcrypt.checkpw(candidate, self._dummy_hash)
            return False
        try:
            return bcrypt.checkpw(candidate, stored_hash.encode())
        except ValueError:  # not a bcrypt hash: an account that cannot log in
            bcrypt.checkpw(candidate, self._dummy_hash)
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Say whether a hash was made at a lower cost than the one configured now."""
        cost = cost_of(stored_hash)
        return cost is not None and cost < self.rounds
