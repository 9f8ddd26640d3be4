"""Production server: `python serve.py` serves the app with granian on PORT, WEB_CONCURRENCY processes.

granian parses HTTP in Rust, outside the GIL, so a process answers about three times as many
guarded requests as gunicorn's gthread worker, with the same answers (bench/README.md).
"""

from __future__ import annotations

import argparse

from granian import Granian
from granian.constants import Interfaces

from config import ConfigError, Settings

# Request threads a process: a login waiting for bcrypt holds one (but no core), so these leave
# guarded requests free threads through a storm of 24 concurrent logins.
THREADS = 32


def main(argv: list[str] | None = None) -> None:
    """Check the settings, then serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--app", default="wsgi:app", help="WSGI application (default wsgi:app)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()  # refuses several workers on the embedded store, among others
    except ConfigError as refusal:
        raise SystemExit(f"Error: {refusal}") from None
    server = Granian(
        args.app,
        address=args.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=settings.workers,
        blocking_threads=THREADS,
        respawn_failed_workers=True,
    )
    server.serve()


if __name__ == "__main__":
    main()
