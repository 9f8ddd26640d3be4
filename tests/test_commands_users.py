"""`flask users ...` through click's test runner, on the test database."""

import json
from datetime import timedelta

import pytest

from app.storage import ACTIVITY, LOGIN_FAILURES, SESSIONS, USERS
from helpers import EXPIRED, PASSWORD, AuthActions, bearer, refresh

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def cli(app):
    """Run `flask ...` on the test app and return click's result."""
    runner = app.test_cli_runner()

    def run(*args, input=None):
        return runner.invoke(args=list(args), input=input)

    return run


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def as_json(result):
    return json.loads(ok(result).output)


def operator_entries(client, tokens):
    """Return the user's activity entries written by an operator, as the user sees them over HTTP."""
    body = client.get("/api/auth/activity", headers=bearer(tokens["authToken"])).json
    return [entry["activity"] for entry in body["activity"] if entry.get("by") == "operator"]


def activity_of(storage, user_id):
    return [(entry["activity"], entry.get("by")) for entry in storage.activity.list(user_id, None, 100)]


# users list


def test_list_pages_through_users_in_creation_order(auth, cli):
    for name in ("ada", "bob", "cy"):
        auth.signup(f"{name}@example.com")
    first = as_json(cli("users", "list", "--limit", "2", "--json"))
    assert [user["email"] for user in first["users"]] == ["ada@example.com", "bob@example.com"]
    rest = as_json(cli("users", "list", "--limit", "2", "--after", first["next"], "--json"))
    assert [user["email"] for user in rest["users"]] == ["cy@example.com"]
    assert rest["next"] is None


def test_list_filters_by_email_prefix_in_any_case(auth, cli):
    for email in ("ada@example.com", "adam@example.com", "bob@example.com"):
        auth.signup(email)
    found = as_json(cli("users", "list", "--email-prefix", "ADA", "--json"))["users"]
    assert [user["email"] for user in found] == ["ada@example.com", "adam@example.com"]
    assert as_json(cli("users", "list", "--email-prefix", "a.*", "--json"))["users"] == []  # not a pattern


def test_list_shows_what_an_operator_needs_and_never_the_password_hash(auth, cli):
    auth.signup()
    result = ok(cli("users", "list"))
    assert "ada@example.com" in result.output and "Ada Lovelace" in result.output
    [user] = as_json(cli("users", "list", "--json"))["users"]
    assert set(user) == {"id", "first", "last", "email", "createdAt", "role", "disabled", "emailVerified"}
    assert "$2b$" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--after", "not-an-id"], "must be a user id"),
        (["--limit", "0"], "0 is not in the range"),
        (["--limit", "ten"], "not a valid integer"),
    ],
)
def test_list_refuses_bad_paging_with_a_usage_error(cli, args, message):
    result = cli("users", "list", *args)
    assert result.exit_code == 2
    assert message in result.output


# users show


def test_show_finds_a_user_by_email_in_any_case_or_by_id(auth, cli):
    user_id = auth.tokens()["user"]["id"]
    by_email = as_json(cli("users", "show", " Ada@Example.COM ", "--json"))
    by_id = as_json(cli("users", "show", user_id, "--json"))
    assert by_email["user"] == by_id["user"]
    assert by_email["user"]["id"] == user_id


def test_show_tells_about_failed_logins_in_a_row_until_a_login_succeeds(auth, cli, clock):
    auth.signup()
    assert as_json(cli("users", "show", "ada@example.com", "--json"))["failedLogins"] is None
    for _ in range(5):  # the free failures: the next attempt must wait a second
        auth.login(password="wrong password")
    failed = as_json(cli("users", "show", "ada@example.com", "--json"))["failedLogins"]
    wait_until = clock.now + timedelta(seconds=1)
    run = {
        "source": "from 127.0.0.1",
        "count": 5,
        "nextAttemptAt": wait_until.isoformat(timespec="milliseconds") + "Z",
    }
    assert failed == {"today": 5, "sources": [run]}
    assert "5 in a row from 127.0.0.1" in ok(cli("users", "show", "ada@example.com")).output
    clock.advance(1)
    assert auth.login().status_code == 200  # the source's run ends; the five failures still count today
    assert as_json(cli("users", "show", "ada@example.com", "--json"))["failedLogins"] == {
        "today": 5,
        "sources": [],
    }


def test_show_lists_open_sessions_and_recent_activity(auth, cli, clock):
    auth.tokens()
    clock.advance(1)
    auth.login(**{"User-Agent": "Phone/1"})
    shown = as_json(cli("users", "show", "ada@example.com", "--json"))
    assert len(shown["sessions"]) == 2
    assert shown["sessions"][0]["userAgent"] == "Phone/1"  # newest first
    assert [entry["activity"] for entry in shown["activity"]] == ["login", "login", "signup"]
    text = ok(cli("users", "show", "ada@example.com", "--activity", "1")).output
    assert "Phone/1" in text and "Open sessions (2)" in text
    assert "signup" not in text  # only the latest entry


@pytest.mark.parametrize(
    "command",
    [
        ["users", "show"],
        ["users", "set-password", "--password-stdin"],
        ["users", "verify-email"],
        ["users", "disable"],
        ["users", "enable"],
        ["users", "promote"],
        ["users", "demote"],
        ["users", "delete", "--yes"],
        ["sessions", "list"],
        ["sessions", "end-all"],
    ],
)
@pytest.mark.parametrize("who", ["nobody@example.com", "0123456789abcdef01234567"])
def test_an_unknown_user_is_a_one_line_error_and_exit_code_1(auth, cli, command, who):
    auth.signup()
    result = cli(*command, who, input=f"{NEW_PASSWORD}\n")
    assert result.exit_code == 1
    assert result.output == f"Error: There is no user '{who}'.\n"


# users create


def test_create_prompts_for_the_password_twice_and_the_user_can_log_in(app, cli, client):
    result = cli(
        "users",
        "create",
        "--email",
        "Ada@Example.com",
        "--first",
        "Ada",
        "--last",
        "Lovelace",
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    ok(result)
    assert NEW_PASSWORD not in result.output  # the prompt hides it
    assert "Created ada@example.com" in result.output
    login = AuthActions(client).login(password=NEW_PASSWORD)
    assert login.status_code == 200
    assert login.json["user"]["role"] == "user"
    assert operator_entries(client, login.json) == ["signup"]


def test_create_reads_the_password_from_stdin_and_can_make_an_admin(app, cli, client):
    created = as_json(
        cli(
            "users",
            "create",
            "--email",
            "root@example.com",
            "--first",
            "Root",
            "--last",
            "Admin",
            "--admin",
            "--password-stdin",
            "--json",
            input=f" {NEW_PASSWORD} \n",
        )
    )["user"]
    assert created["role"] == "admin" and created["email"] == "root@example.com"
    auth = AuthActions(client)
    assert auth.login("root@example.com", NEW_PASSWORD).status_code == 400  # never trimmed
    tokens = auth.login("root@example.com", f" {NEW_PASSWORD} ").json
    assert operator_entries(client, tokens) == ["promoted", "signup"]


def test_create_checks_the_details_before_asking_for_a_password(cli, storage):
    result = cli("users", "create", "--email", "not-an-email", "--first", "Ada", "--last", "L")
    assert result.exit_code == 1
    assert result.output == "Error: Invalid email: Not a valid email address.\n"
    assert storage.db[USERS].count_documents({}) == 0


def test_create_refuses_a_short_password(cli, storage):
    result = cli(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--first",
        "Ada",
        "--last",
        "L",
        "--password-stdin",
        input="short\n",
    )
    assert result.exit_code == 1
    assert result.output == "Error: Password must be 8 to 72 bytes long.\n"
    assert storage.db[USERS].count_documents({}) == 0


def test_create_refuses_a_taken_email(auth, cli):
    auth.signup()
    result = cli(
        "users",
        "create",
        "--email",
        "ADA@example.com",
        "--first",
        "Ada",
        "--last",
        "L",
        "--password-stdin",
        input=f"{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 1
    assert result.output == "Error: A user with that username already exists.\n"


def test_create_needs_its_options(cli):
    result = cli("users", "create", "--first", "Ada", "--last", "L")
    assert result.exit_code == 2
    assert "Missing option '--email'" in result.output


def test_create_gives_up_when_the_two_passwords_never_match(cli, storage):
    result = cli(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--first",
        "Ada",
        "--last",
        "L",
        input=f"{NEW_PASSWORD}\nsomething else\n",
    )
    assert result.exit_code == 1
    assert "do not match" in result.output
    assert storage.db[USERS].count_documents({}) == 0


# users set-password


def test_set_password_ends_every_session_and_forgets_failed_logins(auth, cli, client, clock):
    phone = auth.tokens()
    tablet = auth.login().json
    for _ in range(6):  # past the free failures: the next login would have to wait
        auth.login(password="wrong password")
    report = as_json(
        cli(
            "users",
            "set-password",
            "ada@example.com",
            "--password-stdin",
            "--json",
            input=f"{NEW_PASSWORD}\n",
        )
    )
    assert report["sessionsEnded"] == 2
    for tokens in (phone, tablet):
        assert refresh(client, tokens["refreshToken"]).json == EXPIRED
    assert auth.login(password=PASSWORD).status_code == 400
    fresh = auth.login(password=NEW_PASSWORD)
    assert fresh.status_code == 200
    assert operator_entries(client, fresh.json) == ["passwordChanged"]


def test_set_password_prompts_hidden_and_refuses_a_short_one(auth, cli):
    auth.signup()
    result = cli("users", "set-password", "ada@example.com", input="short\nshort\n")
    assert result.exit_code == 1
    assert result.output.endswith("Error: Password must be 8 to 72 bytes long.\n")
    assert "short" not in result.output  # the prompts only: nothing typed is echoed
    assert auth.login().status_code == 200  # unchanged


# users verify-email


def test_verify_email_marks_the_address_verified_once(auth, cli, storage):
    user_id = auth.tokens()["user"]["id"]
    first = as_json(cli("users", "verify-email", "ada@example.com", "--json"))
    assert first["changed"] is True and first["user"]["emailVerified"] is True
    assert storage.users.find_by_id(user_id)["emailVerified"] is True
    again = ok(cli("users", "verify-email", "ada@example.com"))
    assert again.output == "ada@example.com was already verified.\n"
    assert activity_of(storage, user_id)[0] == ("emailVerified", "operator")
    assert [name for name, _ in activity_of(storage, user_id)].count("emailVerified") == 1


# users disable / enable


def test_disable_and_enable_report_what_changed_and_log_it(auth, cli, storage):
    user_id = auth.tokens()["user"]["id"]
    disabled = as_json(cli("users", "disable", "ada@example.com", "--json"))
    assert (disabled["changed"], disabled["sessionsEnded"], disabled["user"]["disabled"]) == (True, 1, True)
    assert ok(cli("users", "disable", "ada@example.com")).output == (
        "Already disabled: ada@example.com; ended 0 session(s).\n"
    )
    assert ok(cli("users", "enable", user_id)).output == "Enabled ada@example.com.\n"
    assert ok(cli("users", "enable", user_id)).output == "ada@example.com was not disabled.\n"
    assert activity_of(storage, user_id)[:2] == [("enabled", "operator"), ("disabled", "operator")]


# users promote / demote


def test_promote_and_demote_change_the_role_and_log_it(auth, cli, storage):
    user_id = auth.tokens()["user"]["id"]
    promoted = as_json(cli("users", "promote", "ada@example.com", "--json"))
    assert (promoted["changed"], promoted["user"]["role"]) == (True, "admin")
    assert ok(cli("users", "promote", "ada@example.com")).output == "ada@example.com was already an admin.\n"
    assert ok(cli("users", "demote", "ada@example.com")).output == "ada@example.com is now a user.\n"
    assert storage.users.find_by_id(user_id)["role"] == "user"
    assert activity_of(storage, user_id)[:2] == [("demoted", "operator"), ("promoted", "operator")]


def test_a_promotion_shows_in_the_next_access_token(auth, cli, client):
    tokens = auth.tokens()
    ok(cli("users", "promote", "ada@example.com"))
    fresh = refresh(client, tokens["refreshToken"]).json["authToken"]
    assert client.get("/api/auth/me", headers=bearer(fresh)).json["user"]["role"] == "admin"


# users delete


def test_delete_asks_first_and_a_no_deletes_nothing(auth, cli, storage):
    auth.tokens()
    result = cli("users", "delete", "ada@example.com", input="n\n")
    assert result.exit_code == 1
    assert "Delete ada@example.com" in result.output and "Aborted!" in result.output
    assert storage.users.find_by_email("ada@example.com") is not None


def test_delete_with_no_one_to_answer_deletes_nothing(auth, cli, storage):
    auth.signup()
    assert cli("users", "delete", "ada@example.com").exit_code == 1
    assert storage.users.find_by_email("ada@example.com") is not None


def test_delete_removes_the_user_and_everything_the_user_owns(auth, cli, client, storage):
    tokens = auth.tokens()
    auth.login(password="wrong password")  # a failed-login count for the email
    assert storage.db[LOGIN_FAILURES].count_documents({"_id": "ada@example.com"}) == 1
    bob = auth.tokens("bob@example.com")
    ok(cli("users", "delete", "ada@example.com", input="y\n"))
    user_id = tokens["user"]["id"]
    assert storage.users.find_by_id(user_id) is None
    assert storage.db[SESSIONS].count_documents({"userId": user_id}) == 0
    assert storage.db[ACTIVITY].count_documents({}) == len(activity_of(storage, bob["user"]["id"]))
    assert storage.db[LOGIN_FAILURES].count_documents({"_id": "ada@example.com"}) == 0
    assert refresh(client, tokens["refreshToken"]).json == EXPIRED
    assert auth.login().json["message"] == "The email or password is incorrect."
    assert storage.users.find_by_id(bob["user"]["id"]) is not None  # nobody else's


def test_delete_with_yes_asks_nothing_and_reports_json(auth, cli, storage):
    user_id = auth.tokens()["user"]["id"]
    report = as_json(cli("users", "delete", user_id, "--yes", "--json"))
    assert report["deleted"]["email"] == "ada@example.com"
    assert storage.users.find_by_id(user_id) is None


def test_show_and_list_escape_the_control_characters_clients_sent(client, cli, storage):
    evil = "\x1b]0;owned\x07\x1b[2J\x1b[31mFAKE: all clear\x1b[0m"
    body = {"first": "A", "last": "B", "email": "e@example.com", "password": PASSWORD}
    client.post("/api/auth/signup", json=body, headers={"User-Agent": "UA" + evil})
    # Signup refuses such names now; ones stored before that rule (or by the original) remain.
    storage.db[USERS].update_one({"email": "e@example.com"}, {"$set": {"first": "A" + evil}})
    client.post(
        "/api/auth/login",
        json={"email": "e@example.com", "password": PASSWORD},
        headers={"User-Agent": "UA" + evil},
    )

    shown = ok(cli("users", "show", "e@example.com")).output
    listed = ok(cli("users", "list")).output

    for output in (shown, listed):
        assert "\x1b" not in output and "\x07" not in output
    assert "\\x1b[31mFAKE" in shown and "UA\\x1b]0;owned\\x07" in shown


def test_text_and_json_output_escape_c1_controls_separators_and_direction_overrides(client, cli, storage):
    # An 8-bit CSI and NEL, a line separator, and an override that would show "evil" reversed.
    hostile = "A\x9b2J\x85B\u2028C\u202elive\u2066D\u2069"
    body = {"first": "A", "last": "B", "email": "e@example.com", "password": PASSWORD}
    client.post("/api/auth/signup", json=body, headers={"User-Agent": "UA\u202d" + hostile})
    storage.db[USERS].update_one({"email": "e@example.com"}, {"$set": {"first": hostile}})

    shown_json = ok(cli("users", "show", "e@example.com", "--json")).output
    listed_json = ok(cli("users", "list", "--json")).output
    shown = ok(cli("users", "show", "e@example.com")).output
    listed = ok(cli("users", "list")).output

    for output in (shown_json, listed_json, shown, listed):
        assert not set(output) & set("\x85\x9b\u2028\u202d\u202e\u2066\u2069"), repr(output)
    assert json.loads(shown_json)["user"]["first"] == hostile  # JSON escapes, which parse back
    assert json.loads(listed_json)["users"][0]["first"] == hostile
    assert "\\x9b2J" in shown and "\\u202elive" in shown and "UA\\u202d" in shown
    assert "\\u2028C" in listed


def test_sentences_and_prompts_escape_an_address_the_original_stored_as_typed(cli, storage):
    storage.db[USERS].insert_one(
        {"first": "J", "last": "G", "email": "j\x1b[2J\u202e@example.com", "password": "x"}
    )
    user_id = str(storage.db[USERS].find_one({})["_id"])
    verified = ok(cli("users", "verify-email", user_id)).output
    asked = cli("users", "delete", user_id, input="n\n").output
    for output in (verified, asked):
        assert "\x1b" not in output and "\u202e" not in output, repr(output)
        assert "j\\x1b[2J\\u202e@example.com" in output
