"""One mailbox, one spelling: addresses are folded (NFKC, case, IDNA) before being stored or compared."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_original_database import insert_original_user

from app.storage import MIGRATIONS, USERS
from app.texts import InvalidEmailDomain, normalise_email
from helpers import PASSWORD, AuthActions, bearer

# Each is delivered to target@example.com; the last two only once IDNA maps the domain.
SPELLINGS = [
    "target@example.com",
    "target@ｅｘａｍｐｌｅ.com",  # full-width letters
    "ＴＡＲＧＥＴ＠ＥＸＡＭＰＬＥ．ＣＯＭ",  # full-width capitals, at sign and dot
    "target@example。com",  # an ideographic full stop: a dot to IDNA
    "target@exa\u00admple.com",  # a soft hyphen: mapped away by IDNA
]


def signup(client, email: str):
    body = {"first": "Ada", "last": "Lovelace", "email": email, "password": PASSWORD}
    return client.post("/api/auth/signup", json=body)


@pytest.mark.parametrize("spelling", SPELLINGS[1:])
def test_one_mailbox_holds_one_account_whatever_the_spelling(client, storage, spelling):
    assert signup(client, "target@example.com").status_code == 200
    response = signup(client, spelling)
    assert response.json == {
        "success": False,
        "message": "A user with that username already exists.",
        "code": "emailTaken",
    }
    assert [user["email"] for user in storage.db[USERS].find()] == ["target@example.com"]


def test_an_account_made_with_a_look_alike_spelling_is_stored_as_delivered(client, storage):
    assert signup(client, "ＴＡＲＧＥＴ＠ｅｘａｍｐｌｅ．com").status_code == 200
    assert storage.db[USERS].find_one({})["email"] == "target@example.com"
    auth = AuthActions(client)
    for spelling in SPELLINGS:
        assert auth.login(spelling).status_code == 200, spelling


def test_an_international_domain_is_stored_in_its_ascii_form_and_matches_either_way(client, storage):
    assert signup(client, "Ada@Bücher.example").status_code == 200
    assert storage.db[USERS].find_one({})["email"] == "ada@xn--bcher-kva.example"
    auth = AuthActions(client)
    assert auth.login("ADA@BÜCHER.EXAMPLE").status_code == 200
    assert auth.login("ada@xn--bcher-kva.example").status_code == 200


@pytest.mark.parametrize("email", ["ada@☃.example", "ada@bü\u200dcher.example"])
def test_a_domain_that_is_no_valid_domain_name_is_a_400_naming_the_field(client, storage, email):
    response = signup(client, email)
    assert response.status_code == 400
    assert response.json["success"] is False
    assert response.json["message"].startswith("Invalid email:")
    assert list(response.json["errors"]) == ["email"]
    assert storage.db[USERS].count_documents({}) == 0


def test_change_email_codes_to_one_inbox_share_its_quota_whatever_the_spelling(
    mail_client, mailbox, delivered
):
    token = AuthActions(mail_client).tokens()["authToken"]
    for spelling in SPELLINGS:
        body = {"password": PASSWORD, "newEmail": spelling}
        response = mail_client.post("/api/auth/changeEmail", json=body, headers=bearer(token))
        assert response.status_code == 200, (spelling, response.json)
    delivered()
    assert len(mailbox.to("target@example.com")) == 3  # MAIL_LIMIT_PER_HOUR


def test_forgot_password_finds_the_account_by_any_spelling(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup("target@example.com")
    delivered()
    before = len(mailbox.to("target@example.com"))
    response = mail_client.post("/api/auth/forgotPassword", json={"email": "target@ｅｘａｍｐｌｅ.com"})
    assert response.status_code == 200
    delivered()
    assert len(mailbox.to("target@example.com")) == before + 1


def test_an_id_token_email_is_normalised_as_signup_does(id_client, google):
    body = {"provider": "google", "idToken": google.token(email="Ada@ＥＸＡＭＰＬＥ.com")}
    response = id_client.post("/api/auth/loginWithIdToken", json=body)
    assert response.status_code == 200, response.json
    assert response.json["user"]["email"] == "ada@example.com"
    assert signup(id_client, "ada@example.com").status_code == 400


def test_an_id_token_email_whose_domain_is_no_domain_name_makes_no_account(id_client, google):
    body = {"provider": "google", "idToken": google.token(email="ada@☃.example")}
    response = id_client.post("/api/auth/loginWithIdToken", json=body)
    assert response.status_code == 400 and response.json["code"] == "invalidIdToken"


def test_the_command_line_finds_a_user_by_any_spelling(app, auth):
    user_id = auth.tokens("ada@example.com")["user"]["id"]
    result = app.test_cli_runner().invoke(args=["users", "show", " ＡＤＡ@ｅｘａｍｐｌｅ.com ", "--json"])
    assert result.exit_code == 0, result.output
    assert f'"id": "{user_id}"' in result.output


def test_an_original_database_gets_the_same_spelling_and_keeps_addresses_it_cannot_fold(auth, storage):
    insert_original_user(storage, "original-password")
    storage.db[USERS].update_one({}, {"$set": {"email": "Jay@ＥＸＡＭＰＬＥ.com"}})
    storage.db[USERS].insert_one({"first": "X", "last": "Y", "email": "X@☃.example", "password": "x"})
    storage.db[MIGRATIONS].delete_many({})
    storage.ensure_indexes()
    assert sorted(user["email"] for user in storage.db[USERS].find()) == ["X@☃.example", "jay@example.com"]
    assert auth.login(email="jay@example.com", password="original-password").status_code == 200


@given(st.text(max_size=30), st.text(max_size=30))
def test_a_folded_address_folds_to_itself_and_its_domain_is_ascii(local, domain):
    try:
        folded = normalise_email(f"{local}@{domain}")
    except InvalidEmailDomain:
        return
    assert normalise_email(folded) == folded
    assert folded.rpartition("@")[2].isascii()


@pytest.mark.parametrize("email", ['"a\x1b[2Jb"@example.com', '"a\x7fb"@example.com', '"a\x01b"@example.com'])
def test_a_quoted_local_part_with_control_characters_is_refused(client, storage, email):
    response = signup(client, email)
    assert response.status_code == 400
    assert list(response.json["errors"]) == ["email"]
    assert storage.db[USERS].count_documents({}) == 0
