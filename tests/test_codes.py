"""One-time codes and the mail quota as stored: keyed hashes, TTL indexes, the key, the per-address limits."""

import hashlib
import threading
from datetime import timedelta

import bcrypt
import mongomock
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from app.keys import code_key, load_key_set
from app.passwords import PasswordHasher
from app.service.codes import new_code
from app.storage import MAIL_QUOTA, ONE_TIME_CODES, Storage
from config import Settings
from helpers import TEST_SECRET, AuthActions, storage_methods
from smtp_server import code_in


def forgot(client, email="ada@example.com", **kwargs):
    return client.post("/api/auth/forgotPassword", json={"email": email}, **kwargs)


def test_only_a_keyed_hash_of_the_code_is_stored(mail_client, mail_app, mailbox, delivered):
    storage = mail_app.extensions["auth_service"].storage
    AuthActions(mail_client).signup()
    forgot(mail_client)
    delivered()
    code = code_in(mailbox.last("ada@example.com", "Reset"))
    document = storage.db[ONE_TIME_CODES].find_one({"purpose": "passwordReset"})
    stored = str(document)
    assert code not in stored
    assert hashlib.sha256(code.encode()).hexdigest() not in stored, (
        "not a bare hash, which is reversed at once"
    )
    assert set(document) >= {"userId", "purpose", "email", "codeHash", "failures", "expiresAt"}


def test_expired_codes_and_spent_quotas_are_removed_by_ttl_indexes(storage):
    for collection in (ONE_TIME_CODES, MAIL_QUOTA):
        indexes = storage.db[collection].index_information().values()
        assert any(
            index["key"] == [("expiresAt", 1)] and index.get("expireAfterSeconds") == 0 for index in indexes
        ), collection


def test_the_mail_quota_is_kept_in_the_database_so_every_process_shares_it(mail_app, mail_client, make_app):
    storage = mail_app.extensions["auth_service"].storage
    AuthActions(mail_client).signup()
    forgot(mail_client)
    assert storage.db[MAIL_QUOTA].find_one({"_id": "passwordReset:ada@example.com"})["count"] == 1
    forgot(mail_client, "nobody@example.com")
    assert storage.db[MAIL_QUOTA].find_one({"_id": "passwordReset:nobody@example.com"})["count"] == 1


def test_codes_are_six_digits_spread_over_every_digit():
    codes = [new_code() for _ in range(2000)]
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in codes)
    assert {code[0] for code in codes} == set("0123456789"), "leading zeros are kept"


def test_the_code_key_comes_from_the_signing_key_and_differs_from_it():
    secret_keys = load_key_set(Settings.from_env({"SECRET_KEY": TEST_SECRET}))
    assert code_key(secret_keys) == code_key(load_key_set(Settings.from_env({"SECRET_KEY": TEST_SECRET})))
    assert code_key(secret_keys) != TEST_SECRET.encode()
    other = load_key_set(Settings.from_env({"SECRET_KEY": TEST_SECRET + "x"}))
    assert code_key(secret_keys) != code_key(other)
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    pair = load_key_set(Settings.from_env({"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY": pem}))
    assert len(code_key(pair)) == 32 and code_key(pair) != code_key(secret_keys)


def test_reset_works_with_an_asymmetric_signing_key(make_mail_app, mailbox):
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    app = make_mail_app(jwt_algorithm="EdDSA", jwt_private_key=pem)
    client = app.test_client()
    AuthActions(client).signup()
    forgot(client)
    app.extensions["mailer"].flush(10)
    code = code_in(mailbox.last("ada@example.com", "Reset"))
    body = {"email": "ada@example.com", "code": code, "newPassword": "a brand new passphrase"}
    assert client.post("/api/auth/resetPassword", json=body).status_code == 200


def test_checking_against_no_password_fails_at_the_full_cost_of_a_check(monkeypatch):
    hasher = PasswordHasher(4)
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: calls.append(args) or real(*args))
    assert hasher.check("correct horse", None) is False
    assert hasher.check("", None) is False
    assert len(calls) == 2


# Per-address rate limits of the new routes (their defaults per minute).
LIMITED = [
    ("/api/auth/forgotPassword", 5),
    ("/api/auth/resendVerification", 5),
    ("/api/auth/resetPassword", 10),
    ("/api/auth/verifyEmail", 10),
]


@pytest.mark.parametrize(("path", "limit"), LIMITED)
def test_each_account_route_is_limited_per_address(client, path, limit):
    for _ in range(limit):
        assert client.post(path, json={}).status_code == 400
    response = client.post(path, json={})
    assert response.status_code == 429
    assert response.json["code"] == "rateLimited" and int(response.headers["Retry-After"]) > 0
    assert client.post(path, json={}, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 400


def test_the_limits_are_settings(make_app):
    client = make_app(rate_limit_forgot_password="1/minute").test_client()
    assert forgot(client).status_code == 200
    assert forgot(client).status_code == 429


def test_racing_guesses_on_mongodb_never_compare_more_than_five(clock):
    """The worst order on a real MongoDB (no in-process lock): every guess reads before any writes."""
    db = mongomock.MongoClient()["race"]
    store = Storage(db, embedded=False)  # as on MongoDB: the store takes no lock of its own
    store.ensure_indexes()
    now = clock()
    store.codes.store("u1", "passwordReset", "v@example.com", "right", now, now + timedelta(minutes=15))
    codes = db[ONE_TIME_CODES]
    one_at_a_time = threading.Lock()  # each single MongoDB operation is atomic, no more
    first_done = threading.Condition()
    state = {"first_ops": 0}
    mine = threading.local()
    wrong = 12

    def atomic(operation):
        def run(*args, **kwargs):
            if getattr(mine, "inside", False):  # mongomock's own calls within one operation
                return operation(*args, **kwargs)
            mine.ops = getattr(mine, "ops", 0) + 1
            if mine.ops > 1:  # a guess's later steps wait until every guess has taken its first
                with first_done:
                    assert first_done.wait_for(lambda: state["first_ops"] == wrong + 1, timeout=10)
            with one_at_a_time:
                mine.inside = True
                try:
                    result = operation(*args, **kwargs)
                finally:
                    mine.inside = False
            if mine.ops == 1:
                with first_done:
                    state["first_ops"] += 1
                    first_done.notify_all()
            return result

        return run

    for name in ("find_one_and_delete", "find_one_and_update", "update_one", "delete_one", "find_one"):
        setattr(codes, name, atomic(getattr(codes, name)))
    results = {}

    def guess(code_hash: str) -> None:
        results[code_hash] = store.codes.use("u1", "passwordReset", "v@example.com", code_hash, now, 5)

    threads = [threading.Thread(target=guess, args=(f"wrong-{n}",)) for n in range(wrong)]
    for thread in threads:
        thread.start()
    with first_done:  # the right guess comes last, once every wrong one has made its first step
        assert first_done.wait_for(lambda: state["first_ops"] == wrong, timeout=10)
    right = threading.Thread(target=guess, args=("right",))
    right.start()
    for thread in [*threads, right]:
        thread.join(10)

    assert results["right"] is None, "the 13th guess was compared against the live code"
    assert not any(results.values())


RATE_LIMITED_CODE = "rateLimited"


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_an_account_takes_at_most_ten_wrong_codes_a_day_across_purposes_and_codes(
    make_mail_app, mailbox, clock
):
    app = make_mail_app(rate_limit_enabled=False)  # the per-address limit is not what is tested
    client, mailer = app.test_client(), app.extensions["mailer"]
    AuthActions(client).signup()
    mailer.flush(10)
    verification = code_in(mailbox.last("ada@example.com", "Confirm"))
    for _ in range(5):
        body = {"email": "ada@example.com", "code": other_than(verification)}
        assert client.post("/api/auth/verifyEmail", json=body).json["code"] == "invalidCode"
    forgot(client)
    mailer.flush(10)
    reset = code_in(mailbox.last("ada@example.com", "Reset"))
    body = {"email": "ada@example.com", "code": other_than(reset), "newPassword": "a brand new passphrase"}
    for _ in range(5):
        assert client.post("/api/auth/resetPassword", json=body).json["code"] == "invalidCode"
    forgot(client)
    mailer.flush(10)
    reset = code_in(mailbox.last("ada@example.com", "Reset"))
    body["code"] = reset
    response = client.post("/api/auth/resetPassword", json=body)
    assert response.status_code == 429 and response.json["code"] == RATE_LIMITED_CODE
    assert 0 < int(response.headers["Retry-After"]) <= 24 * 3600
    clock.advance(24 * 3600)
    forgot(client)
    mailer.flush(10)
    body["code"] = code_in(mailbox.last("ada@example.com", "Reset"))
    assert client.post("/api/auth/resetPassword", json=body).json == {"success": True}


def test_right_codes_do_not_count_towards_the_ceiling(make_mail_app, mailbox, clock):
    app = make_mail_app(rate_limit_enabled=False, mail_limit_per_hour=20)
    client, mailer = app.test_client(), app.extensions["mailer"]
    AuthActions(client).signup()
    for attempt in range(12):
        forgot(client)
        mailer.flush(10)
        code = code_in(mailbox.last("ada@example.com", "Reset"))
        body = {"email": "ada@example.com", "code": code, "newPassword": f"passphrase number {attempt}"}
        assert client.post("/api/auth/resetPassword", json=body).json == {"success": True}, attempt


def test_an_unknown_address_reaches_the_ceiling_after_as_many_wrong_codes(make_mail_app):
    client = make_mail_app(rate_limit_enabled=False).test_client()
    body = {"email": "nobody@example.com", "code": "123456"}
    answers = [client.post("/api/auth/verifyEmail", json=body).json.get("code") for _ in range(11)]
    assert answers == ["invalidCode"] * 10 + [RATE_LIMITED_CODE]


def storage_calls(monkeypatch, storage) -> list[str]:
    """Record the name of every storage method this thread calls from now on (the request's, not
    the mail worker's)."""
    calls: list[str] = []
    caller = threading.current_thread()

    def recording(name, method):
        def record(*args, **kwargs):
            if threading.current_thread() is caller:
                calls.append(name)
            return method(*args, **kwargs)

        return record

    for label, owner, name in storage_methods(storage):
        monkeypatch.setattr(owner, name, recording(label, getattr(owner, name)))
    return calls


@pytest.mark.parametrize("route", ["forgotPassword", "resendVerification"])
def test_past_the_quota_known_and_unknown_addresses_do_the_same_work(make_mail_app, monkeypatch, route):
    mail_app = make_mail_app(rate_limit_enabled=False)  # the per-address limit is not what is tested
    mail_client, storage = mail_app.test_client(), mail_app.extensions["auth_service"].storage
    AuthActions(mail_client).signup()  # one verification code mailed, still live
    for _ in range(3):
        mail_client.post(f"/api/auth/{route}", json={"email": "ada@example.com"})
        mail_client.post(f"/api/auth/{route}", json={"email": "nobody@example.com"})
    calls = storage_calls(monkeypatch, storage)
    assert mail_client.post(f"/api/auth/{route}", json={"email": "ada@example.com"}).json == {"success": True}
    known = list(calls)
    calls.clear()
    assert mail_client.post(f"/api/auth/{route}", json={"email": "nobody@example.com"}).json == {
        "success": True
    }
    assert calls == known
