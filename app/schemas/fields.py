"""The fields request and answer schemas are made of: texts, emails, passwords, codes, times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError, fields, validate

from ..id_tokens import PROVIDERS
from ..passwords import MAX_PASSWORD_BYTES
from ..texts import MAX_NAME_CHARS, InvalidEmailDomain, has_unsafe_characters, normalise_email

MIN_PASSWORD_BYTES = 8


MISSING = "Missing data for required field."


PASSWORD_LENGTH = f"Password must be {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long."


PASSWORD_TOO_LONG = f"Password must be at most {MAX_PASSWORD_BYTES} bytes long."


NOT_AN_EMAIL = "Not a valid email address."


INVALID_EMAIL_DOMAIN = "Not a valid email address: its domain is not a valid domain name."


NOT_ONE_LINE = "Must be one line, without control characters or direction overrides."


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


def one_line(text: str | None) -> None:
    """Refuse text that would break a mail's line or reorder what a screen shows after it."""
    if text is not None and has_unsafe_characters(text):
        raise ValidationError(NOT_ONE_LINE)


class Name(RequiredText):
    """A person's name: trimmed, 1 to 100 characters, one line of plain text (it goes into mail)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Length(max=MAX_NAME_CHARS), one_line], **kwargs)


class OptionalName(Name):
    """Like Name, but it may be left out; when sent, it must not be empty."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.required = False


def may_be_left_out(field: RequiredText, *, allow_none: bool = False) -> RequiredText:
    """Return `field` made optional (one of several ways to prove something; the schema or the
    service says which it needs); when sent, it is checked as before."""
    field.required = False
    field.allow_none = allow_none
    return field


class Email(RequiredText):
    """An email address in the one spelling accounts hold (see normalise_email), then checked."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"format": "email", "example": "ada@example.com"})
        super().__init__(validate=[validate.Length(max=254), validate.Email()], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        try:
            email = normalise_email(super()._deserialize(value, attr, data, **kwargs))
        except InvalidEmailDomain:
            raise ValidationError(INVALID_EMAIL_DOMAIN) from None
        # validate.Email lets a quoted local part hold control characters; mail headers and
        # terminals must not get them.
        if has_unsafe_characters(email):
            raise ValidationError(NOT_AN_EMAIL)
        return email


def _byte_length(minimum: int, message: str) -> Callable[[str], None]:
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


class OptionalText(fields.String):
    """A string that may be left out, null or empty (then None); at most `max_length` characters.

    Trimmed unless `trim=False` (a nonce is compared, and hashed, exactly as the app made it).
    """

    def __init__(
        self,
        *,
        max_length: int = 100,
        trim: bool = True,
        metadata: dict | None = None,
        validate: Any = None,
    ) -> None:
        super().__init__(
            load_default=None,
            allow_none=True,
            validate=validate,
            metadata={"maxLength": max_length, **(metadata or {})},
        )
        self.max_length = max_length
        self.trim = trim

    # marshmallow types a String field as loading a str; this one loads empty text as None.
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:  # type: ignore[override]
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


class Code(RequiredText):
    """A one-time code as typed: six digits (spaces and dashes are dropped when it is checked)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=20, metadata={"example": "123456", "pattern": "^[0-9]{6}$"}, **kwargs)


class UtcDateTime(fields.DateTime):
    """A naive UTC datetime shown as ISO 8601 with a `Z`, as JavaScript's Date writes it."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
