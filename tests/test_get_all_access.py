"""GETALL_ACCESS: who may list users (all, admin, off), and who sees roles."""

import logging

import pytest

from app import create_app
from config import ConfigError, Settings
from helpers import INVALID, AuthActions, bearer, claims_of

FORBIDDEN = {"success": False, "message": "Only admins can list users.", "code": "forbidden"}
NOT_FOUND = {"success": False, "message": "There is nothing at this address.", "code": "notFound"}


def promote(app, email):
    assert app.test_cli_runner().invoke(args=["users", "promote", email]).exit_code == 0


def demote(app, email):
    assert app.test_cli_runner().invoke(args=["users", "demote", email]).exit_code == 0


def signed_in(app):
    """Return the access tokens of a plain user (Bob) and of an admin (Ada)."""
    auth = AuthActions(app.test_client())
    admin = auth.tokens("ada@example.com")
    promote(app, "ada@example.com")
    admin = auth.login("ada@example.com").json  # a token issued after the promotion
    user = auth.tokens("bob@example.com")
    return user["authToken"], admin["authToken"]


def get_all(app, token):
    return app.test_client().get("/api/auth/getAll", headers=bearer(token))


def test_all_lets_every_signed_in_user_list_and_shows_roles_to_admins_only(make_app):
    app = make_app(getall_access="all")
    user, admin = signed_in(app)
    as_user, as_admin = get_all(app, user), get_all(app, admin)
    assert as_user.status_code == as_admin.status_code == 201
    assert all("role" not in listed for listed in as_user.json["message"])
    assert {listed["email"]: listed["role"] for listed in as_admin.json["message"]} == {
        "ada@example.com": "admin",
        "bob@example.com": "user",
    }


def test_all_is_the_default(settings):
    assert settings.server.getall_access == "all"


def test_admin_lets_admins_list_and_refuses_others_with_forbidden(make_app):
    app = make_app(getall_access="admin")
    user, admin = signed_in(app)
    refused = get_all(app, user)
    assert refused.status_code == 403
    assert refused.json == FORBIDDEN
    listed = get_all(app, admin)
    assert listed.status_code == 201
    assert len(listed.json["message"]) == 2


def test_off_answers_404_to_everyone_even_without_a_token(make_app):
    app = make_app(getall_access="off")
    user, admin = signed_in(app)
    for token in (user, admin):
        response = get_all(app, token)
        assert response.status_code == 404
        assert response.json == NOT_FOUND
    assert app.test_client().post("/api/auth/getAll").json == NOT_FOUND


def test_without_a_valid_token_admin_mode_is_still_invalid_token(make_app):
    app = make_app(getall_access="admin")
    assert app.test_client().get("/api/auth/getAll").json == INVALID


def test_a_demoted_admin_is_refused_at_once_though_the_token_still_says_admin(make_app):
    app = make_app(getall_access="admin")
    _, admin = signed_in(app)
    demote(app, "ada@example.com")
    assert claims_of(admin)["role"] == "admin"
    assert get_all(app, admin).json == FORBIDDEN


def test_a_promoted_user_may_list_at_once_with_the_token_it_has(make_app):
    app = make_app(getall_access="admin")
    user, _ = signed_in(app)
    promote(app, "bob@example.com")
    assert get_all(app, user).status_code == 201


def test_a_disabled_admin_may_not_list_with_a_token_still_unexpired(make_app):
    app = make_app(getall_access="admin")
    _, admin = signed_in(app)
    assert app.test_cli_runner().invoke(args=["users", "disable", "ada@example.com"]).exit_code == 0
    response = get_all(app, admin)
    assert response.status_code == 400 and response.json["code"] == "accountDisabled"


def test_the_user_sees_the_own_role_at_login_and_in_me(make_app):
    app = make_app()
    user, admin = signed_in(app)
    client = app.test_client()
    assert client.get("/api/auth/me", headers=bearer(admin)).json["user"]["role"] == "admin"
    assert client.get("/api/auth/me", headers=bearer(user)).json["user"]["role"] == "user"
    login = AuthActions(client).login("ada@example.com").json
    assert login["user"]["role"] == "admin"


@pytest.mark.parametrize("value", ["ALL", "Admin", "off"])
def test_the_setting_is_read_in_any_case(value):
    assert Settings.from_env({"GETALL_ACCESS": value}).server.getall_access == value.lower()


def test_any_other_value_stops_the_server():
    with pytest.raises(ConfigError, match="GETALL_ACCESS"):
        Settings.from_env({"GETALL_ACCESS": "admins"})


def test_production_with_all_warns_at_start_up_that_every_user_can_list_every_account(caplog):
    production = {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "MONGO_URI": "mongodb://127.0.0.1:1/auth",  # never reached: the app is built without database work
        "RATE_LIMIT_STORAGE_URI": "memory://",
    }
    with caplog.at_level(logging.WARNING):
        create_app(Settings.from_env(production), prepare_database=False)
    assert "GETALL_ACCESS=all: every signed-in user can list every account" in caplog.text
    limited = Settings.from_env(production | {"GETALL_ACCESS": "admin"})
    assert not any("GETALL_ACCESS" in warning for warning in limited.warnings())


def test_development_with_all_does_not_warn():
    assert not any("GETALL_ACCESS" in warning for warning in Settings.from_env({}).warnings())
