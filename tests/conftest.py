"""Fixtures: a test app on mongomock (or on TEST_MONGO_URI), a client, a clock, a user, and fake providers."""

from __future__ import annotations

import pytest

from app import create_app
from config import Settings
from helpers import TEST_SECRET, AuthActions, Clock, Processes, fresh_database_uri
from providers import (
    APPLE_CLIENTS,
    APPLE_ISSUER,
    GOOGLE_CLIENTS,
    GOOGLE_ISSUER,
    FakeProvider,
    KeyServer,
    rsa_key,
)
from smtp_server import Mailbox


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": TEST_SECRET,
            "BCRYPT_ROUNDS": "4",
            "RATE_LIMIT_STORAGE_URI": "memory://",  # each test app counts afresh, even on TEST_MONGO_URI
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(settings, clock):
    """Build apps with setting overrides; drop their databases afterwards."""
    built = []

    def build(prepare_database=True, **overrides):
        app = create_app(
            settings.replace(mongo_uri=fresh_database_uri(), **overrides),
            prepare_database=prepare_database,
            clock=clock,
        )
        built.append(app)
        return app

    yield build
    for app in built:
        storage = app.extensions["auth_service"].storage
        if not storage.embedded:
            storage.db.client.drop_database(storage.db.name)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def storage(app):
    return app.extensions["auth_service"].storage


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def key_server():
    """The providers' key-set server on 127.0.0.1, stopped after the test."""
    server = KeyServer()
    yield server
    server.stop()


@pytest.fixture
def google(key_server, clock) -> FakeProvider:
    provider = FakeProvider("google", GOOGLE_ISSUER, GOOGLE_CLIENTS, key_server, clock)
    provider.add_key("g1", rsa_key(0))
    return provider


@pytest.fixture
def apple(key_server, clock) -> FakeProvider:
    provider = FakeProvider("apple", APPLE_ISSUER, APPLE_CLIENTS, key_server, clock)
    provider.add_key("a1", rsa_key(1))
    return provider


@pytest.fixture
def id_app(make_app, key_server, google, apple):
    """An app that accepts Google and Apple sign-in, with their key sets on the test key server."""
    return make_app(
        google_client_ids=GOOGLE_CLIENTS,
        apple_client_ids=APPLE_CLIENTS,
        google_jwks_url=key_server.url("google"),
        apple_jwks_url=key_server.url("apple"),
        rate_limit_enabled=False,  # tests send many tokens from one address; the limit has its own test
    )


@pytest.fixture
def id_client(id_app):
    return id_app.test_client()


@pytest.fixture
def mailbox():
    """A real SMTP server on 127.0.0.1 and a free port."""
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def make_mail_app(make_app, mailbox):
    """Build apps that send mail over SMTP to the test mailbox, retrying without waiting."""
    built = []

    def build(**overrides):
        mail = {
            "mail_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "smtp_timeout": 5,
            "app_name": "Acme",
            "mail_from": "Acme <no-reply@acme.test>",
        }
        app = make_app(**(mail | overrides))
        app.extensions["mailer"].retry_delays = (0, 0)
        built.append(app)
        return app

    yield build
    for app in built:  # before the mailbox closes: nothing is left to fail on its way out
        app.extensions["mailer"].flush(10)


@pytest.fixture
def mail_app(make_mail_app):
    return make_mail_app()


@pytest.fixture
def mail_client(mail_app):
    return mail_app.test_client()


@pytest.fixture
def delivered(mail_app):
    """Wait until the app's queued mail has been sent (or given up)."""

    def wait() -> None:
        assert mail_app.extensions["mailer"].flush(10), "mail still queued after 10 s"

    return wait


@pytest.fixture
def processes(monkeypatch) -> Processes:
    return Processes(monkeypatch)
