"""Marshmallow schemas: validate what comes in, shape what goes out.

`fields.py` holds the building blocks, `requests.py` what each route takes, `shapes.py` the
public shape of each thing a client may see, and `answers.py` the answer bodies the OpenAPI
document describes. The rest of the server uses them as `schemas.<name>`.
"""

from __future__ import annotations

from .answers import (
    ActivityPageSchema,
    ErrorSchema,
    IdentitiesResponseSchema,
    IdTokenLoginResponseSchema,
    KeySetResponseSchema,
    LoginResponseSchema,
    MeResponseSchema,
    RefreshResponseSchema,
    RevokedResponseSchema,
    SessionsResponseSchema,
    StatusResponseSchema,
    SuccessSchema,
    UsersPageSchema,
    VerifyEmailResponseSchema,
)
from .fields import (
    normalise_email,
)
from .requests import (
    RequestSchema,
    change_email_schema,
    change_password_schema,
    code_schema,
    delete_account_schema,
    email_schema,
    id_token_login_schema,
    link_id_token_schema,
    load,
    login_schema,
    new_password_schema,
    page_schema,
    refresh_schema,
    reset_password_schema,
    signup_schema,
    update_profile_schema,
    verify_email_schema,
)
from .shapes import (
    activity_schema,
    failed_logins_schema,
    identity_schema,
    session_schema,
    user_record_schema,
    user_schema,
    user_with_role_schema,
)

__all__ = [
    "ActivityPageSchema",
    "ErrorSchema",
    "IdTokenLoginResponseSchema",
    "IdentitiesResponseSchema",
    "KeySetResponseSchema",
    "LoginResponseSchema",
    "MeResponseSchema",
    "RefreshResponseSchema",
    "RequestSchema",
    "RevokedResponseSchema",
    "SessionsResponseSchema",
    "StatusResponseSchema",
    "SuccessSchema",
    "VerifyEmailResponseSchema",
    "UsersPageSchema",
    "activity_schema",
    "change_email_schema",
    "change_password_schema",
    "code_schema",
    "delete_account_schema",
    "email_schema",
    "failed_logins_schema",
    "id_token_login_schema",
    "identity_schema",
    "link_id_token_schema",
    "load",
    "login_schema",
    "new_password_schema",
    "normalise_email",
    "page_schema",
    "refresh_schema",
    "reset_password_schema",
    "session_schema",
    "signup_schema",
    "update_profile_schema",
    "user_record_schema",
    "user_schema",
    "user_with_role_schema",
    "verify_email_schema",
]
