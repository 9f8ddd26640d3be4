"""Disabled accounts over HTTP: login says so only after the password, refresh is refused, sessions end."""

from helpers import EXPIRED, INVALID, AuthActions, bearer, refresh

DISABLED = {"success": False, "message": "This account is disabled.", "code": "accountDisabled"}


def disable(app, email="ada@example.com"):
    result = app.test_cli_runner().invoke(args=["users", "disable", email])
    assert result.exit_code == 0, result.output


def enable(app, email="ada@example.com"):
    result = app.test_cli_runner().invoke(args=["users", "enable", email])
    assert result.exit_code == 0, result.output


def test_a_disabled_account_is_told_so_only_with_the_right_password(app, auth):
    auth.signup()
    disable(app)
    wrong = auth.login(password="not the password")
    assert wrong.status_code == 400
    assert wrong.json == {
        "success": False,
        "message": "The email or password is incorrect.",
        "code": "invalidCredentials",
    }
    right = auth.login()
    assert right.status_code == 400
    assert right.json == DISABLED


def test_a_disabled_accounts_refresh_token_is_refused(app, auth, client):
    tokens = auth.tokens()
    disable(app)
    response = refresh(client, tokens["refreshToken"])
    assert response.status_code == 400
    assert response.json == DISABLED


def test_disabling_ends_every_session_at_once(make_app):
    app = make_app(access_token_session_check=True)
    auth = AuthActions(app.test_client())
    phone, tablet = auth.tokens(), auth.login().json
    disable(app)
    client = app.test_client()
    for tokens in (phone, tablet):
        assert client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json == INVALID
    enable(app)  # enabling again reopens nothing: the ended sessions stay ended
    assert refresh(client, phone["refreshToken"]).json == EXPIRED
    assert refresh(client, tablet["refreshToken"]).json == EXPIRED
    new = auth.login().json
    sessions = client.get("/api/auth/sessions", headers=bearer(new["authToken"])).json["sessions"]
    assert [session["current"] for session in sessions] == [True]


def test_with_rotation_a_disabled_account_is_refused_too(make_app):
    app = make_app(refresh_token_rotation=True)
    tokens = AuthActions(app.test_client()).tokens()
    disable(app)
    assert refresh(app.test_client(), tokens["refreshToken"]).json == DISABLED


def test_an_enabled_account_logs_in_and_refreshes_again(app, auth, client):
    auth.signup()
    disable(app)
    enable(app)
    tokens = auth.login().json
    assert tokens["success"] is True
    assert refresh(client, tokens["refreshToken"]).status_code == 200


def test_a_disabled_accounts_access_token_changes_nothing_and_lists_nobody(id_app, id_client, google):
    tokens = AuthActions(id_client).tokens()
    headers = bearer(tokens["authToken"])
    disable(id_app)

    calls = {
        "PATCH /me": id_client.patch("/api/auth/me", json={"first": "Mallory"}, headers=headers),
        "unlink": id_client.delete("/api/auth/identities/google", headers=headers),
        "getAll": id_client.get("/api/auth/getAll", headers=headers),
    }

    for name, response in calls.items():
        assert (response.status_code, response.json) == (400, DISABLED), name
    enable(id_app)
    assert AuthActions(id_client).login().json["user"]["first"] == "Ada"
