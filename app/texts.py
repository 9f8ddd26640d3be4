"""Text users send that ends up in mail and on screens: email addresses in one spelling per
mailbox, and names as one line of plain text."""

from __future__ import annotations

import re
import unicodedata

import idna

MAX_NAME_CHARS = 100
# What a name must not hold, and what a terminal is shown escaped: C0 and C1 controls (line
# breaks among them) and DEL; the line and paragraph separators; the bidirectional embeddings,
# overrides and isolates, which reorder the text after them (a name could show as a link).
UNSAFE_CODE_POINTS = (
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)
_UNSAFE = re.compile("[" + "".join(re.escape(chr(code)) for code in UNSAFE_CODE_POINTS) + "]")


class InvalidEmailDomain(ValueError):
    """The address's domain is not a valid domain name, even once IDNA has mapped it."""


def normalise_email(email: str) -> str:
    """Return an email as every account holds it: one spelling for every way to write one mailbox.

    Compatibility forms are folded (NFKC: full-width letters, `＠`), the address trimmed and
    lower-cased by Unicode's rules, and a domain that is not ASCII replaced by its IDNA ASCII
    form (UTS #46: `。` is a dot, a soft hyphen goes, `bücher` is `xn--bcher-kva`), which is
    where mail to it is delivered. An ASCII domain is kept as it is, so addresses stored
    before keep matching. Raises InvalidEmailDomain when IDNA refuses the domain.
    """
    # NFKC again once lower-cased: a small letter may compose with its mark where the capital
    # has no composed form (`T` and U+0308 stay two, `t` and U+0308 become `ẗ`).
    email = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).lower()).strip()
    local, at, domain = email.rpartition("@")
    if not at or domain.isascii():
        return email
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except UnicodeError as error:  # idna.IDNAError is one
        raise InvalidEmailDomain(f"{domain!r} is not a valid domain name") from error
    return f"{local}@{ascii_domain}"


def has_unsafe_characters(text: str) -> bool:
    """Say whether `text` holds a line break, a control character or a bidirectional control."""
    return _UNSAFE.search(text) is not None


def clean_name(text: str) -> str | None:
    """Return a name from elsewhere (an ID token) made fit to keep: the unsafe characters
    removed, trimmed, cut to MAX_NAME_CHARS; None when nothing is left."""
    return _UNSAFE.sub("", text).strip()[:MAX_NAME_CHARS].strip() or None
