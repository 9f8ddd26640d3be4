"""Names go into mail and onto screens: one line of plain text, at most 100 characters."""

import pytest

from app.storage import USERS
from helpers import PASSWORD, bearer

# C0 (line breaks among them), DEL, C1 (NEL, CSI), separators, bidirectional overrides and isolates.
REFUSED = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202a", "\u202e"]
REFUSED += ["\u2066", "\u2069"]
LURE = "ACCOUNT LOCKED: visit https://evil.example"
# Names in other scripts, with the marks and joiners they need, stay as they are.
WELCOME = ["Zoë", "Ærøskøbing-Nuñez", "محمد", "דוד", "नमस्ते", "O'Brien 👩\u200d💻"]


def signup(client, **names):
    body = {"first": "Ada", "last": "Lovelace", "email": "ada@example.com", "password": PASSWORD} | names
    return client.post("/api/auth/signup", json=body)


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400
    body = response.json
    assert body["success"] is False
    assert body["message"].startswith(f"Invalid {field}:")
    assert list(body["errors"]) == [field]
    assert isinstance(body["errors"][field], list) and body["errors"][field]


@pytest.mark.parametrize("field", ["first", "last"])
@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_signup_refuses_a_name_with_a_line_break_or_control_character(client, storage, field, character):
    assert_refused(signup(client, **{field: f"Ada{character}{LURE}"}), field)
    assert storage.db[USERS].count_documents({}) == 0


def test_signup_keeps_names_in_any_script_and_refuses_the_101st_character(client, storage):
    for index, name in enumerate(WELCOME):
        response = signup(client, first=name, email=f"user{index}@example.com")
        assert response.status_code == 200, (name, response.json)
    assert [user["first"] for user in storage.db[USERS].find()] == WELCOME
    assert signup(client, first="x" * 100, email="long@example.com").status_code == 200
    assert_refused(signup(client, last="x" * 101, email="longer@example.com"), "last")
    assert_refused(signup(client, first="Ada\n" + LURE, email="lure@example.com"), "first")


@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_a_profile_edit_refuses_a_name_with_a_line_break_or_control_character(auth, client, character):
    token = auth.tokens()["authToken"]
    for field in ("first", "last"):
        response = client.patch("/api/auth/me", json={field: f"Ada{character}{LURE}"}, headers=bearer(token))
        assert_refused(response, field)
    me = client.get("/api/auth/me", headers=bearer(token)).json["user"]
    assert (me["first"], me["last"]) == ("Ada", "Lovelace")


def test_the_command_line_refuses_such_a_name_too(app, storage):
    args = ["users", "create", "--email", "op@example.com", "--first", f"Ada\x1b{LURE}", "--last", "L"]
    result = app.test_cli_runner().invoke(args=args + ["--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 1
    assert "Invalid first" in result.output
    assert storage.db[USERS].count_documents({}) == 0


def test_names_sent_with_an_id_token_are_refused_as_at_signup(id_client, apple, storage):
    body = {"provider": "apple", "idToken": apple.token(), "first": "Ada", "last": f"Lovelace\u2028{LURE}"}
    assert_refused(id_client.post("/api/auth/loginWithIdToken", json=body), "last")
    assert storage.db[USERS].count_documents({}) == 0


def test_names_from_a_provider_are_cleaned_rather_than_refused(id_client, google):
    token = google.token(given_name=f" \u202eAda\r\n{LURE}\x1b[2J ", family_name="Lovelace\x85" + "y" * 150)
    response = id_client.post("/api/auth/loginWithIdToken", json={"provider": "google", "idToken": token})
    assert response.status_code == 200, response.json
    user = response.json["user"]
    assert user["first"] == f"Ada{LURE}[2J"
    assert user["last"] == ("Lovelace" + "y" * 150)[:100]


def test_a_provider_name_of_nothing_but_refused_characters_is_no_name(id_client, google):
    token = google.token(given_name="\n\u202e\x1b", family_name="\u2066\u2069")
    response = id_client.post("/api/auth/loginWithIdToken", json={"provider": "google", "idToken": token})
    assert response.status_code == 200, response.json
    assert (response.json["user"]["first"], response.json["user"]["last"]) == ("", "")
