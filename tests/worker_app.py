"""The production app with the answering worker's process id in `X-Worker-Pid`, for the multi-worker tests.

`GET /test/slow?seconds=N&mark=PATH` creates the file PATH (if given), then answers as `/health`
does after N seconds: a request the test knows is in flight when it tells the server to stop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import parse_qs

from wsgi import app as production_app

SLOW = "/test/slow"


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Serve `wsgi:app` unchanged, naming the process that answered."""

    def start(status: str, headers: list, exc_info: object = None) -> Callable:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

    if environ.get("PATH_INFO") == SLOW:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "mark" in query:
            Path(query["mark"][0]).touch()
        time.sleep(float(query.get("seconds", ["1"])[0]))
        environ = environ | {"PATH_INFO": "/health", "QUERY_STRING": ""}
    return production_app(environ, start)
