"""Helpers of the second-factor tests: an authenticator app on the test clock, and a user with TOTP on."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyotp

from app.otp import step_at
from helpers import PASSWORD, bearer


def totp_code(secret: str, clock, steps: int = 0) -> str:
    """Return the code an authenticator app shows at the test clock's time (plus `steps` steps)."""
    return pyotp.TOTP(secret).generate_otp(step_at(clock()) + steps)


@dataclass
class TotpUser:
    """A signed-up, verified user who turned TOTP on, and what they were shown."""

    email: str
    secret: str
    recovery_codes: list[str]
    auth_token: str
    refresh_token: str
    extra: dict = field(default_factory=dict)


def verify_email(storage, email: str) -> None:
    user = storage.users.find_by_email(email)
    storage.users.set_email_verified(user["id"], email)


def turn_totp_on(client, storage, clock, email: str = "ada@example.com") -> TotpUser:
    """Sign up, verify the address, log in, set TOTP up and enable it; move on one step."""
    client.post(
        "/api/auth/signup", json={"first": "Ada", "last": "Lovelace", "email": email, "password": PASSWORD}
    )
    verify_email(storage, email)
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json
    headers = bearer(login["authToken"])
    setup = client.post("/api/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=headers)
    assert setup.status_code == 200, setup.json
    secret = setup.json["secret"]
    enabled = client.post(
        "/api/auth/mfa/totp/enable", json={"code": totp_code(secret, clock)}, headers=headers
    )
    assert enabled.status_code == 200, enabled.json
    clock.advance(30)  # the enabling code's step is used; the next code is a new one
    return TotpUser(
        email, secret, enabled.json["recoveryCodes"], enabled.json["authToken"], login["refreshToken"]
    )


def sign_in(client, clock, user: TotpUser, code: str | None = None):
    """Log in with the password and finish with `code` (the app's current one by default)."""
    held = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert held.json["code"] == "mfaRequired", held.json
    return client.post(
        "/api/auth/mfa/verify",
        json={"mfaToken": held.json["mfaToken"], "code": code or totp_code(user.secret, clock)},
    )
