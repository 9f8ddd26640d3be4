"""The session settings: their defaults and how the environment sets them."""

import pytest

from config import ConfigError, Settings

BASE = {"APP_ENV": "testing", "SECRET_KEY": "s" * 40}


def test_the_defaults_keep_the_original_clients_behaviour():
    settings = Settings.from_env(BASE)
    assert settings.sessions.refresh_token_rotation is False
    assert settings.sessions.refresh_reuse_grace_seconds == 10
    assert settings.sessions.access_token_session_check is False
    assert settings.sessions.max_sessions_per_user == 10


def test_the_environment_sets_each_of_them():
    settings = Settings.from_env(
        BASE
        | {
            "REFRESH_TOKEN_ROTATION": "true",
            "REFRESH_REUSE_GRACE_SECONDS": "0",
            "ACCESS_TOKEN_SESSION_CHECK": "yes",
            "MAX_SESSIONS_PER_USER": "3",
        }
    )
    assert settings.sessions.refresh_token_rotation is True
    assert settings.sessions.refresh_reuse_grace_seconds == 0
    assert settings.sessions.access_token_session_check is True
    assert settings.sessions.max_sessions_per_user == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REFRESH_TOKEN_ROTATION", "maybe"),
        ("ACCESS_TOKEN_SESSION_CHECK", "2"),
        ("REFRESH_REUSE_GRACE_SECONDS", "-1"),
        ("REFRESH_REUSE_GRACE_SECONDS", "ten"),
        ("MAX_SESSIONS_PER_USER", "0"),
    ],
)
def test_malformed_values_stop_the_server_with_the_settings_name(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(BASE | {name: value})
