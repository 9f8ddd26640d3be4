"""Email verification: a code mailed at signup and on request, and the check of it."""

from __future__ import annotations

from datetime import datetime

from .base import Client
from .codes import NO_USER, VERIFY_EMAIL, Codes, InvalidCode


class Verification(Codes):
    """verifyEmail, resendVerification, and the code a signup mails."""

    def _mail_verification_code(self, user: dict, now: datetime) -> None:
        """Mail the user a code that confirms their address (within the hourly quota)."""
        self._mail_code(
            "verify_email",
            VERIFY_EMAIL,
            user,
            user["email"],
            now,
            link_template=self.account_rules.email_verification_url,
        )

    def verify_email(self, email: str, code: str, client: Client) -> None:
        """Mark the address verified with the code mailed to it (identities linked before are removed)."""
        now = self.clock()
        user = self.storage.find_user_by_email(email)
        # An unknown address looks its (missing) code up too, so that it costs what a wrong code costs.
        self._use_code(user["id"] if user else NO_USER, VERIFY_EMAIL, email, code, now)
        if user is None:
            raise InvalidCode()
        self._mailbox_proven(user, email, client, now)
        self.storage.set_email_verified(user["id"], email)
        self._log(user["id"], "emailVerified", client, now)

    def resend_verification(self, email: str, client: Client) -> None:
        """Mail a new code when an unverified account has this email; the caller learns nothing either way."""
        now = self.clock()
        user = self.storage.find_user_by_email(email)
        # Counted for every address, as forgotPassword does: the same work whoever owns it.
        allowed = self._code_mail_allowed(VERIFY_EMAIL, email, user, now)
        if not allowed:
            return
        if user is None or user["emailVerified"]:
            self._send_no_code("verify_email", VERIFY_EMAIL, email, now)
            return
        self._send_new_code(
            "verify_email",
            VERIFY_EMAIL,
            user,
            email,
            now,
            link_template=self.account_rules.email_verification_url,
        )
