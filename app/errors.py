"""The catalogue of failures: every code a client can get, its message, and the error that carries it.

The service raises `AuthError`s, which know nothing of HTTP; `error_handlers` turns them into
the envelope and holds the one table of statuses. A code is what an app tests
(`invalidCredentials`, `emailTaken`), the message what it shows; the original client reads
`message` only, so the messages of its four routes are those of the original server.
"""

from __future__ import annotations

import math
from enum import StrEnum


class Code(StrEnum):
    """Every failure's machine-readable code, as the envelope's `code` spells it."""

    # The request itself
    MISSING_FIELDS = "missingFields"
    VALIDATION_FAILED = "validationFailed"
    INVALID_BODY = "invalidBody"
    BODY_TOO_LARGE = "bodyTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "unsupportedMediaType"
    NOT_FOUND = "notFound"
    METHOD_NOT_ALLOWED = "methodNotAllowed"
    RATE_LIMITED = "rateLimited"
    INTERNAL_ERROR = "internalError"
    SERVICE_UNAVAILABLE = "serviceUnavailable"
    # Tokens
    INVALID_TOKEN = "invalidToken"
    REFRESH_EXPIRED = "refreshExpired"
    FORBIDDEN = "forbidden"
    NO_PUBLIC_KEYS = "noPublicKeys"
    # Accounts and passwords
    INVALID_CREDENTIALS = "invalidCredentials"
    ACCOUNT_DISABLED = "accountDisabled"
    EMAIL_TAKEN = "emailTaken"
    EMAIL_NOT_VERIFIED = "emailNotVerified"
    WEAK_PASSWORD = "weakPassword"
    NO_PASSWORD = "noPassword"
    PASSWORD_REQUIRED = "passwordRequired"
    PROOF_REQUIRED = "proofRequired"
    NOTHING_TO_CHANGE = "nothingToChange"
    SAME_EMAIL = "sameEmail"
    INVALID_CODE = "invalidCode"
    SESSION_NOT_FOUND = "sessionNotFound"
    USER_NOT_FOUND = "userNotFound"
    # Sign in with Apple and Google
    INVALID_ID_TOKEN = "invalidIdToken"
    PROVIDER_DISABLED = "providerDisabled"
    PROVIDER_UNAVAILABLE = "providerUnavailable"
    ACCOUNT_EXISTS = "accountExists"
    IDENTITY_IN_USE = "identityInUse"
    PROVIDER_ALREADY_LINKED = "providerAlreadyLinked"
    IDENTITY_NOT_LINKED = "identityNotLinked"
    LAST_SIGN_IN_METHOD = "lastSignInMethod"
    # Passkeys
    PASSKEYS_DISABLED = "passkeysDisabled"
    INVALID_PASSKEY = "invalidPasskey"
    CHALLENGE_INVALID = "challengeInvalid"
    PASSKEY_NOT_FOUND = "passkeyNotFound"
    # The second factor
    MFA_REQUIRED = "mfaRequired"
    MFA_TOKEN_INVALID = "mfaTokenInvalid"
    MFA_ALREADY_ENABLED = "mfaAlreadyEnabled"
    MFA_NOT_ENABLED = "mfaNotEnabled"
    MFA_SETUP_MISSING = "mfaSetupMissing"
    MFA_UNAVAILABLE = "mfaUnavailable"
    STEP_UP_REQUIRED = "stepUpRequired"


MESSAGES: dict[Code, str] = {
    Code.MISSING_FIELDS: "Some required fields are missing.",
    Code.VALIDATION_FAILED: "Some fields are not valid.",
    Code.INVALID_BODY: "The request could not be read.",
    Code.BODY_TOO_LARGE: "The request body is too large.",
    Code.UNSUPPORTED_MEDIA_TYPE: "Send the body as JSON or as form data.",
    Code.NOT_FOUND: "There is nothing at this address.",
    Code.METHOD_NOT_ALLOWED: "This address does not accept that method.",
    Code.RATE_LIMITED: "Too many attempts. Please try again later.",
    Code.INTERNAL_ERROR: "Something went wrong on our side. Please try again later.",
    Code.SERVICE_UNAVAILABLE: "The service is not ready. Please try again shortly.",
    Code.INVALID_TOKEN: "Your access token is invalid.",
    Code.REFRESH_EXPIRED: "Refresh token expired - session ended.",
    Code.FORBIDDEN: "You may not do this.",
    Code.NO_PUBLIC_KEYS: "This server signs its tokens with a shared secret; it has no public keys.",
    Code.INVALID_CREDENTIALS: "The email or password is incorrect.",
    Code.ACCOUNT_DISABLED: "This account is disabled.",
    Code.EMAIL_TAKEN: "A user with that username already exists.",
    Code.EMAIL_NOT_VERIFIED: "Please verify your email address first.",
    Code.WEAK_PASSWORD: "This password is too easy to guess.",
    Code.NO_PASSWORD: (
        "This account has no password: it signs in with Google or Apple. "
        "To add one, ask for a password reset (forgot password) for its email."
    ),
    Code.PASSWORD_REQUIRED: "This account has a password: send it to delete the account.",
    Code.PROOF_REQUIRED: "Send your password to confirm it is you.",
    Code.NOTHING_TO_CHANGE: "Send first or last to change.",
    Code.SAME_EMAIL: "That is already your email address.",
    Code.INVALID_CODE: "The code is invalid or has expired.",
    Code.SESSION_NOT_FOUND: "There is no such session.",
    Code.USER_NOT_FOUND: "There is no user {key!r}.",
    Code.INVALID_ID_TOKEN: "The sign-in token is invalid.",
    Code.PROVIDER_DISABLED: "Signing in with this provider is not enabled on this server.",
    Code.PROVIDER_UNAVAILABLE: "Signing in with {name} is not possible right now. Please try again shortly.",
    Code.ACCOUNT_EXISTS: "An account with this email already exists. Log in with your password first.",
    Code.IDENTITY_IN_USE: "This sign-in is already linked to another account.",
    Code.PROVIDER_ALREADY_LINKED: (
        "Another {name} account is already linked to this account. Unlink it first."
    ),
    Code.IDENTITY_NOT_LINKED: "No such sign-in is linked to this account.",
    Code.LAST_SIGN_IN_METHOD: (
        "This is the only way to sign in to this account. Add a password or link another sign-in first."
    ),
    Code.PASSKEYS_DISABLED: "Passkeys are not enabled on this server.",
    Code.INVALID_PASSKEY: "The passkey could not be verified.",
    Code.CHALLENGE_INVALID: "This passkey request has expired. Please try again.",
    Code.PASSKEY_NOT_FOUND: "There is no such passkey.",
    Code.MFA_REQUIRED: "Enter the code from your authenticator app.",
    Code.MFA_TOKEN_INVALID: "Your sign-in has expired. Log in again.",
    Code.MFA_ALREADY_ENABLED: "Two-step verification is already on for this account.",
    Code.MFA_NOT_ENABLED: "Two-step verification is not on for this account.",
    Code.MFA_SETUP_MISSING: "Start the authenticator setup first (mfa/totp/setup).",
    Code.MFA_UNAVAILABLE: "Authenticator codes are not available on this server.",
    Code.STEP_UP_REQUIRED: "Enter the code from your authenticator app.",
}

# A code's other sentences, where one code answers more than one situation.
CURRENT_PASSWORD_WRONG = "The current password is incorrect."  # INVALID_CREDENTIALS, signed in
CURRENT_ID_TOKEN_REQUIRED = (  # PROOF_REQUIRED, an account without a password
    "Send a fresh sign-in token (currentIdToken) of a sign-in already linked to this account."
)
ADMINS_ONLY = "Only admins can list users."
TOTP_LOCKED = (  # INVALID_CODE, after too many wrong codes in a row
    "Too many wrong codes: authenticator codes are blocked for this account. "
    "Use a recovery code, or ask support to reset two-step verification."
)  # FORBIDDEN, getAll with GETALL_ACCESS=admin

UNAVAILABLE_RETRY_AFTER = 5  # seconds: about the time a database takes to come back from a restart


class AuthError(Exception):
    """A failure a client should see: its code, a sentence (the code's own unless given), and
    per field, what is wrong (`errors`). Nothing here knows of HTTP."""

    #: Seconds the client should wait before trying again, sent as `Retry-After`.
    retry_after: int | None = None

    def __init__(
        self, code: Code, message: str | None = None, *, errors: dict | None = None, extra: dict | None = None
    ) -> None:
        self.code = code
        self.message = message or MESSAGES[code]
        self.errors = errors
        self.extra = extra  # more members of the envelope (mfaRequired's mfaToken)
        super().__init__(self.message)


def message_of(code: Code, **values: object) -> str:
    """Return the code's message with its `{placeholders}` filled (a provider's name, a user's key)."""
    return MESSAGES[code].format(**values)


def field_error(code: Code, field: str, message: str | None = None) -> AuthError:
    """Return an error about one field: its message both as the sentence and under `errors`."""
    text = message or MESSAGES[code]
    return AuthError(code, text, errors={field: [text]})


class InvalidToken(AuthError):
    """The access token is missing, malformed, expired, of the wrong kind, or of an ended session."""

    def __init__(self) -> None:
        super().__init__(Code.INVALID_TOKEN)


class RefreshExpired(AuthError):
    """The refresh token cannot be used: expired, revoked, unknown or tampered with."""

    def __init__(self) -> None:
        super().__init__(Code.REFRESH_EXPIRED)


class AccountDisabled(AuthError):
    """An operator disabled the account: no login and no refresh until it is enabled again."""

    def __init__(self) -> None:
        super().__init__(Code.ACCOUNT_DISABLED)


class RateLimited(AuthError):
    """Too many attempts: from one address, at one account's password, or at its codes."""

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(Code.RATE_LIMITED, f"Too many attempts. Please try again in {seconds} seconds.")
        self.retry_after = seconds


class ServiceUnavailable(AuthError):
    """The database (or a sign-in provider's key set) does not answer; retry after `retry_after`."""

    def __init__(
        self,
        code: Code = Code.SERVICE_UNAVAILABLE,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after or UNAVAILABLE_RETRY_AFTER
