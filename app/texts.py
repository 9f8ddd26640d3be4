"""Text users send that ends up in mail and on screens: email addresses in one spelling per mailbox."""

from __future__ import annotations

import unicodedata

import idna


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
