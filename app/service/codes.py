"""One-time codes: six digits mailed to an address, stored only as a keyed hash, used once."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from ..errors import AuthError, Code, RateLimited
from ..storage import Storage
from .activity import ActivityLog
from .notices import Notices
from .shared import AccountRules, Client, MailSender

# Purposes: a code of one purpose is never accepted for another, and each has its own mail quota.
VERIFY_EMAIL = "verifyEmail"
PASSWORD_RESET = "passwordReset"
EMAIL_CHANGE = "emailChange"

PROVIDER_NAMES = {"google": "Google", "apple": "Apple"}

# Past the hourly quota, codes mailed a day to replace one no longer usable (see _code_mail_allowed).
REPLACEMENTS_PER_DAY = 5
# The counter of wrong codes an account takes a day, whatever their purpose (CODE_FAILURES_PER_DAY).
WRONG_CODES = "wrongCodes"
DAY = timedelta(days=1)
NO_USER = "none"  # looked up for an unknown address, so that it costs what a known one costs
NO_CODE = "decoy"  # the owner of the expired code written for an address that gets none

CODE_DIGITS = 6
_CODE_SHAPE = re.compile(r"[0-9]{6}")  # ASCII digits only: str.isdigit() would take "١٢٣٤٥٦"


class InvalidCode(AuthError):
    """The code is wrong, used, expired, voided by too many tries, or for another purpose or email."""

    def __init__(self) -> None:
        super().__init__(Code.INVALID_CODE)


def new_code() -> str:
    """Return six random digits, each as likely as any other."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def link_with_code(template: str | None, email: str, code: str) -> str | None:
    """Fill a deep-link template's `{email}` and `{code}`, URL-encoded; None without a template."""
    if not template:
        return None
    return template.replace("{email}", quote(email, safe="")).replace("{code}", quote(code, safe=""))


@dataclass(frozen=True)
class MailedCode:
    """What a code's message says and where its code belongs: the parameters of one mailing."""

    template: str
    purpose: str
    user: dict
    to: str
    link_template: str | None = None
    new_email: str | None = None  # an email change: the address the code moves the account to
    session_id: str | None = None  # an email change: the session that asked, the only one that may confirm


@dataclass(frozen=True)
class Codes:
    """Issues, mails and uses one-time codes, within the per-address mail quota."""

    storage: Storage
    mailer: MailSender
    rules: AccountRules
    activity: ActivityLog
    notices: Notices

    def code_hash(self, user_id: str, purpose: str, code: str) -> str:
        # Keyed: with a million possible codes, a bare hash in a leaked database is reversed at once.
        message = f"{purpose}:{user_id}:{code}".encode()
        return hmac.new(self.rules.code_key, message, hashlib.sha256).hexdigest()

    def mail_allowed(self, purpose: str, email: str, now: datetime) -> bool:
        """Count a message of `purpose` to `email` against the hourly quota; say whether it may go."""
        return self.storage.counters.count(purpose, email, self.rules.mail_limit_per_hour, now)

    def code_mail_allowed(self, purpose: str, email: str, user: dict | None, now: datetime) -> bool:
        """Say whether a new code of `purpose` may be mailed to `email` (counted as `_mail_allowed`).

        Past the hour's quota, one more may go while the last one mailed is no longer usable
        (voided by wrong tries, used or expired), within a daily allowance: else a stranger who
        asks three times and then types five wrong codes would keep the owner from any code
        for the rest of the hour. The same lookups and counts for an unknown address.
        """
        if self.mail_allowed(purpose, email, now):
            return True
        user_id = user["id"] if user is not None else NO_USER
        live = self.storage.codes.has_live(user_id, purpose, now, self.rules.max_code_failures)
        # Counted whether or not the last code is live, so that an unknown address (which has
        # none) and a known one do the same work.
        replacement = self.storage.counters.count(
            f"{purpose}Replacement", email, REPLACEMENTS_PER_DAY, now, window=timedelta(days=1)
        )
        return replacement and not live  # while the code mailed last is live, it is the one to use

    def mail_code(self, mailing: MailedCode, now: datetime) -> bool:
        """Issue a new code for the mailing and mail it; say whether it was sent.

        Over the quota nothing is issued, so the code mailed last stays the valid one.
        """
        if not self.code_mail_allowed(mailing.purpose, mailing.to, mailing.user, now):
            return False
        self.send_new_code(mailing, now)
        return True

    def send_new_code(self, mailing: MailedCode, now: datetime) -> None:
        """Issue a new code for the mailing (replacing the last) and put its message in the outbox.

        Both are stored before the answer, so a process that dies after answering loses neither.
        """
        user, purpose, to = mailing.user, mailing.purpose, mailing.to
        code = new_code()
        expires_at = now + timedelta(seconds=self.rules.code_ttl)
        code_hash = self.code_hash(user["id"], purpose, code)
        self.storage.codes.store(
            user["id"],
            purpose,
            to,
            code_hash,
            now,
            expires_at,
            new_email=mailing.new_email,
            session_id=mailing.session_id,
        )
        self.mailer.send(
            mailing.template, to, **self._code_context(user["first"], to, code, mailing.link_template)
        )

    def send_no_code(self, template: str, purpose: str, to: str, now: datetime) -> None:
        """Do the work `_send_new_code` does, storing nothing anyone can use or receive.

        For an address that gets no code (unknown, or already verified): its answer then costs
        what a known one's costs, one code write and one outbox write, so timing does not tell.
        """
        code = new_code()
        code_hash = self.code_hash(NO_CODE, purpose, code)
        # Expired as it is written: never usable, and the TTL index removes it.
        self.storage.codes.store(NO_CODE, purpose, "", code_hash, now, now)
        self.mailer.send_nothing(template, to, **self._code_context("", to, code, None))

    def _code_context(self, first: str, to: str, code: str, link_template: str | None) -> dict:
        return {
            "first": first,
            "code": code,
            "link": link_with_code(link_template, to, code),
            "ttl_minutes": self.rules.code_ttl // 60,
        }

    def mailbox_proven(
        self, user: dict, email: str, client: Client, now: datetime, *, owner_shown: bool
    ) -> bool:
        """Undo what an unverified account had set up before a code first proved its mailbox.

        Anyone can sign up, or sign in with a provider that has not verified the address, in
        someone else's name. Once the owner proves the mailbox, the identities linked before go
        (the owner is told which), and so do the passkeys registered before. Unless the prover
        showed they already held the account (a session of it, the password, or a new password
        set by a reset: `owner_shown`), the password goes too, as it may be whoever signed up's:
        the owner sets one with forgotPassword. Either removal ends every session. Returns
        whether the password went.
        """
        if user["emailVerified"]:
            return False
        removed = self.storage.identities.remove_unproven(user["id"], email)
        passkeys_removed = self.storage.passkeys.remove_all(user["id"])
        password_removed = not owner_shown and user["password"] is not None
        if password_removed:
            self.storage.users.update_password(user["id"], None, replacing=user["password"])
            self.activity.log(user["id"], "passwordRemoved", client, now)
        if removed or passkeys_removed or password_removed:
            self.storage.sessions.end_all(user["id"], now)
        for _ in passkeys_removed:
            self.activity.log(user["id"], "passkeyRemoved", client, now)
        for identity in removed:
            self.activity.log(user["id"], "identityUnlinked", client, now, identity["provider"])
        if removed:
            names = [PROVIDER_NAMES.get(identity["provider"], identity["provider"]) for identity in removed]
            self.notices.send(
                "identities_removed", email, now, address_proven=True, first=user["first"], providers=names
            )
        return password_removed

    def end_pending(self, user_id: str) -> None:
        """Void the user's pending codes: what was asked before a credential change must not finish later."""
        self.storage.codes.delete_for_user(user_id)

    def use_code(
        self,
        user_id: str,
        purpose: str,
        email: str | None,
        code: str,
        now: datetime,
        session_id: str | None = None,
    ) -> dict:
        """Use the code of `purpose` (sent to `email`, for `session_id`, if given), or raise InvalidCode.

        A wrong code counts a try against the code and, unless the code belongs to the caller's
        session, against the account's daily ceiling of wrong codes.
        """
        code = code.replace(" ", "").replace("-", "")  # as a phone may paste "123 456"
        if not _CODE_SHAPE.fullmatch(code):
            code = ""  # cannot match, but still counts as a try
        ceiling = None if session_id is not None else self._wrong_codes_key(user_id, email)
        if ceiling is not None:
            self._claim_code_try(ceiling, now)
        document = self.storage.codes.use(
            user_id,
            purpose,
            email,
            self.code_hash(user_id, purpose, code),
            now,
            self.rules.max_code_failures,
            session_id=session_id,
        )
        if document is None:
            raise InvalidCode()
        if ceiling is not None:
            self.storage.counters.uncount(WRONG_CODES, ceiling)  # a right code is not a guess
        return document

    @staticmethod
    def _wrong_codes_key(user_id: str, email: str | None) -> str:
        """Return whose wrong codes a try counts against: the account, or an unknown address."""
        return f"{NO_USER}:{email}" if user_id == NO_USER else user_id

    def _claim_code_try(self, key: str, now: datetime) -> None:
        """Count a code try against the daily ceiling, before comparing; raise RateLimited past it.

        Each code is void after a few wrong tries, but new codes keep coming within the mail
        quotas: without a ceiling per account, one address could take hundreds of guesses a day.
        """
        limit = self.rules.code_failures_per_day
        if not self.storage.counters.count(WRONG_CODES, key, limit, now, window=DAY):
            wait = self.storage.counters.window_end(WRONG_CODES, key, now) - now
            raise RateLimited(wait.total_seconds())
