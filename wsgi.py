"""Entry point: `app` for WSGI servers, `python wsgi.py` for development, `flask --app wsgi` for commands."""

import os

from app import create_app
from app.commands import create_command_app
from app.logs import configure_logging
from config import Settings

if os.environ.get("FLASK_RUN_FROM_CLI") == "true":  # the `flask` command sets it before importing this
    app = create_command_app()
else:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=app.extensions["settings"].port, threaded=True)
