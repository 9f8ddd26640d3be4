"""Admission: a few requests run at once, the rest wait their turn in the order they came.

A process has one GIL. When all 32 request threads hold a request, they take turns at it in
whatever order the operating system wakes them: most requests finish quickly, but an unlucky
one loses the draw again and again, and the slowest wait many times the median (the
measurements are in bench/README.md). Letting only a few threads in at a time, first come first served, makes
every request wait about as long as the others, for the same throughput. A login waiting for
bcrypt steps out (`stepped_out`), so it never keeps cheap requests waiting behind its hash.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import Flask

from config import Settings


class Admission:
    """At most `slots` threads inside at once; the others wait in arrival order."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._lock = threading.Lock()
        self._free = slots
        self._waiting: deque[threading.Lock] = deque()
        self._local = threading.local()  # per thread: its turn lock, and whether it is inside

    def enter(self) -> None:
        """Wait until this thread's turn, then take a slot."""
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                self._local.inside = True
                return
            turn = getattr(self._local, "turn", None)
            if turn is None:  # made held, so that acquiring it again waits for leave()
                turn = self._local.turn = threading.Lock()
                turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by leave(), which hands over its slot
        self._local.inside = True

    def leave(self) -> None:
        """Give this thread's slot to the longest-waiting thread, or free it."""
        self._local.inside = False
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1

    @contextmanager
    def stepped_out(self) -> Iterator[None]:
        """Give up the slot while waiting for something that needs no Python (bcrypt), then queue again."""
        if not getattr(self._local, "inside", False):  # a thread that never came in (tests, scripts)
            yield
            return
        self.leave()
        try:
            yield
        finally:
            self.enter()

    def wrap(self, app: Callable) -> Callable:
        """Return WSGI middleware that runs `app` only inside a slot."""

        def admitted(environ: dict, start_response: Callable) -> object:
            self.enter()
            try:
                return app(environ, start_response)
            finally:
                self.leave()

        return admitted


def init_admission(app: Flask, settings: Settings) -> Admission:
    """Let `REQUEST_CONCURRENCY` requests into the Flask app at once; the request log counts the wait."""
    admission = Admission(settings.server.request_concurrency)
    # Flask declares wsgi_app as a method; WSGI middleware replaces it on the instance.
    cast(Any, app).wsgi_app = admission.wrap(app.wsgi_app)
    app.extensions["admission"] = admission
    return admission
