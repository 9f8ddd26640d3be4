"""The users' schemas dump a dict without marshmallow's per-field machinery: the answers must not change."""

from datetime import datetime
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields, post_dump

from app import schemas
from app.schemas.shapes import FlatSchema, UserRecordSchema

USER = {
    "id": "65f0c0ffee0123456789abcd",
    "first": "Ada",
    "last": "Lovelace",
    "email": "ada@example.com",
    "password": "$2b$12$hash",
    "emailVerified": True,
    "role": "admin",
    "disabled": False,
    "createdAt": datetime(2026, 1, 2, 3, 4, 5, 678901),
}
USERS = [
    USER,
    {**USER, "createdAt": None, "emailVerified": 0, "first": b"bytes"},
    {key: value for key, value in USER.items() if key not in {"role", "createdAt"}},
    {},
]


@pytest.mark.parametrize("schema", [schemas.user_schema, schemas.user_with_role_schema, UserRecordSchema()])
@pytest.mark.parametrize("user", USERS)
def test_a_dict_dumps_as_marshmallow_dumps_it(schema, user):
    assert schema._flat_plan is not None  # the shortcut is taken
    assert schema.dump(user) == Schema.dump(schema, user)
    assert list(schema.dump(user)) == list(Schema.dump(schema, user))  # in the same order


def test_what_the_shortcut_does_not_cover_goes_through_marshmallow():
    schema = schemas.user_with_role_schema
    assert schema.dump(USERS, many=True) == [Schema.dump(schema, user) for user in USERS]
    assert schema.dump(SimpleNamespace(**USER)) == Schema.dump(schema, USER)

    class Hooked(FlatSchema):
        name = fields.String()

        @post_dump
        def shout(self, data: dict, **kwargs: object) -> dict:
            return {"name": data["name"].upper()}

    class Defaulted(FlatSchema):
        name = fields.String(dump_default="nobody")

    assert Hooked()._flat_plan is None and Hooked().dump({"name": "ada"}) == {"name": "ADA"}
    assert Defaulted()._flat_plan is None and Defaulted().dump({}) == {"name": "nobody"}
