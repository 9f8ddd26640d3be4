"""Password recovery: a code mailed on request, then a new password set with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import AuthError, Code
from ..lockout import LoginThrottle
from ..password_policy import PasswordPolicy, WeakPassword
from ..passwords import PasswordHasher
from ..storage import Storage
from .activity import ActivityLog
from .codes import NO_USER, PASSWORD_RESET, Codes, InvalidCode, MailedCode
from .notices import Notices
from .second_factor import SecondFactor
from .shared import Client, Clock


@dataclass(frozen=True)
class Recovery:
    """forgotPassword and resetPassword."""

    storage: Storage
    codes: Codes
    hasher: PasswordHasher
    policy: PasswordPolicy
    throttle: LoginThrottle
    activity: ActivityLog
    notices: Notices
    clock: Clock
    second_factor: SecondFactor | None = None  # with TOTP on, a reset takes mfaCode too

    def forgot_password(self, email: str, client: Client) -> None:
        """Mail a reset code when an account has this email; the caller learns nothing either way.

        The quota is counted for unknown addresses too, and they get a code that nobody receives:
        the same work in both cases, and no address gets more than its quota of requests
        whatever it belongs to.
        """
        now = self.clock()
        user = self.storage.users.find_by_email(email)
        allowed = self.codes.code_mail_allowed(PASSWORD_RESET, email, user, now)
        if not allowed or user is None:
            # Past the quota too: a refusal then costs what a code costs, whoever owns the address.
            self.codes.send_no_code("reset_password", PASSWORD_RESET, email, now)
            return
        link = self.codes.rules.password_reset_url
        self.codes.send_new_code(
            MailedCode("reset_password", PASSWORD_RESET, user, email, link_template=link), now
        )

    def reset_password(
        self, email: str, code: str, new_password: str, client: Client, mfa_code: str | None = None
    ) -> None:
        """Set a new password with a reset code, end every session, and mail a notice.

        Resetting proves the mailbox is the user's, so the email becomes verified, the login
        delays of the account are forgotten, and on an account not verified until now the
        identities linked before are removed.
        """
        now = self.clock()
        self.policy.check(
            new_password, "newPassword", email=email
        )  # the same for every address, known or not
        user = self.storage.users.find_by_email(email)
        # An unknown address looks its (missing) code up too, so that it costs what a wrong code costs.
        used = self.codes.use_code(user["id"] if user else NO_USER, PASSWORD_RESET, email, code, now)
        if user is None:
            raise InvalidCode()
        try:  # only once the code is right: else the answer would tell whose address this is
            self.policy.check_names(new_password, "newPassword", user["first"], user["last"])
        except WeakPassword:
            self.storage.codes.restore(used)  # a refused password does not use the code up
            raise
        self._second_factor(user, mfa_code, used, now)
        self.storage.users.update_password(user["id"], self.hasher.hash(new_password))
        self.codes.mailbox_proven(user, email, client, now, owner_shown=True)  # the new password is theirs
        self.storage.users.set_email_verified(user["id"], email)
        self.storage.sessions.end_all(user["id"], now)
        self.codes.end_pending(user["id"])
        self.throttle.forget(email)
        self.activity.log(user["id"], "passwordReset", client, now)
        self.notices.send("password_changed", email, now, address_proven=True, first=user["first"])

    def _second_factor(self, user: dict, mfa_code: str | None, used: dict, now: datetime) -> None:
        """With TOTP on, the mailbox alone does not reset the password: the second factor must come too.

        Asked only once the mailed code is right (else the answer would tell whose address has
        TOTP on); the mailed code is given back when the second factor is missing or wrong.
        """
        if self.second_factor is None:
            return
        try:
            self.second_factor.require(user, mfa_code, now)
        except AuthError as error:
            self.storage.codes.restore(used)
            if error.code is Code.STEP_UP_REQUIRED:
                raise AuthError(Code.STEP_UP_REQUIRED, errors={"mfaCode": [error.message]}) from None
            raise
