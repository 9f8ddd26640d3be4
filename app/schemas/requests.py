"""Request bodies and queries: what each route takes, and `load`, which turns a refusal into one sentence."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from .. import errors
from ..id_tokens import PROVIDERS
from .fields import (
    MISSING,
    Code,
    Email,
    GivenPassword,
    IdToken,
    Name,
    NewPassword,
    OptionalName,
    OptionalText,
    Provider,
    RequiredText,
    may_be_left_out,
    one_line,
)


class RequestSchema(Schema):
    """Base for request bodies: unknown fields ignored, one sentence for anything missing."""

    missing_message: ClassVar[str] = "Some required fields are missing."

    class Meta:
        unknown = EXCLUDE


class SignupSchema(RequestSchema):
    missing_message = "You must send all details."
    first = Name(metadata={"example": "Ada"})
    last = Name(metadata={"example": "Lovelace"})
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


def StepUpCode() -> RequiredText:  # noqa: N802 - reads like the fields it stands beside
    """The second factor a sensitive change takes when TOTP is on: a TOTP or a recovery code."""
    return may_be_left_out(
        RequiredText(
            max_length=32,
            metadata={
                "description": "with TOTP on: a code from the authenticator app or a recovery code "
                "(else 400 stepUpRequired)",
                "example": "123456",
            },
        )
    )


PASSKEY_PROOF_SHAPE = (
    "Must be an object with challengeId (a string) and credential (an AuthenticationResponseJSON)."
)


def _passkey_proof_shape(value: dict) -> None:
    challenge, credential = value.get("challengeId"), value.get("credential")
    if not (isinstance(challenge, str) and 0 < len(challenge) <= 128 and isinstance(credential, dict)):
        raise ValidationError(PASSKEY_PROOF_SHAPE)


def PasskeyProof() -> fields.Dict:  # noqa: N802
    """A passkey proof: a challenge from passkeys/authenticationOptions (asked with the bearer token)."""
    return fields.Dict(
        load_default=None,
        validate=_passkey_proof_shape,
        error_messages={"invalid": PASSKEY_PROOF_SHAPE},
        metadata={
            "description": "a passkey assertion instead of the password: `{challengeId, credential}`",
            "properties": {
                "challengeId": {"type": "string"},
                "credential": {"type": "object", "additionalProperties": True},
            },
            "required": ["challengeId", "credential"],
        },
    )


class ChangePasswordSchema(RequestSchema):
    missing_message = "You must send the current and the new password."
    currentPassword = GivenPassword()  # noqa: N815 - JSON field names are camelCase
    newPassword = NewPassword()  # noqa: N815
    code = StepUpCode()


class IdTokenLoginSchema(RequestSchema):
    missing_message = "You must send the provider and the sign-in token."
    provider = Provider()
    idToken = IdToken()  # noqa: N815
    nonce = OptionalText(
        max_length=512,
        trim=False,
        metadata={"description": "the raw nonce; the SDK was given its SHA-256 hex, which the token holds"},
    )
    first = OptionalText(
        validate=one_line,
        metadata={"description": "for a new account; Apple tells the app the name only once"},
    )
    last = OptionalText(validate=one_line, metadata={"description": "for a new account"})


class LinkIdTokenSchema(RequestSchema):
    missing_message = (
        "You must send the provider and the sign-in token, with your password "
        "(or, for an account without one, a fresh currentIdToken, or a passkey)."
    )
    provider = Provider()
    idToken = IdToken()  # noqa: N815
    nonce = OptionalText(max_length=512, trim=False, metadata={"description": "the raw nonce, as at sign-in"})
    # The proof that the caller is the account's owner: which one is the service's to say.
    password = may_be_left_out(GivenPassword(), allow_none=True)  # the account's password, when it has one
    # For an account without a password: a fresh ID token (last ten minutes) of a sign-in already linked.
    currentIdToken = may_be_left_out(IdToken(), allow_none=True)  # noqa: N815
    currentNonce = OptionalText(  # noqa: N815
        max_length=512, trim=False, metadata={"description": "with currentIdToken, as at sign-in"}
    )
    passkey = PasskeyProof()
    code = StepUpCode()


class ProofSchema(RequestSchema):
    """A proof that the caller is the account's owner: the password, a fresh ID token, or a passkey."""

    missing_message = "You must send your password (or, for an account without one, a fresh currentIdToken)."
    password = may_be_left_out(GivenPassword(), allow_none=True)
    currentIdToken = may_be_left_out(IdToken(), allow_none=True)  # noqa: N815
    currentNonce = OptionalText(  # noqa: N815
        max_length=512, trim=False, metadata={"description": "with currentIdToken, as at sign-in"}
    )
    passkey = PasskeyProof()


class TotpDisableSchema(ProofSchema):
    code = StepUpCode()


class StepUpSchema(RequestSchema):
    missing_message = "You must send the code."
    code = StepUpCode()
    passkey = PasskeyProof()


class MfaVerifySchema(RequestSchema):
    missing_message = "You must send the mfaToken and the code."
    mfaToken = RequiredText(max_length=128, trim=False)  # noqa: N815
    code = RequiredText(
        max_length=32,
        metadata={
            "description": "a code from the authenticator app, or a recovery code",
            "example": "123456",
        },
    )


class NewPasswordSchema(RequestSchema):
    """A password an operator sets for a user, under the signup rules."""

    missing_message = "You must send the new password."
    password = NewPassword()


class EmailSchema(RequestSchema):
    missing_message = "You must send your email address."
    email = Email()


class ResetPasswordSchema(RequestSchema):
    missing_message = "You must send the email, the code and the new password."
    email = Email()
    code = Code()
    newPassword = NewPassword()  # noqa: N815
    mfaCode = may_be_left_out(  # noqa: N815
        RequiredText(
            max_length=32,
            metadata={"description": "with TOTP on: a code from the authenticator app or a recovery code"},
        )
    )


class VerifyEmailSchema(RequestSchema):
    missing_message = "You must send the email and the code."
    email = Email()
    code = Code()
    # Shows that the caller chose the password, so that the mailbox's first proof keeps it.
    password = may_be_left_out(GivenPassword())


class UpdateProfileSchema(RequestSchema):
    missing_message = "Names cannot be empty."
    first = OptionalName(metadata={"example": "Ada"})
    last = OptionalName(metadata={"example": "Lovelace"})


class ChangeEmailSchema(RequestSchema):
    missing_message = "You must send your password (or a passkey) and the new email address."
    # The proof that the caller is the account's owner: which one is the service's to say.
    password = may_be_left_out(GivenPassword(), allow_none=True)
    currentIdToken = may_be_left_out(IdToken(), allow_none=True)  # noqa: N815
    currentNonce = OptionalText(  # noqa: N815
        max_length=512, trim=False, metadata={"description": "with currentIdToken, as at sign-in"}
    )
    passkey = PasskeyProof()
    newEmail = Email()  # noqa: N815
    code = StepUpCode()


class CodeSchema(RequestSchema):
    missing_message = "You must send the code."
    code = Code()


class DeleteAccountSchema(RequestSchema):
    missing_message = (
        "You must send your password or a passkey (or a fresh idToken, for an account without a password)."
    )
    password = may_be_left_out(GivenPassword())  # one of the three, checked below
    idToken = may_be_left_out(IdToken())  # noqa: N815
    provider = fields.String(
        load_default=None,
        validate=validate.OneOf(PROVIDERS),
        metadata={
            "enum": list(PROVIDERS),
            "description": "with idToken; read from the token's issuer when left out",
        },
    )
    nonce = OptionalText(max_length=512, trim=False, metadata={"description": "with idToken, as at sign-in"})
    passkey = PasskeyProof()
    code = StepUpCode()

    @validates_schema
    def _a_proof(self, data: dict, **kwargs: Any) -> None:
        if data.get("password") is None and data.get("idToken") is None and data.get("passkey") is None:
            raise ValidationError(MISSING, "password")


class PageSchema(RequestSchema):
    missing_message = "Some paging parameters are missing."
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000), strict=False)
    # Length as well as the pattern: "$" would let a trailing newline through.
    after = fields.String(
        load_default=None, validate=[validate.Length(equal=24), validate.Regexp(r"^[0-9a-f]{24}$")]
    )


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
    """Validate `data` with `schema` (the `partial` fields may be absent), or raise what is wrong."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_body": error.messages}
        missing = any(text == MISSING for texts in messages.values() for text in _as_list(texts))
        code = errors.Code.MISSING_FIELDS if missing else errors.Code.VALIDATION_FAILED
        raise errors.AuthError(code, _summary(schema, messages), errors=messages) from None


signup_schema = SignupSchema()


login_schema = LoginSchema()


refresh_schema = RefreshSchema()


change_password_schema = ChangePasswordSchema()


page_schema = PageSchema()


id_token_login_schema = IdTokenLoginSchema()


link_id_token_schema = LinkIdTokenSchema()


new_password_schema = NewPasswordSchema()


email_schema = EmailSchema()


reset_password_schema = ResetPasswordSchema()


verify_email_schema = VerifyEmailSchema()


update_profile_schema = UpdateProfileSchema()


change_email_schema = ChangeEmailSchema()


code_schema = CodeSchema()


delete_account_schema = DeleteAccountSchema()


proof_schema = ProofSchema()


totp_disable_schema = TotpDisableSchema()


step_up_schema = StepUpSchema()


mfa_verify_schema = MfaVerifySchema()
