"""POST /api/auth/signup: the contract's row, its rules, and the original's holes."""

import bcrypt
import pytest

from app.storage import ACTIVITY, USERS
from helpers import PASSWORD, at_once

MISSING = "You must send all details."


def test_signup_succeeds_with_the_original_body(auth):
    response = auth.signup()
    assert response.status_code == 200
    assert response.json == {"success": True}


def test_signup_accepts_a_form_body(client):
    body = {"first": "Ada", "last": "L", "email": "form@example.com", "password": PASSWORD}
    response = client.post("/api/auth/signup", data=body)
    assert response.status_code == 200
    assert response.json == {"success": True}


@pytest.mark.parametrize("missing", ["first", "last", "email", "password"])
def test_every_field_is_required(client, missing):
    body = {"first": "Ada", "last": "L", "email": "a@example.com", "password": PASSWORD}
    del body[missing]
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json["success"] is False
    assert response.json["message"] == MISSING
    assert missing in response.json["errors"]


@pytest.mark.parametrize("field", ["first", "last", "email", "password"])
@pytest.mark.parametrize("empty", ["", None])
def test_empty_or_null_fields_count_as_missing(client, field, empty):
    body = {"first": "Ada", "last": "L", "email": "a@example.com", "password": PASSWORD, field: empty}
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json["message"] == MISSING


def test_an_email_that_is_taken_is_refused(auth):
    auth.signup()
    response = auth.signup()
    assert response.status_code == 400
    assert response.json == {
        "success": False,
        "message": "A user with that username already exists.",
        "code": "emailTaken",
    }


def test_emails_are_trimmed_and_compared_without_case(auth, storage):
    assert auth.signup(email="  Ada@Example.COM ").status_code == 200
    assert auth.signup(email="ada@example.com").status_code == 400
    assert storage.db[USERS].find_one({})["email"] == "ada@example.com"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", {"$ne": None}),
        ("email", ["a@example.com"]),
        ("email", 42),
        ("first", True),
        ("last", {"$gt": ""}),
        ("password", 12345678),
        ("password", ["correct horse battery"]),
    ],
)
def test_fields_that_are_not_strings_are_refused(client, storage, field, value):
    body = {"first": "Ada", "last": "L", "email": "a@example.com", "password": PASSWORD, field: value}
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json["errors"][field] == ["Not a valid string."]
    assert storage.db[USERS].count_documents({}) == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a" * 250 + "@example.com"])
def test_malformed_emails_are_refused(auth, email):
    response = auth.signup(email=email)
    assert response.status_code == 400
    assert "email" in response.json["errors"]


@pytest.mark.parametrize(
    "password",
    ["short", "1234567", "é" * 37, "x" * 73, "😀" * 19],
    ids=["5-bytes", "7-bytes", "74-utf8-bytes", "73-bytes", "76-utf8-bytes"],
)
def test_passwords_outside_8_to_72_bytes_are_refused_with_a_message_that_says_so(auth, password):
    response = auth.signup(password=password)
    assert response.status_code == 400
    assert response.json["message"] == "Password must be 8 to 72 bytes long."


# As long as each is, and none too common to be accepted (tests/test_password_policy.py).
@pytest.mark.parametrize(
    "password",
    [
        "q7#Vm2!z",
        "éñøçüßåæíóúâêîôûëïÿàèìòùáöäõãđłśźżčř",  # 36 characters, 72 UTF-8 bytes
        ("correct horse battery staple " * 3)[:72],
        "  spaced password  ",
        "ünïcödé-😀",
    ],
    ids=["8-bytes", "72-utf8-bytes", "72-bytes", "spaced", "unicode"],
)
def test_passwords_within_the_limits_work_exactly_as_typed(auth, password):
    assert auth.signup(password=password).status_code == 200
    assert auth.login(password=password).status_code == 200


def test_the_password_is_never_trimmed(auth):
    auth.signup(password="  padded password  ")
    assert auth.login(password="padded password").status_code == 400
    assert auth.login(password="  padded password  ").status_code == 200


def test_the_password_is_stored_only_as_a_bcrypt_hash(auth, storage, app):
    auth.signup()
    stored = storage.db[USERS].find_one({})["password"]
    assert stored != PASSWORD
    assert bcrypt.checkpw(PASSWORD.encode(), stored.encode())
    assert stored.startswith("$2b$04$")  # the configured cost (4 in tests)


def test_names_are_trimmed_and_length_limited(auth, storage):
    assert auth.signup(first="  Ada  ").status_code == 200
    assert storage.db[USERS].find_one({})["first"] == "Ada"
    response = auth.signup(email="b@example.com", first="x" * 101)
    assert response.status_code == 400
    assert "first" in response.json["errors"]


def test_unknown_fields_are_ignored_and_never_stored(auth, storage):
    assert auth.signup(isAdmin=True, refreshToken="x").status_code == 200
    user = storage.db[USERS].find_one({})
    assert "isAdmin" not in user
    assert "refreshToken" not in user


def test_signup_is_written_to_the_activity_log(auth, storage):
    auth.signup()
    user = storage.db[USERS].find_one({})
    entry = storage.db[ACTIVITY].find_one({"userId": user["_id"]})
    assert entry["activity"] == "signup"
    assert entry["time"] is not None
    assert entry["ip"] == "127.0.0.1"
    assert "userAgent" in entry


def test_concurrent_signups_with_one_email_create_one_user(app, storage):
    body = {"first": "A", "last": "B", "email": "race@example.com", "password": PASSWORD}
    responses = at_once(app, 8, lambda client: client.post("/api/auth/signup", json=body))
    results = [response.status_code for response in responses]
    assert sorted(results) == [200] + [400] * 7
    assert storage.db[USERS].count_documents({"email": "race@example.com"}) == 1


def test_accounts_made_in_one_second_get_distinct_ids_in_creation_order(client, storage, clock):
    clock.advance(0.5)
    emails = [f"user{index}@example.com" for index in range(8)]
    for email in emails:
        body = {"first": "A", "last": "B", "email": email, "password": PASSWORD}
        assert client.post("/api/auth/signup", json=body).status_code == 200
    stored = list(storage.db[USERS].find().sort("_id", 1))
    assert [user["email"] for user in stored] == emails
    second = clock.now.replace(microsecond=0)
    assert {user["createdAt"] for user in stored} == {second}
    assert {user["_id"].generation_time.replace(tzinfo=None) for user in stored} == {second}


def test_a_new_accounts_time_is_taken_once_its_password_is_hashed(app, client, clock, storage, monkeypatch):
    """bcrypt can wait its turn in a storm; ids made from an earlier time would sort before
    accounts stored meanwhile, and a getAll cursor past them would never see the account."""
    hasher = app.extensions["auth_service"].sessions.hasher
    hash_now = hasher.hash

    def hash_after_a_wait(password: str) -> str:
        clock.advance(5)
        return hash_now(password)

    monkeypatch.setattr(hasher, "hash", hash_after_a_wait)
    body = {"first": "A", "last": "B", "email": "late@example.com", "password": PASSWORD}
    assert client.post("/api/auth/signup", json=body).status_code == 200
    stored = storage.db[USERS].find_one()
    assert stored["createdAt"] == stored["_id"].generation_time.replace(tzinfo=None) == clock.now
