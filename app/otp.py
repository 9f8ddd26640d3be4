"""Authenticator codes (RFC 6238: SHA-1, 6 digits, 30 s steps) and recovery codes, as pure functions."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime
from urllib.parse import quote

import pyotp

from .tokens import epoch_seconds

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # one step either side: a phone's clock a little off, a code typed as it turned
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends

# Crockford's base32 in lower case: no i, l, o or u, so nothing reads as another character.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 10
RECOVERY_COUNT = 10
_TOTP_SHAPE = re.compile(r"[0-9]{6}")
_READ_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})


def new_secret() -> str:
    """Return a new random secret in base32, as authenticator apps take it."""
    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def otpauth_url(secret: str, app_name: str, email: str) -> str:
    """Return the `otpauth://totp/<app>:<email>?secret=...&issuer=<app>` URL an app scans as a QR code."""
    label = f"{quote(app_name, safe='')}:{quote(email, safe='@')}"
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(app_name, safe='')}"


def step_at(now: datetime) -> int:
    return int(epoch_seconds(now)) // STEP_SECONDS


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_SHAPE.fullmatch(clean_totp(code)))


def clean_totp(code: str) -> str:
    return code.replace(" ", "").replace("-", "")


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """Return the time step (now, or one either side) whose code `code` is, or None."""
    code = clean_totp(code)
    if not _TOTP_SHAPE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_at(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every candidate is compared, so the time taken tells nothing of which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def new_recovery_codes() -> list[str]:
    """Return fresh recovery codes, grouped for reading: `xxxxx-xxxxx`."""
    codes = []
    for _ in range(RECOVERY_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str | None:
    """Return a typed recovery code as stored (case, spaces, dashes ignored), or None."""
    cleaned = re.sub(r"[\s-]", "", code).lower().translate(_READ_AS)
    if len(cleaned) != RECOVERY_LENGTH or any(char not in RECOVERY_ALPHABET for char in cleaned):
        return None
    return cleaned
