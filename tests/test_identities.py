"""Identities: linking by email, linkIdToken, listing, unlinking, and accounts without a password."""

from __future__ import annotations

import bcrypt
import pytest
import schemathesis

from app.errors import AuthError
from app.service import Client
from helpers import PASSWORD, AuthActions, at_once, bearer
from providers import epoch, hashed_nonce

ALICE_GOOGLE = "google-sub-alice"
APPLE_SUB = "001234.apple-sub.0042"


def sign_in(client, provider: str, token: str, **fields):
    return client.post("/api/auth/loginWithIdToken", json={"provider": provider, "idToken": token, **fields})


def link(client, tokens: dict, provider: str, token: str, **fields):
    """Link as the owner of a password account does (the password is the proof linkIdToken asks)."""
    fields.setdefault("password", PASSWORD)
    return client.post(
        "/api/auth/linkIdToken",
        json={"provider": provider, "idToken": token, **fields},
        headers=bearer(tokens["authToken"]),
    )


def identities(client, tokens: dict) -> list[dict]:
    response = client.get("/api/auth/identities", headers=bearer(tokens["authToken"]))
    assert response.status_code == 200, response.json
    return response.json["identities"]


def unlink(client, tokens: dict, provider: str):
    return client.delete(f"/api/auth/identities/{provider}", headers=bearer(tokens["authToken"]))


def activity_names(client, tokens: dict) -> list[tuple[str, str | None]]:
    entries = client.get("/api/auth/activity", headers=bearer(tokens["authToken"])).json["activity"]
    return [(entry["activity"], entry.get("method")) for entry in entries]


@pytest.fixture
def users(id_app):
    return id_app.extensions["auth_service"].storage.db["Users"]


@pytest.fixture
def password_user(id_client, users) -> dict:
    """Ada, signed up with a password; her email not verified yet."""
    return AuthActions(id_client).tokens("ada@example.com")


@pytest.fixture
def linking_user(password_user, users) -> dict:
    """Ada with her email verified, as linkIdToken asks."""
    verify_email(users)
    return password_user


def verify_email(users, email: str = "ada@example.com") -> None:
    users.update_one({"email": email}, {"$set": {"emailVerified": True}})


# Linking at sign-in, by email: only when both sides have verified it.


def test_a_verified_email_on_both_sides_links_to_the_existing_account(
    id_client, google, users, password_user
):
    verify_email(users)
    response = sign_in(id_client, "google", google.token())
    assert response.status_code == 200, response.json
    assert response.json["created"] is False
    assert response.json["user"]["id"] == password_user["user"]["id"]
    assert activity_names(id_client, response.json)[:2] == [("login", "google"), ("identityLinked", "google")]
    assert users.count_documents({}) == 1
    assert AuthActions(id_client).login().status_code == 200  # the password still works too


@pytest.mark.parametrize(
    ("account_verified", "provider_verified"),
    [(False, True), (True, False), (False, False)],
    ids=["account unverified", "provider unverified", "neither verified"],
)
def test_an_email_not_verified_on_both_sides_is_account_exists(
    id_client, google, users, password_user, account_verified, provider_verified
):
    if account_verified:
        verify_email(users)
    response = sign_in(id_client, "google", google.token(email_verified=provider_verified))
    assert response.status_code == 400
    assert response.json == {
        "success": False,
        "message": "An account with this email already exists. Log in with your password first.",
        "code": "accountExists",
    }
    assert identities(id_client, password_user) == []


def test_apple_says_verified_as_a_string(id_client, apple, users, password_user):
    verify_email(users)
    assert sign_in(id_client, "apple", apple.token(email_verified="false")).json["code"] == "accountExists"
    assert sign_in(id_client, "apple", apple.token(email_verified="true")).json["created"] is False


def test_a_new_account_has_no_password_and_the_providers_verification(id_client, google, apple, users):
    sign_in(id_client, "google", google.token(email_verified=False))
    sign_in(id_client, "apple", apple.token(APPLE_SUB, email="bob@privaterelay.appleid.com"))
    ada = users.find_one({"email": "ada@example.com"})
    bob = users.find_one({"email": "bob@privaterelay.appleid.com"})
    assert ada["password"] is None and ada["emailVerified"] is False
    assert bob["password"] is None and bob["emailVerified"] is True
    assert (bob["first"], bob["last"]) == ("", "")  # Apple's token has no names and the app sent none


def test_the_same_person_on_two_devices_at_once_gets_one_account(id_app, google, users):
    token = google.token()
    responses = at_once(id_app, 6, lambda client: sign_in(client, "google", token))
    assert all(response.status_code == 200 for response in responses), [r.json for r in responses]
    assert len({response.json["user"]["id"] for response in responses}) == 1
    assert sum(response.json["created"] for response in responses) == 1
    assert users.count_documents({}) == 1
    assert id_app.extensions["auth_service"].storage.db["Identities"].count_documents({}) == 1


@pytest.mark.parametrize("meanwhile", ["Identities", "Users"], ids=["identity unlinked", "account deleted"])
def test_a_login_confirms_account_and_identity_once_its_session_is_open(id_app, id_client, google, meanwhile):
    storage = id_app.extensions["auth_service"].storage
    first = sign_in(id_client, "google", google.token()).json
    open_session = storage.sessions.open

    def changed_meanwhile(*args, **kwargs):
        open_session(*args, **kwargs)
        storage.db[meanwhile].delete_many({})

    storage.sessions.open = changed_meanwhile
    response = sign_in(id_client, "google", google.token())
    assert response.status_code == 400 and response.json["code"] == "invalidIdToken"
    storage.sessions.open = open_session
    open_sessions = storage.sessions.list_open(first["user"]["id"], id_app.extensions["auth_service"].clock())
    assert len(open_sessions) == 1  # the session opened meanwhile was ended again


def test_an_identity_left_behind_by_a_deleted_account_signs_in_to_a_new_one(id_app, id_client, google, users):
    first = sign_in(id_client, "google", google.token()).json
    users.delete_many({})  # deleted, and its identities not yet
    again = sign_in(id_client, "google", google.token()).json
    assert again["created"] is True and again["user"]["id"] != first["user"]["id"]
    assert id_app.extensions["auth_service"].storage.db["Identities"].count_documents({}) == 1


# Accounts without a password.


def test_password_login_to_an_account_without_one_fails_as_usual_after_a_full_bcrypt_check(
    id_client, google, monkeypatch
):
    sign_in(id_client, "google", google.token())
    checks = []
    real_check = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(args) or real_check(*args))
    response = AuthActions(id_client).login("ada@example.com", "anything at all")
    assert response.status_code == 400
    assert response.json == {
        "success": False,
        "message": "The email or password is incorrect.",
        "code": "invalidCredentials",
    }
    assert len(checks) == 1  # the dummy hash: the same work as a wrong password


def test_change_password_without_one_says_what_to_do(id_client, google):
    tokens = sign_in(id_client, "google", google.token()).json
    response = id_client.post(
        "/api/auth/changePassword",
        json={"currentPassword": "whatever it is", "newPassword": "a brand new passphrase"},
        headers=bearer(tokens["authToken"]),
    )
    assert response.status_code == 400
    assert response.json["code"] == "noPassword"
    assert "no password" in response.json["message"]


# linkIdToken, identities, unlinking.


def test_a_signed_in_user_links_google_then_signs_in_with_it(id_client, google, linking_user, clock):
    response = link(id_client, linking_user, "google", google.token(email="ada.work@gmail.com"))
    assert response.status_code == 200 and response.json == {"success": True}
    listed = identities(id_client, linking_user)
    assert listed == [
        {
            "provider": "google",
            "email": "ada.work@gmail.com",
            "createdAt": clock().isoformat(timespec="milliseconds") + "Z",
        }
    ]
    assert activity_names(id_client, linking_user)[0] == ("identityLinked", "google")
    again = sign_in(id_client, "google", google.token(email="ada.work@gmail.com")).json
    assert again["user"]["id"] == linking_user["user"]["id"] and again["created"] is False
    assert link(id_client, linking_user, "google", google.token()).status_code == 200  # already linked: no-op
    assert len(identities(id_client, linking_user)) == 1


def test_an_identity_linked_to_another_account_cannot_be_linked(id_client, google, linking_user):
    sign_in(id_client, "google", google.token(email="someone@else.com"))
    response = link(id_client, linking_user, "google", google.token(email="someone@else.com"))
    assert response.status_code == 400 and response.json["code"] == "identityInUse"
    assert identities(id_client, linking_user) == []


def test_a_second_account_of_one_provider_must_wait_for_the_first_to_be_unlinked(
    id_client, google, linking_user
):
    assert link(id_client, linking_user, "google", google.token("first-google")).status_code == 200
    response = link(id_client, linking_user, "google", google.token("second-google"))
    assert response.status_code == 400 and response.json["code"] == "providerAlreadyLinked"
    assert unlink(id_client, linking_user, "google").status_code == 200
    assert link(id_client, linking_user, "google", google.token("second-google")).status_code == 200


def test_linking_needs_a_valid_token_and_a_signed_in_user(id_client, google, linking_user):
    assert link(id_client, linking_user, "google", google.token(aud="other")).json["code"] == "invalidIdToken"
    anonymous = id_client.post(
        "/api/auth/linkIdToken", json={"provider": "google", "idToken": google.token()}
    )
    assert anonymous.status_code == 403 and anonymous.json["code"] == "invalidToken"
    assert id_client.get("/api/auth/identities").status_code == 403


def test_unlinking_logs_it_and_a_provider_not_linked_is_404(id_client, google, linking_user):
    link(id_client, linking_user, "google", google.token())
    assert unlink(id_client, linking_user, "google").json == {"success": True}
    assert activity_names(id_client, linking_user)[0] == ("identityUnlinked", "google")
    assert identities(id_client, linking_user) == []
    for provider in ("google", "apple", "facebook"):
        response = unlink(id_client, linking_user, provider)
        assert response.status_code == 404 and response.json["success"] is False


def test_the_last_way_to_sign_in_cannot_be_unlinked(id_client, google, apple):
    tokens = sign_in(id_client, "google", google.token()).json
    response = unlink(id_client, tokens, "google")
    assert response.status_code == 400 and response.json["code"] == "lastSignInMethod"
    linked = link(id_client, tokens, "apple", apple.token(APPLE_SUB), currentIdToken=google.token())
    assert linked.status_code == 200
    assert unlink(id_client, tokens, "google").status_code == 200
    assert unlink(id_client, tokens, "apple").json["code"] == "lastSignInMethod"
    assert [identity["provider"] for identity in identities(id_client, tokens)] == ["apple"]


def test_two_unlinks_at_once_leave_one_way_in(id_app, id_client, google, apple):
    tokens = sign_in(id_client, "google", google.token()).json
    link(id_client, tokens, "apple", apple.token(APPLE_SUB), currentIdToken=google.token())
    providers = ["google", "apple"]
    responses = at_once(id_app, 2, lambda client: unlink(client, tokens, providers.pop()))
    assert sorted(response.status_code for response in responses) == [200, 400]
    assert len(identities(id_client, tokens)) == 1


# confirm_identity: what deleteAccount takes instead of a password.


def test_confirm_identity_takes_a_fresh_token_of_a_linked_provider(id_app, id_client, google, apple, clock):
    service = id_app.extensions["auth_service"]
    user_id = sign_in(id_client, "google", google.token()).json["user"]["id"]
    other_id = sign_in(id_client, "apple", apple.token(APPLE_SUB, email="bob@example.com")).json["user"]["id"]
    assert service.identities.confirm_identity(user_id, "google", google.token(), None) is None
    now = epoch(clock())
    refused = {
        "an old token": (user_id, "google", google.token(iat=now - 601, exp=now + 3000)),
        "another user's identity": (other_id, "google", google.token()),
        "a provider not linked to the user": (
            user_id,
            "apple",
            apple.token(APPLE_SUB, email="bob@example.com"),
        ),
        "an invalid token": (user_id, "google", google.token(aud="other")),
    }
    for name, (who, provider, token) in refused.items():
        with pytest.raises(AuthError) as raised:
            service.identities.confirm_identity(who, provider, token, None)
        assert raised.value.code == "invalidIdToken", name


def test_an_id_token_login_is_rate_limited_per_address(make_app, key_server, google):
    client = make_app(
        google_client_ids=google.client_ids, google_jwks_url=key_server.url("google")
    ).test_client()
    statuses = [sign_in(client, "google", "garbage").status_code for _ in range(21)]
    assert statuses == [400] * 20 + [429]


def test_every_success_answer_matches_the_document(id_app, id_client, google, apple):
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", id_app)

    def call(method: str, path: str, template: str | None = None, **kwargs):
        response = id_client.open(path, method=method, **kwargs)
        assert response.status_code < 300, response.json
        api_schema[template or path][method].validate_response(response)
        return response.json

    tokens = call(
        "POST", "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": google.token()}
    )
    headers = bearer(tokens["authToken"])
    call(
        "POST",
        "/api/auth/linkIdToken",
        json={"provider": "apple", "idToken": apple.token(APPLE_SUB), "currentIdToken": google.token()},
        headers=headers,
    )
    call("GET", "/api/auth/identities", headers=headers)
    call("DELETE", "/api/auth/identities/apple", "/api/auth/identities/{provider}", headers=headers)
    call("GET", "/api/auth/activity", headers=headers)


def test_the_service_logs_the_method_of_each_login(id_app, id_client, apple):
    service = id_app.extensions["auth_service"]
    login = service.identities.login_with_id_token(
        "apple", apple.token(APPLE_SUB), None, "Ada", None, Client("10.0.0.1", "T/1")
    )
    entries = service.activity.list(login.result.user["id"], None, 10)[0]
    assert [(entry["activity"], entry.get("method")) for entry in entries] == [
        ("login", "apple"),
        ("signup", "apple"),
    ]
    assert login.result.user["first"] == "Ada" and login.created is True


# Accounts an operator disabled or deleted.


def test_a_disabled_account_cannot_sign_in_with_an_id_token(id_app, id_client, google):
    sign_in(id_client, "google", google.token())
    assert id_app.test_cli_runner().invoke(args=["users", "disable", "ada@example.com"]).exit_code == 0
    response = sign_in(id_client, "google", google.token())
    assert response.status_code == 400 and response.json["code"] == "accountDisabled"


def test_an_account_disabled_while_its_id_token_login_runs_gets_no_session(id_app, id_client, google):
    storage = id_app.extensions["auth_service"].storage
    user_id = sign_in(id_client, "google", google.token()).json["user"]["id"]
    open_session = storage.sessions.open

    def disabled_meanwhile(*args, **kwargs):
        open_session(*args, **kwargs)
        storage.db["Users"].update_many({}, {"$set": {"disabled": True}})

    storage.sessions.open = disabled_meanwhile
    response = sign_in(id_client, "google", google.token())
    storage.sessions.open = open_session
    assert response.status_code == 400 and response.json["code"] == "accountDisabled"
    open_sessions = storage.sessions.list_open(user_id, id_app.extensions["auth_service"].clock())
    assert len(open_sessions) == 1  # the first login's; the one opened meanwhile was ended again


def test_an_operators_delete_removes_the_users_identities(id_app, id_client, google):
    sign_in(id_client, "google", google.token())
    result = id_app.test_cli_runner().invoke(args=["users", "delete", "ada@example.com", "--yes"])
    assert result.exit_code == 0, result.output
    assert id_app.extensions["auth_service"].storage.db["Identities"].count_documents({}) == 0
    assert sign_in(id_client, "google", google.token()).json["created"] is True


# deleteAccount for an account without a password: a fresh ID token of a linked provider.


def delete_account(client, tokens: dict, **body):
    return client.post("/api/auth/deleteAccount", json=body, headers=bearer(tokens["authToken"]))


def test_an_account_without_a_password_deletes_itself_with_a_fresh_id_token(id_app, id_client, google, users):
    tokens = sign_in(id_client, "google", google.token()).json
    response = delete_account(id_client, tokens, idToken=google.token())  # provider read from `iss`
    assert response.status_code == 200, response.json
    assert users.count_documents({}) == 0
    assert id_app.extensions["auth_service"].storage.db["Identities"].count_documents({}) == 0
    assert (
        id_client.post("/api/auth/refreshToken", json={"refreshToken": tokens["refreshToken"]}).status_code
        == 403
    )


def test_a_copy_of_a_token_with_its_own_nonce_claim_neither_links_nor_deletes(
    id_client, google, apple, users
):
    raw = "raw-nonce-only-the-app-knows"
    claim = hashed_nonce(raw)
    token = google.token(nonce=claim)
    tokens = sign_in(id_client, "google", token, nonce=raw).json
    # A holder of the access token and a copy of the ID token can read its nonce claim, not the raw nonce.
    apple_token = apple.token(APPLE_SUB)
    linked = link(id_client, tokens, "apple", apple_token, currentIdToken=token, currentNonce=claim)
    assert linked.status_code == 400 and linked.json["code"] == "invalidIdToken"
    assert [identity["provider"] for identity in identities(id_client, tokens)] == ["google"]
    replayed = delete_account(id_client, tokens, idToken=token, nonce=claim)
    assert replayed.status_code == 400 and replayed.json["code"] == "invalidIdToken"
    assert delete_account(id_client, tokens, idToken=token, nonce=raw).status_code == 200
    assert users.count_documents({}) == 0


def test_a_stale_or_foreign_id_token_does_not_delete_the_account(id_client, google, apple, clock, users):
    tokens = sign_in(id_client, "google", google.token()).json
    stale = google.token()
    clock.advance(11 * 60)  # older than ten minutes, though not expired
    tokens = sign_in(id_client, "google", google.token()).json
    for body in (
        {"idToken": stale},
        {"idToken": google.token("someone-else")},  # a valid token of another Google account
        {"idToken": apple.token(APPLE_SUB), "provider": "apple"},  # a provider not linked here
        {"idToken": "not a token"},
    ):
        response = delete_account(id_client, tokens, **body)
        assert response.status_code == 400 and response.json["code"] == "invalidIdToken", body
    assert users.count_documents({}) == 1
