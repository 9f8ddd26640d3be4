"""TOTP through the whole flow, on the test clock: setup, enable, sign-in, replay, recovery codes, disable."""

from __future__ import annotations

from mfa_helpers import sign_in, totp_code, turn_totp_on, verify_email

from helpers import PASSWORD, bearer, claims_of, refresh


def test_setup_shows_a_160_bit_secret_and_an_otpauth_url(client, storage):
    client.post(
        "/api/auth/signup",
        json={"first": "Ada", "last": "L", "email": "ada@example.com", "password": PASSWORD},
    )
    verify_email(storage, "ada@example.com")
    token = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json[
        "authToken"
    ]
    answer = client.post("/api/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=bearer(token))
    assert answer.status_code == 200
    secret = answer.json["secret"]
    assert len(secret) == 32  # base32 of 20 bytes
    assert answer.json["otpauthUrl"] == (
        f"otpauth://totp/Auth%20server:ada@example.com?secret={secret}&issuer=Auth%20server"
    )
    assert client.get("/api/auth/mfa", headers=bearer(token)).json == {
        "success": True,
        "totp": False,
        "recoveryCodesLeft": 0,
        "passkeys": 0,
    }


def test_setup_needs_the_proof_and_a_verified_address(client, storage):
    client.post(
        "/api/auth/signup",
        json={"first": "Ada", "last": "L", "email": "ada@example.com", "password": PASSWORD},
    )
    token = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json[
        "authToken"
    ]
    unverified = client.post("/api/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=bearer(token))
    assert unverified.json["code"] == "emailNotVerified"
    verify_email(storage, "ada@example.com")
    wrong = client.post(
        "/api/auth/mfa/totp/setup", json={"password": "not the password"}, headers=bearer(token)
    )
    assert (wrong.status_code, wrong.json["code"]) == (400, "invalidCredentials")
    passkey = client.post(
        "/api/auth/mfa/totp/setup",
        json={"passkey": {"challengeId": "c", "credential": {}}},
        headers=bearer(token),
    )
    assert passkey.json["code"] == "passkeysDisabled"


def test_enable_gives_ten_recovery_codes_and_an_aal2_token_and_ends_weaker_sessions(client, storage, clock):
    other = None
    client.post(
        "/api/auth/signup",
        json={"first": "Ada", "last": "L", "email": "ada@example.com", "password": PASSWORD},
    )
    verify_email(storage, "ada@example.com")
    other = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json
    user = turn_totp_on(client, storage, clock)
    assert len(user.recovery_codes) == 10
    assert all(len(code) == 11 and code[5] == "-" for code in user.recovery_codes)
    claims = claims_of(user.auth_token)
    assert claims["aal"] == 2 and {"pwd", "otp", "mfa"} <= set(claims["amr"])
    assert refresh(client, other["refreshToken"]).json["code"] == "refreshExpired"
    assert refresh(client, user.refresh_token).status_code == 200  # the enabling session stays
    assert client.get("/api/auth/mfa", headers=bearer(user.auth_token)).json["totp"] is True
    activity = [
        entry["activity"]
        for entry in client.get("/api/auth/activity", headers=bearer(user.auth_token)).json["activity"]
    ]
    assert "mfaEnabled" in activity


def test_enable_refuses_a_wrong_code_and_needs_a_pending_setup(client, storage, clock):
    client.post(
        "/api/auth/signup",
        json={"first": "Ada", "last": "L", "email": "ada@example.com", "password": PASSWORD},
    )
    verify_email(storage, "ada@example.com")
    token = client.post("/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json[
        "authToken"
    ]
    none = client.post("/api/auth/mfa/totp/enable", json={"code": "123456"}, headers=bearer(token))
    assert none.json["code"] == "mfaSetupMissing"
    secret = client.post("/api/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=bearer(token)).json[
        "secret"
    ]
    wrong = client.post(
        "/api/auth/mfa/totp/enable", json={"code": totp_code(secret, clock, steps=5)}, headers=bearer(token)
    )
    assert (wrong.status_code, wrong.json["code"]) == (400, "invalidCode")
    assert client.get("/api/auth/mfa", headers=bearer(token)).json["totp"] is False


def test_login_then_verify_opens_an_aal2_session(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    held = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert held.status_code == 400
    assert held.json["code"] == "mfaRequired"
    assert held.json["message"] == "Enter the code from your authenticator app."
    assert "authToken" not in held.json and len(held.json["mfaToken"]) >= 22
    answer = client.post(
        "/api/auth/mfa/verify",
        json={"mfaToken": held.json["mfaToken"], "code": totp_code(user.secret, clock)},
    )
    assert answer.status_code == 200, answer.json
    assert set(answer.json) >= {"authToken", "refreshToken", "user"}
    claims = claims_of(answer.json["authToken"])
    assert (claims["aal"], claims["amr"]) == (2, ["pwd", "otp", "mfa"])
    entry = client.get("/api/auth/activity", headers=bearer(answer.json["authToken"])).json["activity"][0]
    assert (entry["activity"], entry["method"], entry["secondFactor"]) == ("login", "password", "totp")


def test_an_mfa_token_is_single_use_and_dies_after_five_minutes_or_five_wrong_codes(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    held = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).json["mfaToken"]
    assert (
        client.post(
            "/api/auth/mfa/verify", json={"mfaToken": held, "code": totp_code(user.secret, clock)}
        ).status_code
        == 200
    )
    clock.advance(30)
    again = client.post(
        "/api/auth/mfa/verify", json={"mfaToken": held, "code": totp_code(user.secret, clock)}
    )
    assert again.json["code"] == "mfaTokenInvalid"
    assert again.json["message"] == "Your sign-in has expired. Log in again."

    late = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).json["mfaToken"]
    clock.advance(301)
    assert (
        client.post(
            "/api/auth/mfa/verify", json={"mfaToken": late, "code": totp_code(user.secret, clock)}
        ).json["code"]
        == "mfaTokenInvalid"
    )

    guessed = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).json[
        "mfaToken"
    ]
    for _ in range(5):
        wrong = client.post(
            "/api/auth/mfa/verify", json={"mfaToken": guessed, "code": totp_code(user.secret, clock, 9)}
        )
        assert wrong.json["code"] == "invalidCode"
    right = client.post(
        "/api/auth/mfa/verify", json={"mfaToken": guessed, "code": totp_code(user.secret, clock)}
    )
    assert right.json["code"] == "mfaTokenInvalid"


def test_a_code_is_accepted_once_and_an_earlier_step_never_again(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    code = totp_code(user.secret, clock)
    assert sign_in(client, clock, user, code).status_code == 200
    replay = sign_in(client, clock, user, code)
    assert replay.json["code"] == "invalidCode"
    earlier = sign_in(client, clock, user, totp_code(user.secret, clock, steps=-1))
    assert earlier.json["code"] == "invalidCode"
    clock.advance(30)
    assert sign_in(client, clock, user).status_code == 200


def test_one_step_either_side_is_accepted(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    assert sign_in(client, clock, user, totp_code(user.secret, clock, steps=1)).status_code == 200
    assert sign_in(client, clock, user, totp_code(user.secret, clock, steps=2)).json["code"] == "invalidCode"


def test_a_password_change_voids_pending_sign_ins(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    held = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).json["mfaToken"]
    changed = client.post(
        "/api/auth/changePassword",
        json={
            "currentPassword": PASSWORD,
            "newPassword": "a brand new passphrase",
            "code": totp_code(user.secret, clock),
        },
        headers=bearer(user.auth_token),
    )
    assert changed.status_code == 200, changed.json
    clock.advance(30)
    answer = client.post(
        "/api/auth/mfa/verify", json={"mfaToken": held, "code": totp_code(user.secret, clock)}
    )
    assert answer.json["code"] == "mfaTokenInvalid"


def test_recovery_codes_work_once_each_in_any_spelling(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    first = user.recovery_codes[0]
    answer = sign_in(client, clock, user, " " + first.upper().replace("-", " ") + " ")
    assert answer.status_code == 200, answer.json
    assert answer.json["recoveryCodesLeft"] == 9
    entry = client.get("/api/auth/activity", headers=bearer(answer.json["authToken"])).json["activity"][0]
    assert entry["secondFactor"] == "recoveryCode"
    assert sign_in(client, clock, user, first).json["code"] == "invalidCode"
    status = client.get("/api/auth/mfa", headers=bearer(answer.json["authToken"])).json
    assert status["recoveryCodesLeft"] == 9


def test_regenerating_recovery_codes_needs_a_totp_code_and_retires_the_old_ones(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    headers = bearer(user.auth_token)
    missing = client.post("/api/auth/mfa/recoveryCodes", json={}, headers=headers)
    assert missing.json["code"] == "stepUpRequired"
    by_recovery = client.post(
        "/api/auth/mfa/recoveryCodes", json={"code": user.recovery_codes[0]}, headers=headers
    )
    assert by_recovery.json["code"] == "invalidCode"
    fresh = client.post(
        "/api/auth/mfa/recoveryCodes", json={"code": totp_code(user.secret, clock)}, headers=headers
    )
    assert fresh.status_code == 200 and len(fresh.json["recoveryCodes"]) == 10
    assert sign_in(client, clock, user, user.recovery_codes[1]).json["code"] == "invalidCode"
    assert sign_in(client, clock, user, fresh.json["recoveryCodes"][0]).status_code == 200


def test_disable_needs_a_proof_and_a_code_then_login_needs_neither(client, storage, clock):
    user = turn_totp_on(client, storage, clock)
    headers = bearer(user.auth_token)
    no_code = client.post("/api/auth/mfa/totp/disable", json={"password": PASSWORD}, headers=headers)
    assert no_code.json["code"] == "stepUpRequired"
    no_proof = client.post(
        "/api/auth/mfa/totp/disable", json={"code": totp_code(user.secret, clock)}, headers=headers
    )
    assert no_proof.json["code"] == "proofRequired"
    held = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).json["mfaToken"]
    off = client.post(
        "/api/auth/mfa/totp/disable",
        json={"password": PASSWORD, "code": totp_code(user.secret, clock)},
        headers=headers,
    )
    assert off.status_code == 200, off.json
    assert client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200
    assert client.get("/api/auth/mfa", headers=headers).json == {
        "success": True,
        "totp": False,
        "recoveryCodesLeft": 0,
        "passkeys": 0,
    }
    clock.advance(30)
    assert (
        client.post("/api/auth/mfa/verify", json={"mfaToken": held, "code": user.recovery_codes[0]}).json[
            "code"
        ]
        == "mfaTokenInvalid"
    )
