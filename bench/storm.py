"""Guarded GET /me latency while 8 clients hammer login at bcrypt cost 12, A B A B.

Each round measures, per target, /me alone and then /me during a login storm. /me is sent at
a steady pace (a few connections, each waiting between requests) so that what is measured is
how long a guarded request waits, not how much CPU is left over: bcrypt takes every core.
"""

from __future__ import annotations

import argparse
import time

from bench import lib

ME = "/api/auth/me"
LOGIN = "/api/auth/login"
EMAIL = "storm@example.com"


def main() -> None:
    parser = lib.arguments(__doc__, "project,plain,fje,express", seconds=8, rounds=3)
    parser.add_argument("--clients", type=int, default=8, help="login clients in the storm")
    parser.add_argument("--me-connections", type=int, default=2)
    parser.add_argument("--me-delay-ms", type=int, default=20, help="pause between a connection's requests")
    args = parser.parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(",")) as servers:
        cases = {}
        login = lib.lua_logins(LOGIN, lib.storm_accounts(servers))
        for server in servers:
            token = lib.token_for(server, EMAIL)
            me = lib.lua_tokens("GET", ME, [token]) + lib.lua_paced(args.me_delay_ms)
            cases[server.name] = measure(server, me, login, args)
        results = lib.with_bcrypt_limit(cases, args.rounds, "logins/s")
    lib.print_table(
        f"{ME} alone and during {args.clients} login clients (medians)", results, "storm p99", lib.REFERENCE
    )


def measure(server: lib.Server, me: str, login: str, args: argparse.Namespace):  # noqa: ANN201
    """Return a measurement of /me alone, then of /me and logins during the storm."""

    def run() -> dict[str, float]:
        alone = lib.wrk(server, me, args.seconds, args.me_connections)
        storm = lib.Background(lambda: lib.wrk(server, login, args.seconds + 2, args.clients, timeout_s=30))
        time.sleep(1)  # let the storm fill every core first
        during = lib.wrk(server, me, args.seconds, args.me_connections)
        logins = storm.join()
        return {
            "me/s": during.rate,
            "alone p99": alone.p99_ms,
            "storm p99": during.p99_ms,
            "p99 ratio": during.p99_ms / alone.p99_ms,
            "logins/s": logins.rate,
            "errors": during.errors + logins.errors,
        }

    return run


if __name__ == "__main__":
    main()
