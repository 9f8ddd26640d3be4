"""The public shapes of a user, a session, an activity entry and an identity: nothing else leaves."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

from ..id_tokens import PROVIDERS
from .fields import UtcDateTime


class FlatSchema(Schema):
    """A schema whose `dump` of one dict calls each field's own `_serialize`, and nothing around it.

    Every answer with a user dumps one, GET /me on every request: marshmallow's `dump` spends
    most of its 15 us going through each field's `serialize` and `get_value`, which for a
    dict and plain fields come down to a key lookup. The answer is the same, and anything this
    shortcut does not cover (many, a non-dict, hooks, defaults, dotted or custom accessors) goes
    through marshmallow as before.
    """

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:  # noqa: ANN401 - as Schema.dump
        plan = self._flat_plan
        if plan is None or type(obj) is not dict or (self.many if many is None else many):
            return super().dump(obj, many=many)
        result = {}
        for read, name, key, serialize in plan:
            value = obj[read] if read in obj else getattr(obj, read, missing)  # as marshmallow's get_value
            if value is not missing:
                result[key] = serialize(value, name, obj)
        return result

    @cached_property
    def _flat_plan(self) -> list | None:
        """(key read, field name, key written, its `_serialize`) per dumped field; None if one needs more."""
        if (
            self._hooks[PRE_DUMP]
            or self._hooks[POST_DUMP]
            or type(self).get_attribute is not Schema.get_attribute
        ):
            return None
        plan = []
        for name, field in self.dump_fields.items():
            read = name if field.attribute is None else field.attribute
            kind = type(field)
            if (
                not field._CHECK_ATTRIBUTE
                or field.dump_default is not missing
                or "." in read
                or kind.serialize is not fields.Field.serialize
                or kind.get_value is not fields.Field.get_value
            ):
                return None
            plan.append((read, name, name if field.data_key is None else field.data_key, field._serialize))
        return plan


class UserSchema(FlatSchema):
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
