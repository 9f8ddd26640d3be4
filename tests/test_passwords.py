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
    assert (settings.passwords.bcrypt_concurrency, settings.passwords.bcrypt_nice) == (3, 0)
    assert Settings.from_env({}).passwords.bcrypt_concurrency >= 1


@pytest.mark.parametrize(
    ("name", "value"), [("BCRYPT_CONCURRENCY", "0"), ("BCRYPT_NICE", "20"), ("BCRYPT_NICE", "-1")]
)
def test_out_of_range_concurrency_or_nice_is_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def record_bcrypt_work(monkeypatch) -> list[int]:
    """Make every bcrypt run note its work, 2 ** cost (what its time is proportional to)."""
    work: list[int] = []
    real_checkpw, real_hashpw = bcrypt.checkpw, bcrypt.hashpw

    def checkpw(password: bytes, hashed: bytes) -> bool:
        work.append(2 ** int(hashed.split(b"$")[2]))
        return real_checkpw(password, hashed)

    def hashpw(password: bytes, salt: bytes) -> bytes:
        work.append(2 ** int(salt.split(b"$")[2]))
        return real_hashpw(password, salt)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    monkeypatch.setattr(bcrypt, "hashpw", hashpw)
    return work


def test_a_wrong_password_costs_as_much_on_a_cost_10_account_as_on_an_unknown_email(make_app, monkeypatch):
    """An account imported at cost 10 must not answer a wrong password faster than an unknown email."""
    app = make_app(bcrypt_rounds=12, rate_limit_enabled=False)
    client = app.test_client()
    imported = bcrypt.hashpw(b"its real password", bcrypt.gensalt(10)).decode()
    app.extensions["auth_service"].storage.db["Users"].insert_one(
        {"first": "Old", "last": "User", "email": "old@example.com", "password": imported}
    )

    def work_of_a_wrong_password(email: str) -> int:
        work = record_bcrypt_work(monkeypatch)
        response = client.post("/api/auth/login", json={"email": email, "password": "a wrong guess"})
        monkeypatch.undo()
        assert response.status_code == 400
        return sum(work)

    work_of_a_wrong_password("old@example.com")  # the first one also makes the hasher's spare hashes
    assert (
        work_of_a_wrong_password("old@example.com") == work_of_a_wrong_password("nobody@example.com") == 2**12
    )


def test_a_right_password_on_a_cheaper_hash_is_not_padded(monkeypatch):
    hasher = PasswordHasher(rounds=6)
    cheap = bcrypt.hashpw(b"password123", bcrypt.gensalt(4)).decode()
    work = record_bcrypt_work(monkeypatch)
    assert hasher.check("password123", cheap)
    assert work == [2**4]
