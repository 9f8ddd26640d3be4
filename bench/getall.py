"""POST /api/auth/getAll?limit=100 (one page) with 1,000 and 10,000 users, A B A B.

On the embedded store (mongomock) a page scans, copies and sorts every user, so its cost
grows with the number of users, for the project and the peers alike. Against MongoDB it is
an indexed `_id` range query whose cost does not:
`python -m bench.getall --mongo-uri mongodb://localhost:27017/bench_getall --sizes 1000,100000`
measures the project there (the database the URI names is dropped first).
"""

from __future__ import annotations

from bench import lib

GET_ALL = "/api/auth/getAll?limit=100"


def main() -> None:
    parser = lib.arguments(__doc__, "project,plain,fje", seconds=5, rounds=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--mongo-uri", help="measure the project on this MongoDB instead")
    args = parser.parse_args()
    print(lib.machine())
    specs = [f"{name}-seeded" for name in args.targets.split(",")]
    env = {"BCRYPT_ROUNDS": "4"}  # the token's user is signed up; no login is measured here
    if args.mongo_uri:
        specs = ["project-seeded"]
        env["BENCH_MONGO_URI"] = empty_database(args.mongo_uri)
    by_size = {}
    for size in (int(size) for size in args.sizes.split(",")):
        with lib.serving_all(specs, {**env, "BENCH_USERS": str(size)}) as servers:
            scripts = {
                server.name: lib.lua_tokens("POST", GET_ALL, [lib.token_for(server)]) for server in servers
            }
            cases = {
                server.name: lib.throughput(server, scripts[server.name], args.seconds, args.connections)
                for server in servers
            }
            by_size[size] = lib.medians(lib.alternate(cases, args.rounds))
        lib.print_table(f"POST {GET_ALL} with {size:,} users (medians)", by_size[size], "req/s")
    smallest, largest = min(by_size), max(by_size)
    print(f"\nA page with {largest:,} users costs this many times as much as with {smallest:,}:")
    for name in specs:
        print(f"  {name:16} {by_size[smallest][name]['req/s'] / by_size[largest][name]['req/s']:.1f}x")


def empty_database(uri: str) -> str:
    """Drop the database `uri` names, so that it holds only the users stored here."""
    from pymongo import MongoClient, uri_parser

    name = uri_parser.parse_uri(uri)["database"]
    if not name:
        raise SystemExit("--mongo-uri must name a database, e.g. mongodb://localhost:27017/bench_getall")
    client = MongoClient(uri)
    client.drop_database(name)
    client.close()
    return uri


if __name__ == "__main__":
    main()
