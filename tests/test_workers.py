"""Two worker processes of the production server share one state: proven over HTTP.

Each server (`python serve.py`, that is granian, and gunicorn) runs with two workers on a
database of its own under TEST_MONGO_URI. The tests talk to it over keep-alive connections,
each pinned to one worker (`tests/worker_app.py` names the answering process), so a test
chooses which worker answers each request. Workers share state only through the database, so
these tests run only with TEST_MONGO_URI set: CI's second run, on the wire server.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pymongo
import pytest

from app.errors import MESSAGES, Code
from app.storage import ACTIVITY, SESSIONS, USERS
from helpers import EXPIRED, PASSWORD, TEST_SECRET, claims_of, fresh_database_uri

BAD_CREDENTIALS = MESSAGES[Code.INVALID_CREDENTIALS]
EMAIL_TAKEN = MESSAGES[Code.EMAIL_TAKEN]

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_MONGO_URI"),
    reason="workers share state only through a MongoDB: set TEST_MONGO_URI (CI's second run does)",
)

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
START_TIMEOUT_S = 60
START_TRIES = 3  # a free port can be taken by another process before the server binds it
STOP_TIMEOUT_S = 15
REQUEST_TIMEOUT_S = 15
PIN_TIMEOUT_S = 30  # to find connections to each worker (the second may still be starting)
SIGNUP, LOGIN, LOGOUT = "/api/auth/signup", "/api/auth/login", "/api/auth/logout"
REFRESH = "/api/auth/refreshToken"


def serve_py(port: int) -> list[str]:
    """The image's command: granian, its port and worker count from PORT and WEB_CONCURRENCY."""
    return [sys.executable, "serve.py", "--host", "127.0.0.1", "--app", "worker_app:app"]


def gunicorn(port: int) -> list[str]:
    """The contract's command: gunicorn with gunicorn.conf.py, its workers from WEB_CONCURRENCY."""
    # Keep-alive connections stay open for the tests' pinned connections (gunicorn's default is 2 s).
    bind = f"127.0.0.1:{port}"
    options = ["-c", "gunicorn.conf.py", "--bind", bind, "--keep-alive", "120"]
    return [sys.executable, "-m", "gunicorn", *options, "worker_app:app"]


SERVERS = {"serve.py": serve_py, "gunicorn": gunicorn}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_addresses = itertools.count()


def new_address() -> str:
    """Return a client address no other request used (documentation ranges: only ever a header)."""
    number = next(_addresses)
    network = ("192.0.2", "198.51.100", "203.0.113")[number // 254 % 3]
    return f"{network}.{number % 254 + 1}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    pid: int
    headers: http.client.HTTPMessage  # names in any case


class Worker:
    """A keep-alive connection that one worker process answers, so a test chooses the worker."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        self.pid: int | None = None

    def send(
        self, method: str, path: str, body: dict | None = None, token: str | None = None, address: str = ""
    ) -> Answer:
        headers = {"Content-Type": "application/json", "Forwarded": f'for="{address or new_address()}"'}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        pid = int(response.getheader("X-Worker-Pid"))
        self.pid = self.pid or pid
        assert pid == self.pid, "a keep-alive connection was answered by another worker"
        return Answer(response.status, json.loads(data) if data else {}, pid, response.headers)

    def post(self, path: str, body: dict | None = None, **options: str) -> Answer:
        return self.send("POST", path, body if body is not None else {}, **options)

    def close(self) -> None:
        self.connection.close()


class Server:
    """One production server with two workers, on a database of its own."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.mongo_uri = fresh_database_uri()
        self.log_path = log_path
        self.connections: list[Worker] = []
        self.db = pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=5000).get_default_database()

    def environment(self) -> dict[str, str]:
        env = os.environ | {
            "APP_ENV": "development",
            "MONGO_URI": self.mongo_uri,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(WORKERS),
            "SECRET_KEY": TEST_SECRET,
            "BCRYPT_ROUNDS": "4",
            "REFRESH_TOKEN_ROTATION": "true",
            "TRUSTED_PROXIES": "1",  # each request names its client in `Forwarded`, as a proxy would
            "RATE_LIMIT_ENABLED": "true",
            "RATE_LIMIT_LOGIN": "20/minute",
            "RATE_LIMIT_SIGNUP": "10/minute",
            "RATE_LIMIT_REFRESH": "30/minute",
            "LOGIN_FAILURES_BEFORE_DELAY": "5",
            "LOGIN_DELAY_FIRST_SECONDS": "600",  # a wait no test outlasts, however slow the machine
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
        }
        env.pop("RATE_LIMIT_STORAGE_URI", None)  # the default: the counters live in MONGO_URI
        return env

    def start(self) -> None:
        """Start the server and return once it answers; on another port if another process took its port."""
        for _ in range(START_TRIES):
            self.port = free_port()
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(  # noqa: S603 - our own command line
                    SERVERS[self.name](self.port),
                    cwd=ROOT,
                    env=self.environment(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stop() ends the workers with it
                )
            if self.answers():
                return
            if self.process.poll() is None:  # running, but not ready in time
                break
        self.stop()
        pytest.fail(f"{self.name} did not get ready:\n{self.log_path.read_text()[-3000:]}")

    def answers(self) -> bool:
        """Wait until one of this server's own workers says it is ready; False if the server exits."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
                probe.request("GET", "/ready")
                response = probe.getresponse()
                response.read()
                probe.close()
                pid = int(response.getheader("X-Worker-Pid") or 0)
                if response.status == 200 and pid and os.getsid(pid) == self.process.pid:
                    return True
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        return False

    def pinned(self, per_worker: int = 1) -> list[Worker]:
        """Return `per_worker` connections to each of the two workers, alternating between them."""
        found: dict[int, list[Worker]] = {}
        deadline = time.monotonic() + PIN_TIMEOUT_S
        while time.monotonic() < deadline:
            worker = Worker(self.port)
            worker.send("GET", "/health")
            mine = found.setdefault(worker.pid, [])
            if len(mine) < per_worker:
                mine.append(worker)
                self.connections.append(worker)
            else:
                worker.close()
            if len(found) == WORKERS and all(len(each) == per_worker for each in found.values()):
                return [worker for pair in zip(*found.values(), strict=True) for worker in pair]
            time.sleep(0.01)
        pytest.fail(f"in {PIN_TIMEOUT_S} s, no {per_worker} connections to each of {WORKERS} workers")

    def stop(self) -> None:
        for worker in self.connections:
            worker.close()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_S)
        self.db.client.drop_database(self.db.name)
        self.db.client.close()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request, tmp_path_factory):
    running = Server(request.param, tmp_path_factory.mktemp("server") / "server.log")
    running.start()
    yield running
    running.stop()


def account(worker: Worker) -> str:
    """Sign a new user up through `worker`; return the email."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    answer = worker.post(SIGNUP, {"first": "Ada", "last": "Lovelace", "email": email, "password": PASSWORD})
    assert answer.status == 200, answer.body
    return email


def login(worker: Worker, email: str, password: str = PASSWORD, address: str = "") -> Answer:
    return worker.post(LOGIN, {"email": email, "password": password}, address=address)


def refresh(worker: Worker, token: str) -> Answer:
    return worker.post(REFRESH, {"refreshToken": token})


def at_once(workers: list[Worker], request) -> list[Answer]:
    """Send `request(worker)` through every worker in its own thread, released together."""
    barrier = threading.Barrier(len(workers))
    answers: list = [None] * len(workers)

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = request(workers[index])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_S * 2)
    return answers


def test_a_session_opened_through_one_worker_refreshes_through_the_other(server):
    one, other = server.pinned()
    tokens = login(one, account(one)).body
    refreshed = refresh(other, tokens["refreshToken"])
    assert refreshed.status == 200, refreshed.body
    assert refresh(one, refreshed.body["refreshToken"]).status == 200
    sessions = other.send("GET", "/api/auth/sessions", token=tokens["authToken"]).body["sessions"]
    assert [session["current"] for session in sessions] == [True]


def test_logout_through_one_worker_is_refused_by_every_worker(server):
    one, other = server.pinned()
    tokens = login(other, account(other)).body
    assert one.post(LOGOUT, {"refreshToken": tokens["refreshToken"]}).body == {"success": True}
    for worker in (one, other):
        answer = refresh(worker, tokens["refreshToken"])
        assert (answer.status, answer.body) == (403, EXPIRED)


def test_twenty_concurrent_refreshes_over_both_workers_leave_exactly_one_live_token(server):
    workers = server.pinned(per_worker=10)
    tokens = login(workers[0], account(workers[0])).body
    answers = at_once(workers, lambda worker: refresh(worker, tokens["refreshToken"]))
    assert [answer.status for answer in answers] == [200] * 20
    assert len({answer.pid for answer in answers}) == WORKERS
    issued = [answer.body["refreshToken"] for answer in answers if "refreshToken" in answer.body]
    assert len(issued) == 1
    stored = server.db[SESSIONS].find_one({"_id": claims_of(tokens["refreshToken"])["sid"]})
    assert stored["tokenHash"] == hashlib.sha256(issued[0].encode()).hexdigest()
    assert refresh(workers[1], issued[0]).status == 200


def test_the_per_address_login_limit_holds_for_the_sum_of_the_workers(server):
    one, other = server.pinned()
    address = new_address()
    statuses = [(one, other)[number % 2].post(LOGIN, {}, address=address).status for number in range(24)]
    assert statuses == [400] * 20 + [429] * 4


def test_the_per_address_login_limit_holds_for_a_burst_over_both_workers(server):
    workers = server.pinned(per_worker=15)
    address = new_address()
    answers = at_once(workers, lambda worker: worker.post(LOGIN, {}, address=address))
    assert sorted(answer.status for answer in answers) == [400] * 20 + [429] * 10


def test_the_per_account_delay_holds_for_the_sum_of_the_workers(server):
    one, other = server.pinned()
    email, guesser = account(one), new_address()  # the delay counts per (account, source)
    for number in range(5):
        answer = login((one, other)[number % 2], email, "a wrong password", address=guesser)
        assert (answer.status, answer.body["message"]) == (400, BAD_CREDENTIALS)
    for worker in (other, one):
        answer = login(worker, email, address=guesser)
        assert answer.status == 429 and answer.body["code"] == "rateLimited"
        assert int(answer.headers["Retry-After"]) > 0


def test_a_signup_race_over_both_workers_makes_one_account(server):
    workers = server.pinned(per_worker=5)
    body = {"first": "Ada", "last": "Lovelace", "email": "race@example.com", "password": PASSWORD}
    answers = at_once(workers, lambda worker: worker.post(SIGNUP, body))
    assert sorted(answer.status for answer in answers) == [200] + [400] * 9
    assert {answer.body.get("message") for answer in answers if answer.status == 400} == {EMAIL_TAKEN}
    assert len({answer.pid for answer in answers}) == WORKERS
    assert server.db[USERS].count_documents({"email": "race@example.com"}) == 1


def test_activity_written_by_both_workers_comes_back_newest_first(server):
    one, other = server.pinned()
    email = account(one)
    login(other, email)
    tokens = login(one, email).body
    entries = other.send("GET", "/api/auth/activity", token=tokens["authToken"]).body["activity"]
    assert [entry["activity"] for entry in entries] == ["login", "login", "signup"]


def test_a_worker_killed_mid_load_loses_no_acknowledged_write(server):
    workers = server.pinned(per_worker=2)
    victim = workers[0].pid
    acknowledged: list[str] = []
    cut_off: list[Exception] = []
    enough = threading.Event()

    def load(worker: Worker) -> None:
        for _ in range(15):
            email = f"load-{uuid.uuid4().hex[:12]}@example.com"
            body = {"first": "Load", "last": "Test", "email": email, "password": PASSWORD}
            try:
                answer = worker.post(SIGNUP, body)
            except (OSError, http.client.HTTPException) as error:
                cut_off.append(error)
                return
            if answer.status == 200:
                acknowledged.append(email)
            if len(acknowledged) >= 8:
                enough.set()

    threads = [threading.Thread(target=load, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    assert enough.wait(REQUEST_TIMEOUT_S * 2)
    os.kill(victim, signal.SIGKILL)
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_S * 4)
    assert cut_off, "the killed worker was not under load"
    users = list(server.db[USERS].find({"email": {"$in": acknowledged}}, {"_id": 1}))
    assert len(users) == len(acknowledged)
    signups = {"userId": {"$in": [user["_id"] for user in users]}, "activity": "signup"}
    assert server.db[ACTIVITY].count_documents(signups) == len(acknowledged)
    survivor = next(worker for worker in workers if worker.pid != victim)
    assert login(survivor, acknowledged[0]).status == 200
