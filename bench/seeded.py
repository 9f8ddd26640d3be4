"""Apps with BENCH_USERS users stored at start-up, for the getAll benchmark.

Signing 10,000 users up through the API takes minutes on the embedded store (each insert
checks the unique email index by scanning), so the users are inserted in bulk, before the
index is built, straight into each server's own store. BENCH_SEEDED names the app:
`BENCH_SEEDED=plain BENCH_USERS=1000 bench/serve.sh PORT bench.seeded:app`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import bcrypt
from flask import Flask
from pymongo.collection import Collection

from app import create_app
from app.logs import configure_logging
from app.storage import USERS
from bench.lib import PASSWORD
from config import Settings


def _fill(users: Collection, rebuild_indexes: callable) -> None:
    count = int(os.environ.get("BENCH_USERS", "0"))
    now = datetime.now(UTC).replace(tzinfo=None)
    # One hash for all, of the benchmarks' password, so that any of them can log in.
    rounds = int(os.environ.get("BCRYPT_ROUNDS", "4"))
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds)).decode()
    documents = [
        {
            "first": f"U{n}",
            "last": "Bench",
            "email": f"user{n:06}@example.com",
            "password": hashed,
            "createdAt": now,
        }
        for n in range(count)
    ]
    users.drop_indexes()
    if documents:
        users.insert_many(documents)
    rebuild_indexes()


def project() -> Flask:
    """Return the project's app with the users stored, logging as wsgi.py does."""
    settings = Settings.from_env()
    configure_logging(settings.logs.log_level)
    app = create_app(settings)
    storage = app.extensions["auth_service"].storage
    _fill(storage.db[USERS], storage.ensure_indexes)
    return app


def plain() -> Flask:
    """Return the Flask + PyJWT peer with the users stored."""
    from bench.peers import plain_pyjwt, store

    _fill(store.users, lambda: store.users.create_index("email", unique=True))
    return plain_pyjwt.app


def fje() -> Flask:
    """Return the Flask-JWT-Extended peer with the users stored."""
    from bench.peers import fje, store

    _fill(store.users, lambda: store.users.create_index("email", unique=True))
    return fje.app


app = {"project": project, "plain": plain, "fje": fje}[os.environ.get("BENCH_SEEDED", "project")]()
