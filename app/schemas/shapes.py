"""The public shapes of a user, a session, an activity entry and an identity: nothing else leaves."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..id_tokens import PROVIDERS
from .fields import UtcDateTime


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
    secondFactor = fields.String(  # noqa: N815
        metadata={"description": "logins with a second factor: `totp` or `recoveryCode`"}
    )


class IdentitySchema(Schema):
    """A Google or Apple account linked to the user."""

    provider = fields.String(metadata={"enum": list(PROVIDERS)})
    email = fields.String(
        allow_none=True, metadata={"description": "the email the provider gave when linked"}
    )
    createdAt = UtcDateTime()  # noqa: N815


identity_schema = IdentitySchema()


user_schema = UserSchema()


user_with_role_schema = UserWithRoleSchema()


user_record_schema = UserRecordSchema()


failed_logins_schema = FailedLoginsSchema()


session_schema = SessionSchema()


activity_schema = ActivitySchema()
