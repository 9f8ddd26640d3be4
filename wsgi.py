"""Entry point: `app` for WSGI servers, `python wsgi.py` for development, `flask --app wsgi` for commands."""

import argparse
import os

from app import create_app
from app.commands import create_command_app
from app.logs import configure_logging
from config import settings_or_exit

if os.environ.get("FLASK_RUN_FROM_CLI") == "true":  # the `flask` command sets it before importing this
    app = create_command_app()
else:
    settings = settings_or_exit()  # a bad setting: one line on stderr, exit status 2
    configure_logging(settings.logs.log_level, settings.logs.log_format)
    # `python wsgi.py` shows the start-up warnings in its banner rather than before it.
    app = create_app(settings, warn=__name__ != "__main__")

if __name__ == "__main__":
    from app.devserver import serve

    parser = argparse.ArgumentParser(description="The development server (production: python serve.py).")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: every address)")
    parser.add_argument(
        "--port", type=int, default=settings.server.port, help="default: PORT; 0 picks a free port"
    )
    arguments = parser.parse_args()
    serve(app, arguments.host, arguments.port)
