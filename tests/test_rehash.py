"""A hash made at a lower bcrypt cost than configured is replaced on the next successful login."""

import bcrypt
import pytest

from app.passwords import cost_of
from app.storage import USERS
from helpers import PASSWORD, AuthActions


@pytest.fixture
def stronger(make_app):
    """An app configured for cost 5 holding a user whose hash was made at cost 4."""
    app = make_app(bcrypt_rounds=5)
    storage = app.extensions["auth_service"].storage
    old_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    storage.users.insert(
        "Ada", "Lovelace", "ada@example.com", old_hash, app.extensions["auth_service"].clock()
    )
    return app, storage


def stored_hash(storage) -> str:
    return storage.db[USERS].find_one({})["password"]


def test_a_successful_login_rehashes_at_the_configured_cost(stronger):
    app, storage = stronger
    auth = AuthActions(app.test_client())
    assert auth.login().status_code == 200
    assert cost_of(stored_hash(storage)) == 5
    assert bcrypt.checkpw(PASSWORD.encode(), stored_hash(storage).encode())
    assert auth.login().status_code == 200


def test_a_failed_login_changes_nothing(stronger):
    app, storage = stronger
    before = stored_hash(storage)
    assert AuthActions(app.test_client()).login(password="wrong password").status_code == 400
    assert stored_hash(storage) == before


def test_a_hash_at_the_configured_cost_or_higher_is_kept(auth, storage):
    auth.signup()
    before = stored_hash(storage)
    assert auth.login().status_code == 200
    assert stored_hash(storage) == before
    storage.db[USERS].update_one(
        {}, {"$set": {"password": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(6)).decode()}}
    )
    higher = stored_hash(storage)
    assert auth.login().status_code == 200
    assert stored_hash(storage) == higher


@pytest.mark.parametrize(
    ("stored", "cost"), [("$2b$12$" + "a" * 53, 12), ("$2a$04$x", 4), ("plain", None), ("", None)]
)
def test_the_cost_is_read_from_the_hash(stored, cost):
    assert cost_of(stored) == cost


def test_two_logins_re_hashing_the_same_cheap_hash_at_once_both_succeed(make_app, monkeypatch):
    """The second finds the hash replaced by the first one's re-hash of the same password: no refusal."""
    app = make_app(bcrypt_rounds=5)
    client = app.test_client()
    AuthActions(client).signup()
    storage = app.extensions["auth_service"].storage
    cheap = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    storage.db[USERS].update_one({"email": "ada@example.com"}, {"$set": {"password": cheap}})
    hasher = app.extensions["auth_service"].sessions.hasher
    real_hash = hasher.hash
    inner = []

    def another_login_re_hashes_first(password):
        if not inner:  # the first login's re-hash: the second login runs to its end meanwhile
            monkeypatch.setattr(hasher, "hash", real_hash)
            inner.append(AuthActions(app.test_client()).login())
        return real_hash(password)

    monkeypatch.setattr(hasher, "hash", another_login_re_hashes_first)
    outer = AuthActions(client).login()
    assert (outer.status_code, inner[0].status_code) == (200, 200)
