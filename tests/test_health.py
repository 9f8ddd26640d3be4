"""Health and readiness probes, and 503 (never 500) while the database is away."""


import pytest
from flask import Flask
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from app import create_app
from app.storage import TIMEOUT_MS, connect
from helpers import bearer

UNAVAILABLE = {
    "success": False,
    "message": "The service is not ready. Please try again shortly.",
    "code": "serviceUnavailable",
}


def raise_(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_health_answers_while_the_process_is_up(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"success": True, "status": "up"}


def test_ready_answers_when_the_database_does(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json == {"success": True, "status": "ready"}


def test_ready_is_a_503_envelope_when_the_database_does_not_answer(client, storage, monkeypatch):
    monkeypatch.setattr(storage.db, "command", raise_(ServerSelectionTimeoutError("no servers")))
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json == UNAVAILABLE
    assert response.headers["Retry-After"] == "5"


def test_the_probes_need_no_token_and_are_not_rate_limited(client):
    for _ in range(50):
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200


@pytest.mark.parametrize(
    "error",
    [ServerSelectionTimeoutError("x"), AutoReconnect("x"), NetworkTimeout("x"), ConnectionFailure("x")],
)
def test_the_database_going_away_mid_request_is_a_503_envelope(auth, client, storage, monkeypatch, error):
    auth.signup()
    monkeypatch.setattr(storage.users, "find_by_email", raise_(error))
    response = auth.login()
    assert response.status_code == 503
    assert response.json == UNAVAILABLE
    assert response.headers["Retry-After"] == "5"


def test_the_server_answers_again_once_the_database_is_back(auth, client, storage, monkeypatch):
    tokens = auth.tokens()
    with monkeypatch.context() as outage:
        outage.setattr(storage.users, "list", raise_(AutoReconnect("primary stepped down")))
        assert client.get("/api/auth/getAll", headers=bearer(tokens["authToken"])).status_code == 503
    assert client.get("/api/auth/getAll", headers=bearer(tokens["authToken"])).status_code == 201


def test_mongodb_is_opened_with_timeouts_so_a_lost_database_never_hangs_a_request():
    app = Flask(__name__)
    storage = connect(app, "mongodb://127.0.0.1:1/auth")  # nothing listens there; no connection is made yet
    try:
        options = storage.db.client.options
        assert options.server_selection_timeout == TIMEOUT_MS / 1000
        assert options.pool_options.connect_timeout == TIMEOUT_MS / 1000
        assert options.pool_options.socket_timeout == TIMEOUT_MS / 1000
    finally:
        storage.db.client.close()


def test_mongo_timeout_seconds_bounds_every_database_call(settings):
    chosen = settings.replace(
        mongo_uri="mongodb://127.0.0.1:1/auth", mongo_timeout_seconds=2, rate_limit_enabled=False
    )
    storage = create_app(chosen, prepare_database=False).extensions["auth_service"].storage
    try:
        options = storage.db.client.options
        assert options.server_selection_timeout == 2
        assert options.pool_options.connect_timeout == options.pool_options.socket_timeout == 2
    finally:
        storage.db.client.close()
