"""Guarded GET /api/auth/me: throughput, p50 and p99 at saturation, every target against the reference.

Each target is measured twice, A B A B: sending one token over and over, as a client does
until its token expires, and (`new tokens`) sending a token the server has not seen with
every request, as many clients do: the guard's full cost, since nothing it remembers helps.
Every /me reads the stored user. The reference is Express given a prepared key (`express`).
"""

from __future__ import annotations

from app.tokens import VERIFIED_TOKENS_CACHED
from bench import lib

ME = "/api/auth/me"
NEW = " new tokens"
RATIOS = ("req/s", "p99 ms", "cpu us/req")  # cpu: the server's processes, every thread, kernel included


def main() -> None:
    parser = lib.arguments(__doc__, "project,plain,fje,express,express-string-secret", seconds=8, rounds=3)
    parser.add_argument("--connections", type=int, default=32)
    lib.add_mongo_uri(parser)
    parser.add_argument(
        "--tokens",
        type=int,
        default=2 * VERIFIED_TOKENS_CACHED,
        help="distinct tokens cycled through in the new-token case (twice what the guard remembers)",
    )
    parser.add_argument("--reference", default=lib.REFERENCE, help="the row the ratios divide by")
    parser.add_argument("--same-token-only", action="store_true", help="skip the new-token case")
    args = parser.parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(","), mongo_uri=args.mongo_uri) as servers:
        scripts = {}
        for server in servers:
            token = lib.token_for(server)
            scripts[server.name] = (server, lib.lua_tokens("GET", ME, [token]))
            if not args.same_token_only:
                scripts[server.name + NEW] = (
                    server,
                    lib.lua_tokens("GET", ME, lib.resigned_tokens(token, args.tokens)),
                )
        for server, script in scripts.values():  # warm up
            lib.throughput(server, script, 1, args.connections)()
        cases = {
            name: lib.throughput(server, script, args.seconds, args.connections)
            for name, (server, script) in scripts.items()
        }
        samples = lib.alternate(cases, args.rounds)
    results = lib.medians(samples)
    title = f"GET {ME}, {args.connections} connections (medians; p99 at saturation)"
    same = {name: metrics for name, metrics in results.items() if not name.endswith(NEW)}
    lib.print_table(title + ", one token", same, RATIOS, args.reference)
    new = {name: metrics for name, metrics in results.items() if name.endswith(NEW)}
    if new:
        lib.print_table(title + ", every token new", new, RATIOS, args.reference + NEW)


if __name__ == "__main__":
    main()
