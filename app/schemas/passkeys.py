"""Passkeys' request and answer bodies (WebAuthn Level 3 JSON forms travel as objects)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..texts import MAX_NAME_CHARS
from .fields import (
    MISSING,
    GivenPassword,
    IdToken,
    OptionalText,
    RequiredText,
    UtcDateTime,
    may_be_left_out,
    one_line,
)
from .requests import RequestSchema, StepUpCode

CREDENTIAL = (
    "the PublicKeyCredential as JSON (toJSON(), or react-native-passkey's result): "
    "id, rawId, type, response, clientExtensionResults"
)


class Credential(fields.Dict):
    """A WebAuthn credential as JSON: an object, required (its members py_webauthn reads and checks)."""

    def __init__(self) -> None:
        super().__init__(
            keys=fields.String(),
            required=True,
            error_messages={"required": MISSING, "null": MISSING},
            metadata={"description": CREDENTIAL},
        )


def ChallengeId() -> RequiredText:  # noqa: N802 - reads like the fields it stands beside
    return RequiredText(max_length=64, metadata={"description": "from the options call"})


class PasskeyAssertionSchema(RequestSchema):
    challengeId = ChallengeId()  # noqa: N815
    credential = Credential()


class OwnerProofSchema(RequestSchema):
    """One proof the caller owns the account: password, else a fresh currentIdToken, or a passkey."""

    missing_message = "Send your password (or currentIdToken, or a passkey) to prove it is you."
    password = may_be_left_out(GivenPassword(), allow_none=True)
    currentIdToken = may_be_left_out(IdToken(), allow_none=True)  # noqa: N815
    currentNonce = OptionalText(  # noqa: N815
        max_length=512, trim=False, metadata={"description": "with currentIdToken, as at sign-in"}
    )
    # An object whose members the service checks, so that its faults read as invalidPasskey.
    passkey = fields.Dict(
        keys=fields.String(),
        load_default=None,
        allow_none=True,
        metadata={
            "description": "{challengeId, credential}: an assertion to a challenge of authenticationOptions "
            "called with the bearer token"
        },
    )
    code = StepUpCode()


class RegisterPasskeySchema(PasskeyAssertionSchema):
    name = OptionalText(
        max_length=MAX_NAME_CHARS, validate=one_line, metadata={"description": "what the user calls it"}
    )


class RenamePasskeySchema(RequestSchema):
    missing_message = "Send the passkey's new name."
    name = RequiredText(validate=[validate.Length(min=1, max=MAX_NAME_CHARS), one_line])


class PasskeySchema(Schema):
    """One of the user's passkeys."""

    id = fields.String()
    name = fields.String()
    createdAt = UtcDateTime()  # noqa: N815
    lastUsedAt = UtcDateTime(allow_none=True)  # noqa: N815
    synced = fields.Boolean(
        metadata={"description": "backup-eligible: synced by a password manager (else bound to one device)"}
    )


class CeremonyResponseSchema(Schema):
    success = fields.Boolean(required=True, metadata={"example": True})
    challengeId = fields.String(required=True, metadata={"description": "send it back with the credential"})  # noqa: N815
    options = fields.Dict(
        required=True,
        metadata={
            "description": "PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON"
        },
    )


class PasskeyResponseSchema(Schema):
    success = fields.Boolean(required=True, metadata={"example": True})
    passkey = fields.Nested(PasskeySchema, required=True)


class PasskeysResponseSchema(Schema):
    success = fields.Boolean(required=True, metadata={"example": True})
    passkeys = fields.List(fields.Nested(PasskeySchema), required=True)


passkey_schema = PasskeySchema()
passkey_assertion_schema = PasskeyAssertionSchema()
owner_proof_schema = OwnerProofSchema()
register_passkey_schema = RegisterPasskeySchema()
rename_passkey_schema = RenamePasskeySchema()
