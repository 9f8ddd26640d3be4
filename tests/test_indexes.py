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

import os
import re
import shlex
from dataclasses import replace
from functools import wraps

import pymongo
import pyotp
import pytest
from bson.regex import Regex, str_flags_to_int
from pymongo import monitoring

from app import create_app
from app.otp import step_at
from app.secret_box import SecretBox
from app.storage import Storage
from authenticator import DEVICE_BOUND, Authenticator
from helpers import PASSWORD, AuthActions, bearer, claims_of, fresh_database_uri, refresh, storage_methods
from providers import APPLE_CLIENTS, GOOGLE_CLIENTS, FakeProvider
from smtp_server import Mailbox, code_in

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_MONGO_URI"), reason="explain plans need a MongoDB server: set TEST_MONGO_URI"
)

# Run once at start-up and by the operator's `db init` (every command runs it first, as start-up
# does), not per request: creating indexes, and the one-time email migration, which reads every
# user by design.
NOT_PER_REQUEST = {"ensure_indexes"} | {f"{store}.ensure_indexes" for store in Storage.STORES}

NEW_PASSWORD = "another passphrase"


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
REGEX_SYNTAX = set("^$.|?*+()[]{}\\")
# Flags under which a regex's text is no prefix of its matches: any case, ^ at any line, spaces ignored.
NOT_PREFIX_FLAGS = re.IGNORECASE | re.MULTILINE | re.VERBOSE


def regex_of(predicate: object) -> tuple[str, int] | None:
    """Return the pattern and flags of a regex predicate (`{"$regex": ...}` or a regex value), else None."""
    options = ""
    if isinstance(predicate, dict) and "$regex" in predicate:
        predicate, options = predicate["$regex"], predicate.get("$options", "")
        if isinstance(predicate, str):  # elsewhere a string is an equality
            return predicate, str_flags_to_int(options)
    if isinstance(predicate, re.Pattern | Regex):
        flags = predicate.flags if isinstance(predicate.flags, int) else str_flags_to_int(predicate.flags)
        return str(predicate.pattern), flags | str_flags_to_int(options)
    return None


def literal_prefix(pattern: str, flags: int) -> str:
    """Return the text every match of an anchored, case-sensitive regex starts with ('' when there is none).

    MongoDB scans an index only over the keys that start with it (a "prefix expression"); any other
    regex it answers by reading every key. An escaped symbol (`\\.`) is literal; a character that
    `*`, `?` or `{` may leave out ends the prefix before it.
    """
    anchor = next((anchor for anchor in ("^", "\\A") if pattern.startswith(anchor)), None)
    if anchor is None or flags & NOT_PREFIX_FLAGS:
        return ""
    rest, prefix, at = pattern[len(anchor) :], "", 0
    while at < len(rest):
        if rest[at] == "\\" and at + 1 < len(rest) and not rest[at + 1].isalnum():
            literal, step = rest[at + 1], 2
        elif rest[at] in REGEX_SYNTAX:
            break
        else:
            literal, step = rest[at], 1
        if rest[at + step : at + step + 1] in ("*", "?", "{"):
            break
        prefix, at = prefix + literal, at + step
    return prefix


def bounded(predicate: object) -> bool:
    regex = regex_of(predicate)
    if regex is not None:  # an anchored, case-sensitive prefix bounds the scan like a range
        rest = set(predicate) - {"$regex", "$options"} if isinstance(predicate, dict) else set()
        return literal_prefix(*regex) != "" and rest <= BOUNDED
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
def recorded(settings, clock, mailbox, key_server, google, apple):
    """An app whose queries (the rate limiter's too) are recorded; yields (app, storage, methods called).

    It mails over SMTP to the test mailbox and accepts Google and Apple ID tokens signed by the
    fake providers, so that every route that reaches the database can be used.
    """
    uri = fresh_database_uri()
    app = create_app(
        settings.replace(
            mongo_uri=uri,
            rate_limit_storage_uri=uri,
            refresh_token_rotation=True,
            access_token_session_check=True,
            max_sessions_per_user=2,
            rate_limit_verify_email="100/minute",  # the account's ceiling of wrong codes is reached first
            mail_backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
            smtp_security="none",
            smtp_timeout=5,
            google_client_ids=GOOGLE_CLIENTS,
            apple_client_ids=APPLE_CLIENTS,
            google_jwks_url=key_server.url("google"),
            apple_jwks_url=key_server.url("apple"),
            webauthn_rp_id="example.test",
        ),
        clock=clock,
    )
    app.extensions["mailer"].retry_delays = (0, 0)
    service = app.extensions["auth_service"]
    called: set[str] = set()
    for label, owner, name in storage_methods(service.storage):
        setattr(owner, name, _recording(getattr(owner, name), label, called))
    _queries.database, _queries.seen = service.storage.db.name, []
    yield app, service.storage, called
    app.extensions["mailer"].flush(10)  # before the mailbox closes
    _queries.database = None
    service.storage.db.client.drop_database(service.storage.db.name)


def _recording(method, name: str, called: set[str]):
    @wraps(method)
    def record(*args, **kwargs):
        called.add(name)
        return method(*args, **kwargs)

    return record


class Clients:
    """What the workload acts through: the HTTP API, the operator's commands, the mailbox, the providers."""

    def __init__(self, app, clock, mailbox: Mailbox, google: FakeProvider, apple: FakeProvider) -> None:
        self.app, self.clock, self.mailbox = app, clock, mailbox
        self.google, self.apple = google, apple
        self.client = app.test_client()
        self.auth = AuthActions(self.client)

    def post(self, path: str, body: dict | None = None, token: str | None = None, status: int = 200):
        """POST to /api/auth/<path>, as the holder of `token` if given; check the status."""
        headers = bearer(token) if token else {}
        response = self.client.post(f"/api/auth/{path}", json=body or {}, headers=headers)
        assert response.status_code == status, (path, response.json)
        return response.json

    def login(self, email: str, password: str = PASSWORD) -> dict:
        response = self.auth.login(email, password)
        assert response.status_code == 200, response.json
        return response.json

    def code(self, to: str, subject: str) -> str:
        """Return the code in the last message to `to` about `subject`, once the mail has gone."""
        assert self.app.extensions["mailer"].flush(10), "mail still queued after 10 s"
        return code_in(self.mailbox.last(to, subject))

    def run(self, command: str, stdin: str | None = None) -> str:
        """Run an operator's command (`flask --app wsgi <command>`); return what it printed."""
        result = self.app.test_cli_runner().invoke(args=shlex.split(command), input=stdin)
        assert result.exit_code == 0, (command, result.output)
        return result.output


def sessions_and_tokens(w: Clients) -> None:
    """Sign up, log in past the session cap, refresh with rotation and without, list, end, log out."""
    client, auth, clock = w.client, w.auth, w.clock
    tokens = w.app.extensions["auth_service"].tokens
    for number in range(3):
        auth.signup(f"user{number}@example.com")
    auth.signup("user0@example.com")  # taken
    assert auth.login("user0@example.com", "a wrong password").status_code == 400
    auth.tokens("user0@example.com")
    laptop = w.login("user0@example.com")
    phone = w.login("user0@example.com")  # past the cap of 2: the oldest ends
    clock.advance(1)
    rotated = refresh(client, laptop["refreshToken"]).json
    refresh(client, laptop["refreshToken"])  # just retired: an access token only
    clock.advance(60)
    refresh(client, laptop["refreshToken"])  # replayed after the grace: the session ends
    # The same app refreshes without rotation from here on (test-only: the rules are frozen).
    object.__setattr__(tokens, "rules", replace(tokens.rules, rotation=False))
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
    w.post("changePassword", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, phone["authToken"])
    client.post("/api/auth/logout", json={"refreshToken": rotated.get("refreshToken", "")})
    w.post("logoutAll", token=phone["authToken"])


def profile_and_email(w: Clients) -> None:
    """Verify the signup address (after a resend), rename, and move to a new address with its code."""
    w.post("resendVerification", {"email": "user2@example.com"})
    code = w.code("user2@example.com", "Confirm your email address")
    w.post("verifyEmail", {"email": "user2@example.com", "code": "000000"}, status=400)  # a wrong code
    w.post("verifyEmail", {"email": "user2@example.com", "code": code, "password": PASSWORD})  # keeps it
    token = w.login("user2@example.com")["authToken"]
    assert w.client.patch("/api/auth/me", json={"first": "Augusta"}, headers=bearer(token)).status_code == 200
    w.post("changeEmail", {"password": PASSWORD, "newEmail": "user2.new@example.com"}, token)
    w.post("confirmEmailChange", {"code": w.code("user2.new@example.com", "Confirm your new")}, token)


def recovery(w: Clients) -> None:
    """Forget a password: a reset code by mail, a wrong code, then the new password."""
    w.post("forgotPassword", {"email": "user1@example.com"})
    code = w.code("user1@example.com", "Reset")
    wrong = {"email": "user1@example.com", "code": "000000", "newPassword": NEW_PASSWORD}
    w.post("resetPassword", wrong, status=400)
    w.post("resetPassword", wrong | {"code": code, "newPassword": "lovelace1815"}, status=400)  # restored
    w.post("resetPassword", wrong | {"code": code})
    for _ in range(3):  # the last one is past the hour's quota: is the code mailed last still live?
        w.post("forgotPassword", {"email": "user1@example.com"})


def id_tokens(w: Clients) -> None:
    """Sign in with Google (a new account), link and unlink Apple, and meet an identity left behind."""
    grace = w.google.token("google-grace", email="grace@example.com")
    w.post("loginWithIdToken", {"provider": "google", "idToken": grace})  # a new account
    token = w.post("loginWithIdToken", {"provider": "google", "idToken": grace})["authToken"]  # linked
    apple = w.apple.token("apple-grace", email="grace@example.com")
    proof = w.google.token("google-grace", email="grace@example.com")  # no password: a linked sign-in vouches
    w.post("linkIdToken", {"provider": "apple", "idToken": apple, "currentIdToken": proof}, token)
    assert w.client.get("/api/auth/identities", headers=bearer(token)).status_code == 200
    assert w.client.delete("/api/auth/identities/apple", headers=bearer(token)).status_code == 200
    # An account removed by hand (or by a deletion racing a link) leaves its identity behind:
    # the next sign-in with it frees it and makes a new account.
    left = w.google.token("google-left", email="left@example.com")
    w.post("loginWithIdToken", {"provider": "google", "idToken": left})
    w.app.extensions["auth_service"].storage.db["Users"].delete_one({"email": "left@example.com"})
    w.post("loginWithIdToken", {"provider": "google", "idToken": left})


def second_factor(w: Clients) -> None:
    """Turn TOTP on, sign in with codes, step up, rotate the key, turn it off, reset it by command."""
    w.auth.signup("totp@example.com")
    w.run("users verify-email totp@example.com")
    token = w.login("totp@example.com")["authToken"]
    secret = w.post("mfa/totp/setup", {"password": PASSWORD}, token)["secret"]

    def code(steps: int = 0) -> str:
        return pyotp.TOTP(secret).generate_otp(step_at(w.clock()) + steps)

    w.post("mfa/totp/enable", {"code": code(9)}, token, status=400)  # a wrong first code
    enabled = w.post("mfa/totp/enable", {"code": code()}, token)
    token = enabled["authToken"]
    w.clock.advance(30)
    held = w.post("login", {"email": "totp@example.com", "password": PASSWORD}, status=400)["mfaToken"]
    w.post("mfa/verify", {"mfaToken": held, "code": code(9)}, status=400)
    w.post("mfa/verify", {"mfaToken": held, "code": enabled["recoveryCodes"][0]})
    # A newer key goes first: the secret moves to it when its next code is accepted.
    second = w.app.extensions["auth_service"].second_factor
    object.__setattr__(second, "box", SecretBox((os.urandom(32), *second.box.keys)))  # test-only
    w.post("mfa/stepUp", {"code": code()}, token)
    w.clock.advance(30)
    w.post("mfa/recoveryCodes", {"code": code()}, token)
    assert w.client.get("/api/auth/mfa", headers=bearer(token)).status_code == 200
    w.clock.advance(30)
    w.post("mfa/totp/disable", {"password": PASSWORD, "code": code()}, token)
    w.run("users mfa-reset totp@example.com")
    assert "factors:" in w.run("users show totp@example.com")


def operators(w: Clients) -> None:
    """An operator finds, creates, re-passwords, verifies, disables, promotes users and ends sessions."""
    w.auth.login("user0@example.com", "a wrong password")  # a failed login for `users show` to report
    more = w.run("users list --email-prefix user --limit 1").splitlines()[-1]
    w.run(f"users list --email-prefix user --limit 1 {more.removeprefix('More: ')}")
    assert "1 in a row from 127.0.0.1" in w.run("users show user0@example.com")
    w.run("users create --email ops@example.com --first Ops --last Person --password-stdin", stdin=PASSWORD)
    w.run("users set-password user0@example.com --password-stdin", stdin=PASSWORD)
    w.run("users verify-email user0@example.com")
    w.run("users disable ops@example.com")
    w.run("users enable ops@example.com")
    w.run("users promote ops@example.com")
    w.run("users demote ops@example.com")
    session = claims_of(w.login("ops@example.com")["refreshToken"])["sid"]
    w.run("sessions list ops@example.com")
    w.run(f"sessions end {session}")
    w.run("sessions end-all ops@example.com")
    w.run("users delete ops@example.com --yes")
    w.run("db check")
    w.run("mail status")
    w.run("mail retry --failed")


def deletion(w: Clients) -> None:
    """Users delete their accounts: one with its password, one without a password by a fresh ID token."""
    token = w.login("user1@example.com", NEW_PASSWORD)["authToken"]
    w.post("deleteAccount", {"password": NEW_PASSWORD}, token)
    grace = w.google.token("google-grace", email="grace@example.com")
    token = w.post("loginWithIdToken", {"provider": "google", "idToken": grace})["authToken"]
    w.post("deleteAccount", {"provider": "google", "idToken": grace}, token)


def passkeys(w: Clients) -> None:
    """Add passkeys, sign in with one, prove with one, rename, meet a cloned key, remove one."""
    token = w.login("user2.new@example.com")["authToken"]  # verified in profile_and_email
    phone, key = Authenticator(), Authenticator(flags=DEVICE_BOUND)
    for authenticator in (phone, key):
        options = w.post("passkeys/registrationOptions", {"password": PASSWORD}, token)
        credential = authenticator.create(options["options"])
        added = w.post(
            "passkeys/register", {"challengeId": options["challengeId"], "credential": credential}, token
        )
    options = w.post("passkeys/authenticationOptions")
    body = {"challengeId": options["challengeId"], "credential": phone.get(options["options"])}
    signed_in = w.post("passkeys/login", body)["authToken"]
    headers = bearer(signed_in)
    listed = w.client.get("/api/auth/passkeys", headers=headers).json["passkeys"]
    assert (
        w.client.patch(
            f"/api/auth/passkeys/{listed[0]['id']}", json={"name": "Mine"}, headers=headers
        ).status_code
        == 200
    )
    options = w.post("passkeys/authenticationOptions", token=signed_in)  # a proof's challenge
    proof = {"passkey": {"challengeId": options["challengeId"], "credential": phone.get(options["options"])}}
    assert (
        w.client.delete(f"/api/auth/passkeys/{listed[0]['id']}", json=proof, headers=headers).status_code
        == 200
    )
    for count in (5, 4):  # a copy of the key, behind the original: marked, its sessions end
        options = w.post("passkeys/authenticationOptions")
        body = {
            "challengeId": options["challengeId"],
            "credential": key.get(options["options"], sign_count=count),
        }
        w.post("passkeys/login", body, status=200 if count == 5 else 400)
    assert added["passkey"]["id"]
    w.run("users passkeys-remove user2.new@example.com")  # an operator, for a lost device


def health(w: Clients) -> None:
    """A load balancer's readiness probe."""
    assert w.client.get("/ready").status_code == 200


# Each phase one line; a route or command that reaches the database goes into the phase it belongs to.
def code_ceiling(w: Clients) -> None:
    """Reach an address's ceiling of wrong codes for the day: the next try waits for its window."""
    wrong = {"email": "nobody@example.com", "code": "000000"}
    for _ in range(10):
        w.post("verifyEmail", wrong, status=400)
    w.post("verifyEmail", wrong, status=429)


WORKLOAD = (
    sessions_and_tokens,
    profile_and_email,
    recovery,
    id_tokens,
    passkeys,
    second_factor,
    operators,
    deletion,
    code_ceiling,
    health,
)


def workload(app, clock, mailbox, google, apple) -> None:
    """Use every route and operator's command, every branch that reaches the database, as clients would."""
    clients = Clients(app, clock, mailbox, google, apple)
    for phase in WORKLOAD:
        phase(clients)


def test_every_query_of_every_storage_method_is_served_by_an_index(recorded, clock, mailbox, google, apple):
    app, storage, called = recorded
    workload(app, clock, mailbox, google, apple)
    public = {label for label, _, _ in storage_methods(storage)}
    assert public - NOT_PER_REQUEST - called == set(), "add these to the workload"
    assert _queries.seen, "no query was recorded"
    unserved = [
        (name, collection, query, sort)
        for name, collection, query, sort in _queries.seen
        if not served(storage.db, collection, query, sort)
    ]
    assert unserved == [], "\n".join(map(repr, unserved))


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


def test_only_an_anchored_case_sensitive_prefix_regex_on_a_first_key_is_index_served(recorded):
    _, storage, _ = recorded
    storage.db["Users"].insert_one({"email": "ada@example.com", "first": "Ada"})
    assert served(storage.db, "Users", {"email": {"$regex": "^ada"}}, {"_id": 1})
    assert served(storage.db, "LoginFailures", {"_id": {"$regex": "^ada@example\\.com "}}, None)
    assert served(storage.db, "Users", {"email": re.compile("^ada")}, None)
    assert not served(storage.db, "Users", {"first": {"$regex": "^Ada"}}, None)  # no index on `first`
    first_keys = {"email"}
    for prefix_regex in ({"$regex": "^ada"}, {"$regex": "\\Aada.*"}, {"$regex": "^ada\\.", "$options": "s"}):
        assert leads_an_index({"email": prefix_regex}, first_keys), prefix_regex
    for other in (
        {"$regex": "ada"},  # not anchored
        {"$regex": "^ada", "$options": "i"},  # any case
        {"$regex": "^ada", "$options": "m"},  # ^ after any line break
        {"$regex": "^.*ada"},  # no literal prefix
        {"$regex": "^a?da"},  # its first letter may be absent
        {"$regex": "^\\w+"},  # a class, no letter
        re.compile("^ada", re.IGNORECASE),
        Regex("ada"),
    ):
        assert not leads_an_index({"email": other}, first_keys), other
    assert leads_an_index({"$or": [{"email": "ada@example.com"}, {"email": {"$regex": "^ada "}}]}, first_keys)
    assert not leads_an_index(
        {"$or": [{"email": "ada@example.com"}, {"email": {"$regex": "ada "}}]}, first_keys
    )
