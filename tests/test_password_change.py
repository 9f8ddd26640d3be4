"""POST /api/auth/changePassword: check the current password, set a new one, end the other sessions."""

import pytest

from app.storage import USERS
from helpers import EXPIRED, INVALID, PASSWORD, bearer, refresh

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
