"""PasswordHasher: at most `concurrency` bcrypt runs at once, on lower-priority threads."""

import os
import sys
import threading

import bcrypt
import pytest

from app.passwords import PasswordHasher
from config import ConfigError, Settings


def record_hashing_threads(monkeypatch) -> dict:
    """Make bcrypt.checkpw note how many run at once and at which thread priority."""
    seen = {"active": 0, "most": 0, "nice": set()}
    lock = threading.Lock()
    overlap = threading.Event()
    real_checkpw = bcrypt.checkpw

    def checkpw(password: bytes, hashed: bytes) -> bool:
        with lock:
            seen["active"] += 1
            seen["most"] = max(seen["most"], seen["active"])
            seen["nice"].add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            if seen["active"] > 1:
                overlap.set()
        overlap.wait(0.1)  # give a second call the chance to overlap, if the bound lets it
        with lock:
            seen["active"] -= 1
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    return seen


def check_from_threads(hasher: PasswordHasher, count: int) -> None:
    stored = hasher.hash("password123")
    threads = [threading.Thread(target=hasher.check, args=("password123", stored)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.parametrize("concurrency", [1, 2])
def test_no_more_than_concurrency_checks_run_at_once(monkeypatch, concurrency):
    seen = record_hashing_threads(monkeypatch)
    check_from_threads(PasswordHasher(4, concurrency=concurrency), concurrency + 1)
    assert seen["most"] == concurrency


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are set on Linux only")
def test_hashing_runs_nicer_than_the_request_threads(monkeypatch):
    seen = record_hashing_threads(monkeypatch)
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    check_from_threads(PasswordHasher(4, concurrency=2, nice=5), 2)
    assert seen["nice"] == {min(19, own + 5)}


def test_the_hasher_still_checks_passwords():
    hasher = PasswordHasher(4, concurrency=1, nice=3)
    stored = hasher.hash("password123")
    assert hasher.check("password123", stored)
    assert not hasher.check("password124", stored)
    assert not hasher.check("password123", None)
    assert not hasher.check("password123", "not a bcrypt hash")


def test_concurrency_and_nice_are_settings():
    settings = Settings.from_env({"BCRYPT_CONCURRENCY": "3", "BCRYPT_NICE": "0"})
    assert (settings.bcrypt_concurrency, settings.bcrypt_nice) == (3, 0)
    assert Settings.from_env({}).bcrypt_concurrency >= 1


@pytest.mark.parametrize(
    ("name", "value"), [("BCRYPT_CONCURRENCY", "0"), ("BCRYPT_NICE", "20"), ("BCRYPT_NICE", "-1")]
)
def test_out_of_range_concurrency_or_nice_is_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
