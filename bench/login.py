"""Login throughput at bcrypt cost 12 from 8 clients, against the machine's bcrypt limit, A B A B.

The limit is bcrypt checks a second with every core hashing, measured in this process in
every round, between the targets. A server that spends one bcrypt check per login and keeps every core
busy reaches 1.0x of it.
"""

from __future__ import annotations

from bench import lib

LOGIN = "/api/auth/login"


def main() -> None:
    parser = lib.arguments(__doc__, "project,plain,fje,express", seconds=8, rounds=3)
    parser.add_argument("--clients", type=int, default=8)
    lib.add_mongo_uri(parser)
    args = parser.parse_args()
    print(lib.machine())
    with lib.serving_all(args.targets.split(","), mongo_uri=args.mongo_uri) as servers:
        script = lib.lua_logins(LOGIN, lib.storm_accounts(servers))
        cases = {
            server.name: lib.throughput(server, script, args.seconds, args.clients, 30) for server in servers
        }
        results = lib.with_bcrypt_limit(cases, args.rounds, "req/s")
    lib.print_table(f"POST {LOGIN}, {args.clients} clients (medians)", results, "req/s", lib.REFERENCE)


if __name__ == "__main__":
    main()
