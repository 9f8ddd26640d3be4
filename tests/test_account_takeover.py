"""Taking over an account through a linked identity, a stolen access token or a pending code."""

from __future__ import annotations

import pytest

from helpers import EXPIRED, PASSWORD, AuthActions, MailLog, bearer, refresh

VICTIM = "victim@example.com"
NEW_PASSWORD = "the owner's new passphrase"


@pytest.fixture
def mail(id_app) -> MailLog:
    log = MailLog()
    id_app.extensions["auth_service"].mailer = log
    return log


@pytest.fixture
def users(id_app):
    return id_app.extensions["auth_service"].storage.db["Users"]


def sign_in(client, provider: str, token: str):
    return client.post("/api/auth/loginWithIdToken", json={"provider": provider, "idToken": token})


def link(client, tokens: dict, provider: str, token: str, **fields):
    return client.post(
        "/api/auth/linkIdToken",
        json={"provider": provider, "idToken": token, **fields},
        headers=bearer(tokens["authToken"]),
    )


def recover(client, mail: MailLog, email: str = VICTIM):
    """The owner of the mailbox resets the password with the mailed code."""
    client.post("/api/auth/forgotPassword", json={"email": email})
    body = {"email": email, "code": mail.last_code(email), "newPassword": NEW_PASSWORD}
    return client.post("/api/auth/resetPassword", json=body)


def verify(client, mail: MailLog, email: str = VICTIM):
    return client.post("/api/auth/verifyEmail", json={"email": email, "code": mail.last_code(email)})


# F1: an identity linked to an account before its mailbox was proven.


def test_an_unverified_account_cannot_link_an_identity(id_client, google, mail):
    squatter = AuthActions(id_client).tokens(VICTIM)  # signed up in the victim's name
    response = link(id_client, squatter, "google", google.token("squatter", email="mallory@gmail.com"))
    assert response.status_code == 400
    assert response.json["code"] == "emailNotVerified"
    assert response.json["message"] == "Please verify your email address first."
    assert sign_in(id_client, "google", google.token("squatter", email="mallory@gmail.com")).json[
        "created"
    ], "the identity was not linked: it makes an account of its own"


def test_a_password_reset_removes_an_identity_made_with_an_unverified_provider_email(id_client, google, mail):
    squatter = sign_in(id_client, "google", google.token("squatter", email=VICTIM, email_verified=False))
    assert squatter.json["created"] is True and squatter.json["user"]["emailVerified"] is False

    assert recover(id_client, mail).status_code == 200

    again = sign_in(id_client, "google", google.token("squatter", email=VICTIM, email_verified=False))
    assert again.json.get("user", {}).get("id") != squatter.json["user"]["id"]
    assert refresh(id_client, squatter.json["refreshToken"]).json == EXPIRED
    notice = mail.last("identities_removed", VICTIM)
    assert notice["providers"] == ["Google"]
    assert AuthActions(id_client).login(VICTIM, NEW_PASSWORD).status_code == 200


def test_verifying_the_email_removes_identities_linked_before_and_ends_their_sessions(
    id_app, id_client, google, apple, mail
):
    squatter = sign_in(id_client, "google", google.token("squatter", email=VICTIM, email_verified=False))
    user_id = squatter.json["user"]["id"]
    storage = id_app.extensions["auth_service"].storage
    # An identity whose provider verified this very address vouches for the mailbox: it stays.
    storage.link_identity(
        user_id, "apple", "owner-apple", VICTIM, True, id_app.extensions["auth_service"].clock()
    )
    id_client.post("/api/auth/resendVerification", json={"email": VICTIM})

    assert verify(id_client, mail).status_code == 200

    assert [identity["provider"] for identity in storage.list_identities(user_id)] == ["apple"]
    assert refresh(id_client, squatter.json["refreshToken"]).json == EXPIRED
    assert mail.last("identities_removed", VICTIM)["providers"] == ["Google"]
    assert sign_in(id_client, "apple", apple.token("owner-apple", email=VICTIM)).json["user"]["id"] == user_id


def test_verifying_an_account_with_nothing_linked_keeps_its_sessions(id_client, mail):
    tokens = AuthActions(id_client).tokens(VICTIM)
    assert verify(id_client, mail).status_code == 200
    assert refresh(id_client, tokens["refreshToken"]).status_code == 200
    assert "identities_removed" not in mail.templates(VICTIM)


def test_a_verified_account_links_an_identity(id_client, google, users, mail):
    tokens = AuthActions(id_client).tokens(VICTIM)
    users.update_one({"email": VICTIM}, {"$set": {"emailVerified": True}})
    response = link(
        id_client, tokens, "google", google.token("owner", email="owner@gmail.com"), password=PASSWORD
    )
    assert (response.status_code, response.json) == (200, {"success": True})


# F2: a stolen access token is not enough to link the thief's own identity.


@pytest.fixture
def owner(id_client, users) -> dict:
    """Ada: a password, her email verified, signed in."""
    tokens = AuthActions(id_client).tokens("ada@example.com")
    users.update_one({"email": "ada@example.com"}, {"$set": {"emailVerified": True}})
    return tokens


def test_linking_to_an_account_with_a_password_asks_for_the_password(id_client, google, owner, mail):
    thief_token = google.token("thief", email="thief@gmail.com")

    missing = link(id_client, owner, "google", thief_token)
    assert missing.status_code == 400
    assert missing.json["errors"] == {"password": ["Send your password to link a sign-in to this account."]}
    wrong = link(id_client, owner, "google", thief_token, password="not the password")
    assert wrong.status_code == 400 and wrong.json["message"] == "The current password is incorrect."
    assert sign_in(id_client, "google", thief_token).json["created"] is True, "nothing was linked"

    ok = link(id_client, owner, "google", google.token("own", email="ada@gmail.com"), password=PASSWORD)
    assert ok.status_code == 200
    assert mail.last("identity_linked", "ada@example.com")["provider"] == "Google"


def test_linking_to_an_account_without_a_password_asks_for_a_fresh_token_of_a_linked_sign_in(
    id_client, google, apple, clock, mail
):
    owner = sign_in(id_client, "google", google.token("owner", email="owner@gmail.com")).json
    thief_apple = apple.token("thief-apple", email="t@privaterelay.appleid.com")

    missing = link(id_client, owner, "apple", thief_apple)
    assert missing.status_code == 400 and "currentIdToken" in missing.json["errors"]
    foreign = link(id_client, owner, "apple", thief_apple, currentIdToken=apple.token("thief-apple"))
    assert foreign.status_code == 400 and foreign.json["code"] == "invalidIdToken"
    stale = google.token("owner", email="owner@gmail.com")
    clock.advance(11 * 60)
    old = link(id_client, owner, "apple", apple.token("thief-apple"), currentIdToken=stale)
    assert old.status_code == 400 and old.json["code"] == "invalidIdToken"
    # So the thief cannot then delete the account with their own fresh Apple token either.
    deleted = id_client.post(
        "/api/auth/deleteAccount",
        json={"idToken": apple.token("thief-apple")},
        headers=bearer(owner["authToken"]),
    )
    assert deleted.status_code == 400 and deleted.json["code"] == "invalidIdToken"

    fresh = google.token("owner", email="owner@gmail.com")
    ok = link(id_client, owner, "apple", apple.token("own-apple"), currentIdToken=fresh)
    assert ok.status_code == 200
    assert mail.last("identity_linked", "owner@gmail.com")["provider"] == "Apple"
