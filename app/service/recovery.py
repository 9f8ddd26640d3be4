"""Password recovery: a code mailed on request, then a new password set with it."""

from __future__ import annotations

from ..password_policy import WeakPassword
from .base import Client
from .codes import NO_USER, PASSWORD_RESET, Codes, InvalidCode


class Recovery(Codes):
    """forgotPassword and resetPassword."""

    def forgot_password(self, email: str, client: Client) -> None:
        """Mail a reset code when an account has this email; the caller learns nothing either way.

        The quota is counted for unknown addresses too, and they get a code that nobody receives:
        the same work in both cases, and no address gets more than its quota of requests
        whatever it belongs to.
        """
        now = self.clock()
        user = self.storage.users.find_by_email(email)
        allowed = self._code_mail_allowed(PASSWORD_RESET, email, user, now)
        if not allowed or user is None:
            # Past the quota too: a refusal then costs what a code costs, whoever owns the address.
            self._send_no_code("reset_password", PASSWORD_RESET, email, now)
            return
        self._send_new_code(
            "reset_password",
            PASSWORD_RESET,
            user,
            email,
            now,
            link_template=self.account_rules.password_reset_url,
        )

    def reset_password(self, email: str, code: str, new_password: str, client: Client) -> None:
        """Set a new password with a reset code, end every session, and mail a notice.

        Resetting proves the mailbox is the user's, so the email becomes verified, the login
        delays of the account are forgotten, and on an account not verified until now the
        identities linked before are removed.
        """
        now = self.clock()
        policy = self.account_rules.password_policy
        policy.check(new_password, "newPassword", email=email)  # the same for every address, known or not
        user = self.storage.users.find_by_email(email)
        # An unknown address looks its (missing) code up too, so that it costs what a wrong code costs.
        used = self._use_code(user["id"] if user else NO_USER, PASSWORD_RESET, email, code, now)
        if user is None:
            raise InvalidCode()
        try:  # only once the code is right: else the answer would tell whose address this is
            policy.check_names(new_password, "newPassword", user["first"], user["last"])
        except WeakPassword:
            self.storage.codes.restore(used)  # a refused password does not use the code up
            raise
        self.storage.users.update_password(user["id"], self.hasher.hash(new_password))
        self._mailbox_proven(user, email, client, now, owner_shown=True)  # the new password is theirs
        self.storage.users.set_email_verified(user["id"], email)
        self.storage.sessions.end_all(user["id"], now)
        self._end_pending_codes(user["id"])
        self.throttle.forget(email)
        self._log(user["id"], "passwordReset", client, now)
        self._send_notice("password_changed", email, now, address_proven=True, first=user["first"])
