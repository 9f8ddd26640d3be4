"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (override any of them on the command line)."""

from __future__ import annotations

from typing import Any

from config import ConfigError, Settings, settings_or_exit


def settings() -> Settings:
    """Read the settings, or stop with the reason they are refused (no traceback, exit status 2)."""
    return settings_or_exit()


bind = f"0.0.0.0:{settings().server.port}"
# On SIGTERM gunicorn stops accepting and lets the requests in flight finish; this long at most.
graceful_timeout = settings().server.shutdown_grace_seconds
# Threads: bcrypt releases the GIL and runs on its own small pool (BCRYPT_CONCURRENCY), so a
# login waiting for it holds a request thread but no core. 32 threads leave guarded requests
# free threads through a storm of 24 concurrent logins; bench/README.md has the measurements.
worker_class = "gthread"
threads = 32
# The control socket could add workers behind on_starting's back, and its one default path
# clashes between servers on one machine; `kill -TTIN` is still caught by nworkers_changed.
control_socket_disable = True
# Drop headers with `_` in their names (gunicorn's default, kept on purpose): `X_Forwarded_For`
# would otherwise reach the app as `X-Forwarded-For` (TRUSTED_PROXY_HEADER, app/addresses.py).
header_map = "drop"


def on_starting(server: Any) -> None:  # noqa: ANN401 - gunicorn's Arbiter
    """gunicorn hook, run once in the master before any worker starts: refuse bad worker counts."""
    try:
        settings().check_workers(server.cfg.workers)
    except ConfigError as refusal:
        raise RuntimeError(str(refusal)) from None  # gunicorn prints a RuntimeError and exits 1


def nworkers_changed(server: Any, new_value: int, old_value: int | None) -> None:  # noqa: ANN401
    """gunicorn hook: keep one worker on the embedded store when asked for more at run time."""
    if old_value is None:  # the first count, checked by on_starting
        return
    try:
        settings().check_workers(new_value)
    except ConfigError as refusal:
        server.log.warning("%s Staying at one worker.", refusal)
        server.num_workers = 1
