"""Memory of each server after some guarded requests and logins: RSS per process, and PSS in all.

A gunicorn server is a master and its worker(s); the worker holds the application, and each
further worker (possible only with MongoDB) would add about the worker's RSS again.
"""

from __future__ import annotations

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


def main() -> None:
    args = lib.arguments(__doc__, "project,plain,fje,express", seconds=3, rounds=1).parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(",")) as servers:
        results = {}
        for server in servers:
            script = lib.lua_tokens("GET", "/api/auth/me", [lib.token_for(server)])
            lib.wrk(server, script, args.seconds, 32)
            for _ in range(4):
                lib.log_in(server, "bench@example.com")
            results[server.name] = usage(server)
    lib.print_table(f"Memory in MiB after {args.seconds} s of /me and 5 logins", results, "worker RSS")


if __name__ == "__main__":
    main()
