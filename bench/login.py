"""Login throughput at bcrypt cost 12 from 8 clients, against the machine's bcrypt limit, A B A B.

The limit is bcrypt checks a second with every core hashing, measured in this process in
every round, between the targets. A server that spends one bcrypt check per login and keeps every core
busy reaches 1.0x of it.
"""

from __future__ import annotations

import argparse

from bench import lib

LOGIN = "/api/auth/login"
EMAIL = "login@example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--targets", default="project,plain,fje")
    args = parser.parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(",")) as servers:
        body = {"email": EMAIL, "password": lib.PASSWORD}
        for server in servers:
            lib.sign_up(server, EMAIL)
        cases = {
            server.name: measure(server, lib.lua_request("POST", LOGIN, body=body), args)
            for server in servers
        }
        results = lib.with_bcrypt_limit(cases, args.rounds, "logins/s")
    lib.print_table(f"POST {LOGIN}, {args.clients} clients (medians)", results, "logins/s")


def measure(server: lib.Server, script: str, args: argparse.Namespace):  # noqa: ANN201
    """Return a measurement of `server`'s logins a second."""

    def run() -> dict[str, float]:
        load = lib.wrk(server, script, args.seconds, args.clients, timeout_s=30)
        return {"logins/s": load.rate, "p50 ms": load.p50_ms, "p99 ms": load.p99_ms, "errors": load.errors}

    return run


if __name__ == "__main__":
    main()
