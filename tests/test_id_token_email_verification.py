"""REQUIRE_EMAIL_VERIFICATION holds for Sign in with Google and Apple too."""

from __future__ import annotations

import pytest

from helpers import AuthActions, MailLog
from providers import APPLE_CLIENTS, GOOGLE_CLIENTS

NOT_VERIFIED = {
    "success": False,
    "message": "Please verify your email address first.",
    "code": "emailNotVerified",
}


def make_id_app(make_app, key_server, **overrides):
    app = make_app(
        google_client_ids=GOOGLE_CLIENTS,
        apple_client_ids=APPLE_CLIENTS,
        google_jwks_url=key_server.url("google"),
        apple_jwks_url=key_server.url("apple"),
        rate_limit_enabled=False,
        **overrides,
    )
    MailLog().capture(app)
    return app


@pytest.fixture
def strict_app(make_app, key_server, google, apple):
    return make_id_app(make_app, key_server, require_email_verification=True)


def sign_in(client, provider: str, token: str):
    return client.post("/api/auth/loginWithIdToken", json={"provider": provider, "idToken": token})


def test_an_unverified_provider_email_makes_no_account_when_verification_is_required(strict_app, google):
    storage = strict_app.extensions["auth_service"].storage
    response = sign_in(
        strict_app.test_client(), "google", google.token("u1", email="bob@example.com", email_verified=False)
    )
    assert (response.status_code, response.json) == (400, NOT_VERIFIED)
    assert storage.users.find_by_email("bob@example.com") is None


def test_a_linked_identity_does_not_sign_in_to_an_unverified_account(strict_app, google):
    client = strict_app.test_client()
    AuthActions(client).signup("carol@example.com")
    service = strict_app.extensions["auth_service"]
    user = service.storage.users.find_by_email("carol@example.com")
    service.storage.identities.link(
        user["id"], "google", "carol-sub", "carol@gmail.com", True, service.clock()
    )

    response = sign_in(client, "google", google.token("carol-sub", email="carol@gmail.com"))

    assert (response.status_code, response.json) == (400, NOT_VERIFIED)
    assert service.storage.sessions.list_open(user["id"], service.clock()) == []


def test_the_provider_verifying_the_same_address_verifies_the_account(strict_app, google):
    client = strict_app.test_client()
    service = strict_app.extensions["auth_service"]
    AuthActions(client).signup("dan@example.com")
    user = service.storage.users.find_by_email("dan@example.com")
    service.storage.identities.link(
        user["id"], "google", "dan-sub", "dan@example.com", False, service.clock()
    )

    response = sign_in(
        client, "google", google.token("dan-sub", email="dan@example.com", email_verified=True)
    )

    assert response.status_code == 200 and response.json["user"]["emailVerified"] is True
    assert service.storage.users.find_by_email("dan@example.com")["emailVerified"] is True


def test_a_verified_other_address_does_not_verify_the_account(make_app, key_server, google, apple):
    app = make_id_app(make_app, key_server)
    client = app.test_client()
    service = app.extensions["auth_service"]
    AuthActions(client).signup("erin@example.com")
    user = service.storage.users.find_by_email("erin@example.com")
    service.storage.identities.link(user["id"], "google", "erin-sub", "erin@gmail.com", True, service.clock())

    response = sign_in(client, "google", google.token("erin-sub", email="erin@gmail.com"))

    assert response.status_code == 200 and response.json["user"]["emailVerified"] is False
