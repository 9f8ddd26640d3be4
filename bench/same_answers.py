"""Send the same requests, good and bad, to the project under granian and under gunicorn; print differences.

What a client sees must not depend on the server: status, body and headers (but Date,
Server, Content-Length and connection handling) are compared. Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys

from bench import lib

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SIGNUP = json.dumps(
    {"first": "Ada", "last": "Lovelace", "email": "same@example.com", "password": lib.PASSWORD}
)
LOGIN = json.dumps({"email": "same@example.com", "password": lib.PASSWORD})
REQUESTS = [
    ("POST", "/api/auth/signup", SIGNUP, JSON),
    ("POST", "/api/auth/signup", SIGNUP, JSON),
    ("POST", "/api/auth/login", "email=same%40example.com&password=wrong+password", FORM),
    ("POST", "/api/auth/login", "{not json", JSON),
    ("POST", "/api/auth/login", json.dumps([1]), JSON),
    ("POST", "/api/auth/login", json.dumps({"email": {"$ne": None}, "password": "x"}), JSON),
    ("POST", "/api/auth/login", "x" * 70_000, JSON),
    ("POST", "/api/auth/login", LOGIN, {"Content-Type": "text/plain"}),
    ("GET", "/api/auth/login", None, {}),
    ("GET", "/nowhere", None, {}),
    ("POST", "/api/auth/getAll", None, {}),
    ("GET", "/api/auth/me", None, {"Authorization": "Bearer not.a.token"}),
    ("HEAD", "/api/auth/me", None, {}),
    ("OPTIONS", "/api/auth/getAll", None, {"Origin": "http://localhost:8081"}),
]
IGNORED_HEADERS = {"date", "server", "content-length", "connection", "keep-alive"}


def answer(server: lib.Server, method: str, path: str, body: str | None, headers: dict) -> tuple:
    """Return what a client sees of one answer: status, headers it may rely on, and body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(method, path, body, headers)
    response = connection.getresponse()
    content = response.read()
    connection.close()
    kept = {
        name.lower(): value for name, value in response.getheaders() if name.lower() not in IGNORED_HEADERS
    }
    if "allow" in kept:  # a set: its order changes from one process to the next
        kept["allow"] = ", ".join(sorted(kept["allow"].split(", ")))
    return response.status, kept, content


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    specs = ["project", "project@BENCH_SERVER=gthread"]
    with lib.serving_all(specs, {"BCRYPT_ROUNDS": "4"}) as servers:
        different = 0
        for request in [*REQUESTS, ("POST", "/api/auth/login", LOGIN, JSON)]:
            first, second = (answer(server, *request) for server in servers)
            if request[2] == LOGIN and first[0] == second[0] == 200:
                first, second = first[:2], second[:2]  # fresh tokens differ; the status and headers may not
            same = first == second
            different += not same
            print(f"{'same' if same else 'DIFFERENT':9} {request[0]:7} {request[1]:20} {first[0]}")
            if not same:
                print(f"  {specs[0]}: {first}\n  {specs[1]}: {second}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
