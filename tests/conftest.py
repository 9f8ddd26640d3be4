"""Fixtures: a test app on mongomock (or on TEST_MONGO_URI), a client, a clock, and a user."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app
from config import Settings
from helpers import TEST_SECRET, AuthActions, Clock, Processes, fresh_database_uri


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": TEST_SECRET,
            "BCRYPT_ROUNDS": "4",
            "JWT_LEEWAY": "0",  # expiry boundaries in tests are exact; the leeway has its own tests
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

    def build(**overrides):
        app = create_app(replace(settings, mongo_uri=fresh_database_uri(), **overrides))
        app.extensions["auth_service"].clock = clock
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
def processes(monkeypatch) -> Processes:
    return Processes(monkeypatch)
