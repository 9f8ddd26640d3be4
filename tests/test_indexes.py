"""Every query the server makes is served by an index it declares.

A workload through the HTTP API calls every public Storage method (a test fails if one is left
out); a command listener records each query the driver sends, the rate limiter's included. A
query is served when the database's explain plan walks an index, or when its filter constrains
the first key of an index the database reports, which is when MongoDB's planner can use that
index. The second rule is needed because the wire-protocol stand-in's planner uses an index only
when every predicate of the filter is on that index's keys, and explains the rest as collection
scans. Both need a database server, so this runs only with TEST_MONGO_URI set (CI's second run).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import replace
from functools import wraps

import pymongo
import pytest
from pymongo import monitoring

from app import create_app
from app.storage import Storage
from helpers import PASSWORD, AuthActions, bearer, claims_of, fresh_database_uri, refresh

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_MONGO_URI"), reason="explain plans need a MongoDB server: set TEST_MONGO_URI"
)

# Run once at start-up, not per request: creating indexes, the one-time email migration (which
# reads every user by design) and the readiness ping, which reads nothing.
NOT_PER_REQUEST = {"ensure_indexes", "ping"}


class Queries(monitoring.CommandListener):
    """Records the filter and sort of every query command sent to one database while recording."""

    def __init__(self) -> None:
        self.database: str | None = None
        self.seen: list[tuple[str, str, dict, dict | None]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name != self.database:
            return
        command, name = event.command, event.command_name
        collection = command.get(name)
        if name in ("find", "count", "distinct"):
            query = command.get("filter", command.get("query", {}))
            self.seen.append((name, collection, query, command.get("sort")))
        elif name == "findAndModify":
            self.seen.append((name, collection, command.get("query", {}), command.get("sort")))
        elif name in ("update", "delete"):
            key = "updates" if name == "update" else "deletes"
            self.seen += [(name, collection, statement["q"], None) for statement in command.get(key, [])]
        elif name == "aggregate":
            first = (command.get("pipeline") or [{}])[0]
            self.seen.append((name, collection, first.get("$match", {}), None))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_queries = Queries()
monitoring.register(_queries)  # for clients made from now on; it records only for this module's database


def stages(plan: dict) -> list[str]:
    """Return the stage of every node of an explained plan."""
    found = [plan.get("stage", "")]
    for key in ("inputStage", "outerStage", "innerStage"):
        if key in plan:
            found += stages(plan[key])
    for child in plan.get("inputStages", []):
        found += stages(child)
    return found


def explain(db: pymongo.database.Database, collection: str, query: dict, sort: dict | None) -> dict:
    find = {"find": collection, "filter": query} | ({"sort": sort} if sort else {})
    return db.command({"explain": find, "verbosity": "queryPlanner"})["queryPlanner"]["winningPlan"]


# Predicates an index can answer with a bounded scan; $ne, $not, $exists: false and the like cannot.
BOUNDED = {"$eq", "$in", "$gt", "$gte", "$lt", "$lte"}


def bounded(predicate: object) -> bool:
    if isinstance(predicate, dict) and any(key.startswith("$") for key in predicate):
        return bool(predicate) and set(predicate) <= BOUNDED
    return True  # an equality


def leads_an_index(query: dict, first_keys: set[str]) -> bool:
    """Say whether `query` bounds the first key of one of the indexes (MongoDB's rule for using one)."""
    if any(bounded(query[key]) for key in first_keys & set(query)):
        return True
    branches = query.get("$and", [])
    return any(leads_an_index(branch, first_keys) for branch in branches) or (
        "$or" in query and all(leads_an_index(branch, first_keys) for branch in query["$or"])
    )


def served(db: pymongo.database.Database, collection: str, query: dict, sort: dict | None) -> bool:
    """Say whether an index serves the query: by the explained plan, or by MongoDB's rule."""
    if "COLLSCAN" not in stages(explain(db, collection, query, sort)):
        return True
    first_keys = {spec["key"][0][0] for spec in db[collection].index_information().values()}
    if not query and sort:  # a walk along an index in its order (getAll's first page)
        return next(iter(sort)) in first_keys
    return leads_an_index(query, first_keys)


@pytest.fixture
def recorded(settings, clock):
    """An app whose queries (the rate limiter's too) are recorded; yields (app, storage, methods called)."""
    uri = fresh_database_uri()
    app = create_app(
        replace(
            settings,
            mongo_uri=uri,
            rate_limit_storage_uri=uri,
            refresh_token_rotation=True,
            access_token_session_check=True,
            max_sessions_per_user=2,
        )
    )
    service = app.extensions["auth_service"]
    service.clock = clock
    called: set[str] = set()
    for name, method in inspect.getmembers(service.storage, inspect.ismethod):
        if not name.startswith("_"):
            setattr(service.storage, name, _recording(method, name, called))
    _queries.database, _queries.seen = service.storage.db.name, []
    yield app, service.storage, called
    _queries.database = None
    service.storage.db.client.drop_database(service.storage.db.name)


def _recording(method, name: str, called: set[str]):
    @wraps(method)
    def record(*args, **kwargs):
        called.add(name)
        return method(*args, **kwargs)

    return record


def workload(app, clock) -> None:
    """Use every route, every branch that reaches the database, as clients would."""
    client = app.test_client()
    rules = app.extensions["auth_service"].rules
    auth = AuthActions(client)
    for number in range(3):
        auth.signup(f"user{number}@example.com")
    auth.signup("user0@example.com")  # taken
    assert auth.login("user0@example.com", "a wrong password").status_code == 400
    auth.tokens("user0@example.com")
    laptop = auth.login("user0@example.com").json
    phone = auth.login("user0@example.com").json  # past the cap of 2: the oldest ends
    clock.advance(1)
    rotated = refresh(client, laptop["refreshToken"]).json
    refresh(client, laptop["refreshToken"])  # just retired: an access token only
    clock.advance(60)
    refresh(client, laptop["refreshToken"])  # replayed after the grace: the session ends
    app.extensions["auth_service"].rules = replace(rules, rotation=False)
    refresh(client, phone["refreshToken"])
    auth.login("user0@example.com")  # a tablet, to end by id below
    headers = bearer(phone["authToken"])
    first_page = client.get("/api/auth/getAll?limit=1", headers=headers).json
    client.get(f"/api/auth/getAll?limit=1&after={first_page['next']}", headers=headers)
    sessions = client.get("/api/auth/sessions", headers=headers).json["sessions"]
    phone_session = claims_of(phone["refreshToken"])["sid"]
    client.get("/api/auth/me", headers=headers)
    page = client.get("/api/auth/activity?limit=1", headers=headers).json
    client.get(f"/api/auth/activity?limit=1&after={page['next']}", headers=headers)
    tablet_session = next(session["id"] for session in sessions if session["id"] != phone_session)
    assert client.delete(f"/api/auth/sessions/{tablet_session}", headers=headers).status_code == 200
    body = {"currentPassword": PASSWORD, "newPassword": "another passphrase"}
    assert client.post("/api/auth/changePassword", json=body, headers=headers).status_code == 200
    client.post("/api/auth/logout", json={"refreshToken": rotated.get("refreshToken", "")})
    assert client.post("/api/auth/logoutAll", headers=headers).status_code == 200
    client.get("/ready")


def test_every_query_of_every_storage_method_is_served_by_an_index(recorded, clock):
    app, storage, called = recorded
    workload(app, clock)
    public = {name for name, _ in inspect.getmembers(Storage, inspect.isfunction) if not name.startswith("_")}
    assert public - NOT_PER_REQUEST - called == set(), "add these to the workload"
    assert _queries.seen, "no query was recorded"
    unserved = [
        (name, collection, query, sort)
        for name, collection, query, sort in _queries.seen
        if not served(storage.db, collection, query, sort)
    ]
    assert unserved == []


def test_a_query_no_index_serves_is_told_apart(recorded):
    _, storage, _ = recorded
    storage.db["Users"].insert_one({"email": "ada@example.com", "first": "Ada"})
    assert not served(storage.db, "Users", {"first": "Ada"}, None)
    assert not served(storage.db, "Users", {}, {"first": 1})
    assert not served(storage.db, "Users", {"email": {"$ne": "ada@example.com"}}, None)
    assert not served(storage.db, "Users", {"$or": [{"email": "ada@example.com"}, {"first": "Ada"}]}, None)
    assert served(storage.db, "Users", {"email": "ada@example.com"}, None)
    assert served(storage.db, "Users", {}, {"_id": 1})
    assert served(storage.db, "Users", {"email": "ada@example.com", "first": "Ada"}, None)
    assert served(storage.db, "Sessions", {"userId": "someone", "endedAt": None}, {"createdAt": -1})
