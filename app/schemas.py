"""Marshmallow schemas: validate what comes in, shape what goes out."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from .errors import ApiError
from .id_tokens import PROVIDERS
from .passwords import MAX_PASSWORD_BYTES

MIN_PASSWORD_BYTES = 8
MISSING = "Missing data for required field."
PASSWORD_LENGTH = f"Password must be {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long."
PASSWORD_TOO_LONG = f"Password must be at most {MAX_PASSWORD_BYTES} bytes long."


class RequiredText(fields.String):
    """A string that must be present and non-empty; trimmed unless `trim=False`."""

    def __init__(self, *, trim: bool = True, max_length: int = 200, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(max=max_length))
        super().__init__(required=True, error_messages={"required": MISSING, "null": MISSING}, **kwargs)
        self.trim = trim

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.isascii():
            try:
                text.encode()
            except UnicodeEncodeError:  # lone surrogates, as a JSON "\ud800" escape makes
                raise ValidationError("Not valid Unicode text.") from None
        if self.trim:
            text = text.strip()
        if not text:
            raise ValidationError(MISSING)
        return text


def normalise_email(email: str) -> str:
    """Return an email as every account holds it: trimmed and lower-cased by Unicode's rules."""
    return email.strip().lower()


class OptionalName(RequiredText):
    """Like RequiredText, but it may be left out; when sent, it must not be empty."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.required = False


class Email(RequiredText):
    """An email address, trimmed and lower-cased so that comparisons ignore case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"format": "email", "example": "ada@example.com"})
        super().__init__(validate=[validate.Length(max=254), validate.Email()], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalise_email(super()._deserialize(value, attr, data, **kwargs))


def _byte_length(minimum: int, message: str) -> validate.Validator:
    def check(password: str) -> None:
        if not minimum <= len(password.encode()) <= MAX_PASSWORD_BYTES:
            raise ValidationError(message)

    return check


def NewPassword() -> RequiredText:  # noqa: N802 - reads like the fields it stands beside
    """A password being set: 8 to 72 UTF-8 bytes, never trimmed."""
    return RequiredText(
        trim=False,
        validate=_byte_length(MIN_PASSWORD_BYTES, PASSWORD_LENGTH),
        metadata={
            "minLength": MIN_PASSWORD_BYTES,
            "maxLength": MAX_PASSWORD_BYTES,
            "example": "correct horse",
        },
    )


def GivenPassword() -> RequiredText:  # noqa: N802
    """A password being checked: never trimmed; no minimum, so older accounts can still log in."""
    return RequiredText(
        trim=False,
        validate=_byte_length(1, PASSWORD_TOO_LONG),
        metadata={"maxLength": MAX_PASSWORD_BYTES, "example": "correct horse"},
    )


class RequestSchema(Schema):
    """Base for request bodies: unknown fields ignored, one sentence for anything missing."""

    missing_message: ClassVar[str] = "Some required fields are missing."

    class Meta:
        unknown = EXCLUDE


class SignupSchema(RequestSchema):
    missing_message = "You must send all details."
    first = RequiredText(max_length=100, metadata={"example": "Ada"})
    last = RequiredText(max_length=100, metadata={"example": "Lovelace"})
    email = Email()
    password = NewPassword()


class LoginSchema(RequestSchema):
    missing_message = "You must send the username and the password."
    email = Email()
    password = GivenPassword()
    refreshToken = fields.String(  # noqa: N815
        load_default=None,
        validate=validate.Length(max=4096),
        metadata={
            "description": "optional: the refresh token of a session of this account the client already "
            "holds; such a login is not kept waiting by other people's failed guesses"
        },
    )


class RefreshSchema(RequestSchema):
    missing_message = "There is no refresh token to check."
    refreshToken = RequiredText(max_length=4096)  # noqa: N815 - the original's field name


class ChangePasswordSchema(RequestSchema):
    missing_message = "You must send the current and the new password."
    currentPassword = GivenPassword()  # noqa: N815 - JSON field names are camelCase
    newPassword = NewPassword()  # noqa: N815


class OptionalText(fields.String):
    """A string that may be left out, null or empty (then None); at most `max_length` characters.

    Trimmed unless `trim=False` (a nonce is compared, and hashed, exactly as the app made it).
    """

    def __init__(self, *, max_length: int = 100, trim: bool = True, metadata: dict | None = None) -> None:
        super().__init__(
            load_default=None, allow_none=True, metadata={"maxLength": max_length, **(metadata or {})}
        )
        self.max_length = max_length
        self.trim = trim

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode()
        except UnicodeEncodeError:
            raise ValidationError("Not valid Unicode text.") from None
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than maximum length {self.max_length}.")
        return (text.strip() if self.trim else text) or None


def IdToken() -> RequiredText:  # noqa: N802
    """An ID token as the provider issued it; its length is the verifier's to refuse, as invalidIdToken."""
    return RequiredText(
        validate=[],
        metadata={"description": "the OpenID Connect ID token the Google or Apple SDK returned"},
    )


def Provider() -> RequiredText:  # noqa: N802
    return RequiredText(validate=validate.OneOf(PROVIDERS), metadata={"enum": list(PROVIDERS)})


class IdTokenLoginSchema(RequestSchema):
    missing_message = "You must send the provider and the sign-in token."
    provider = Provider()
    idToken = IdToken()  # noqa: N815
    nonce = OptionalText(
        max_length=512,
        trim=False,
        metadata={"description": "the raw nonce the app gave the SDK; the token holds it or its SHA-256 hex"},
    )
    first = OptionalText(
        metadata={"description": "for a new account; Apple tells the app the name only once"}
    )
    last = OptionalText(metadata={"description": "for a new account"})


class LinkIdTokenSchema(RequestSchema):
    missing_message = (
        "You must send the provider and the sign-in token, with your password "
        "(or, for an account without one, a fresh currentIdToken)."
    )
    provider = Provider()
    idToken = IdToken()  # noqa: N815
    nonce = OptionalText(
        max_length=512, trim=False, metadata={"description": "the raw nonce the app gave the SDK"}
    )
    password = GivenPassword()  # the account's password, when it has one
    # For an account without a password: a fresh ID token (last ten minutes) of a sign-in already linked.
    currentIdToken = IdToken()  # noqa: N815
    currentNonce = OptionalText(  # noqa: N815
        max_length=512, trim=False, metadata={"description": "with currentIdToken, as at sign-in"}
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The proof that the caller is the account's owner: which one is the service's to say.
        for name in ("password", "currentIdToken"):  # null or left out: the service asks for the one it needs
            self.fields[name].required = False
            self.fields[name].allow_none = True


class NewPasswordSchema(RequestSchema):
    """A password an operator sets for a user, under the signup rules."""

    missing_message = "You must send the new password."
    password = NewPassword()


class Code(RequiredText):
    """A one-time code as typed: six digits (spaces and dashes are dropped when it is checked)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=20, metadata={"example": "123456", "pattern": "^[0-9]{6}$"}, **kwargs)


class EmailSchema(RequestSchema):
    missing_message = "You must send your email address."
    email = Email()


class ResetPasswordSchema(RequestSchema):
    missing_message = "You must send the email, the code and the new password."
    email = Email()
    code = Code()
    newPassword = NewPassword()  # noqa: N815


class VerifyEmailSchema(RequestSchema):
    missing_message = "You must send the email and the code."
    email = Email()
    code = Code()


class UpdateProfileSchema(RequestSchema):
    missing_message = "Names cannot be empty."
    first = OptionalName(max_length=100, metadata={"example": "Ada"})
    last = OptionalName(max_length=100, metadata={"example": "Lovelace"})


class ChangeEmailSchema(RequestSchema):
    missing_message = "You must send your password and the new email address."
    password = GivenPassword()
    newEmail = Email()  # noqa: N815


class CodeSchema(RequestSchema):
    missing_message = "You must send the code."
    code = Code()


class DeleteAccountSchema(RequestSchema):
    missing_message = "You must send your password (or a fresh idToken, for an account without one)."
    password = GivenPassword()
    idToken = IdToken()  # noqa: N815
    provider = fields.String(
        load_default=None,
        validate=validate.OneOf(PROVIDERS),
        metadata={
            "enum": list(PROVIDERS),
            "description": "with idToken; read from the token's issuer when left out",
        },
    )
    nonce = OptionalText(max_length=512, trim=False, metadata={"description": "with idToken, as at sign-in"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name in ("password", "idToken"):  # one of the two, checked below
            self.fields[name].required = False

    @validates_schema
    def _password_or_id_token(self, data: dict, **kwargs: Any) -> None:
        if data.get("password") is None and data.get("idToken") is None:
            raise ValidationError(MISSING, "password")


class PageSchema(RequestSchema):
    missing_message = "Some paging parameters are missing."
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000), strict=False)
    # Length as well as the pattern: "$" would let a trailing newline through.
    after = fields.String(
        load_default=None, validate=[validate.Length(equal=24), validate.Regexp(r"^[0-9a-f]{24}$")]
    )


class UtcDateTime(fields.DateTime):
    """A naive UTC datetime shown as ISO 8601 with a `Z`, as JavaScript's Date writes it."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class UserSchema(Schema):
    """A user as clients see it: never the password hash or anything about sessions."""

    id = fields.String()
    first = fields.String()
    last = fields.String()
    email = fields.String()
    emailVerified = fields.Boolean(  # noqa: N815
        metadata={"description": "the address was confirmed with a code (false for the original's users)"}
    )
    createdAt = UtcDateTime()  # noqa: N815


class UserWithRoleSchema(UserSchema):
    """A user as the user and admins see it: the public fields and the role."""

    role = fields.String(
        metadata={"enum": ["user", "admin"], "description": "shown to the user and to admins only"}
    )


class UserRecordSchema(UserWithRoleSchema):
    """A user as an operator sees it on the command line: everything but the password hash."""

    disabled = fields.Boolean()


class FailedSourceSchema(Schema):
    """One source's run of failed logins at an account: an address (IPv6 /64) or a session."""

    source = fields.String()
    count = fields.Integer()
    nextAttemptAt = UtcDateTime()  # noqa: N815


class FailedLoginsSchema(Schema):
    """The failed logins at one account, as an operator sees them."""

    today = fields.Integer(metadata={"description": "failures today, counted against the daily ceiling"})
    sources = fields.List(fields.Nested(FailedSourceSchema))


class SessionSchema(Schema):
    """A session as its user sees it: where and when, never its token hash."""

    id = fields.String()
    createdAt = UtcDateTime()  # noqa: N815
    lastUsedAt = UtcDateTime()  # noqa: N815
    expiresAt = UtcDateTime()  # noqa: N815
    ip = fields.String(allow_none=True)
    userAgent = fields.String(allow_none=True)  # noqa: N815
    current = fields.Boolean(metadata={"description": "the session of the token making this request"})


class ActivitySchema(Schema):
    """One entry of a user's activity log."""

    activity = fields.String()
    time = UtcDateTime()
    ip = fields.String(allow_none=True)
    userAgent = fields.String(allow_none=True)  # noqa: N815
    method = fields.String(
        metadata={"description": "logins, signups and identity changes: `password`, `google` or `apple`"}
    )
    by = fields.String(metadata={"description": "`operator` when done from the command line, else absent"})


class IdentitySchema(Schema):
    """A Google or Apple account linked to the user."""

    provider = fields.String(metadata={"enum": list(PROVIDERS)})
    email = fields.String(
        allow_none=True, metadata={"description": "the email the provider gave when linked"}
    )
    createdAt = UtcDateTime()  # noqa: N815


def _summary(schema: RequestSchema, messages: dict) -> str:
    """One sentence for the client to show: the schema's own if a field is missing."""
    flat = [(name, text) for name, texts in messages.items() for text in _as_list(texts)]
    if any(text == MISSING for _, text in flat):
        return schema.missing_message
    name, text = flat[0]
    if text.startswith("Password"):
        return text
    return f"Invalid {name}: {text}"


def _as_list(texts: Any) -> list[str]:
    if isinstance(texts, list):
        return [str(text) for text in texts]
    return [str(texts)]


def load(schema: RequestSchema, data: Any, partial: tuple[str, ...] = ()) -> dict:
    """Validate `data` with `schema` (the `partial` fields may be absent), or raise an ApiError."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
        raise ApiError(_summary(schema, messages), errors=messages) from None


signup_schema = SignupSchema()
login_schema = LoginSchema()
refresh_schema = RefreshSchema()
change_password_schema = ChangePasswordSchema()
page_schema = PageSchema()
id_token_login_schema = IdTokenLoginSchema()
link_id_token_schema = LinkIdTokenSchema()
identity_schema = IdentitySchema()
new_password_schema = NewPasswordSchema()
email_schema = EmailSchema()
reset_password_schema = ResetPasswordSchema()
verify_email_schema = VerifyEmailSchema()
update_profile_schema = UpdateProfileSchema()
change_email_schema = ChangeEmailSchema()
code_schema = CodeSchema()
delete_account_schema = DeleteAccountSchema()
user_schema = UserSchema()
user_with_role_schema = UserWithRoleSchema()
user_record_schema = UserRecordSchema()
failed_logins_schema = FailedLoginsSchema()
session_schema = SessionSchema()
activity_schema = ActivitySchema()


# Response bodies, for the OpenAPI document (views return plain dicts of these shapes).


class SuccessSchema(Schema):
    success = fields.Boolean(required=True, metadata={"example": True})


class LoginResponseSchema(SuccessSchema):
    authToken = fields.String(required=True, metadata={"description": "JWT access token"})  # noqa: N815
    refreshToken = fields.String(required=True, metadata={"description": "JWT refresh token"})  # noqa: N815
    user = fields.Nested(UserWithRoleSchema, required=True)


class IdTokenLoginResponseSchema(LoginResponseSchema):
    created = fields.Boolean(required=True, metadata={"description": "a new account was made"})


class IdentitiesResponseSchema(SuccessSchema):
    identities = fields.List(fields.Nested(IdentitySchema), required=True)


class RefreshResponseSchema(SuccessSchema):
    authToken = fields.String(required=True, metadata={"description": "a new JWT access token"})  # noqa: N815
    refreshToken = fields.String(  # noqa: N815
        metadata={"description": "with REFRESH_TOKEN_ROTATION only: the refresh token to use next time"}
    )


class MeResponseSchema(SuccessSchema):
    user = fields.Nested(UserWithRoleSchema, required=True)


class RevokedResponseSchema(SuccessSchema):
    revoked = fields.Integer(required=True, metadata={"description": "how many sessions were ended"})


class SessionsResponseSchema(SuccessSchema):
    sessions = fields.List(fields.Nested(SessionSchema), required=True)


class ActivityPageSchema(SuccessSchema):
    activity = fields.List(
        fields.Nested(ActivitySchema), required=True, metadata={"description": "newest first"}
    )
    next = fields.String(
        required=True, allow_none=True, metadata={"description": "pass as `after` for the next page"}
    )


class UsersPageSchema(SuccessSchema):
    message = fields.List(
        fields.Nested(UserWithRoleSchema),
        required=True,
        metadata={"description": "one page of users; `role` only when the caller is an admin"},
    )
    next = fields.String(
        required=True, allow_none=True, metadata={"description": "pass as `after` for the next page"}
    )


class StatusResponseSchema(SuccessSchema):
    status = fields.String(required=True, metadata={"example": "up"})


class KeySetResponseSchema(SuccessSchema):
    keys = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "RFC 7517 public keys, each with `kid`, `alg`, `use` and its key members"},
    )


class ErrorSchema(Schema):
    """The failure envelope every error answer uses."""

    success = fields.Boolean(required=True, metadata={"example": False})
    message = fields.String(required=True, metadata={"example": "You must send all details."})
    code = fields.String(
        metadata={
            "description": "`invalidToken`: refresh and retry; `refreshExpired`: log out; "
            "`rateLimited`: wait `Retry-After` seconds; `accountDisabled`: an operator disabled "
            "the account; `forbidden`: signed in, but not allowed; `invalidCode`: the one-time code "
            "is wrong, used or expired; `emailNotVerified`: verify the email address first",
            "example": "invalidToken",
        }
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field name to its messages, for validation failures"},
    )
