"""Guarded GET /api/auth/me: throughput, p50 and p99, the project against its peers, A B A B.

`project` sends one token over and over, as a client does until its token expires;
`project-uncached` cycles through twice as many distinct tokens as the guard remembers, so
every request verifies a signature: the guard's cost with nothing remembered.
"""

from __future__ import annotations

from app.tokens import VERIFIED_TOKENS_CACHED
from bench import lib

ME = "/api/auth/me"


def main() -> None:
    parser = lib.arguments(__doc__, "project,plain,fje,express", seconds=8, rounds=3)
    parser.add_argument("--connections", type=int, default=32)
    lib.add_mongo_uri(parser)
    args = parser.parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(","), mongo_uri=args.mongo_uri) as servers:
        scripts = {}
        for server in servers:
            scripts[server.name] = (server, lib.lua_tokens("GET", ME, [lib.token_for(server)]))
            if server.name == "project":
                tokens = lib.refreshed_tokens(server, 2 * VERIFIED_TOKENS_CACHED)
                scripts["project uncached"] = (server, lib.lua_tokens("GET", ME, tokens))
        for server, script in scripts.values():  # warm up
            lib.throughput(server, script, 1, args.connections)()
        cases = {
            name: lib.throughput(server, script, args.seconds, args.connections)
            for name, (server, script) in scripts.items()
        }
        samples = lib.alternate(cases, args.rounds)
    lib.print_table(f"GET {ME}, {args.connections} connections (medians)", lib.medians(samples), "req/s")


if __name__ == "__main__":
    main()
