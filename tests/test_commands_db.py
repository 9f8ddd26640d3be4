"""`flask db init|check`, and the `flask` command's app: built without waiting on the database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo.errors import ServerSelectionTimeoutError

import app.commands as commands
from app.storage import REQUIRED_INDEXES

ROOT = Path(__file__).resolve().parent.parent
DOWN = "mongodb://127.0.0.1:1/auth"  # nothing listens on port 1


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_the_indexes_db_check_looks_for_are_exactly_those_start_up_creates(storage):
    indexed = set()
    for collection in storage.db.list_collection_names():
        present = {tuple(index["key"]) for index in storage.db[collection].index_information().values()}
        if present - {(("_id", 1),)}:
            indexed.add(collection)
            assert present - {(("_id", 1),)} == set(REQUIRED_INDEXES.get(collection, ())), collection
    assert indexed == set(REQUIRED_INDEXES)
    assert storage.missing_indexes() == [] and storage.pending_migrations() == []


def test_init_prepares_a_new_database_and_check_then_passes(make_app):
    app = make_app(prepare_database=False)
    before = run(app, "db", "check", "--json")
    assert before.exit_code == 1
    found = json.loads(before.output)
    assert found["ok"] is False and found["database"] is True
    assert "Users(email 1)" in found["missingIndexes"]
    assert found["pendingMigrations"] == ["normalised-emails-unicode"]
    assert "run `flask --app wsgi db init`" in found["errors"][0]
    init = run(app, "db", "init", "--json")
    assert init.exit_code == 0, init.output
    assert json.loads(init.output) == {
        "createdIndexes": found["missingIndexes"],
        "ranMigrations": ["normalised-emails-unicode"],
    }
    after = run(app, "db", "check")
    assert after.exit_code == 0, after.output
    assert after.output.splitlines()[-1] == "ok"


def test_an_app_built_without_preparing_prepares_the_database_before_its_first_answer(make_app):
    app = make_app(prepare_database=False)  # as `flask run` builds it
    storage = app.extensions["auth_service"].storage
    assert storage.missing_indexes()
    assert app.test_client().get("/health").status_code == 200
    assert storage.missing_indexes() == [] and storage.pending_migrations() == []


def test_init_can_run_again_and_says_there_was_nothing_to_do(app):
    result = run(app, "db", "init")
    assert result.exit_code == 0
    assert result.output == "Indexes created: none (all were there).\nMigrations run: none (all had run).\n"


def test_init_normalises_the_emails_an_original_database_stored_as_typed(make_app):
    app = make_app(prepare_database=False)
    storage = app.extensions["auth_service"].storage
    storage.db["Users"].insert_one({"first": "J", "last": "G", "email": " Jay@Example.com", "password": "x"})
    assert run(app, "db", "init").exit_code == 0
    assert storage.users.find_by_email("jay@example.com") is not None


def test_check_warns_about_development_settings_without_failing(app):
    result = run(app, "db", "check", "--json")
    assert result.exit_code == 0
    found = json.loads(result.output)
    assert found["ok"] is True and found["errors"] == []
    # The test app's development settings: the embedded store, or per-process rate limits on MongoDB.
    assert found["warnings"] == app.extensions["settings"].warnings() != []


def test_a_command_on_a_database_that_does_not_answer_is_a_one_line_error(app, monkeypatch):
    def down(*args, **kwargs):
        raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")

    monkeypatch.setattr(app.extensions["auth_service"].storage.users, "list", down)
    result = run(app, "users", "list")
    assert result.exit_code == 1
    assert result.output == "Error: The database does not answer (check MONGO_URI).\n"


@pytest.fixture
def command_env(monkeypatch, tmp_path):
    """An environment for create_command_app, away from any .env, without touching the test's logging."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name in {"MONGO_URI", "SECRET_KEY", "JWT_ALGORITHM", "JWT_PRIVATE_KEY", "APP_ENV"}:
            monkeypatch.delenv(name)
    monkeypatch.setattr(commands, "configure_logging", lambda level: None)
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URI", "memory://")
    return monkeypatch


def test_with_bad_settings_check_says_what_is_wrong_and_keys_still_generate(command_env):
    command_env.setenv("JWT_ALGORITHM", "ES256")  # and no JWT_PRIVATE_KEY yet: the key is to be made
    app = commands.create_command_app()
    check = run(app, "db", "check")
    assert check.exit_code == 1
    assert "error: The settings are not valid: JWT_ALGORITHM=ES256 needs JWT_PRIVATE_KEY." in check.output
    assert run(app, "keys", "generate", "--algorithm", "ES256").exit_code == 0
    listed = run(app, "users", "list")
    assert listed.exit_code == 1
    assert listed.output == "Error: The settings are not valid: JWT_ALGORITHM=ES256 needs JWT_PRIVATE_KEY.\n"


def test_a_mongo_uri_pymongo_cannot_read_is_a_settings_error(command_env):
    command_env.setenv("MONGO_URI", "mongodb://:not-a-port")
    result = run(commands.create_command_app(), "db", "check", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["errors"][0].startswith("The settings are not valid: ")


def test_the_command_app_on_the_embedded_store_is_prepared_at_once(command_env):
    app = commands.create_command_app()
    assert app.extensions["auth_service"].storage.missing_indexes() == []


def flask_command(tmp_path, *args, **env):
    """Run the real `flask --app wsgi ...` on the project, from a folder with no `.env`."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("MONGO", "FLASK", "APP_"))
    }
    environment |= {"PYTHONPATH": str(ROOT), "RATE_LIMIT_STORAGE_URI": "memory://", "LOG_LEVEL": "ERROR"}
    environment |= env
    return subprocess.run(  # noqa: S603 - our own command line, fixed arguments
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_flask_runs_the_commands_and_db_check_passes_on_the_embedded_store(tmp_path):
    result = flask_command(tmp_path, "db", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ok"


def test_flask_db_check_on_a_database_that_is_down_exits_1_without_a_traceback(tmp_path):
    # The app builds without waiting on the database (no index creation at import), so the
    # check itself can say what is wrong: a container's pre-start step sees a clear failure.
    result = flask_command(tmp_path, "db", "check", "--json", MONGO_URI=DOWN)
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert found["database"] is False
    assert found["errors"] == ["The database does not answer within 2 seconds (check MONGO_URI)."]
    assert "Traceback" not in result.stderr
