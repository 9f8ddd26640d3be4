"""POST /api/auth/login: the contract's row, sessions per device, and no user enumeration."""

import pytest

from app.storage import ACTIVITY, SESSIONS, USERS
from helpers import PASSWORD

BAD_CREDENTIALS = "The email or password is incorrect."
MISSING = "You must send the username and the password."


def test_login_returns_both_tokens_and_the_public_user(auth):
    auth.signup()
    response = auth.login()
    assert response.status_code == 200
    body = response.json
    assert body["success"] is True
    assert body["authToken"] and body["refreshToken"]
    assert set(body["user"]) == {"id", "first", "last", "email", "emailVerified", "createdAt", "role"}
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["role"] == "user"  # the user's own role; getAll shows it to admins only


def test_login_accepts_a_form_body(auth, client):
    auth.signup()
    response = client.post("/api/auth/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 200


def test_login_ignores_email_case_and_surrounding_spaces(auth):
    auth.signup()
    assert auth.login(email="  ADA@example.com ").status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"email": "ada@example.com"}, {"password": PASSWORD}, {"email": "", "password": ""}]
)
def test_missing_credentials_get_the_original_message(client, body):
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == 400
    assert response.json["message"] == MISSING


def test_unknown_email_and_wrong_password_get_one_and_the_same_answer(auth):
    auth.signup()
    unknown = auth.login(email="nobody@example.com")
    wrong = auth.login(password="wrong password")
    assert unknown.status_code == wrong.status_code == 400
    assert (
        unknown.json
        == wrong.json
        == {"success": False, "message": BAD_CREDENTIALS, "code": "invalidCredentials"}
    )


def test_an_unknown_email_still_costs_one_bcrypt_check(app, auth, monkeypatch):
    import bcrypt

    calls = []
    real_checkpw = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: calls.append(1) or real_checkpw(*args))
    auth.login(email="nobody@example.com")
    assert len(calls) == 1


def test_a_wrong_password_costs_exactly_one_bcrypt_check(auth, monkeypatch):
    import bcrypt

    auth.signup()
    calls = []
    real_checkpw = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: calls.append(1) or real_checkpw(*args))
    auth.login(password="wrong password")
    assert len(calls) == 1


@pytest.mark.parametrize("value", [{"$ne": None}, {"$gt": ""}, ["a"], 1, True])
def test_injection_objects_in_credentials_are_refused(auth, client, value):
    auth.signup()
    for body in ({"email": value, "password": PASSWORD}, {"email": "ada@example.com", "password": value}):
        response = client.post("/api/auth/login", json=body)
        assert response.status_code == 400
        assert "authToken" not in response.json


def test_a_password_over_72_bytes_gets_a_message_that_says_so(auth):
    auth.signup()
    response = auth.login(password="x" * 73)
    assert response.status_code == 400
    assert response.json["message"] == "Password must be at most 72 bytes long."


def test_each_login_opens_its_own_session_so_devices_do_not_sign_each_other_out(auth, client, storage):
    auth.signup()
    phone = auth.login().json
    tablet = auth.login().json
    assert phone["refreshToken"] != tablet["refreshToken"]
    assert storage.db[SESSIONS].count_documents({}) == 2
    for tokens in (phone, tablet):
        response = client.post("/api/auth/refreshToken", json={"refreshToken": tokens["refreshToken"]})
        assert response.status_code == 200


def test_two_logins_in_the_same_second_get_different_tokens(auth):
    auth.signup()
    first, second = auth.login().json, auth.login().json  # the test clock does not move
    assert first["authToken"] != second["authToken"]
    assert first["refreshToken"] != second["refreshToken"]


def test_the_session_keeps_a_hash_of_the_refresh_token_never_the_token(auth, storage):
    tokens = auth.tokens()
    session = storage.db[SESSIONS].find_one({})
    assert tokens["refreshToken"] not in str(session)
    assert len(session["tokenHash"]) == 64
    assert session["ip"] == "127.0.0.1"
    assert {"createdAt", "lastUsedAt", "expiresAt", "userId"} <= set(session)


def test_login_is_written_to_the_activity_log(auth, storage):
    auth.signup()
    auth.login(**{"User-Agent": "MyApp/1.0"})
    user = storage.db[USERS].find_one({})
    entry = storage.db[ACTIVITY].find_one({"userId": user["_id"], "activity": "login"})
    assert entry["userAgent"] == "MyApp/1.0"
    assert entry["ip"] == "127.0.0.1"


def test_a_failed_login_opens_no_session(auth, storage):
    auth.signup()
    auth.login(password="wrong password")
    assert storage.db[SESSIONS].count_documents({}) == 0
