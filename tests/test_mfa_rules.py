"""The second factor's rules: claims, step-up, ceilings, ID-token sign-in, secrets at rest, the CLI."""

from __future__ import annotations

import base64
import json
import os

import pytest
from mfa_helpers import sign_in, totp_code, turn_totp_on, verify_email

from app.errors import AuthError, Code
from app.secret_box import SecretBox, Undecryptable
from app.storage import MFA
from helpers import PASSWORD, MailLog, bearer, claims_of, refresh


def key_text() -> str:
    return base64.b64encode(os.urandom(32)).decode()


# claims


def test_a_refreshed_token_keeps_the_session_s_factors(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    signed_in = sign_in(client, clock, user).json
    first = claims_of(signed_in["authToken"])
    clock.advance(600)
    again = claims_of(refresh(client, signed_in["refreshToken"]).json["authToken"])
    assert (again["amr"], again["aal"], again["auth_time"]) == (first["amr"], 2, first["auth_time"])


def test_aal_falls_back_to_1_after_aal2_max_age_and_step_up_brings_it_back(make_app, clock):
    app = make_app(aal2_max_age=3600)
    client, storage = app.test_client(), app.extensions["auth_service"].storage
    user = turn_totp_on(client, storage, clock)
    signed_in = sign_in(client, clock, user).json
    clock.advance(3601)
    late = claims_of(refresh(client, signed_in["refreshToken"]).json["authToken"])
    assert late["aal"] == 1 and "otp" in late["amr"]  # amr still says how it signed in
    token = refresh(client, signed_in["refreshToken"]).json["authToken"]
    stepped = client.post(
        "/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock)}, headers=bearer(token)
    )
    assert stepped.status_code == 200, stepped.json
    claims = claims_of(stepped.json["authToken"])
    assert claims["aal"] == 2 and claims["auth_time"] > late["auth_time"]
    assert claims_of(refresh(client, signed_in["refreshToken"]).json["authToken"])["aal"] == 2


def test_a_password_login_without_totp_says_pwd_and_aal_1(client, auth):
    claims = claims_of(auth.tokens()["authToken"])
    assert claims["amr"] == ["pwd"] and claims["aal"] == 1 and isinstance(claims["auth_time"], int)


def test_step_up_needs_a_code_or_a_passkey(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    headers = bearer(user.auth_token)
    assert client.post("/api/auth/mfa/stepUp", json={}, headers=headers).json["code"] == "stepUpRequired"
    wrong = client.post(
        "/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock, 7)}, headers=headers
    )
    assert wrong.json["code"] == "invalidCode"
    passkey = client.post(
        "/api/auth/mfa/stepUp", json={"passkey": {"challengeId": "c", "credential": {}}}, headers=headers
    )
    assert passkey.json["code"] == "passkeysDisabled"


# step-up of sensitive changes


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("changePassword", {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}),
        ("changeEmail", {"password": PASSWORD, "newEmail": "ada@new.example"}),
        ("deleteAccount", {"password": PASSWORD}),
    ],
)
def test_sensitive_changes_need_the_code_with_totp_on(client, storage, clock, route, body):
    user = turn_totp_on(client, storage, clock)
    headers = bearer(user.auth_token)
    refused = client.post(f"/api/auth/{route}", json=body, headers=headers)
    assert (refused.status_code, refused.json["code"]) == (400, "stepUpRequired")
    assert refused.json["message"] == "Enter the code from your authenticator app."
    done = client.post(
        f"/api/auth/{route}", json=body | {"code": totp_code(user.secret, clock)}, headers=headers
    )
    assert done.status_code == 200, done.json


def test_reset_password_takes_mfa_code_and_gives_the_mailed_code_back_without_it(client, storage, clock, app):
    user = turn_totp_on(client, storage, clock)
    mail = MailLog().capture(app)
    client.post("/api/auth/forgotPassword", json={"email": user.email})
    code = mail.last_code(user.email)
    body = {"email": user.email, "code": code, "newPassword": "a brand new passphrase"}
    missing = client.post("/api/auth/resetPassword", json=body)
    assert (missing.json["code"], list(missing.json["errors"])) == ("stepUpRequired", ["mfaCode"])
    done = client.post("/api/auth/resetPassword", json=body | {"mfaCode": totp_code(user.secret, clock)})
    assert done.status_code == 200, done.json
    clock.advance(30)
    # The second factor stays on after a reset.
    old = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.json["code"] == "invalidCredentials"
    held = client.post("/api/auth/login", json={"email": user.email, "password": "a brand new passphrase"})
    assert held.json["code"] == "mfaRequired"


# wrong codes


def test_wrong_codes_past_the_daily_ceiling_answer_429_even_for_a_right_code(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    headers = bearer(user.auth_token)
    for _ in range(10):
        wrong = client.post(
            "/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock, 5)}, headers=headers
        )
        assert wrong.json["code"] == "invalidCode"
    right = client.post("/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock)}, headers=headers)
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    clock.advance(86400)
    fresh = bearer(refresh(client, user.refresh_token).json["authToken"])
    tomorrow = client.post(
        "/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock)}, headers=fresh
    )
    assert tomorrow.status_code == 200


def test_right_codes_do_not_count_against_the_ceiling(make_app, clock):
    app = make_app(mfa_failures_per_day=2)
    client, storage = app.test_client(), app.extensions["auth_service"].storage
    user = turn_totp_on(client, storage, clock)
    for _ in range(4):
        answer = client.post(
            "/api/auth/mfa/stepUp",
            json={"code": totp_code(user.secret, clock)},
            headers=bearer(user.auth_token),
        )
        assert answer.status_code == 200, answer.json
        clock.advance(30)


def test_a_hundred_wrong_codes_in_a_row_block_totp_until_a_recovery_code(make_app, clock):
    app = make_app(mfa_failures_per_day=1000, rate_limit_enabled=False)
    client, storage = app.test_client(), app.extensions["auth_service"].storage
    user = turn_totp_on(client, storage, clock)
    headers = bearer(user.auth_token)
    for _ in range(100):
        client.post("/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock, 5)}, headers=headers)
    blocked = client.post(
        "/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock)}, headers=headers
    )
    assert blocked.json["code"] == "invalidCode" and "recovery code" in blocked.json["message"]
    assert (
        client.post(
            "/api/auth/mfa/stepUp", json={"code": user.recovery_codes[0]}, headers=headers
        ).status_code
        == 200
    )
    clock.advance(30)
    assert (
        client.post(
            "/api/auth/mfa/stepUp", json={"code": totp_code(user.secret, clock)}, headers=headers
        ).status_code
        == 200
    )


# sign in with Google or Apple


def test_an_id_token_sign_in_with_totp_on_is_held_and_links_only_after_verify(
    id_client, id_app, google, clock
):
    storage = id_app.extensions["auth_service"].storage
    user = turn_totp_on(id_client, storage, clock)
    token = google.token("g-ada", email=user.email)
    held = id_client.post("/api/auth/loginWithIdToken", json={"provider": "google", "idToken": token})
    assert held.json["code"] == "mfaRequired", held.json
    assert storage.identities.find("google", "g-ada") is None  # not linked before the second factor
    done = id_client.post(
        "/api/auth/mfa/verify",
        json={"mfaToken": held.json["mfaToken"], "code": totp_code(user.secret, clock)},
    )
    assert done.status_code == 200, done.json
    assert claims_of(done.json["authToken"])["amr"] == ["fed", "otp", "mfa"]
    assert storage.identities.find("google", "g-ada")["userId"] == done.json["user"]["id"]
    clock.advance(30)
    again = id_client.post(
        "/api/auth/loginWithIdToken",
        json={"provider": "google", "idToken": google.token("g-ada", email=user.email)},
    )
    assert again.json["code"] == "mfaRequired"  # a linked identity is held too


# secrets at rest


def test_no_plaintext_secret_in_the_database_and_it_is_bound_to_the_user(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    document = storage.db[MFA].find_one({})
    assert user.secret not in json.dumps(document, default=str)
    assert document["secret"].startswith("v1.")
    assert not any(code.replace("-", "") in json.dumps(document, default=str) for code in user.recovery_codes)
    box = storage_box(client)
    assert box.decrypt(document["secret"], document["_id"]) == user.secret
    with pytest.raises(Undecryptable):
        box.decrypt(document["secret"], "another user's id")


def storage_box(client) -> SecretBox:
    return client.application.extensions["auth_service"].second_factor.box


def test_key_rotation_keeps_old_secrets_working_and_moves_them_to_the_new_key(make_app, clock):
    old, new = key_text(), key_text()
    first = make_app(mfa_encryption_keys=(old,))
    user = turn_totp_on(first.test_client(), first.extensions["auth_service"].storage, clock)
    rotated = make_app(mfa_encryption_keys=(new, old))
    storage = rotated.extensions["auth_service"].storage
    storage.db[MFA].insert_one(first.extensions["auth_service"].storage.db[MFA].find_one({}))
    storage.db["Users"].insert_one(first.extensions["auth_service"].storage.db["Users"].find_one({}))
    client = rotated.test_client()
    assert SecretBox.from_texts((old,)).names_current_key(storage.db[MFA].find_one({})["secret"])
    assert sign_in(client, clock, user).status_code == 200  # the old key still decrypts
    moved = storage.db[MFA].find_one({})["secret"]
    assert SecretBox.from_texts((new,)).decrypt(moved, user_id_of(storage)) == user.secret  # new key alone


def user_id_of(storage) -> str:
    return storage.users.find_by_email("ada@example.com")["id"]


def test_production_without_keys_answers_mfa_unavailable(make_app):
    app = make_app(app_env="production", mfa_encryption_keys=())
    client = app.test_client()
    client.post(
        "/api/auth/signup", json={"first": "A", "last": "L", "email": "ada@example.com", "password": PASSWORD}
    )
    storage = app.extensions["auth_service"].storage
    verify_email(storage, "ada@example.com")
    token = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json[
        "authToken"
    ]
    answer = client.post("/api/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=bearer(token))
    assert (answer.status_code, answer.json["code"]) == (400, "mfaUnavailable")


def test_a_malformed_key_refuses_to_start():
    from config import ConfigError, Settings

    with pytest.raises(ConfigError):
        Settings.from_env({"MFA_ENCRYPTION_KEYS": base64.b64encode(b"short").decode()})


# the command line


def test_mfa_reset_removes_the_factor_ends_sessions_and_is_careful_after_an_email_change(
    app, client, storage, clock
):
    user = turn_totp_on(client, storage, clock)
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["users", "show", user.email, "--json"])
    assert json.loads(shown.output)["factors"] == {"totp": True, "recoveryCodesLeft": 10, "passkeys": 0}
    storage.activity.add(user_id_of(storage), "emailChanged", clock(), None, None)
    refused = runner.invoke(args=["users", "mfa-reset", user.email])
    assert refused.exit_code == 1 and "--force" in refused.output
    done = runner.invoke(args=["users", "mfa-reset", user.email, "--force"])
    assert done.exit_code == 0, done.output
    assert refresh(client, user.refresh_token).json["code"] == "refreshExpired"
    assert client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200
    entries = [entry["activity"] for entry in storage.activity.list(user_id_of(storage), None, 10)]
    assert "mfaReset" in entries


def test_disabling_voids_pending_sign_ins_even_once_enabled_again(app, client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    held = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).json["mfaToken"]
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "disable", user.email]).exit_code == 0
    assert runner.invoke(args=["users", "enable", user.email]).exit_code == 0
    answer = client.post(
        "/api/auth/mfa/verify", json={"mfaToken": held, "code": totp_code(user.secret, clock)}
    )
    assert answer.json["code"] == "mfaTokenInvalid"


def test_users_show_lists_the_factors(app, client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    shown = app.test_cli_runner().invoke(args=["users", "show", user.email])
    assert "totp on, 10 recovery code(s) left, 0 passkey(s)" in shown.output


# notices


def test_the_owner_hears_of_the_first_wrong_code_of_a_day_and_of_each_recovery_code(
    app, client, storage, clock
):
    user = turn_totp_on(client, storage, clock)
    mail = MailLog().capture(app)
    for _ in range(3):
        sign_in(client, clock, user, totp_code(user.secret, clock, 5))
    assert mail.templates(user.email) == ["mfa_wrong_code"]
    sign_in(client, clock, user, user.recovery_codes[0])
    assert mail.templates(user.email)[-1] == "recovery_code_used"
    assert mail.last("recovery_code_used", user.email)["left"] == 9
    clock.advance(86400)
    sign_in(client, clock, user, totp_code(user.secret, clock, 5))
    assert mail.templates(user.email).count("mfa_wrong_code") == 2


# accounts without a password, and linking


def test_an_account_without_a_password_sets_totp_up_with_a_fresh_id_token(id_client, id_app, google, clock):
    made = id_client.post(
        "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": google.token("g-1")}
    )
    headers = bearer(made.json["authToken"])
    no_proof = id_client.post("/api/auth/mfa/totp/setup", json={}, headers=headers)
    assert (no_proof.json["code"], list(no_proof.json["errors"])) == ("proofRequired", ["currentIdToken"])
    set_up = id_client.post(
        "/api/auth/mfa/totp/setup", json={"currentIdToken": google.token("g-1")}, headers=headers
    )
    assert set_up.status_code == 200, set_up.json
    secret = set_up.json["secret"]
    enabled = id_client.post(
        "/api/auth/mfa/totp/enable", json={"code": totp_code(secret, clock)}, headers=headers
    )
    assert claims_of(enabled.json["authToken"])["amr"] == ["fed", "otp", "mfa"]
    clock.advance(30)
    held = id_client.post(
        "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": google.token("g-1")}
    )
    assert held.json["code"] == "mfaRequired"


def test_linking_a_sign_in_needs_the_code_with_totp_on(id_client, id_app, apple, clock):
    storage = id_app.extensions["auth_service"].storage
    user = turn_totp_on(id_client, storage, clock)
    body = {"provider": "apple", "idToken": apple.token("a-1", email=user.email), "password": PASSWORD}
    headers = bearer(user.auth_token)
    assert (
        id_client.post("/api/auth/linkIdToken", json=body, headers=headers).json["code"] == "stepUpRequired"
    )
    linked = id_client.post(
        "/api/auth/linkIdToken", json=body | {"code": totp_code(user.secret, clock)}, headers=headers
    )
    assert linked.status_code == 200, linked.json


# the passkey proof's extension point


class FakePasskeys:
    """Stands in for the passkey part: accepts the challenge `good` as a synced passkey of anyone."""

    def check_proof(self, user: dict, session_id: str, assertion) -> tuple[str, ...]:
        if assertion.challenge_id != "good":
            raise AuthError(Code.INVALID_CODE, "The passkey could not be verified.")
        return ("swk", "user")

    def count(self, user_id: str) -> int:
        return 2


def test_a_plugged_in_passkey_verifier_serves_as_proof_and_second_factor(app, client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    object.__setattr__(app.extensions["auth_service"].mfa.proofs, "passkeys", FakePasskeys())  # test-only
    headers = bearer(user.auth_token)
    assert client.get("/api/auth/mfa", headers=headers).json["passkeys"] == 2
    passkey = {"challengeId": "good", "credential": {"id": "x"}}
    stepped = client.post("/api/auth/mfa/stepUp", json={"passkey": passkey}, headers=headers)
    assert stepped.status_code == 200, stepped.json
    assert claims_of(stepped.json["authToken"])["amr"] == ["pwd", "otp", "mfa", "swk", "user"]
    codes = client.post("/api/auth/mfa/recoveryCodes", json={"passkey": passkey}, headers=headers)
    assert codes.status_code == 200 and len(codes.json["recoveryCodes"]) == 10
    bad = client.post(
        "/api/auth/mfa/stepUp", json={"passkey": passkey | {"challengeId": "bad"}}, headers=headers
    )
    assert bad.status_code == 400
    # Turning TOTP off takes a code whatever the proof.
    no_code = client.post("/api/auth/mfa/totp/disable", json={"passkey": passkey}, headers=headers)
    assert no_code.json["code"] == "stepUpRequired"
    off = client.post(
        "/api/auth/mfa/totp/disable",
        json={"passkey": passkey, "code": totp_code(user.secret, clock)},
        headers=headers,
    )
    assert off.status_code == 200, off.json


def test_a_secret_under_a_dropped_key_answers_mfa_unavailable_and_recovery_codes_still_work(make_app, clock):
    old = key_text()
    first = make_app(mfa_encryption_keys=(old,))
    user = turn_totp_on(first.test_client(), first.extensions["auth_service"].storage, clock)
    dropped = make_app(mfa_encryption_keys=(key_text(),))
    storage = dropped.extensions["auth_service"].storage
    for collection in (MFA, "Users"):
        storage.db[collection].insert_one(
            first.extensions["auth_service"].storage.db[collection].find_one({})
        )
    client = dropped.test_client()
    assert sign_in(client, clock, user).json["code"] == "mfaUnavailable"
    assert sign_in(client, clock, user, user.recovery_codes[0]).status_code == 200
