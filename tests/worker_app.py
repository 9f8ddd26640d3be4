"""The production app with the answering worker's process id in `X-Worker-Pid`, for the multi-worker tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from wsgi import app as production_app


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Serve `wsgi:app` unchanged, naming the process that answered."""

    def start(status: str, headers: list, exc_info: object = None) -> Callable:
        return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))], exc_info)

    return production_app(environ, start)
