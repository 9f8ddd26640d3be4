"""New passwords: common ones, and ones built from the account's name or email, are refused."""

import bcrypt
import pytest

from app import password_policy
from app.storage import USERS
from helpers import PASSWORD, AuthActions, bearer
from smtp_server import code_in

TOO_COMMON = "This password is too common."
PERSONAL = "The password must not contain your name or email."
COMMON = [
    "password123",
    "Password1!",
    "P@ssw0rd",
    "qwertyuiop",
    "iloveyou2",
    "12345678",
    "aaaaaaaa",
    "abcd1234",
]
# For Ada Lovelace, ada@example.com
BUILT_FROM_NAMES = ["lovelace1815", "Ada.Lovelace", "LovelaceAda!", "AdaLovelace2024"]
BUILT_FROM_EMAIL = ["ada@example.com", "ADA@example.com!", "ada12345", "adaada!!"]
STRONG = "a brand new passphrase"


def refusal(message: str, field: str) -> dict:
    return {"success": False, "message": message, "code": "weakPassword", "errors": {field: [message]}}


def reset_code(client, mailbox, email: str = "ada@example.com") -> str:
    client.post("/api/auth/forgotPassword", json={"email": email})
    assert client.application.extensions["mailer"].flush(10)
    return code_in(mailbox.last(email, "Reset"))


def reset(client, code: str, password: str, email: str = "ada@example.com"):
    body = {"email": email, "code": code, "newPassword": password}
    return client.post("/api/auth/resetPassword", json=body)


def change(client, token: str, new_password: str, current: str = PASSWORD):
    body = {"currentPassword": current, "newPassword": new_password}
    return client.post("/api/auth/changePassword", json=body, headers=bearer(token))


@pytest.mark.parametrize("password", COMMON)
def test_signup_refuses_a_common_password_and_creates_no_account(auth, password):
    response = auth.signup(password=password)
    assert (response.status_code, response.json) == (400, refusal(TOO_COMMON, "password"))
    assert auth.signup().status_code == 200, "the address is still free"


@pytest.mark.parametrize("password", BUILT_FROM_NAMES + BUILT_FROM_EMAIL)
def test_signup_refuses_a_password_built_from_the_name_or_the_email(auth, password):
    response = auth.signup(password=password)
    assert (response.status_code, response.json) == (400, refusal(PERSONAL, "password"))


def test_the_email_rule_takes_every_part_of_the_local_part(auth):
    response = auth.signup(email="grace.hopper@example.com", password="hopper.grace!")
    assert response.json == refusal(PERSONAL, "password")


@pytest.mark.parametrize(
    ("refused", "accepted"),
    [
        ("lovelace1815", "Lovelace analytical engine notes"),
        ("Ada.Lovelace", "Ada rides a purple giraffe"),
        ("12345678", "q7#Vm2!z"),  # short but random
    ],
)
def test_a_password_made_of_a_name_or_a_pattern_is_refused_not_one_that_holds_it(auth, refused, accepted):
    assert auth.signup(password=refused).status_code == 400
    assert auth.signup(password=accepted).status_code == 200
    assert auth.login(password=accepted).status_code == 200


def test_change_password_refuses_a_common_or_personal_new_password_and_changes_nothing(auth, client):
    token = auth.tokens()["authToken"]
    wrong_current = change(client, token, "Password1!", current="not the password")
    assert wrong_current.json["errors"] == {"currentPassword": ["The current password is incorrect."]}, (
        "the current password is checked first"
    )
    assert change(client, token, "Password1!").json == refusal(TOO_COMMON, "newPassword")
    personal = change(client, token, "AdaLovelace2024")
    assert (personal.status_code, personal.json) == (400, refusal(PERSONAL, "newPassword"))
    assert auth.login().status_code == 200, "the password is unchanged"
    assert change(client, token, STRONG).status_code == 200


def test_reset_refuses_a_common_password_before_using_the_code(make_mail_app, mailbox):
    client = make_mail_app().test_client()
    AuthActions(client).signup()
    code = reset_code(client, mailbox)
    for password in ("qwertyuiop", "ada@example.com!"):
        response = reset(client, code, password)
        assert response.status_code == 400
        assert response.json["errors"] == {"newPassword": [response.json["message"]]}
    assert reset(client, code, STRONG).status_code == 200, "the code is still good"
    assert AuthActions(client).login(password=STRONG).status_code == 200


COUNTESS = "countess@example.com"  # Ada Lovelace's account, at an address without her name


def test_reset_refuses_a_password_built_from_the_name_only_once_the_code_is_right(make_mail_app, mailbox):
    """Checked before the code, the names would tell a stranger whose account an address is."""
    client = make_mail_app().test_client()
    auth = AuthActions(client)
    auth.signup(email=COUNTESS)
    wrong_code = reset(client, "123456", "lovelace1815", email=COUNTESS)
    unknown = reset(client, "123456", "lovelace1815", email="nobody@example.com")
    assert wrong_code.json == unknown.json
    assert wrong_code.json["code"] == "invalidCode"
    code = reset_code(client, mailbox, COUNTESS)
    response = reset(client, code, "lovelace1815", email=COUNTESS)
    assert (response.status_code, response.json) == (400, refusal(PERSONAL, "newPassword"))
    assert auth.login(email=COUNTESS).status_code == 200, "the password is unchanged"
    assert reset(client, code, STRONG, email=COUNTESS).status_code == 200, "the code is still good"


def test_a_stored_common_password_still_logs_in_but_cannot_be_set_again(auth, client, storage):
    auth.signup()
    common = "password123"
    stored = bcrypt.hashpw(common.encode(), bcrypt.gensalt(4)).decode()
    storage.db[USERS].update_one({"email": "ada@example.com"}, {"$set": {"password": stored}})
    login = auth.login(password=common)
    assert login.status_code == 200
    response = change(client, login.json["authToken"], common, current=common)
    assert response.json == refusal(TOO_COMMON, "newPassword")


def test_zxcvbn_sees_at_most_16_characters_of_a_password(auth, monkeypatch):
    """Its l33t matching takes seconds on 72 symbols: a signup must not buy that much CPU."""
    real = password_policy.zxcvbn
    seen = []
    monkeypatch.setattr(password_policy, "zxcvbn", lambda text: seen.append(text) or real(text))
    symbols = "4@8({[<3&69!|1705$+%2" * 4
    assert auth.signup(password=symbols[:72]).status_code == 200
    assert auth.signup(email="grace@example.com", password="Ada" + symbols[:69]).status_code == 200
    assert len(seen) == 3, "the first password whole, the second with and without the name"
    assert max(len(text) for text in seen) == 16
