"""Settings: defaults, parsing, and what production refuses to start without."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from config import ConfigError, Settings

STRONG_SECRET = "s" * 32


def test_defaults_match_the_contract():
    settings = Settings.from_env({})
    assert settings.tokens.access_token_ttl == 900
    assert settings.tokens.refresh_token_ttl == 7_776_000
    assert settings.passwords.bcrypt_rounds == 12
    assert settings.tokens.jwt_algorithm == "HS256"
    assert settings.server.port == 1140
    assert settings.store.mongo_uri is None


def test_values_are_read_from_the_environment():
    settings = Settings.from_env(
        {"ACCESS_TOKEN_TTL": "60", "REFRESH_TOKEN_TTL": "3600", "BCRYPT_ROUNDS": "10", "PORT": "8080"}
    )
    assert (settings.tokens.access_token_ttl, settings.tokens.refresh_token_ttl) == (60, 3600)
    assert (settings.passwords.bcrypt_rounds, settings.server.port) == (10, 8080)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCESS_TOKEN_TTL", "15m"),
        ("ACCESS_TOKEN_TTL", "0"),
        ("BCRYPT_ROUNDS", "3"),
        ("BCRYPT_ROUNDS", "40"),
        ("REQUEST_CONCURRENCY", "0"),
    ],
)
def test_malformed_values_stop_the_server_with_a_message_naming_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_development_without_a_secret_makes_a_random_one_each_start():
    first, second = Settings.from_env({}), Settings.from_env({})
    assert first.tokens.secret_key_generated
    assert first.tokens.secret_key != second.tokens.secret_key
    assert len(first.tokens.secret_key.encode()) >= 32


def test_development_warns_loudly_about_the_embedded_store_and_the_random_secret(caplog):
    with caplog.at_level(logging.WARNING):
        create_app(Settings.from_env({"BCRYPT_ROUNDS": "4"}))
    text = caplog.text
    assert "embedded in-memory store" in text
    assert "Tokens will not survive a restart" in text


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "MONGO_URI": "mongodb://db/auth"})


def test_production_refuses_a_short_secret():
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env({"APP_ENV": "production", "MONGO_URI": "mongodb://db/auth", "SECRET_KEY": "short"})


def test_production_refuses_to_start_without_mongodb():
    with pytest.raises(ConfigError, match="MONGO_URI"):
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY": STRONG_SECRET})


def test_production_starts_with_a_secret_and_mongodb():
    settings = Settings.from_env(
        {"APP_ENV": "production", "SECRET_KEY": STRONG_SECRET, "MONGO_URI": "mongodb://db/auth"}
    )
    assert settings.production and not settings.embedded_store


def test_the_secret_never_shows_in_the_settings_repr():
    assert STRONG_SECRET not in repr(Settings.from_env({"SECRET_KEY": STRONG_SECRET}))


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("ACCESS_TOKEN_TTL=120\nPORT=9000\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORT", "9100")
    monkeypatch.delenv("ACCESS_TOKEN_TTL", raising=False)
    settings = Settings.from_env()
    assert settings.tokens.access_token_ttl == 120
    assert settings.server.port == 9100


def test_a_database_password_never_shows_in_the_settings_repr():
    settings = Settings.from_env({"MONGO_URI": "mongodb://app:hunter2-secret@db:27017/auth"})
    assert "hunter2-secret" not in repr(settings)


def test_logs_are_text_in_development_and_json_in_production_unless_told():
    production = {"APP_ENV": "production", "MONGO_URI": "mongodb://db/auth", "SECRET_KEY": STRONG_SECRET}
    assert Settings.from_env({}).logs.log_format == "text"
    assert Settings.from_env(production).logs.log_format == "json"
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).logs.log_format == "json"
    assert Settings.from_env({**production, "LOG_FORMAT": "text"}).logs.log_format == "text"


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json"):
        Settings.from_env({"LOG_FORMAT": "xml"})


# The production image keeps production settings (Dockerfile: PRODUCTION_IMAGE=true).

IN_PRODUCTION = {"SECRET_KEY": STRONG_SECRET, "MONGO_URI": "mongodb://db/auth"}


def test_the_dockerfile_marks_the_image_as_production():
    dockerfile = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()
    assert re.search(r"^\s*PRODUCTION_IMAGE=true\b", dockerfile, re.MULTILINE)


@pytest.mark.parametrize("app_env", [None, ""])
def test_in_the_image_an_unset_or_empty_app_env_is_production(app_env):
    """`docker run --env-file .env` with `APP_ENV=` in the file must not switch the checks off."""
    env = {"PRODUCTION_IMAGE": "true", **IN_PRODUCTION}
    if app_env is not None:
        env["APP_ENV"] = app_env
    assert Settings.from_env(env).production
    with pytest.raises(ConfigError, match="MONGO_URI"):
        Settings.from_env({key: value for key, value in env.items() if key != "MONGO_URI"})


@pytest.mark.parametrize("app_env", ["development", "testing", "Development"])
def test_in_the_image_another_app_env_refuses_to_start_unless_allowed_on_purpose(app_env):
    env = {"PRODUCTION_IMAGE": "true", "APP_ENV": app_env}
    with pytest.raises(ConfigError, match="production image.*ALLOW_NON_PRODUCTION=true"):
        Settings.from_env(env)
    assert not Settings.from_env({**env, "ALLOW_NON_PRODUCTION": "true"}).production


@pytest.mark.parametrize("app_env", ["prod", "Production!", "staging"])
def test_an_app_env_that_is_not_one_of_the_three_refuses_to_start(app_env):
    """A typo used to mean development: every production check silently off."""
    with pytest.raises(ConfigError, match="APP_ENV must be one of production, development, testing"):
        Settings.from_env({"APP_ENV": app_env, **IN_PRODUCTION})


def test_no_setting_error_repeats_the_value_it_refuses():
    secret_looking = "hunter2-" + "x" * 40
    for name in (
        "ACCESS_TOKEN_TTL",
        "REFRESH_TOKEN_ROTATION",
        "RATE_LIMIT_LOGIN",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "GETALL_ACCESS",
        "TRUSTED_PROXY_HEADER",
        "JWT_ALGORITHM",
    ):
        with pytest.raises(ConfigError) as refusal:
            Settings.from_env({name: secret_looking})
        assert name in str(refusal.value)
        assert "hunter2" not in str(refusal.value)


def test_more_requests_run_at_once_on_mongodb_where_each_also_waits_for_the_database():
    assert Settings.from_env({}).server.request_concurrency == 4
    assert Settings.from_env({"MONGO_URI": "mongodb://db:27017/auth"}).server.request_concurrency == 16
    assert (
        Settings.from_env(
            {"MONGO_URI": "mongodb://db/auth", "REQUEST_CONCURRENCY": "8"}
        ).server.request_concurrency
        == 8
    )


def test_the_accounts_daily_failure_ceiling_is_100_and_cannot_be_set_higher():
    """NIST SP 800-63B 5.2.2 bounds failed attempts at one account to 100."""
    assert Settings.from_env({}).limits.login_account_failures_per_day == 100
    assert (
        Settings.from_env({"LOGIN_ACCOUNT_FAILURES_PER_DAY": "100"}).limits.login_account_failures_per_day
        == 100
    )
    with pytest.raises(ConfigError, match="LOGIN_ACCOUNT_FAILURES_PER_DAY must be at most 100"):
        Settings.from_env({"LOGIN_ACCOUNT_FAILURES_PER_DAY": "101"})


@pytest.mark.parametrize("script", ["wsgi.py", "serve.py"])
def test_a_bad_setting_stops_the_server_with_one_line_and_exit_status_2(tmp_path, script):
    env = {"PATH": os.environ["PATH"], "ACCESS_TOKEN_TTL": "soon"}
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(  # noqa: S603 - this interpreter and the project's own scripts
        [sys.executable, str(root / script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["Error: ACCESS_TOKEN_TTL must be a whole number."]
    assert "Traceback" not in done.stderr + done.stdout
