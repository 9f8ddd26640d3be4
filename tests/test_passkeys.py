"""Passkeys over HTTP: a software authenticator registers and signs in against the test app."""

from __future__ import annotations

import hashlib

import pytest

from authenticator import BE, BS, DEVICE_BOUND, SYNCED, UP, UV, Authenticator, b64url, from_b64url
from helpers import PASSWORD, AuthActions, MailLog, bearer, refresh
from providers import GOOGLE_CLIENTS

RP_ID = "example.test"
ORIGIN = "https://example.test"
ANDROID = "android:apk-key-hash:" + b64url(hashlib.sha256(b"the app's signing certificate").digest())
PASSKEYS = {"webauthn_rp_id": RP_ID, "webauthn_origins": (ORIGIN, ANDROID), "rate_limit_enabled": False}
OPTIONS = "/api/auth/passkeys/registrationOptions"
REGISTER = "/api/auth/passkeys/register"
AUTH_OPTIONS = "/api/auth/passkeys/authenticationOptions"
LOGIN = "/api/auth/passkeys/login"
INVALID = {"success": False, "message": "The passkey could not be verified.", "code": "invalidPasskey"}


@pytest.fixture
def app(make_app):
    return make_app(**PASSKEYS)


@pytest.fixture
def storage(app):
    return app.extensions["auth_service"].storage


@pytest.fixture(autouse=True)
def mail(app) -> MailLog:
    return MailLog().capture(app)


@pytest.fixture
def ada(client, storage) -> dict:
    """A signed-in user with a password and a verified email."""
    return signed_up(client, storage, "ada@example.com")


def signed_up(client, storage, email: str) -> dict:
    auth = AuthActions(client)
    auth.signup(email)
    storage.users.set_email_verified(storage.users.find_by_email(email)["id"], email)
    return auth.login(email).json


def registration_options(client, tokens: dict, **proof) -> dict:
    response = client.post(OPTIONS, json=proof or {"password": PASSWORD}, headers=bearer(tokens["authToken"]))
    assert response.status_code == 200, response.json
    return response.json


def register(client, tokens: dict, options: dict, credential: dict, name: str = "Phone"):
    body = {"challengeId": options["challengeId"], "credential": credential, "name": name}
    return client.post(REGISTER, json=body, headers=bearer(tokens["authToken"]))


def add_passkey(client, tokens: dict, authenticator: Authenticator, **create):
    options = registration_options(client, tokens)
    return register(client, tokens, options, authenticator.create(options["options"], **create))


def sign_in_options(client, tokens: dict | None = None) -> dict:
    headers = bearer(tokens["authToken"]) if tokens else {}
    response = client.post(AUTH_OPTIONS, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def sign_in(client, authenticator: Authenticator, options: dict | None = None, **get):
    options = options or sign_in_options(client)
    credential = authenticator.get(options["options"], **get)
    return client.post(LOGIN, json={"challengeId": options["challengeId"], "credential": credential})


def passkeys(client, tokens: dict) -> list[dict]:
    return client.get("/api/auth/passkeys", headers=bearer(tokens["authToken"])).json["passkeys"]


def activity(client, tokens: dict) -> list[dict]:
    return client.get("/api/auth/activity", headers=bearer(tokens["authToken"])).json["activity"]


def test_a_synced_passkey_registers_and_signs_in(client, ada, clock):
    options = registration_options(client, ada)["options"]
    assert options["rp"]["id"] == RP_ID
    assert len(from_b64url(options["user"]["id"])) == 32
    assert [param["alg"] for param in options["pubKeyCredParams"]] == [-7, -8, -257]
    selection = options["authenticatorSelection"]
    assert (selection["residentKey"], selection["userVerification"]) == ("required", "required")
    assert options.get("attestation", "none") == "none" and options["excludeCredentials"] == []

    phone = Authenticator()
    added = add_passkey(client, ada, phone)
    assert added.status_code == 200, added.json
    assert added.json["passkey"]["name"] == "Phone" and added.json["passkey"]["lastUsedAt"] is None

    clock.advance(60)
    login = sign_in(client, phone)
    assert login.status_code == 200, login.json
    assert login.json["user"]["email"] == "ada@example.com"
    me = client.get("/api/auth/me", headers=bearer(login.json["authToken"]))
    assert me.json["user"]["email"] == "ada@example.com"
    assert sign_in(client, phone).status_code == 200  # a synced passkey's counter stays 0
    [listed] = passkeys(client, ada)
    assert listed["synced"] is True and listed["lastUsedAt"] is not None
    logins = [entry for entry in activity(client, ada) if entry["activity"] == "login"]
    assert logins[0]["method"] == "passkey"
    assert "passkeyAdded" in [entry["activity"] for entry in activity(client, ada)]


def test_the_user_handle_is_stable_and_registered_passkeys_are_excluded(client, ada):
    first = registration_options(client, ada)["options"]
    phone = Authenticator()
    assert register(client, ada, {"challengeId": registration_options(client, ada)["challengeId"]}, {}).json[
        "code"
    ] in {"missingFields", "invalidPasskey"}
    again = registration_options(client, ada)
    assert register(client, ada, again, phone.create(again["options"])).status_code == 200
    later = registration_options(client, ada)["options"]
    assert later["user"]["id"] == first["user"]["id"]
    assert [item["id"] for item in later["excludeCredentials"]] == [phone.id]


def test_a_credential_registered_already_is_refused(client, ada, storage):
    bob = signed_up(client, storage, "bob@example.com")
    phone = Authenticator()
    assert add_passkey(client, ada, phone).status_code == 200
    assert add_passkey(client, bob, phone).json == INVALID
    assert add_passkey(client, ada, phone).json == INVALID


def test_a_device_bound_passkey_from_an_android_app(client, ada):
    key = Authenticator(origin=ANDROID, flags=DEVICE_BOUND)
    assert add_passkey(client, ada, key).status_code == 200
    assert passkeys(client, ada)[0]["synced"] is False
    assert sign_in(client, key).status_code == 200
    assert sign_in(client, key).status_code == 200  # the counter went up by one each time


@pytest.mark.parametrize(
    "wrong",
    [
        {"origin": "https://evil.test"},
        {"origin": "http://example.test"},
        {"origin": "android:apk-key-hash:" + b64url(hashlib.sha256(b"a repackaged app").digest())},
        {"rp_id": "evil.test"},
        {"flags": UV | BE | BS},  # no user presence
        {"flags": UP | BE | BS},  # no user verification
        {"flags": UP | UV | BS},  # backed up without being backup-eligible
    ],
)
def test_registration_refuses_a_wrong_origin_rp_id_or_flags(client, ada, wrong):
    phone = Authenticator()
    assert add_passkey(client, ada, phone, **wrong).json == INVALID
    assert passkeys(client, ada) == []


def test_registration_refuses_an_algorithm_not_offered_and_a_key_off_its_curve(client, ada):
    import cbor2

    phone = Authenticator()
    es384 = cbor2.loads(phone.cose_key()) | {3: -35}
    assert add_passkey(client, ada, phone, cose_key=cbor2.dumps(es384)).json == INVALID
    assert add_passkey(client, ada, phone, cose_key=phone.cose_key(x=b"\x01" * 32)).json == INVALID
    assert passkeys(client, ada) == []


@pytest.mark.parametrize(
    "wrong",
    [
        {"origin": "https://evil.test"},
        {"rp_id": "evil.test"},
        {"flags": UP | BE | BS},  # no user verification
        {"flags": UP | UV},  # not backup-eligible, though registered so
        {"forge": True},
        {"user_handle": b"\x00" * 32},
    ],
)
def test_sign_in_refuses_a_wrong_origin_rp_id_flags_signature_or_user_handle(client, ada, wrong):
    phone = Authenticator()
    add_passkey(client, ada, phone)
    assert sign_in(client, phone, **wrong).json == INVALID
    assert sign_in(client, phone).status_code == 200  # nothing was marked


def test_an_unknown_credential_is_refused(client, ada):
    stranger = Authenticator()
    stranger.user_handle = b"\x01" * 32
    assert sign_in(client, stranger).json == INVALID


def test_a_challenge_is_used_once_and_lives_five_minutes(client, ada, clock):
    phone = Authenticator()
    add_passkey(client, ada, phone)
    options = sign_in_options(client)
    assert sign_in(client, phone, options).status_code == 200
    assert sign_in(client, phone, options).json["code"] == "challengeInvalid"
    options = sign_in_options(client)
    clock.advance(301)
    assert sign_in(client, phone, options).json["code"] == "challengeInvalid"
    options = registration_options(client, ada)
    clock.advance(301)
    assert register(client, ada, options, Authenticator().create(options["options"])).json["code"] == (
        "challengeInvalid"
    )


def test_a_challenge_answers_only_its_purpose_user_and_session(client, ada, storage):
    bob = signed_up(client, storage, "bob@example.com")
    phone = Authenticator()
    adas_options = registration_options(client, ada)
    response = register(client, bob, adas_options, phone.create(adas_options["options"]))
    assert response.json["code"] == "challengeInvalid"
    other_session = AuthActions(client).login().json
    adas_options = registration_options(client, ada)
    response = register(client, other_session, adas_options, phone.create(adas_options["options"]))
    assert response.json["code"] == "challengeInvalid"
    add_passkey(client, ada, phone)
    proof = sign_in_options(client, ada)  # with the bearer token: a proof, not a sign-in
    assert [item["id"] for item in proof["options"]["allowCredentials"]] == [phone.id]
    assert sign_in(client, phone, proof).json["code"] == "challengeInvalid"
    login = sign_in_options(client)
    assert login["options"]["allowCredentials"] == [] and login["options"]["userVerification"] == "required"
    response = register(
        client, ada, login, Authenticator().create({**login["options"], "user": {"id": "AA"}})
    )
    assert response.json["code"] == "challengeInvalid"


def test_a_counter_that_goes_backwards_marks_the_passkey_and_ends_its_sessions(client, ada):
    key = Authenticator(flags=DEVICE_BOUND)
    add_passkey(client, ada, key)
    assert sign_in(client, key, sign_count=3).status_code == 200
    session = sign_in(client, key, sign_count=5).json
    assert sign_in(client, key, sign_count=6, forge=True).json == INVALID  # a forgery marks nothing
    assert sign_in(client, key, sign_count=6).status_code == 200

    assert sign_in(client, key, sign_count=6).json == INVALID  # a copy of the key, one step behind
    assert sign_in(client, key, sign_count=50).json == INVALID  # marked: refused from now on
    assert refresh(client, session["refreshToken"]).json["code"] == "refreshExpired"
    assert "passkeyCloneSuspected" in [entry["activity"] for entry in activity(client, ada)]
    assert sign_in_options(client, ada)["options"]["allowCredentials"] == []  # offered no more
    excluded = registration_options(client, ada)["options"]["excludeCredentials"]
    assert [item["id"] for item in excluded] == [key.id]  # nor registered again


def test_a_non_zero_counter_that_repeats_or_falls_to_zero_is_a_clone(client, ada):
    key = Authenticator(flags=DEVICE_BOUND)
    add_passkey(client, ada, key)
    assert sign_in(client, key, sign_count=2).status_code == 200
    assert sign_in(client, key, sign_count=0).json == INVALID
    assert sign_in(client, key, sign_count=3).json == INVALID


def test_a_disabled_account_is_refused_after_the_signature(client, ada, storage, app):
    phone = Authenticator()
    add_passkey(client, ada, phone)
    user = storage.users.find_by_email("ada@example.com")
    app.extensions["auth_service"].operators.disable(user)
    assert sign_in(client, phone, forge=True).json == INVALID
    assert sign_in(client, phone).json["code"] == "accountDisabled"


def test_removing_a_passkey_needs_a_proof_and_ends_the_sessions_it_opened(client, ada, storage):
    phone = Authenticator()
    passkey = add_passkey(client, ada, phone).json["passkey"]
    opened = sign_in(client, phone).json
    url = f"/api/auth/passkeys/{passkey['id']}"
    wrong = client.delete(url, json={"password": "not the password"}, headers=bearer(ada["authToken"]))
    assert wrong.status_code == 400 and passkeys(client, ada) != []
    bob = signed_up(client, storage, "bob@example.com")
    assert (
        client.delete(url, json={"password": PASSWORD}, headers=bearer(bob["authToken"])).status_code == 404
    )
    removed = client.delete(url, json={"password": PASSWORD}, headers=bearer(ada["authToken"]))
    assert removed.json == {"success": True}
    assert passkeys(client, ada) == []
    assert refresh(client, opened["refreshToken"]).json["code"] == "refreshExpired"
    assert refresh(client, ada["refreshToken"]).status_code == 200
    assert "passkeyRemoved" in [entry["activity"] for entry in activity(client, ada)]
    assert sign_in(client, phone).json == INVALID


def test_renaming_a_passkey(client, ada, storage):
    passkey = add_passkey(client, ada, Authenticator()).json["passkey"]
    url = f"/api/auth/passkeys/{passkey['id']}"
    renamed = client.patch(url, json={"name": "Work laptop"}, headers=bearer(ada["authToken"]))
    assert renamed.json["passkey"]["name"] == "Work laptop"
    bob = signed_up(client, storage, "bob@example.com")
    assert client.patch(url, json={"name": "Mine"}, headers=bearer(bob["authToken"])).status_code == 404
    assert client.patch(url, json={"name": ""}, headers=bearer(ada["authToken"])).status_code == 400


def test_registration_needs_the_owners_proof_and_a_verified_email(client, ada, storage):
    response = client.post(OPTIONS, json={"password": "not the password"}, headers=bearer(ada["authToken"]))
    assert response.status_code == 400 and "challengeId" not in response.json
    assert client.post(OPTIONS, json={}, headers=bearer(ada["authToken"])).json["code"] == "proofRequired"
    AuthActions(client).signup("carol@example.com")
    carol = AuthActions(client).login("carol@example.com").json
    response = client.post(OPTIONS, json={"password": PASSWORD}, headers=bearer(carol["authToken"]))
    assert response.json["code"] == "emailNotVerified"


def test_a_passkey_proves_the_owner_for_another_passkey(client, ada, storage):
    phone, laptop = Authenticator(), Authenticator()
    add_passkey(client, ada, phone)
    proof = sign_in_options(client, ada)
    body = {"passkey": {"challengeId": proof["challengeId"], "credential": phone.get(proof["options"])}}
    options = client.post(OPTIONS, json=body, headers=bearer(ada["authToken"])).json
    assert register(client, ada, options, laptop.create(options["options"])).status_code == 200
    bob = signed_up(client, storage, "bob@example.com")
    proof = sign_in_options(client, bob)  # bob's challenge, answered with ada's passkey
    body = {"passkey": {"challengeId": proof["challengeId"], "credential": phone.get(proof["options"])}}
    assert client.post(OPTIONS, json=body, headers=bearer(bob["authToken"])).json == INVALID


def test_deleting_the_account_deletes_its_passkeys(client, ada, storage):
    phone = Authenticator()
    add_passkey(client, ada, phone)
    deleted = client.post(
        "/api/auth/deleteAccount", json={"password": PASSWORD}, headers=bearer(ada["authToken"])
    )
    assert deleted.status_code == 200
    assert sign_in(client, phone).json == INVALID
    assert storage.db["Passkeys"].count_documents({}) == 0


def test_passkeys_are_off_without_an_rp_id(make_app):
    client = make_app().test_client()
    response = client.post(AUTH_OPTIONS)
    assert response.status_code == 400 and response.json["code"] == "passkeysDisabled"
    assert client.get("/.well-known/apple-app-site-association").status_code == 404
    assert client.get("/.well-known/assetlinks.json").status_code == 404


def test_the_well_known_documents_name_the_apps(make_app):
    fingerprint = ":".join(["AB"] * 32)
    client = make_app(
        webauthn_ios_app_ids=("ABCDE12345.com.example.app",),
        webauthn_android_apps=(f"com.example.app:{fingerprint}",),
    ).test_client()
    apple = client.get("/.well-known/apple-app-site-association")
    assert apple.status_code == 200 and apple.json == {
        "webcredentials": {"apps": ["ABCDE12345.com.example.app"]}
    }
    google = client.get("/.well-known/assetlinks.json")
    assert google.json == [
        {
            "relation": ["delegate_permission/common.get_login_creds"],
            "target": {
                "namespace": "android_app",
                "package_name": "com.example.app",
                "sha256_cert_fingerprints": [fingerprint],
            },
        }
    ]


def test_the_first_proof_of_the_mailbox_removes_passkeys_registered_before(client, storage, mail, clock):
    AuthActions(client).signup("eve@example.com")
    user = storage.users.find_by_email("eve@example.com")
    # Registration asks for a verified email: a passkey stored before the proof came another way.
    stored = {"credentialId": "c2F0", "userHandle": "aGk", "publicKey": b"k", "signCount": 0, "synced": True}
    storage.passkeys.add("squatter", user["id"], stored | {"name": "Squatter", "transports": []}, clock())
    body = {"email": "eve@example.com", "code": mail.last_code("eve@example.com")}
    assert client.post("/api/auth/verifyEmail", json=body).status_code == 200
    assert storage.passkeys.list_for_user(user["id"]) == []


def test_the_owner_is_mailed_when_a_passkey_is_added_or_removed(client, ada, mail):
    passkey = add_passkey(client, ada, Authenticator(), flags=SYNCED).json["passkey"]
    assert mail.last("passkey_added", "ada@example.com")["name"] == "Phone"
    url = f"/api/auth/passkeys/{passkey['id']}"
    client.delete(url, json={"password": PASSWORD}, headers=bearer(ada["authToken"]))
    assert mail.last("passkey_removed", "ada@example.com")["name"] == "Phone"


@pytest.fixture
def google_app(make_app, key_server, google):
    return make_app(**PASSKEYS, google_client_ids=GOOGLE_CLIENTS, google_jwks_url=key_server.url("google"))


def test_an_account_without_a_password_signs_in_with_its_passkey_alone(google_app, google):
    client = google_app.test_client()
    MailLog().capture(google_app)
    tokens = client.post(
        "/api/auth/loginWithIdToken", json={"provider": "google", "idToken": google.token()}
    ).json
    assert tokens["user"]["emailVerified"] is True
    refused = client.post(OPTIONS, json={"password": PASSWORD}, headers=bearer(tokens["authToken"]))
    assert refused.json["code"] == "proofRequired"  # no password: a fresh ID token proves the owner
    options = registration_options(client, tokens, currentIdToken=google.token())
    phone = Authenticator()
    passkey = register(client, tokens, options, phone.create(options["options"])).json["passkey"]

    unlinked = client.delete("/api/auth/identities/google", headers=bearer(tokens["authToken"]))
    assert unlinked.json == {"success": True}  # the passkey is a way in
    login = sign_in(client, phone)
    assert login.status_code == 200 and login.json["user"]["email"] == tokens["user"]["email"]

    proof = sign_in_options(client, login.json)
    body = {"passkey": {"challengeId": proof["challengeId"], "credential": phone.get(proof["options"])}}
    url = f"/api/auth/passkeys/{passkey['id']}"
    last = client.delete(url, json=body, headers=bearer(login.json["authToken"]))
    assert last.status_code == 400 and last.json["code"] == "lastSignInMethod"
    assert sign_in(client, phone).status_code == 200


def test_the_passkey_routes_take_the_login_limit_per_address(make_app):
    client = make_app(webauthn_rp_id=RP_ID, rate_limit_login="2/minute").test_client()
    assert [client.post(AUTH_OPTIONS).status_code for _ in range(3)] == [200, 200, 429]
    login = [client.post(LOGIN, json={"challengeId": "x", "credential": {}}).status_code for _ in range(3)]
    assert login == [400, 400, 429]


@pytest.mark.parametrize(
    "env",
    [
        {"WEBAUTHN_RP_ID": "https://example.com"},
        {"WEBAUTHN_RP_ID": "example.com:443"},
        {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://evil.com"},
        {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "http://example.com"},
        {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://notexample.com"},
        {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "android:apk-key-hash:short"},
        {"WEBAUTHN_ANDROID_APPS": "com.example.app:AB:CD"},
        {"WEBAUTHN_IOS_APP_IDS": "com.example.app"},
    ],
)
def test_malformed_passkey_settings_refuse_to_start(env):
    from config import ConfigError, Settings

    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_passkey_settings_default_to_the_rp_domain_and_the_app_name():
    from config import Settings

    passkeys = Settings.from_env({"WEBAUTHN_RP_ID": "Example.com", "APP_NAME": "Acme"}).passkeys
    assert (passkeys.webauthn_rp_id, passkeys.webauthn_rp_name) == ("example.com", "Acme")
    assert passkeys.origins == ("https://example.com",)
    subdomain = Settings.from_env(
        {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": f"https://app.example.com,{ANDROID}"}
    )
    assert subdomain.passkeys.origins == ("https://app.example.com", ANDROID)


def test_an_operator_removes_a_lost_devices_passkey(app, client, ada):
    phone = Authenticator()
    passkey = add_passkey(client, ada, phone).json["passkey"]
    opened = sign_in(client, phone).json
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "passkeys-remove", "ada@example.com", "no-such-passkey"])
    assert unknown.exit_code != 0 and passkeys(client, ada) != []
    result = runner.invoke(args=["users", "passkeys-remove", "ada@example.com", passkey["id"]])
    assert result.exit_code == 0 and "Removed 1 passkey(s)" in result.output
    assert passkeys(client, ada) == []
    assert sign_in(client, phone).json == INVALID
    assert refresh(client, opened["refreshToken"]).json["code"] == "refreshExpired"


def test_a_passkey_id_never_reads_as_a_command_line_option(monkeypatch):
    from app.service import passkeys as service

    made = iter(["-starts-with-a-dash", "plain"])
    monkeypatch.setattr(service.secrets, "token_urlsafe", lambda _: next(made))
    assert service.new_passkey_id() == "plain"
