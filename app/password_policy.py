"""Which new passwords are refused: common ones, ones built from the account's name or email.

Checked offline with zxcvbn, whose dictionaries come from leaked password lists (plus names
and common words), when a password is set: signup, resetPassword, changePassword. Stored
passwords are never checked again, so existing accounts keep logging in.

A password is refused when zxcvbn estimates it falls in fewer than a million guesses (its
score below 2): the 30,000 most common leaked passwords, and their capitalised, l33t,
reversed, dated or digit-suffixed variants, are all far below that. With at most 100
failed logins a day on one account (app/lockout.py), a million guesses is decades of
online guessing; a random 8-character password still passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from zxcvbn import zxcvbn

from .errors import ApiError

MIN_SCORE = 2  # zxcvbn: 2 is "at least 10**6 guesses", safe against throttled online guessing
# zxcvbn's l33t matching grows exponentially with the symbols a password holds: 2 s for 72 of
# them, 22 ms for 16 (measured on this server's machine). The first 16 characters decide.
CHECKED_CHARACTERS = 16
MIN_PERSONAL_WORD = 3  # shorter names ("Al", "Li") are inside too many good passwords

TOO_COMMON = "This password is too common."
PERSONAL = "The password must not contain your name or email."
_SEPARATORS = re.compile(r"[\W_]+")


class WeakPassword(ApiError):
    """A new password a rule refuses: `400` with the message under the route's field name."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, errors={field: [message]})


def personal_words(*names: str, email: str = "") -> list[str]:
    """Return the words a password must not be built from, longest first.

    The address whole, and each name and the address's local part whole (separators dropped:
    "ada.lovelace" gives "adalovelace") and in pieces ("ada", "lovelace").
    """
    words = {email.casefold()}
    for name in (*names, local_part(email)):
        pieces = [piece for piece in _SEPARATORS.split(name.casefold()) if piece]
        words.update(pieces)
        words.add("".join(pieces))
    return sorted((word for word in words if len(word) >= MIN_PERSONAL_WORD), key=len, reverse=True)


def local_part(email: str) -> str:
    """Return what comes before the last @ of an address."""
    return email.rpartition("@")[0]


def without_words(password: str, words: list[str]) -> str:
    """Return the password with every occurrence of each word removed, in any case."""
    for word in words:
        password = re.sub(re.escape(word), "", password, flags=re.IGNORECASE)
    return password


def too_guessable(password: str) -> bool:
    """Say whether zxcvbn puts `password` within a million guesses (judging its first characters)."""
    if not password:  # zxcvbn fails on an empty string; nothing left is as guessable as it gets
        return True
    return zxcvbn(password[:CHECKED_CHARACTERS])["score"] < MIN_SCORE


@dataclass(frozen=True)
class PasswordPolicy:
    """The rules a new password must pass."""

    def check(self, password: str, field: str, *, email: str = "", first: str = "", last: str = "") -> None:
        """Raise WeakPassword, naming the rule, unless `password` may be set for this account."""
        self.check_names(password, field, first, last, email=email)
        if too_guessable(password):
            raise WeakPassword(TOO_COMMON, field)

    def check_names(self, password: str, field: str, *names: str, email: str = "") -> None:
        """Raise WeakPassword if `password` is built from these names or this email address.

        Built from them: what is left once they are taken out is easy to guess. A long
        passphrase that merely holds a name passes.
        """
        rest = without_words(password, personal_words(*names, email=email))
        if rest != password and too_guessable(rest):
            raise WeakPassword(PERSONAL, field)
