"""Taking over an account through a linked identity, a stolen access token or a pending code."""

from __future__ import annotations

import pytest

from helpers import EXPIRED, PASSWORD, AuthActions, MailLog, bearer, refresh

VICTIM = "victim@example.com"
NEW_PASSWORD = "the owner's new passphrase"


@pytest.fixture
def mail(id_app) -> MailLog:
    return MailLog().capture(id_app)


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
    storage.identities.link(
        user_id, "apple", "owner-apple", VICTIM, True, id_app.extensions["auth_service"].clock()
    )
    id_client.post("/api/auth/resendVerification", json={"email": VICTIM})

    assert verify(id_client, mail).status_code == 200

    assert [identity["provider"] for identity in storage.identities.list(user_id)] == ["apple"]
    assert refresh(id_client, squatter.json["refreshToken"]).json == EXPIRED
    assert mail.last("identities_removed", VICTIM)["providers"] == ["Google"]
    assert sign_in(id_client, "apple", apple.token("owner-apple", email=VICTIM)).json["user"]["id"] == user_id


def test_verifying_from_a_session_of_the_account_keeps_the_password_and_the_sessions(id_client, mail):
    tokens = AuthActions(id_client).tokens(VICTIM)
    body = {"email": VICTIM, "code": mail.last_code(VICTIM)}
    response = id_client.post("/api/auth/verifyEmail", json=body, headers=bearer(tokens["authToken"]))
    assert response.json == {"success": True, "passwordRemoved": False}
    assert refresh(id_client, tokens["refreshToken"]).status_code == 200
    assert AuthActions(id_client).login(VICTIM).status_code == 200
    assert "identities_removed" not in mail.templates(VICTIM)


def test_verifying_with_the_password_keeps_it(id_client, mail):
    AuthActions(id_client).signup(VICTIM)
    body = {"email": VICTIM, "code": mail.last_code(VICTIM), "password": PASSWORD}
    assert id_client.post("/api/auth/verifyEmail", json=body).json == {
        "success": True,
        "passwordRemoved": False,
    }
    assert AuthActions(id_client).login(VICTIM).status_code == 200


def test_a_wrong_password_with_the_code_is_refused_and_leaves_the_code_usable(id_client, mail):
    AuthActions(id_client).signup(VICTIM)
    body = {"email": VICTIM, "code": mail.last_code(VICTIM), "password": "not the password"}
    wrong = id_client.post("/api/auth/verifyEmail", json=body)
    assert wrong.status_code == 400 and wrong.json["errors"] == {
        "password": ["The email or password is incorrect."]
    }
    assert id_client.post("/api/auth/verifyEmail", json=body | {"password": PASSWORD}).status_code == 200


def test_a_squatters_password_and_sessions_end_when_the_owner_first_proves_the_mailbox(
    id_client, google, mail
):
    """A squatter signs up with the victim's address; the victim verifies it, then signs in with Google."""
    squatter = AuthActions(id_client).tokens(VICTIM)

    proof = verify(id_client, mail)
    assert proof.json == {"success": True, "passwordRemoved": True}

    assert refresh(id_client, squatter["refreshToken"]).json == EXPIRED
    assert AuthActions(id_client).login(VICTIM).json["message"] == "The email or password is incorrect."
    owner = sign_in(id_client, "google", google.token("victim", email=VICTIM, email_verified=True))
    assert owner.json["created"] is False, "the owner's sign-in links into the proven account"
    assert AuthActions(id_client).login(VICTIM).status_code == 400, "the squatter's password is gone for good"
    assert recover(id_client, mail).json == {"success": True}, "the owner sets a password of their own"
    assert AuthActions(id_client).login(VICTIM, NEW_PASSWORD).status_code == 200


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
    assert missing.json["errors"] == {"password": ["Send your password to confirm it is you."]}
    assert link(id_client, owner, "google", thief_token, password=None).json == missing.json
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


# F3: what a thief asked for before the owner took the account back cannot finish afterwards.


def change_email(client, tokens: dict, new_email: str = "thief@evil.test"):
    body = {"password": PASSWORD, "newEmail": new_email}
    return client.post("/api/auth/changeEmail", json=body, headers=bearer(tokens["authToken"]))


def confirm_email_change(client, tokens: dict, code: str):
    return client.post(
        "/api/auth/confirmEmailChange", json={"code": code}, headers=bearer(tokens["authToken"])
    )


def test_an_email_change_asked_by_a_thief_cannot_be_confirmed_after_the_owners_reset(id_client, mail):
    AuthActions(id_client).signup(VICTIM)
    thief = AuthActions(id_client).login(VICTIM).json  # the thief knows the password
    assert change_email(id_client, thief).status_code == 200
    code = mail.last_code("thief@evil.test")

    assert recover(id_client, mail).status_code == 200

    response = confirm_email_change(id_client, thief, code)
    assert response.status_code == 403 and response.json["code"] == "invalidToken"
    assert AuthActions(id_client).login(VICTIM, NEW_PASSWORD).json["user"]["email"] == VICTIM


def test_logout_all_voids_the_codes_its_sessions_asked_for_and_no_other(id_app, id_client, mail):
    storage = id_app.extensions["auth_service"].storage
    tokens = AuthActions(id_client).tokens(VICTIM)
    assert change_email(id_client, tokens).status_code == 200
    user_id = tokens["user"]["id"]
    assert storage.db["OneTimeCodes"].count_documents({"userId": user_id}) == 2  # verification, email change

    id_client.post("/api/auth/logoutAll", headers=bearer(tokens["authToken"]))

    left = [code["purpose"] for code in storage.db["OneTimeCodes"].find({"userId": user_id})]
    assert left == ["verifyEmail"]  # the mailbox's code: a session holder must not void it


def test_a_password_change_voids_a_reset_code_asked_before_it(id_client, mail):
    tokens = AuthActions(id_client).tokens(VICTIM)
    id_client.post("/api/auth/forgotPassword", json={"email": VICTIM})
    code = mail.last_code(VICTIM)
    body = {"currentPassword": PASSWORD, "newPassword": "the owner's other passphrase"}
    changed = id_client.post("/api/auth/changePassword", json=body, headers=bearer(tokens["authToken"]))
    assert changed.status_code == 200

    late = {"email": VICTIM, "code": code, "newPassword": "the thief's passphrase"}
    assert id_client.post("/api/auth/resetPassword", json=late).json["code"] == "invalidCode"


def test_an_email_change_is_confirmed_only_from_the_session_that_asked(id_client, mail):
    auth = AuthActions(id_client)
    asking = auth.tokens(VICTIM)
    other = auth.login(VICTIM).json
    assert change_email(id_client, asking, "ada@new.example").status_code == 200
    code = mail.last_code("ada@new.example")

    assert confirm_email_change(id_client, other, code).json["code"] == "invalidCode"
    confirmed = confirm_email_change(id_client, asking, code)
    assert confirmed.status_code == 200 and confirmed.json["user"]["email"] == "ada@new.example"


@pytest.mark.parametrize("route", ["changeEmail", "changePassword", "deleteAccount", "linkIdToken"])
def test_an_ended_sessions_access_token_cannot_hand_the_account_over(id_client, google, owner, route):
    id_client.post("/api/auth/logoutAll", headers=bearer(owner["authToken"]))
    body = {
        "changeEmail": {"password": PASSWORD, "newEmail": "thief@evil.test"},
        "changePassword": {"currentPassword": PASSWORD, "newPassword": "the thief's passphrase"},
        "deleteAccount": {"password": PASSWORD},
        "linkIdToken": {"provider": "google", "idToken": google.token("thief"), "password": PASSWORD},
    }[route]
    response = id_client.post(f"/api/auth/{route}", json=body, headers=bearer(owner["authToken"]))
    assert response.status_code == 403 and response.json["code"] == "invalidToken"
    assert AuthActions(id_client).login("ada@example.com").status_code == 200, "the password is unchanged"


def test_an_operators_verify_email_removes_identities_linked_before_the_proof(
    id_app, id_client, google, mail
):
    """A squatter made the account with a Google identity whose provider had not verified the address."""
    squatter_token = google.token("squatter", email=VICTIM, email_verified=False)
    squatter = sign_in(id_client, "google", squatter_token).json
    assert squatter["created"] is True

    result = id_app.test_cli_runner().invoke(args=["users", "verify-email", VICTIM])

    assert result.exit_code == 0, result.output
    assert refresh(id_client, squatter["refreshToken"]).json == EXPIRED
    again = sign_in(id_client, "google", google.token("squatter", email=VICTIM, email_verified=False))
    assert again.json["code"] == "accountExists", "the identity is no longer the account's"
    assert mail.last("identities_removed", VICTIM)["providers"] == ["Google"]


def test_a_sign_in_that_links_to_a_verified_account_mails_the_owner(id_client, google, users, mail):
    AuthActions(id_client).signup(VICTIM)
    users.update_one({"email": VICTIM}, {"$set": {"emailVerified": True}})
    response = sign_in(id_client, "google", google.token("owner", email=VICTIM, email_verified=True))
    assert response.json["created"] is False
    assert mail.last("identity_linked", VICTIM)["provider"] == "Google"
