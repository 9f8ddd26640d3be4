"""Which new passwords are refused: common ones, ones built from the account's name or email,
and, when PASSWORD_BREACH_CHECK_URL is set, ones a Pwned Passwords range API knows as breached.

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

import hashlib
import http.client
import logging
import re
import time
from dataclasses import dataclass
from urllib.request import HTTPRedirectHandler, Request, build_opener

from zxcvbn import zxcvbn

from .errors import AuthError, Code

MIN_SCORE = 2  # zxcvbn: 2 is "at least 10**6 guesses", safe against throttled online guessing
# zxcvbn's l33t matching grows exponentially with the symbols a password holds: 2 s for 72 of
# them, 22 ms for 16 (measured on a 2-core development machine). The first 16 characters decide.
CHECKED_CHARACTERS = 16
MIN_PERSONAL_WORD = 3  # shorter names ("Al", "Li") are inside too many good passwords

TOO_COMMON = "This password is too common."
PERSONAL = "The password must not contain your name or email."
BREACHED = "This password has appeared in a data breach."
BREACH_ANSWER_LIMIT = 1 << 20  # a padded range answer is about 40 KB
USER_AGENT = "auth-server-password-check"  # the Pwned Passwords API asks every client for one

log = logging.getLogger(__name__)
_SEPARATORS = re.compile(r"[\W_]+")


class WeakPassword(AuthError):
    """A new password a rule refuses: `400` with the message under the route's field name."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(Code.WEAK_PASSWORD, message, errors={field: [message]})


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


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an error: the hash prefix goes only where the setting says


_opener = build_opener(_NoRedirects)


def breached_suffixes(answer: str) -> set[str]:
    """Return the SHA-1 suffixes a range answer (`SUFFIX:COUNT` lines) lists as seen at least once.

    Padding lines (count 0), which hide the answer's true size, are not breaches.
    """
    found = set()
    for line in answer.splitlines():
        suffix, _, count = line.partition(":")
        if count.strip().isdigit() and int(count) > 0:
            found.add(suffix.strip().upper())
    return found


@dataclass(frozen=True)
class BreachCheck:
    """Asks a Pwned Passwords range API (k-anonymity) whether a password was seen in a breach.

    Only the first 5 hex digits of the password's SHA-1 leave the server; the suffix is
    matched here. Whatever goes wrong, the password is accepted: the check never blocks.
    """

    url: str
    timeout: float = 2

    def seen(self, password: str) -> bool:
        """Say whether the service lists the password; False, with a warning, when it cannot tell."""
        digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
        try:
            answer = self._range(digest[:5])
        except (OSError, ValueError, http.client.HTTPException) as error:
            reason = f"{type(error).__name__}: {error}"[:200]
            log.warning("password breach check failed (%s); the password was accepted", reason)
            return False
        return digest[5:] in breached_suffixes(answer)

    def _range(self, prefix: str) -> str:
        """Fetch the range answer of `prefix`, within about the timeout in all."""
        request = Request(  # noqa: S310 - config.py allows https, or http on loopback, only
            f"{self.url.rstrip('/')}/{prefix}", headers={"Add-Padding": "true", "User-Agent": USER_AGENT}
        )
        deadline = time.monotonic() + self.timeout
        received = b""
        with _opener.open(request, timeout=self.timeout) as response:
            # The timeout bounds each read, the deadline all of them: a server sending a byte at a
            # time must not hold a signup.
            while chunk := response.read1(65536):
                received += chunk
                if time.monotonic() > deadline:
                    raise TimeoutError("the answer came too slowly")
                if len(received) > BREACH_ANSWER_LIMIT:
                    raise ValueError("the answer is too long")
        return received.decode("ascii")


@dataclass(frozen=True)
class PasswordPolicy:
    """The rules a new password must pass; `breach_check` is the optional online one."""

    breach_check: BreachCheck | None = None

    def check(self, password: str, field: str, *, email: str = "", first: str = "", last: str = "") -> None:
        """Raise WeakPassword, naming the rule, unless `password` may be set for this account."""
        self.check_names(password, field, first, last, email=email)
        if too_guessable(password):
            raise WeakPassword(TOO_COMMON, field)
        if self.breach_check is not None and self.breach_check.seen(password):
            raise WeakPassword(BREACHED, field)

    def check_names(self, password: str, field: str, *names: str, email: str = "") -> None:
        """Raise WeakPassword if `password` is built from these names or this email address.

        Built from them: what is left once they are taken out is easy to guess. A long
        passphrase that merely holds a name passes.
        """
        rest = without_words(password, personal_words(*names, email=email))
        if rest != password and too_guessable(rest):
            raise WeakPassword(PERSONAL, field)
