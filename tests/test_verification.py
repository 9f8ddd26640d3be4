"""Email verification: the code mailed at signup, verifyEmail, resendVerification, and requiring it."""

from datetime import datetime

import bcrypt
import pytest
from bson import ObjectId

from helpers import PASSWORD, AuthActions, bearer
from smtp_server import bodies, code_in

INVALID_CODE = {"success": False, "message": "The code is invalid or has expired.", "code": "invalidCode"}
NOT_VERIFIED = {
    "success": False,
    "message": "Please verify your email address first.",
    "code": "emailNotVerified",
}


def insert_original_user(storage, password: str) -> None:
    """Store a user as the original server did: no emailVerified, no createdAt, a $2a$ hash."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    storage.db["Users"].insert_one(
        {
            "_id": ObjectId.from_datetime(datetime(2018, 6, 1)),
            "first": "Jay",
            "last": "Gould",
            "email": "jay@example.com",
            "password": "$2a$" + hashed[4:],
        }
    )


def verify(client, code, email="ada@example.com"):
    return client.post("/api/auth/verifyEmail", json={"email": email, "code": code})


def resend(client, email="ada@example.com"):
    return client.post("/api/auth/resendVerification", json={"email": email})


def signup_code(client, mailbox, delivered, email="ada@example.com") -> str:
    assert AuthActions(client).signup(email).json == {"success": True}, "the signup answer is unchanged"
    delivered()
    return code_in(mailbox.last(email, "Confirm"))


def test_a_signup_mails_a_code_that_verifies_the_address(mail_client, mailbox, delivered):
    code = signup_code(mail_client, mailbox, delivered)
    message = mailbox.last("ada@example.com", "Confirm")
    assert message["Subject"] == "Confirm your email address for Acme"
    assert message["From"] == "Acme <no-reply@acme.test>"
    text, html = bodies(message)
    assert "Acme" in text and "Acme" in html

    auth = AuthActions(mail_client)
    signed_in = auth.login().json
    assert signed_in["user"]["emailVerified"] is False
    # From a session of the account: the password and the sessions are kept.
    verified = mail_client.post(
        "/api/auth/verifyEmail",
        json={"email": "ada@example.com", "code": code},
        headers=bearer(signed_in["authToken"]),
    )
    assert verified.json == {"success": True, "passwordRemoved": False}
    tokens = auth.login().json
    assert tokens["user"]["emailVerified"] is True
    me = mail_client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json["user"]
    assert me["emailVerified"] is True
    activity = mail_client.get("/api/auth/activity", headers=bearer(tokens["authToken"])).json["activity"]
    assert "emailVerified" in [entry["activity"] for entry in activity]


def test_a_verification_code_works_once_and_not_after_it_expires(mail_client, mailbox, delivered, clock):
    code = signup_code(mail_client, mailbox, delivered)
    assert verify(mail_client, code).status_code == 200
    assert verify(mail_client, code).json == INVALID_CODE
    code = signup_code(mail_client, mailbox, delivered, "bob@example.com")
    clock.advance(900)
    assert verify(mail_client, code, "bob@example.com").json == INVALID_CODE


def test_five_wrong_tries_void_the_verification_code(mail_client, mailbox, delivered):
    code = signup_code(mail_client, mailbox, delivered)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert verify(mail_client, wrong).json == INVALID_CODE
    assert verify(mail_client, code).json == INVALID_CODE


def test_a_code_for_another_address_or_an_unknown_address_is_refused(mail_client, mailbox, delivered):
    adas = signup_code(mail_client, mailbox, delivered)
    signup_code(mail_client, mailbox, delivered, "bob@example.com")
    assert verify(mail_client, adas, "bob@example.com").json == INVALID_CODE
    assert verify(mail_client, adas, "nobody@example.com").json == INVALID_CODE
    assert verify(mail_client, adas).status_code == 200


def test_resend_mails_a_new_code_that_replaces_the_first(mail_client, mailbox, delivered):
    first = signup_code(mail_client, mailbox, delivered)
    assert resend(mail_client).json == {"success": True}
    delivered()
    second = code_in(mailbox.last("ada@example.com", "Confirm"))
    assert len(mailbox.to("ada@example.com")) == 2
    if first != second:
        assert verify(mail_client, first).json == INVALID_CODE
    assert verify(mail_client, second).status_code == 200


def test_resend_answers_the_same_and_mails_nothing_for_unknown_or_verified_addresses(
    mail_client, mailbox, delivered
):
    verify(mail_client, signup_code(mail_client, mailbox, delivered))
    before = len(mailbox.messages)
    for email in ("ada@example.com", "nobody@example.com"):
        response = resend(mail_client, email)
        assert (response.status_code, response.json) == (200, {"success": True})
    delivered()
    assert len(mailbox.messages) == before


def test_at_most_three_mails_of_one_purpose_reach_an_address_in_an_hour(
    mail_client, mailbox, delivered, clock
):
    signup_code(mail_client, mailbox, delivered)  # the first
    for _ in range(4):
        assert resend(mail_client).json == {"success": True}
    delivered()
    assert len(mailbox.to("ada@example.com")) == 3
    last = code_in(mailbox.last("ada@example.com"))
    assert verify(mail_client, last).status_code == 200, "a refused resend leaves the last code valid"
    clock.advance(3600)
    mail_client.post("/api/auth/forgotPassword", json={"email": "ada@example.com"})
    delivered()
    assert len(mailbox.to("ada@example.com")) == 4, "another purpose has its own quota"


def test_the_quota_starts_again_after_an_hour(mail_client, mailbox, delivered, clock):
    signup_code(mail_client, mailbox, delivered)
    resend(mail_client)
    resend(mail_client)
    resend(mail_client)
    clock.advance(3600)
    resend(mail_client)
    delivered()
    assert len(mailbox.to("ada@example.com")) == 4


def test_the_verification_link_template_goes_into_the_message(make_mail_app, mailbox):
    app = make_mail_app(email_verification_url="https://acme.test/verify?code={code}")
    client = app.test_client()
    AuthActions(client).signup()
    app.extensions["mailer"].flush(10)
    message = mailbox.last("ada@example.com", "Confirm")
    assert f"https://acme.test/verify?code={code_in(message)}" in bodies(message)[0]


def test_bad_inputs_get_a_400(client):
    for path, body in [
        ("/api/auth/verifyEmail", {"email": "ada@example.com"}),
        ("/api/auth/verifyEmail", {"email": "ada@example.com", "code": 123456}),
        ("/api/auth/verifyEmail", {"email": ["ada@example.com"], "code": "123456"}),
        ("/api/auth/verifyEmail", {"email": "ada@example.com", "code": "9" * 100}),
        ("/api/auth/resendVerification", {}),
        ("/api/auth/resendVerification", {"email": True}),
        ("/api/auth/resendVerification", {"email": "x" * 300}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 400, (path, body)
        assert response.json["success"] is False


# REQUIRE_EMAIL_VERIFICATION


def test_by_default_an_unverified_account_logs_in(auth):
    auth.signup()
    assert auth.login().status_code == 200


@pytest.fixture
def strict_client(make_mail_app):
    return make_mail_app(require_email_verification=True).test_client()


def test_required_verification_refuses_an_unverified_login_after_the_password_check(
    strict_client, mailbox, make_mail_app
):
    auth = AuthActions(strict_client)
    auth.signup()
    refused = auth.login()
    assert (refused.status_code, refused.json) == (400, NOT_VERIFIED)
    wrong = auth.login(password="wrong password")
    assert wrong.json["message"] == "The email or password is incorrect.", "no hint without the password"


def test_required_verification_opens_no_session_and_lets_a_verified_account_in(strict_client, mailbox):
    auth = AuthActions(strict_client)
    auth.signup()
    auth.login()
    strict_client.application.extensions["mailer"].flush(10)
    storage = strict_client.application.extensions["auth_service"].storage
    assert storage.db["Sessions"].count_documents({}) == 0
    code = code_in(mailbox.last("ada@example.com"))
    body = {"email": "ada@example.com", "code": code, "password": PASSWORD}  # no session yet: the password
    assert strict_client.post("/api/auth/verifyEmail", json=body).json == {
        "success": True,
        "passwordRemoved": False,
    }
    assert auth.login().status_code == 200


def test_original_users_without_email_verified_log_in_and_are_shown_unverified(auth, client, storage):
    insert_original_user(storage, "original-password")
    response = auth.login(email="jay@example.com", password="original-password")
    assert response.status_code == 200
    assert response.json["user"]["emailVerified"] is False
    me = client.get("/api/auth/me", headers=bearer(response.json["authToken"])).json["user"]
    assert me["emailVerified"] is False


def test_original_users_can_verify_their_address_and_then_log_in_when_it_is_required(strict_client, mailbox):
    storage = strict_client.application.extensions["auth_service"].storage
    insert_original_user(storage, PASSWORD)
    auth = AuthActions(strict_client)
    assert auth.login("jay@example.com").json == NOT_VERIFIED
    resend(strict_client, "jay@example.com")
    strict_client.application.extensions["mailer"].flush(10)
    body = {
        "email": "jay@example.com",
        "code": code_in(mailbox.last("jay@example.com")),
        "password": PASSWORD,
    }
    assert strict_client.post("/api/auth/verifyEmail", json=body).json["passwordRemoved"] is False
    assert auth.login("jay@example.com").status_code == 200
