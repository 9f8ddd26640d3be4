"""What every benchmark shares: the targets, starting them, users, wrk runs, and the report."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import bcrypt
import jwt

ROOT = Path(__file__).resolve().parent.parent
SERVE = str(ROOT / "bench" / "serve.sh")
EXPRESS = ROOT / "bench" / "peers" / "express"
SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery"
# Targets listen on consecutive ports from here; BENCH_FIRST_PORT moves them, so that two
# benchmarks can run on one machine at once.
FIRST_PORT = int(os.environ.get("BENCH_FIRST_PORT", "18100"))


@dataclass(frozen=True)
class Target:
    """A server to measure: its name and the command that serves it on a port."""

    name: str
    command: Callable[[int], list[str]]
    cwd: Path = ROOT
    env: tuple[tuple[str, str], ...] = ()


def served(app: str) -> Callable[[int], list[str]]:
    """Serve `app` with bench/serve.sh: the project's server and worker settings."""
    return lambda port: [SERVE, str(port), app]


def _express(port: int) -> list[str]:
    return ["env", "NODE_ENV=production", "node", "server.js", str(port)]


TARGETS = {
    "project": Target("project", served("wsgi:app")),
    "plain": Target("plain", served("bench.peers.plain_pyjwt:app")),
    "fje": Target("fje", served("bench.peers.fje:app")),
    # Not a peer: Flask answering /me with a fixed user, no guard, no read (the framework's floor).
    "flask-bare": Target("flask-bare", served("bench.peers.bare:app")),
    # The same three with BENCH_USERS users stored at start-up (bench/seeded.py).
    "project-seeded": Target(
        "project-seeded", served("bench.seeded:app"), env=(("BENCH_SEEDED", "project"),)
    ),
    "plain-seeded": Target("plain-seeded", served("bench.seeded:app"), env=(("BENCH_SEEDED", "plain"),)),
    "fje-seeded": Target("fje-seeded", served("bench.seeded:app"), env=(("BENCH_SEEDED", "fje"),)),
    # The reference peer: Express and jsonwebtoken given a prepared key (crypto.createSecretKey),
    # as an Express user who cares about speed writes it, and as fast as the original's
    # jsonwebtoken 7 was with a string.
    "express": Target("express", _express, EXPRESS, (("JWT_KEY_OBJECT", "1"),)),
    # The original article's code as written: the secret as a string, which jsonwebtoken 9
    # tries to read as a public key on every verify.
    "express-string-secret": Target("express-string-secret", _express, EXPRESS),
    "express-seeded": Target("express-seeded", _express, EXPRESS, (("JWT_KEY_OBJECT", "1"),)),
}
# `before`: the project as another checkout serves it (BENCH_BEFORE=/path/to/a/worktree), so that
# a change is measured against the code it started from in the same run.
if os.environ.get("BENCH_BEFORE"):
    _BEFORE = Path(os.environ["BENCH_BEFORE"]).resolve()
    TARGETS["before"] = Target(
        "before", lambda port: [str(_BEFORE / "bench" / "serve.sh"), str(port), "wsgi:app"], _BEFORE
    )
    TARGETS["before-seeded"] = Target(
        "before-seeded",
        lambda port: [str(_BEFORE / "bench" / "serve.sh"), str(port), "bench.seeded:app"],
        _BEFORE,
        (("BENCH_SEEDED", "project"),),
    )
REFERENCE = "express"


@dataclass
class Server:
    """A running target, bound to 127.0.0.1:port."""

    target: Target
    port: int
    process: subprocess.Popen

    @property
    def name(self) -> str:
        return self.target.name

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def pids(self) -> list[int]:
        """Return the ids of the server's processes (the leader and its workers)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == self.process.pid:  # the session id: start_new_session made one
                    found.append(int(entry.name))
        return sorted(found)


@contextmanager
def serving(target: Target, port: int, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start `target` on `port` in its own session, wait until it answers, and stop it afterwards."""
    environment = {
        **os.environ,
        "SECRET_KEY": SECRET,
        "BCRYPT_ROUNDS": "12",
        **dict(target.env),
        **(env or {}),
    }
    environment.pop("MONGO_URI", None)
    log = open(f"{tempfile.gettempdir()}/bench-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        target.command(port), cwd=target.cwd, env=environment, stdout=log, stderr=log, start_new_session=True
    )
    try:
        wait_until_up(port, process, log.name)
        yield Server(target, port, process)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:  # it exited already (wait_until_up says why)
            pass
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def wait_until_up(port: int, process: subprocess.Popen, log: str, seconds: float = 120) -> None:
    """Return once the server answers HTTP (any status), or raise if it exits or never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited; see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start; see {log}")


@contextmanager
def serving_all(
    specs: list[str], env: dict[str, str] | None = None, mongo_uri: str | None = None
) -> Iterator[list[Server]]:
    """Start every target, each on its own port, all idle until measured.

    A spec is a target's name, optionally with settings of its own after `@`, joined by `+`:
    `project@BCRYPT_NICE=0+BENCH_SERVER=sync` serves the project with those two settings.
    With `mongo_uri`, each project target is served on a database of its own there, emptied
    first (so `project@BENCH_WORKERS=2` can run two processes); the peers keep their stores.
    """
    with ExitStack() as stack:
        servers = []
        for index, spec in enumerate(specs):
            name, _, overrides = spec.partition("@")
            own = dict(pair.split("=", 1) for pair in overrides.split("+") if pair)
            if mongo_uri and name.startswith("project"):
                own = {"BENCH_MONGO_URI": own_database(mongo_uri, f"bench_{index}"), **own}
            target = TARGETS[name]
            target = Target(spec, target.command, target.cwd, target.env)
            servers.append(stack.enter_context(serving(target, FIRST_PORT + index, {**(env or {}), **own})))
        yield servers


def own_database(mongo_uri: str, name: str) -> str:
    """Return `mongo_uri` pointed at the database `name`, dropped first so that it starts empty."""
    from pymongo import MongoClient

    client = MongoClient(mongo_uri, serverSelectionTimeoutMS=10000)
    client.drop_database(name)
    client.close()
    parts = urlsplit(mongo_uri)
    return urlunsplit(parts._replace(path=f"/{name}"))


# HTTP for set-up (never for measuring)


def call(server: Server, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    """Send one request and return the JSON answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def sign_up(server: Server, email: str) -> None:
    body = {"first": "Ada", "last": "Lovelace", "email": email, "password": PASSWORD}
    answer = call(server, "POST", "/api/auth/signup", body)
    if not answer.get("success"):
        raise RuntimeError(f"{server.name}: signup failed: {answer}")


def log_in(server: Server, email: str) -> dict:
    answer = call(server, "POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    if not answer.get("success"):
        raise RuntimeError(f"{server.name}: login failed: {answer}")
    return answer


def token_for(server: Server, email: str = "bench@example.com") -> str:
    """Sign a user up and return an access token for them."""
    sign_up(server, email)
    return log_in(server, email)["authToken"]


def refreshed_tokens(server: Server, count: int, email: str = "many@example.com") -> list[str]:
    """Return `count` distinct access tokens of one user, from one login and many refreshes."""
    sign_up(server, email)
    refresh_token = log_in(server, email)["refreshToken"]
    return [
        call(server, "POST", "/api/auth/refreshToken", {"refreshToken": refresh_token})["authToken"]
        for _ in range(count)
    ]


def resigned_tokens(token: str, count: int) -> list[str]:
    """Return `count` tokens that differ from `token` only in their expiry, signed with the same secret.

    Each is a token the server would issue (its own claims and header, `kid` included), but
    one it has not seen: `exp` moves a second later for each, so every request that sends the
    next one verifies a signature the server has never checked.
    """
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    extra = {name: value for name, value in header.items() if name not in ("alg", "typ")}
    return [
        jwt.encode(
            {**claims, "exp": claims["exp"] + offset}, SECRET, algorithm=header["alg"], headers=extra or None
        )
        for offset in range(1, count + 1)
    ]


def sign_up_many(server: Server, numbers: range, clients: int = 4) -> None:
    """Sign up the users `user<number>@example.com`, from a few concurrent clients."""

    def work(offset: int) -> None:
        for number in numbers[offset::clients]:
            sign_up(server, f"user{number:06}@example.com")

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# wrk

_REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def lua_request(method: str, path: str, token: str | None = None, body: dict | None = None) -> str:
    """Return a wrk script that sends one fixed request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.path = {json.dumps(path)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    return "\n".join(lines) + "\n"


def lua_tokens(method: str, path: str, tokens: list[str]) -> str:
    """Return a wrk script that sends the same request with each token of `tokens` in turn."""
    table = ",".join(json.dumps(token) for token in tokens)
    return f"""
local tokens = {{{table}}}
local i = 0
wrk.method = {json.dumps(method)}
wrk.path = {json.dumps(path)}
request = function()
  i = i % #tokens + 1
  return wrk.format(nil, nil, {{["Authorization"] = "Bearer " .. tokens[i]}})
end
"""


def lua_logins(path: str, emails: list[str]) -> str:
    """Return a wrk script that logs into each account of `emails` in turn: a storm of many users."""
    bodies = ",".join(json.dumps(json.dumps({"email": email, "password": PASSWORD})) for email in emails)
    return f"""
local bodies = {{{bodies}}}
local i = 0
wrk.method = "POST"
wrk.path = {json.dumps(path)}
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


def storm_accounts(servers: list, count: int = 16) -> list[str]:
    """Sign `count` users up on every server and return their emails.

    One account per few requests, as in a real storm: a single account under 8 simultaneous
    logins would (rightly) be held back by the per-account attempt count.
    """
    emails = [f"storm{index}@example.com" for index in range(count)]
    for server in servers:
        for email in emails:
            sign_up(server, email)
    return emails


def lua_paced(delay_ms: int) -> str:
    """Return a wrk fragment that waits `delay_ms` between a connection's requests."""
    return f"delay = function() return {delay_ms} end\n"


@dataclass(frozen=True)
class Load:
    """One wrk run's result."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk(server: Server, script: str, seconds: int, connections: int, timeout_s: int = 10) -> Load:
    """Run wrk against `server` with a Lua `script`, one thread, and return what it measured."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script + _REPORT_LUA)
    try:
        command = ["wrk", "-t1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{timeout_s}s"]
        output = subprocess.run(
            [*command, "-s", file.name, server.url("/")], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(file.name)
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    return Load(**json.loads(line[4:]))


def throughput(
    server: Server, script: str, seconds: int, connections: int, timeout_s: int = 10
) -> Callable[[], dict[str, float]]:
    """Return a measurement of `server` under wrk: rate, p50, p99 and failed requests."""

    def run() -> dict[str, float]:
        pids = server.pids()
        cpu_before, switches_before = cpu_seconds(pids), context_switches(pids)
        load = wrk(server, script, seconds, connections, timeout_s)
        cpu, switches = cpu_seconds(pids) - cpu_before, context_switches(pids) - switches_before
        return {
            "req/s": load.rate,
            "p50 ms": load.p50_ms,
            "p99 ms": load.p99_ms,
            "errors": load.errors,
            "cpu us/req": cpu / load.requests * 1e6 if load.requests else 0.0,
            "switches/req": switches / load.requests if load.requests else 0.0,
        }

    return run


TICKS = os.sysconf("SC_CLK_TCK")


def context_switches(pids: list[int]) -> int:
    """Return how many times the threads of the processes `pids` were switched out so far.

    Threads that ended since are not counted: a server's request threads live as long as it.
    """
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                status = (task / "status").read_text()
            except OSError:
                continue
            total += sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line)
    return total


def cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time the processes `pids` have used, every thread, user and kernel."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks
    return total / TICKS


def arguments(doc: str | None, targets: str, seconds: int, rounds: int) -> argparse.ArgumentParser:
    """Return a parser with the options every benchmark has: targets, seconds, rounds."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--targets", default=targets, help="comma-separated, e.g. project,plain@BENCH_SERVER=sync"
    )
    parser.add_argument("--seconds", type=int, default=seconds, help="each measurement's length")
    parser.add_argument("--rounds", type=int, default=rounds, help="times each target is measured, in turn")
    return parser


def add_mongo_uri(parser: argparse.ArgumentParser) -> None:
    """Let a benchmark serve its project targets on MongoDB, where several workers can share one state."""
    parser.add_argument(
        "--mongo-uri",
        help="serve each project target on a database of its own on this MongoDB (a wire server will do); "
        "with it, project@BENCH_WORKERS=2 runs two processes",
    )


class Background:
    """Run a function in a thread and keep its result."""

    def __init__(self, function: Callable[[], object]) -> None:
        self.result: object = None
        self.thread = threading.Thread(target=self._run, args=(function,))
        self.thread.start()

    def _run(self, function: Callable[[], object]) -> None:
        self.result = function()

    def join(self) -> object:
        self.thread.join()
        return self.result


# The machine


def bcrypt_limit(seconds: float = 5, rounds: int = 12) -> float:
    """Measure the bcrypt checks a second this machine does with every core busy."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds))
    counts = [0] * (os.cpu_count() or 1)
    stop = time.monotonic() + seconds

    def work(index: int) -> None:
        while time.monotonic() < stop:
            bcrypt.checkpw(PASSWORD.encode(), hashed)
            counts[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(counts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def machine() -> str:
    """Describe the machine: cores, CPU model, Python, server versions."""
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, load average {load:.2f}"


# Rounds and the report


def alternate(cases: dict[str, Callable[[], dict[str, float]]], rounds: int) -> dict:
    """Measure each case in turn, A B A B, and return every sample by case and metric."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in cases}
    for number in range(rounds):
        for name, measure in cases.items():
            result = measure()
            print(f"  round {number + 1} {name:16} " + "  ".join(f"{k} {v:,.2f}" for k, v in result.items()))
            for key, value in result.items():
                samples[name].setdefault(key, []).append(value)
    return samples


def with_bcrypt_limit(
    cases: dict[str, Callable[[], dict[str, float]]], rounds: int, rate: str
) -> dict[str, dict[str, float]]:
    """Alternate the cases with a measurement of the machine's bcrypt limit in every round.

    Return the medians, each case's `rate` also as a share of the limit ("x limit"); the
    limit is measured between the cases so that it sees the same machine they do.
    """
    limit_case = {"bcrypt limit": lambda: {"checks/s": bcrypt_limit(3)}}
    samples = alternate({**limit_case, **cases}, rounds)
    # The highest: other work on the machine only ever lowers a measurement of the limit.
    limit = max(samples.pop("bcrypt limit")["checks/s"])
    results = medians(samples)
    for metrics in results.values():
        metrics["x limit"] = metrics[rate] / limit
    print(f"\n  bcrypt limit (highest of {rounds}): {limit:.2f} checks/s")
    return results


def medians(samples: dict) -> dict[str, dict[str, float]]:
    return {
        name: {key: statistics.median(values) for key, values in metrics.items()}
        for name, metrics in samples.items()
    }


def print_table(
    title: str,
    results: dict[str, dict[str, float]],
    ratio_of: str | tuple[str, ...],
    reference: str | None = None,
) -> None:
    """Print medians per target, and each target's `ratio_of` figures against the reference row's.

    The reference is `reference` when it is one of the rows, else the first row.
    """
    ratios = (ratio_of,) if isinstance(ratio_of, str) else ratio_of
    base = reference if reference in results else next(iter(results))
    width = max(len(name) for name in results) + 2
    keys = list(results[base])
    print(f"\n{title}")
    heads = "".join(f"  {key}: this/{base}" for key in ratios)
    print(f"  {'target':{width}}" + "".join(f"{key:>12}" for key in keys) + heads)
    for name, metrics in results.items():
        cells = "".join(f"{key:>12,.2f}" for key in keys for key in [metrics[key]])
        shares = "".join(
            f"  {_share(metrics[key], results[base][key]):>{len(key) + len(base) + 7}}" for key in ratios
        )
        print(f"  {name:{width}}" + cells + shares)


def _share(value: float, of: float) -> str:
    return f"{value / of:.2f}x" if of else "-"
