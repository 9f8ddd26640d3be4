"""Memory of each server's worker after USERS users signed in (default 10,000), A B A B not needed.

Each server starts with the users stored (bench/seeded.py; the Express peer stores them
itself), then every user logs in through the API and uses its access token once on GET /me,
as a signed-in client does: the worker then holds their sessions, their activity and what
its guard remembers. bcrypt runs at cost 4 here (memory does not depend on the cost, and
10,000 logins at cost 12 would take half an hour). RSS per process, and PSS of them all.
"""

from __future__ import annotations

import threading
from pathlib import Path

from bench import lib


def kib(path: Path, field: str) -> int:
    """Return a `field: N kB` value from a /proc file, in KiB."""
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def usage(server: lib.Server) -> dict[str, float]:
    """Return the server's memory in MiB: the worker's RSS, the master's, and PSS of all."""
    rss = {pid: kib(Path(f"/proc/{pid}/status"), "VmRSS") / 1024 for pid in server.pids()}
    pss = sum(kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss") for pid in rss) / 1024
    leader = server.process.pid
    workers = [value for pid, value in rss.items() if pid != leader] or [rss[leader]]
    return {
        "processes": len(rss),
        "worker RSS": max(workers),
        "master RSS": rss[leader] if len(rss) > 1 else 0.0,
        "total PSS": pss,
    }


def sign_in_all(server: lib.Server, users: int, clients: int) -> None:
    """Log every seeded user in and call GET /me once with the token, from a few clients at once."""

    def work(offset: int) -> None:
        for number in range(offset, users, clients):
            token = lib.log_in(server, f"user{number:06}@example.com")["authToken"]
            if not lib.call(server, "GET", "/api/auth/me", token=token).get("success"):
                raise RuntimeError(f"{server.name}: /me failed for user {number}")
            if number % 1000 == 0:
                print(f"  {server.name}: {number:,} of {users:,} signed in", flush=True)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = lib.arguments(__doc__, "project,plain,fje,express", seconds=0, rounds=1)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    print(lib.machine())
    specs = [f"{name}-seeded" for name in args.targets.split(",")]
    env = {"BCRYPT_ROUNDS": "4", "BENCH_USERS": str(args.users)}
    results = {}
    with lib.serving_all(specs, env) as servers:
        for server in servers:
            started = usage(server)["worker RSS"]
            sign_in_all(server, args.users, args.clients)
            results[server.name] = {"at start": started, **usage(server)}
            print(f"  {server.name}: {results[server.name]}")
    title = f"Memory in MiB after {args.users:,} users signed in and used their token"
    lib.print_table(title, results, "worker RSS", "plain-seeded")


if __name__ == "__main__":
    main()
