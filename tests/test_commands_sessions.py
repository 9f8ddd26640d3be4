"""`flask sessions ...` through click's test runner: list, end one, end all."""

import json
from datetime import timedelta

from helpers import EXPIRED, bearer, refresh


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_list_shows_the_open_sessions_newest_first(app, auth, clock):
    auth.tokens()
    clock.advance(1)
    auth.login(**{"User-Agent": "Tablet/2"})
    result = run(app, "sessions", "list", "ada@example.com", "--json")
    assert result.exit_code == 0, result.output
    sessions = json.loads(result.output)["sessions"]
    assert [session["userAgent"] for session in sessions][0] == "Tablet/2"
    assert len(sessions) == 2
    assert all("tokenHash" not in session for session in sessions)
    text = run(app, "sessions", "list", "ada@example.com").output
    assert sessions[0]["id"] in text and "Tablet/2" in text


def test_end_takes_a_session_id_that_starts_with_a_dash(app, auth, storage, clock):
    user_id = auth.tokens()["user"]["id"]
    now = clock()
    storage.sessions.open("-dash-first-id", user_id, "hash", now, now + timedelta(days=1), None, None)
    result = run(app, "sessions", "end", "-dash-first-id", "--json")
    assert result.exit_code == 0, result.output
    assert storage.sessions.find_open(session_id="-dash-first-id", user_id=user_id, now=clock()) is None


def test_end_ends_one_session_and_the_user_sees_who_did_it(app, auth, client):
    phone = auth.tokens()
    tablet = auth.login().json
    session_id = next(
        session["id"]
        for session in client.get("/api/auth/sessions", headers=bearer(phone["authToken"])).json["sessions"]
        if not session["current"]
    )
    result = run(app, "sessions", "end", session_id, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"sessionId": session_id, "userId": phone["user"]["id"]}
    assert refresh(client, tablet["refreshToken"]).json == EXPIRED
    assert refresh(client, phone["refreshToken"]).status_code == 200
    entry = client.get("/api/auth/activity", headers=bearer(phone["authToken"])).json["activity"][0]
    assert (entry["activity"], entry["by"]) == ("sessionEnded", "operator")
    assert (entry["ip"], entry["userAgent"]) == (None, None)


def test_ending_an_unknown_or_ended_session_is_an_error(app, auth):
    auth.tokens()
    result = run(app, "sessions", "end", "no-such-session")
    assert (result.exit_code, result.output) == (1, "Error: There is no such session.\n")


def test_end_all_ends_every_session_as_logout_all_does(app, auth, client):
    phone = auth.tokens()
    tablet = auth.login().json
    result = run(app, "sessions", "end-all", "ada@example.com")
    assert result.exit_code == 0, result.output
    assert result.output == "Ended 2 session(s) of ada@example.com.\n"
    for tokens in (phone, tablet):
        assert refresh(client, tokens["refreshToken"]).json == EXPIRED
    again = json.loads(run(app, "sessions", "end-all", "ada@example.com", "--json").output)
    assert again == {"userId": phone["user"]["id"], "sessionsEnded": 0}
    entries = client.get("/api/auth/activity", headers=bearer(phone["authToken"])).json["activity"]
    assert [(entry["activity"], entry.get("by")) for entry in entries][:2] == [
        ("logoutAll", "operator"),
        ("logoutAll", "operator"),
    ]


def test_every_group_and_command_has_help(app):
    for group in ("users", "sessions", "keys", "db"):
        result = run(app, group, "--help")
        assert result.exit_code == 0
        for name, command in app.cli.commands[group].commands.items():
            help_text = run(app, group, name, "--help")
            assert help_text.exit_code == 0
            assert f"{group} {name}" in help_text.output
            assert command.help and command.help[:30] in help_text.output
