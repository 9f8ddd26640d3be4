"""The production app with the answering worker's process id in `X-Worker-Pid`, for the multi-worker tests.

`GET /test/slow?seconds=N` answers as `/health` does after N seconds: a request that is still in
flight when the server is told to stop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

from wsgi import app as production_app

SLOW = "/test/slow"


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Serve `wsgi:app` unchanged, naming the process that answered."""

    def start(status: str, headers: list, exc_info: object = None) -> Callable:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

    if environ.get("PATH_INFO") == SLOW:
        time.sleep(float(environ.get("QUERY_STRING", "").removeprefix("seconds=") or 1))
        environ = environ | {"PATH_INFO": "/health", "QUERY_STRING": ""}
    return production_app(environ, start)
