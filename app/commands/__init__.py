"""The operator's command line: `flask --app wsgi users|sessions|keys|db|mail ...`.

Each group lives in the module named after it; `common` holds what they share (the
service, one-line errors, JSON output, reading a password).
"""

from __future__ import annotations

from flask import Flask
from pymongo.errors import PyMongoError

from config import ConfigError, Settings

from ..logs import configure_logging
from .common import SETTINGS_ERROR
from .db import db
from .keys import keys
from .mail import mail
from .passkeys import passkeys_remove  # noqa: F401 - adds `users passkeys-remove`
from .sessions import sessions
from .users import users

__all__ = ["create_command_app", "register_commands"]


def register_commands(app: Flask) -> None:
    """Add the operator's command groups to `app.cli`."""
    for group in (users, sessions, keys, db, mail):
        app.cli.add_command(group)


def create_command_app() -> Flask:
    """Build the app the `flask` command runs, without waiting on the database.

    With settings that are not valid it is still an app, so that `keys generate` works and
    `db check` (like every other command) says what is wrong.
    """
    from .. import create_app  # the factory registers these commands: import it only when called

    try:
        settings = Settings.from_env()
        configure_logging(settings.logs.log_level)
        # The embedded store lives in this process and cannot be down: prepare it as a server would.
        return create_app(settings, prepare_database=settings.embedded_store)
    except (ConfigError, ValueError, PyMongoError) as error:  # ValueError, PyMongoError: a bad MONGO_URI
        app = Flask("app")
        app.extensions[SETTINGS_ERROR] = str(error)
        register_commands(app)
        return app
