"""The guard path without a server or a network: CPU microseconds per GET /me, and its profile.

Calls each app's WSGI callable directly, so the numbers hold only the application's own work:
with one token sent again and again, and with a token the app has not seen on every request.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator

from app.tokens import VERIFIED_TOKENS_CACHED
from bench import lib

os.environ.setdefault("SECRET_KEY", lib.SECRET)
os.environ["BCRYPT_ROUNDS"] = "4"

WsgiApp = Callable[[dict, Callable], object]
QUIET = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run


def environ(token: str) -> dict:
    """Return the WSGI environ of `GET /api/auth/me` with a bearer token, as a server builds it."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/auth/me",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "1140",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:1140",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def caller(app: WsgiApp, token: str) -> Callable[[], None]:
    """Return a function that sends one guarded request through `app` and checks its status."""

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"GET /me answered {status}")

    def one() -> None:
        body = app(environ(token), start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()

    return one


def load_apps() -> dict[str, tuple[WsgiApp, str]]:
    """Build each Flask app in this process and get a token from it."""
    from bench.peers import fje, plain_pyjwt

    with contextlib.redirect_stderr(QUIET):  # the project's log lines: written, to nowhere
        from wsgi import app as project

    apps = {}
    for name, app in (("project", project), ("plain", plain_pyjwt.app), ("fje", fje.app)):
        client = app.test_client()
        body = {"first": "Ada", "last": "Lovelace", "email": "ada@example.com", "password": lib.PASSWORD}
        client.post("/api/auth/signup", json=body)
        token = client.post("/api/auth/login", json=body).json["authToken"]
        apps[name] = (app.wsgi_app, token)
    return apps


def per_request_us(calls: Iterator[Callable[[], None]], count: int) -> float:
    """Return the CPU time of this thread per request (waiting for a core is not counted), in us."""
    started = time.thread_time()
    for one in itertools.islice(calls, count):
        one()
    return (time.thread_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the project's pyinstrument profiles")
    args = parser.parse_args()
    print(lib.machine())
    cases: dict[str, Iterator[Callable[[], None]]] = {}
    for name, (app, token) in load_apps().items():
        cases[name] = itertools.repeat(caller(app, token))
        # Cycled through in order: twice what the guard remembers, so each was forgotten since its last use.
        tokens = lib.resigned_tokens(token, 2 * VERIFIED_TOKENS_CACHED)
        cases[name + " new tokens"] = itertools.cycle([caller(app, new) for new in tokens])
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, calls in cases.items():
            samples[name].append(per_request_us(calls, args.count))
    print("\nGET /me through the WSGI app, no server (CPU microseconds per request, lowest of the rounds)")
    for name, values in samples.items():
        base = min(samples["plain new tokens" if name.endswith("new tokens") else "plain"])
        print(f"  {name:20} {min(values):8.1f} us   plain ÷ this: {base / min(values):.2f}x")
    if args.profile:
        from pyinstrument import Profiler

        for name in ("project", "project new tokens"):
            profiler = Profiler(interval=0.0001)
            profiler.start()
            per_request_us(cases[name], args.count)
            profiler.stop()
            print(f"\n{name}:")
            print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
