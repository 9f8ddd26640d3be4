"""POST /api/auth/changePassword: check the current password, set a new one, end the other sessions."""

import threading

import bcrypt
import pytest

from app.storage import USERS
from helpers import EXPIRED, INVALID, PASSWORD, AuthActions, bearer, refresh

NEW_PASSWORD = "a brand new passphrase"
WRONG = "The current password is incorrect."
MISSING = "You must send the current and the new password."


def change(client, tokens, current=PASSWORD, new=NEW_PASSWORD, **extra):
    body = {"currentPassword": current, "newPassword": new, **extra}
    return client.post("/api/auth/changePassword", json=body, headers=bearer(tokens["authToken"]))


def test_the_new_password_logs_in_and_the_old_one_no_longer_does(auth, client):
    tokens = auth.tokens()
    response = change(client, tokens)
    assert response.status_code == 200
    assert response.json == {"success": True, "revoked": 0}
    assert auth.login(password=NEW_PASSWORD).status_code == 200
    assert auth.login(password=PASSWORD).status_code == 400


def test_it_ends_every_other_session_and_the_current_one_keeps_working(auth, client):
    phone = auth.tokens()
    tablet = auth.login().json
    laptop = auth.login().json
    assert change(client, phone).json["revoked"] == 2
    assert refresh(client, tablet["refreshToken"]).json == EXPIRED
    assert refresh(client, laptop["refreshToken"]).json == EXPIRED
    assert refresh(client, phone["refreshToken"]).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(phone["authToken"])).status_code == 200


def test_a_wrong_current_password_is_a_400_that_says_so_and_changes_nothing(auth, client):
    phone = auth.tokens()
    tablet = auth.login().json
    response = change(client, phone, current="not my password")
    assert response.status_code == 400
    assert response.json["message"] == WRONG
    assert response.json["errors"] == {"currentPassword": [WRONG]}
    assert refresh(client, tablet["refreshToken"]).status_code == 200
    assert auth.login(password=PASSWORD).status_code == 200


@pytest.mark.parametrize(
    "new_password", ["short", "x" * 73, "é" * 37], ids=["5-bytes", "73-bytes", "74-utf8-bytes"]
)
def test_the_new_password_follows_the_signup_rules(auth, client, new_password):
    response = change(client, auth.tokens(), new=new_password)
    assert response.status_code == 400
    assert response.json["message"] == "Password must be 8 to 72 bytes long."
    assert "newPassword" in response.json["errors"]
    assert auth.login(password=PASSWORD).status_code == 200


def test_the_new_password_is_kept_exactly_as_typed(auth, client):
    change(client, auth.tokens(), new="  padded passphrase  ")
    assert auth.login(password="padded passphrase").status_code == 400
    assert auth.login(password="  padded passphrase  ").status_code == 200


def test_the_new_password_is_stored_only_as_a_bcrypt_hash(auth, client, storage):
    change(client, auth.tokens())
    stored = storage.db[USERS].find_one({})["password"]
    assert stored.startswith("$2b$04$")
    assert NEW_PASSWORD not in stored


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"currentPassword": PASSWORD},
        {"newPassword": NEW_PASSWORD},
        {"currentPassword": "", "newPassword": ""},
    ],
)
def test_both_passwords_are_required(auth, client, body):
    tokens = auth.tokens()
    response = client.post("/api/auth/changePassword", json=body, headers=bearer(tokens["authToken"]))
    assert response.status_code == 400
    assert response.json["message"] == MISSING


@pytest.mark.parametrize("field", ["currentPassword", "newPassword"])
@pytest.mark.parametrize("value", [{"$ne": None}, ["x" * 10], 12345678])
def test_passwords_that_are_not_strings_are_refused(auth, client, field, value):
    tokens = auth.tokens()
    response = change(client, tokens, **{field: value})
    assert response.status_code == 400
    assert response.json["errors"][field] == ["Not a valid string."]
    assert auth.login(password=PASSWORD).status_code == 200


def test_it_needs_an_access_token(auth, client):
    auth.tokens()
    response = client.post(
        "/api/auth/changePassword", json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    )
    assert response.json == INVALID
    assert auth.login(password=PASSWORD).status_code == 200


def test_a_refresh_token_is_not_an_access_token_here(auth, client):
    tokens = auth.tokens()
    response = change(client, {"authToken": tokens["refreshToken"]})
    assert response.json == INVALID


def test_one_user_can_only_change_their_own_password(auth, client):
    auth.tokens("ada@example.com")
    bob = auth.tokens("bob@example.com")
    assert change(client, bob, current=PASSWORD).status_code == 200  # Bob's own password, not Ada's
    assert auth.login("ada@example.com", PASSWORD).status_code == 200
    assert auth.login("bob@example.com", NEW_PASSWORD).status_code == 200


def test_a_change_is_written_to_the_activity_log(auth, client):
    tokens = auth.tokens()
    change(client, tokens)
    body = client.get("/api/auth/activity", headers=bearer(tokens["authToken"])).json
    assert body["activity"][0]["activity"] == "passwordChanged"


def test_logins_racing_a_password_change_keep_no_session_of_the_old_password(make_app):
    """Real bcrypt (cost 8): logins in flight while the password changes, some straddling the change."""
    # No session cap: the racers' logins must not end the owner's session before it changes the password.
    app = make_app(bcrypt_rounds=8, rate_limit_enabled=False, max_sessions_per_user=100_000)
    client = app.test_client()
    owner = AuthActions(client).tokens()
    changed = threading.Event()
    logins = []

    def log_in_until_changed(address: str) -> None:
        racer = app.test_client()
        body = {"email": "ada@example.com", "password": PASSWORD}
        while not changed.is_set():
            logins.append(racer.post("/api/auth/login", json=body, environ_base={"REMOTE_ADDR": address}))

    threads = [threading.Thread(target=log_in_until_changed, args=(f"198.51.100.{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    while len(logins) < 8:  # logins under way before the change starts
        threading.Event().wait(0.001)
    assert change(app.test_client(), owner).status_code == 200
    changed.set()
    for thread in threads:
        thread.join()
    opened = [response.json["refreshToken"] for response in logins if response.status_code == 200]
    refused = [response for response in logins if response.status_code != 200]
    assert all(response.json["message"] == "The email or password is incorrect." for response in refused)
    # Whatever the interleaving: no session opened with the old password outlives the change.
    assert [refresh(client, token).json for token in opened] == [EXPIRED] * len(opened)
    assert AuthActions(client).login().status_code == 400
    assert AuthActions(client).login(password=NEW_PASSWORD).status_code == 200


def test_a_login_re_hashing_a_cheaper_hash_never_overwrites_a_new_password(make_app, monkeypatch):
    app = make_app(bcrypt_rounds=5)
    client = app.test_client()
    auth = AuthActions(client)
    owner = auth.tokens()
    storage = app.extensions["auth_service"].storage
    cheap = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    storage.db[USERS].update_one({"email": "ada@example.com"}, {"$set": {"password": cheap}})
    service = app.extensions["auth_service"]
    real_hash = service.sessions.hasher.hash

    def change_lands_while_the_login_re_hashes(password):
        if password == PASSWORD:  # the login's re-hash, after its check passed: the change lands now
            assert change(app.test_client(), owner).status_code == 200
        return real_hash(password)

    monkeypatch.setattr(service.sessions.hasher, "hash", change_lands_while_the_login_re_hashes)
    assert auth.login().status_code == 400
    monkeypatch.undo()
    assert auth.login(password=NEW_PASSWORD).status_code == 200
    assert auth.login().status_code == 400
