"""Passkeys and the second factor together, over HTTP: a passkey's claims, a passkey as a proof
wherever a password is one (and as the step-up), and the step-up the passkey changes need with TOTP on."""

from __future__ import annotations

import json

import pytest
from mfa_helpers import TotpUser, totp_code, turn_totp_on
from test_passkeys import (
    OPTIONS,
    PASSKEYS,
    register,
    sign_in,
    sign_in_options,
)

from authenticator import DEVICE_BOUND, Authenticator
from helpers import PASSWORD, MailLog, bearer, claims_of, refresh
from providers import GOOGLE_CLIENTS

STEP_UP = {
    "success": False,
    "code": "stepUpRequired",
    "message": "Enter the code from your authenticator app.",
}


@pytest.fixture
def app(make_app):
    return make_app(**PASSKEYS)


@pytest.fixture(autouse=True)
def mail(app) -> MailLog:
    return MailLog().capture(app)


@pytest.fixture
def totp_user(client, storage, clock) -> TotpUser:
    return turn_totp_on(client, storage, clock)


def tokens_of(user: TotpUser) -> dict:
    return {"authToken": user.auth_token, "refreshToken": user.refresh_token}


def passkey_proof(client, tokens: dict, authenticator: Authenticator) -> dict:
    """A `passkey` proof: a challenge asked for with the bearer token, answered by the authenticator."""
    options = sign_in_options(client, tokens)
    return {"challengeId": options["challengeId"], "credential": authenticator.get(options["options"])}


def add_with_code(client, user: TotpUser, clock, authenticator: Authenticator):
    """Register a passkey for a TOTP user: the password and the app's code, then the authenticator."""
    body = {"password": PASSWORD, "code": totp_code(user.secret, clock)}
    options = client.post(OPTIONS, json=body, headers=bearer(user.auth_token))
    assert options.status_code == 200, options.json
    clock.advance(30)  # the code's step is used
    added = register(client, tokens_of(user), options.json, authenticator.create(options.json["options"]))
    assert added.status_code == 200, added.json
    return added.json["passkey"]


def post(client, route: str, body: dict, tokens: dict):
    return client.post(f"/api/auth/{route}", json=body, headers=bearer(tokens["authToken"]))


# Signing in with a passkey


@pytest.mark.parametrize(("flags", "kind"), [(None, "swk"), (DEVICE_BOUND, "hwk")])
def test_a_passkey_sign_in_is_two_factors_and_never_held_even_with_totp_on(
    client, totp_user, clock, flags, kind
):
    key = Authenticator() if flags is None else Authenticator(flags=flags)
    add_with_code(client, totp_user, clock, key)
    held = client.post("/api/auth/login", json={"email": totp_user.email, "password": PASSWORD})
    assert held.json["code"] == "mfaRequired"  # the password alone is held back

    login = sign_in(client, key)
    assert login.status_code == 200, login.json
    assert "mfaToken" not in login.json
    claims = claims_of(login.json["authToken"])
    assert claims["aal"] == 2
    assert set(claims["amr"]) == {kind, "user", "mfa"}
    assert claims["auth_time"] == int(clock().timestamp())
    refreshed = refresh(client, login.json["refreshToken"])
    assert claims_of(refreshed.json["authToken"])["amr"] == claims["amr"]


# Step-up on the passkey routes


def test_registering_a_passkey_with_totp_on_needs_the_code_unless_the_proof_is_a_passkey(
    client, totp_user, clock
):
    headers = bearer(totp_user.auth_token)
    refused = client.post(OPTIONS, json={"password": PASSWORD}, headers=headers)
    assert (refused.status_code, refused.json) == (400, STEP_UP | {"errors": refused.json["errors"]})
    wrong = client.post(
        OPTIONS, json={"password": PASSWORD, "code": totp_code(totp_user.secret, clock, 7)}, headers=headers
    )
    assert wrong.json["code"] == "invalidCode"
    phone = Authenticator()
    add_with_code(client, totp_user, clock, phone)

    # A passkey of the account is proof and second factor at once: no code.
    body = {"passkey": passkey_proof(client, tokens_of(totp_user), phone)}
    options = client.post(OPTIONS, json=body, headers=headers)
    assert options.status_code == 200, options.json
    laptop = Authenticator()
    added = register(client, tokens_of(totp_user), options.json, laptop.create(options.json["options"]))
    assert added.status_code == 200, added.json


def test_a_recovery_code_also_steps_up_a_passkey_registration(client, totp_user):
    body = {"password": PASSWORD, "code": totp_user.recovery_codes[0]}
    assert client.post(OPTIONS, json=body, headers=bearer(totp_user.auth_token)).status_code == 200


def test_removing_a_passkey_with_totp_on_needs_the_code_unless_the_proof_is_a_passkey(
    client, totp_user, clock
):
    phone, laptop = Authenticator(), Authenticator()
    first = add_with_code(client, totp_user, clock, phone)
    second = add_with_code(client, totp_user, clock, laptop)
    headers = bearer(totp_user.auth_token)

    refused = client.delete(f"/api/auth/passkeys/{first['id']}", json={"password": PASSWORD}, headers=headers)
    assert refused.status_code == 400 and refused.json["code"] == "stepUpRequired"
    assert refused.json["message"] == STEP_UP["message"]
    with_code = client.delete(
        f"/api/auth/passkeys/{first['id']}",
        json={"password": PASSWORD, "code": totp_code(totp_user.secret, clock)},
        headers=headers,
    )
    assert with_code.json == {"success": True}

    body = {"passkey": passkey_proof(client, tokens_of(totp_user), laptop)}
    by_passkey = client.delete(f"/api/auth/passkeys/{second['id']}", json=body, headers=headers)
    assert by_passkey.json == {"success": True}
    assert client.get("/api/auth/passkeys", headers=headers).json["passkeys"] == []


# A passkey as a proof and as the step-up of the other sensitive changes


def test_a_passkey_proves_the_owner_of_a_totp_account_without_a_code(client, totp_user, clock, mail):
    phone = Authenticator()
    add_with_code(client, totp_user, clock, phone)
    tokens = tokens_of(totp_user)

    moved = post(
        client,
        "changeEmail",
        {"passkey": passkey_proof(client, tokens, phone), "newEmail": "ada@new.example"},
        tokens,
    )
    assert moved.json == {"success": True}
    assert mail.last("change_email", "ada@new.example")

    deleted = post(client, "deleteAccount", {"passkey": passkey_proof(client, tokens, phone)}, tokens)
    assert deleted.json == {"success": True}
    assert (
        client.post("/api/auth/login", json={"email": totp_user.email, "password": PASSWORD}).status_code
        != 200
    )


def test_a_passkey_proof_must_be_this_accounts_and_this_sessions(client, totp_user, clock, storage):
    phone = Authenticator()
    add_with_code(client, totp_user, clock, phone)
    tokens = tokens_of(totp_user)
    other_session = sign_in(client, phone).json
    proof = passkey_proof(client, other_session, phone)  # bound to the other session
    answer = post(client, "changeEmail", {"passkey": proof, "newEmail": "ada@new.example"}, tokens)
    assert answer.json["code"] == "challengeInvalid"
    wrong = passkey_proof(client, tokens, phone)
    wrong["credential"]["response"]["signature"] = wrong["credential"]["response"]["signature"][:-4] + "AAAA"
    answer = post(client, "deleteAccount", {"passkey": wrong}, tokens)
    assert answer.json["code"] == "invalidPasskey"
    assert storage.users.find_by_email(totp_user.email) is not None


def test_a_passkey_is_a_step_up_second_factor(make_app, clock):
    app = make_app(**PASSKEYS, aal2_max_age=3600)
    MailLog().capture(app)
    client, storage = app.test_client(), app.extensions["auth_service"].storage
    user = turn_totp_on(client, storage, clock)
    phone = Authenticator(flags=DEVICE_BOUND)
    add_with_code(client, user, clock, phone)
    clock.advance(3601)
    stale = refresh(client, user.refresh_token).json
    assert claims_of(stale["authToken"])["aal"] == 1
    stepped = post(client, "mfa/stepUp", {"passkey": passkey_proof(client, stale, phone)}, stale)
    assert stepped.status_code == 200, stepped.json
    claims = claims_of(stepped.json["authToken"])
    assert claims["aal"] == 2 and claims["auth_time"] == int(clock().timestamp())
    assert {"hwk", "user", "mfa"} <= set(claims["amr"])


def test_mfa_status_and_users_show_count_and_list_the_passkeys(app, client, totp_user, clock):
    passkey = add_with_code(client, totp_user, clock, Authenticator())
    status = client.get("/api/auth/mfa", headers=bearer(totp_user.auth_token)).json
    assert status == {"success": True, "totp": True, "recoveryCodesLeft": 10, "passkeys": 1}
    shown = app.test_cli_runner().invoke(args=["users", "show", totp_user.email])
    assert "totp on, 10 recovery code(s) left, 1 passkey(s)" in shown.output
    [row] = [line for line in shown.output.splitlines() if line.startswith(passkey["id"])]
    assert row.split()[1:3] == ["Phone", "True"]
    as_json = app.test_cli_runner().invoke(args=["users", "show", totp_user.email, "--json"])
    [listed] = json.loads(as_json.output)["passkeys"]
    assert (listed["id"], listed["name"], listed["cloneSuspected"]) == (passkey["id"], "Phone", False)


# An account that has only passkeys


@pytest.fixture
def google_app(make_app, key_server, google):
    return make_app(**PASSKEYS, google_client_ids=GOOGLE_CLIENTS, google_jwks_url=key_server.url("google"))


def passkey_only_account(client, google) -> tuple[dict, Authenticator]:
    """Made by Google sign-in, a passkey added, Google unlinked: signed in with the passkey."""
    tokens = client.post(
        "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": google.token()}
    ).json
    options = client.post(
        OPTIONS, json={"currentIdToken": google.token()}, headers=bearer(tokens["authToken"])
    )
    phone = Authenticator()
    assert register(client, tokens, options.json, phone.create(options.json["options"])).status_code == 200
    assert (
        client.delete("/api/auth/identities/google", headers=bearer(tokens["authToken"])).status_code == 200
    )
    login = sign_in(client, phone)
    assert login.status_code == 200
    return login.json, phone


def test_an_account_with_only_passkeys_changes_its_email_and_deletes_itself(google_app, google):
    client = google_app.test_client()
    mail = MailLog().capture(google_app)
    tokens, phone = passkey_only_account(client, google)

    no_proof = post(client, "changeEmail", {"newEmail": "ada@new.example"}, tokens)
    assert (no_proof.status_code, no_proof.json["code"]) == (400, "proofRequired")
    proof = passkey_proof(client, tokens, phone)
    moved = post(client, "changeEmail", {"passkey": proof, "newEmail": "ada@new.example"}, tokens)
    assert moved.json == {"success": True}
    code = mail.last("change_email", "ada@new.example")["code"]
    confirmed = post(client, "confirmEmailChange", {"code": code}, tokens)
    assert confirmed.json["user"]["email"] == "ada@new.example"

    again = post(client, "deleteAccount", {"passkey": proof}, tokens)
    assert again.json["code"] == "challengeInvalid"  # a proof's challenge is used once
    deleted = post(client, "deleteAccount", {"passkey": passkey_proof(client, tokens, phone)}, tokens)
    assert deleted.json == {"success": True}
    assert sign_in(client, phone).json["code"] == "invalidPasskey"


def test_an_account_with_only_passkeys_links_a_sign_in_with_a_passkey(google_app, google):
    client = google_app.test_client()
    MailLog().capture(google_app)
    tokens, phone = passkey_only_account(client, google)
    body = {"provider": "google", "idToken": google.token()}
    assert post(client, "linkIdToken", body, tokens).json["code"] == "proofRequired"
    linked = post(client, "linkIdToken", body | {"passkey": passkey_proof(client, tokens, phone)}, tokens)
    assert linked.json == {"success": True}
    identities = client.get("/api/auth/identities", headers=bearer(tokens["authToken"])).json
    assert [identity["provider"] for identity in identities["identities"]] == ["google"]
