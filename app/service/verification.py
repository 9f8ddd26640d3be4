"""Email verification: a code mailed at signup and on request, and the check of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import Code, field_error
from ..lockout import LoginThrottle, from_address
from ..passwords import PasswordHasher
from ..storage import Storage
from .activity import ActivityLog
from .codes import NO_USER, VERIFY_EMAIL, Codes, InvalidCode, MailedCode
from .shared import Client, Clock


@dataclass(frozen=True)
class Verification:
    """verifyEmail, resendVerification, and the code a signup mails."""

    storage: Storage
    codes: Codes
    hasher: PasswordHasher
    throttle: LoginThrottle
    activity: ActivityLog
    clock: Clock

    def mailing(self, user: dict) -> MailedCode:
        """Return the verification code's mailing for the user's address."""
        link = self.codes.rules.email_verification_url
        return MailedCode("verify_email", VERIFY_EMAIL, user, user["email"], link_template=link)

    def mail_code(self, user: dict, now: datetime) -> None:
        """Mail the user a code that confirms their address (within the hourly quota)."""
        self.codes.mail_code(self.mailing(user), now)

    def verify_email(
        self,
        email: str,
        code: str,
        client: Client,
        *,
        signed_in_as: str | None = None,
        password: str | None = None,
    ) -> bool:
        """Mark the address verified with the code mailed to it; return whether the password was removed.

        At the mailbox's first proof, identities linked before are removed, and so is the
        password unless the caller shows they hold the account: an open session of it
        (`signed_in_as`, the user id of the request's bearer token) or its `password`.
        """
        now = self.clock()
        user = self.storage.users.find_by_email(email)
        owner_shown = user is not None and signed_in_as == user["id"]
        if password is not None and not owner_shown:
            self._check_password_shown(user, email, password, client, now)
            owner_shown = True
        # An unknown address looks its (missing) code up too, so that it costs what a wrong code costs.
        self.codes.use_code(user["id"] if user else NO_USER, VERIFY_EMAIL, email, code, now)
        if user is None:
            raise InvalidCode()
        password_removed = self.codes.mailbox_proven(user, email, client, now, owner_shown=owner_shown)
        self.storage.users.set_email_verified(user["id"], email)
        self.activity.log(user["id"], "emailVerified", client, now)
        return password_removed

    def _check_password_shown(
        self, user: dict | None, email: str, password: str, client: Client, now: datetime
    ) -> None:
        """Check a password sent with a code as a login does (throttled, the same for an unknown address)."""
        source = from_address(client.ip)
        self.throttle.claim(email, source, now)
        if not self.hasher.check(password, user["password"] if user else None) or user is None:
            raise field_error(Code.INVALID_CREDENTIALS, "password")
        self.throttle.succeeded(email, source, now)

    def resend_verification(self, email: str, client: Client) -> None:
        """Mail a new code when an unverified account has this email; the caller learns nothing either way."""
        now = self.clock()
        user = self.storage.users.find_by_email(email)
        # Counted for every address, as forgotPassword does: the same work whoever owns it.
        allowed = self.codes.code_mail_allowed(VERIFY_EMAIL, email, user, now)
        if not allowed or user is None or user["emailVerified"]:
            # Past the quota too: a refusal then costs what a code costs, whoever owns the address.
            self.codes.send_no_code("verify_email", VERIFY_EMAIL, email, now)
            return
        self.codes.send_new_code(self.mailing(user), now)
