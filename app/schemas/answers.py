"""Answer bodies, for the OpenAPI document (views return plain dicts of these shapes)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..errors import Code
from .shapes import (
    ActivitySchema,
    IdentitySchema,
    SessionSchema,
    UserWithRoleSchema,
)


class SuccessSchema(Schema):
    success = fields.Boolean(required=True, metadata={"example": True})


class VerifyEmailResponseSchema(SuccessSchema):
    passwordRemoved = fields.Boolean(  # noqa: N815
        required=True,
        metadata={
            "description": "true when this first proof of the mailbox came without the password or a "
            "session of the account, so the password (perhaps set by someone else) was removed: "
            "set one with forgotPassword"
        },
    )


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
        required=True,
        validate=validate.OneOf([code.value for code in Code]),
        metadata={
            "description": "What went wrong, for the app to test (app/errors.py lists each with its "
            "message). `invalidToken`: refresh and retry; `refreshExpired`: log out; "
            "`rateLimited`: wait `Retry-After` seconds; `invalidCredentials`: a wrong email or "
            "password; `missingFields` and `validationFailed`: see `errors`",
            "example": "invalidCredentials",
        },
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field name to its messages, for validation failures"},
    )
    mfaToken = fields.String(  # noqa: N815
        metadata={"description": "with `mfaRequired` only: send it to mfa/verify with the code (5 minutes)"}
    )


class TotpSetupResponseSchema(SuccessSchema):
    secret = fields.String(required=True, metadata={"description": "base32; shown this once"})
    otpauthUrl = fields.String(  # noqa: N815
        required=True, metadata={"description": "otpauth://totp/... for a QR code; shown this once"}
    )


class RecoveryCodesResponseSchema(SuccessSchema):
    recoveryCodes = fields.List(  # noqa: N815
        fields.String(metadata={"example": "7k2mq-9xw4d"}),
        required=True,
        metadata={"description": "10 single-use codes, shown this once"},
    )


class TotpEnableResponseSchema(RecoveryCodesResponseSchema):
    authToken = fields.String(  # noqa: N815
        required=True, metadata={"description": "a new access token of this session, with aal 2"}
    )


class MfaVerifyResponseSchema(LoginResponseSchema):
    recoveryCodesLeft = fields.Integer(  # noqa: N815
        metadata={"description": "when a recovery code was used: how many are left"}
    )


class MfaStatusResponseSchema(SuccessSchema):
    totp = fields.Boolean(required=True)
    recoveryCodesLeft = fields.Integer(required=True)  # noqa: N815
    passkeys = fields.Integer(required=True)


class StepUpResponseSchema(SuccessSchema):
    authToken = fields.String(  # noqa: N815
        required=True, metadata={"description": "a new access token of this session, with aal 2"}
    )
