"""What every command group shares: the service, one-line errors, JSON and table output, passwords."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from pymongo.errors import ConnectionFailure, PyMongoError

from .. import schemas
from ..errors import AuthError
from ..logs import escaped
from ..service import AuthService
from ..storage import DuplicateEmails
from ..texts import UNSAFE_CODE_POINTS

SETTINGS_ERROR = "settings_error"  # app.extensions key: why the settings could not be used

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting for it.",
)
who_argument = click.argument("who", metavar="EMAIL_OR_ID")


class OperatorGroup(AppGroup):
    """A command group whose commands end with a one-line error and exit code 1 when refused."""

    # As flask.cli.AppGroup.command, which this extends, and which types it the same way: always
    # called with arguments, so without click.Group's overload for a bare function.
    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable], click.Command]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(callback: Callable) -> click.Command:
            return register(one_line_errors(callback))

        return decorator


def one_line_errors(callback: Callable) -> Callable:
    """Turn the service's refusals and the database's failures into a ClickException (exit code 1)."""

    @wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except AuthError as error:
            raise click.ClickException(error.message) from None
        except DuplicateEmails as error:
            raise click.ClickException(str(error)) from None
        except ConnectionFailure:
            raise click.ClickException("The database does not answer (check MONGO_URI).") from None
        except PyMongoError as error:
            raise click.ClickException(f"The database refused: {first_line(error)}") from None

    return run


def first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def settings_error() -> str | None:
    """Return why the settings could not be used, or None when they are fine."""
    return current_app.extensions.get(SETTINGS_ERROR)


def service() -> AuthService:
    """Return the auth service, its database prepared as at start-up (indexes, migrations)."""
    problem = settings_error()
    if problem is not None:
        raise click.ClickException(f"The settings are not valid: {problem}")
    auth_service: AuthService = current_app.extensions["auth_service"]
    # The same unique email index and migrated emails the server relies on; idempotent.
    auth_service.storage.ensure_indexes()
    return auth_service


# json.dumps escapes C0 controls itself (and the indentation's line breaks must stay raw); the
# rest of what a terminal must not get raw, C1 and the bidirectional controls, it leaves alone.
_JSON_ESCAPES = str.maketrans({code: f"\\u{code:04x}" for code in UNSAFE_CODE_POINTS if code >= 0x20})


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON: letters as they are, control characters escaped."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False).translate(_JSON_ESCAPES))


def report(as_json: bool, text: str, **data: Any) -> None:
    """Print what a command did: a sentence, or `data` as JSON."""
    if as_json:
        echo_json(data)
    else:
        click.echo(escaped(text))  # it may quote a stored email, which the original took as typed


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under their headers in aligned columns (control characters escaped: clients sent them)."""
    cells = [list(headers)] + [["" if value is None else escaped(value) for value in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def user_record(user: dict) -> dict:
    """Return a user as the operator sees it: every field but the password hash."""
    return schemas.user_record_schema.dump(user)


def read_password(from_stdin: bool) -> str:
    """Prompt for a new password (hidden, typed twice) or read it from stdin; check the signup rules."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")  # the line break only: never trimmed
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    return schemas.load(schemas.new_password_schema, {"password": password})["password"]
