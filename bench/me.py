"""Guarded GET /api/auth/me: throughput, p50 and p99, the project against its peers, A B A B.

`project` sends one token over and over, as a client does until its token expires;
`project-uncached` cycles through twice as many distinct tokens as the guard remembers, so
every request verifies a signature: the guard's cost with nothing remembered.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from app.tokens import VERIFIED_TOKENS_CACHED
from bench import lib

ME = "/api/auth/me"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--targets", default="project,plain,fje,express")
    args = parser.parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(",")) as servers:
        cases: dict[str, Callable[[], dict[str, float]]] = {}
        for server in servers:
            cases[server.name] = run(server, lib.lua_tokens("GET", ME, [lib.token_for(server)]), args)
            if server.name == "project":
                tokens = lib.refreshed_tokens(server, 2 * VERIFIED_TOKENS_CACHED)
                cases[f"{server.name} uncached"] = run(server, lib.lua_tokens("GET", ME, tokens), args)
        for measure in cases.values():  # warm up
            measure(1)
        samples = lib.alternate(
            {name: lambda m=measure: m(args.seconds) for name, measure in cases.items()}, args.rounds
        )
    lib.print_table(f"GET {ME}, {args.connections} connections (medians)", lib.medians(samples), "req/s")


def run(server: lib.Server, script: str, args: argparse.Namespace) -> Callable[[int], dict[str, float]]:
    """Return a measurement of `server` with a wrk `script` for a number of seconds."""

    def measure(seconds: int) -> dict[str, float]:
        load = lib.wrk(server, script, seconds, args.connections)
        return {"req/s": load.rate, "p50 ms": load.p50_ms, "p99 ms": load.p99_ms, "errors": load.errors}

    return measure


if __name__ == "__main__":
    main()
