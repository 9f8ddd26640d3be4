"""Production server: `python serve.py` serves the app with granian on PORT, WEB_CONCURRENCY processes.

granian parses HTTP in Rust, outside the GIL, so a process answers more guarded requests than
gunicorn's gthread worker, with the same answers (the figures are in bench/README.md).
"""

from __future__ import annotations

import argparse
import sys

from granian import Granian
from granian.constants import Interfaces

from app.keys import load_key_set
from config import ConfigError, Settings, settings_or_exit

# granian hands the app `X_Forwarded_For` and `X-Forwarded-For` as the same variable (the later wins),
# so behind proxies the client's address must come from `Forwarded` (app/addresses.py).
XFF_UNDER_GRANIAN = (
    "TRUSTED_PROXY_HEADER=X-Forwarded-For is unsafe under granian: a client's X_Forwarded_For "
    "overwrites what the proxy wrote. Have the proxy send Forwarded (the default), or run gunicorn."
)

# Request threads a process: a login waiting for bcrypt holds one (but no core), so these leave
# guarded requests free threads through a storm of 24 concurrent logins.
THREADS = 32


def main(argv: list[str] | None = None) -> None:
    """Check the settings, then serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--app", default="wsgi:app", help="WSGI application (default wsgi:app)")
    parser.add_argument(
        "--threads", type=int, default=THREADS, help=f"request threads a process (default {THREADS})"
    )
    args = parser.parse_args(argv)
    settings = settings_or_exit()  # refuses several workers on the embedded store, among others
    try:
        check_for_granian(settings)
        load_key_set(settings)  # a key that cannot be read stops here, once, not in every worker
    except ConfigError as refusal:
        print(f"Error: {refusal}", file=sys.stderr)
        raise SystemExit(2) from None
    server = Granian(
        args.app,
        address=args.host,
        port=settings.server.port,
        interface=Interfaces.WSGI,
        workers=settings.server.workers,
        blocking_threads=args.threads,
        respawn_failed_workers=True,
        # On SIGTERM granian stops accepting and lets the requests in flight finish; this long at most.
        workers_kill_timeout=settings.server.shutdown_grace_seconds,
    )
    server.serve()


def check_for_granian(settings: Settings) -> None:
    """Refuse settings that granian cannot serve safely."""
    if settings.server.trusted_proxies and settings.server.trusted_proxy_header == "x-forwarded-for":
        raise ConfigError(XFF_UNDER_GRANIAN)


if __name__ == "__main__":
    main()
