"""The user's own profile: fixing the names, moving to a new email address."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import AuthError, Code, InvalidToken, field_error
from ..storage import EmailTaken, Storage
from .activity import ActivityLog
from .codes import EMAIL_CHANGE, Codes, MailedCode
from .notices import Notices
from .proofs import Proof, Proofs
from .reauth import Reauth
from .shared import Client, Clock


@dataclass(frozen=True)
class Profile:
    """PATCH /me, changeEmail and confirmEmailChange."""

    storage: Storage
    codes: Codes
    reauth: Reauth
    activity: ActivityLog
    notices: Notices
    clock: Clock
    proofs: Proofs

    def update_profile(self, user_id: str, names: dict[str, str], client: Client) -> dict:
        """Change the user's `first` and/or `last` and return the user as it is now."""
        names = {name: names[name] for name in ("first", "last") if name in names}
        if not names:
            raise AuthError(Code.NOTHING_TO_CHANGE)
        self.reauth.existing_user(user_id)
        user = self.storage.users.update_names(user_id, names)
        if user is None:
            raise InvalidToken()
        self.activity.log(user_id, "profileUpdated", client, self.clock())
        return user

    def change_email(
        self, user_id: str, session_id: str, proof: Proof, code: str | None, new_email: str, client: Client
    ) -> None:
        """Check the owner's proof (and step-up code) and mail a code to the new address; the email
        changes once it is confirmed. A passkey proves the owner of an account without a password."""
        user = self.reauth.signed_in_user(user_id, session_id)
        self.proofs.confirm(user, session_id, proof, code)
        now = self.clock()
        if new_email == user["email"]:
            raise field_error(Code.SAME_EMAIL, "newEmail")
        if self.storage.users.find_by_email(new_email) is not None:
            raise field_error(Code.EMAIL_TAKEN, "newEmail")
        mailing = MailedCode(
            "change_email", EMAIL_CHANGE, user, new_email, new_email=new_email, session_id=session_id
        )
        self.codes.mail_code(mailing, now)

    def confirm_email_change(self, user_id: str, session_id: str, code: str, client: Client) -> dict:
        """Move the user to the address the code was mailed to, tell the old address, return the user.

        Only from the session that asked for the change, while it is open.
        """
        user = self.reauth.signed_in_user(user_id, session_id)
        now = self.clock()
        document = self.codes.use_code(user_id, EMAIL_CHANGE, None, code, now, session_id=session_id)
        try:
            # The unique index decides again now: the address may have been taken since the code went out.
            changed = self.storage.users.change_email(user_id, document["newEmail"])
        except EmailTaken:
            raise field_error(Code.EMAIL_TAKEN, "newEmail") from None
        if changed is None:
            raise InvalidToken()
        self.codes.end_pending(user_id)  # codes sent to the old address
        self.activity.log(user_id, "emailChanged", client, now)
        self.notices.send(
            "email_changed",
            user["email"],
            now,
            address_proven=user["emailVerified"],
            first=user["first"],
            new_email=changed["email"],
        )
        return changed
