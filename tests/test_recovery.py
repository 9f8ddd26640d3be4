"""forgotPassword and resetPassword, end to end over HTTP with real mail (SMTP on 127.0.0.1)."""

import pytest
from bson import ObjectId

from helpers import EXPIRED, PASSWORD, AuthActions, MailLog, at_once, bearer, refresh
from smtp_server import bodies, code_in

NEW_PASSWORD = "a brand new passphrase"
INVALID_CODE = {"success": False, "message": "The code is invalid or has expired.", "code": "invalidCode"}


def forgot(client, email="ada@example.com"):
    return client.post("/api/auth/forgotPassword", json={"email": email})


def reset(client, code, email="ada@example.com", password=NEW_PASSWORD):
    body = {"email": email, "code": code, "newPassword": password}
    return client.post("/api/auth/resetPassword", json=body)


def reset_code(client, mailbox, delivered, email="ada@example.com") -> str:
    assert forgot(client, email).json == {"success": True}
    delivered()
    return code_in(mailbox.last(email, "Reset"))


def test_a_forgotten_password_is_reset_with_the_mailed_code(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    tokens = auth.tokens()
    code = reset_code(mail_client, mailbox, delivered)

    response = reset(mail_client, code)

    assert (response.status_code, response.json) == (200, {"success": True})
    assert auth.login(password=NEW_PASSWORD).status_code == 200
    assert auth.login(password=PASSWORD).json["message"] == "The email or password is incorrect."
    assert refresh(mail_client, tokens["refreshToken"]).json == EXPIRED, "every session ended"
    delivered()
    notice = mailbox.last("ada@example.com", "password was changed")
    assert "Acme" in notice["Subject"] and "Acme" in bodies(notice)[0]


def test_the_reset_message_has_its_headers_both_bodies_and_the_app_name(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    reset_code(mail_client, mailbox, delivered)
    message = mailbox.last("ada@example.com", "Reset")
    assert message["From"] == "Acme <no-reply@acme.test>"
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reset your Acme password"
    text, html = bodies(message)
    assert "Acme" in text and "Acme" in html
    assert "Hello Ada" in text and "Hello Ada" in html
    assert "15 minutes" in text
    assert html.lstrip().startswith("<!DOCTYPE html>")


def test_the_answer_is_the_same_for_an_unknown_address_and_nothing_is_mailed(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    delivered()
    before = len(mailbox.messages)
    response = forgot(mail_client, "nobody@example.com")
    assert (response.status_code, response.json) == (200, {"success": True})
    delivered()
    assert len(mailbox.messages) == before


def test_reset_is_written_to_the_activity_log(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    auth.signup()
    reset(mail_client, reset_code(mail_client, mailbox, delivered))
    token = auth.login(password=NEW_PASSWORD).json["authToken"]
    entries = mail_client.get("/api/auth/activity", headers=bearer(token)).json["activity"]
    names = [entry["activity"] for entry in entries]
    assert names[:2] == ["login", "passwordReset"]


def test_reset_verifies_the_email_it_proved_and_clears_the_login_delay(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    auth.signup()
    for _ in range(6):
        auth.login(password="wrong password")
    assert auth.login().status_code == 429
    reset(mail_client, reset_code(mail_client, mailbox, delivered))
    login = auth.login(password=NEW_PASSWORD)
    assert login.status_code == 200
    assert login.json["user"]["emailVerified"] is True


def test_a_code_works_once(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    assert reset(mail_client, code).status_code == 200
    again = reset(mail_client, code, password="yet another passphrase")
    assert (again.status_code, again.json) == (400, INVALID_CODE)


def test_five_wrong_codes_void_the_code_so_the_right_one_fails_too(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert reset(mail_client, wrong).json == INVALID_CODE
    assert reset(mail_client, code).json == INVALID_CODE


def test_four_wrong_codes_leave_the_right_one_working(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        reset(mail_client, wrong)
    assert reset(mail_client, code).status_code == 200


def test_an_expired_code_is_refused(mail_client, mailbox, delivered, clock):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    clock.advance(15 * 60)
    assert reset(mail_client, code).json == INVALID_CODE


def test_a_new_code_replaces_the_previous_one(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    first = reset_code(mail_client, mailbox, delivered)
    second = reset_code(mail_client, mailbox, delivered)
    if first != second:  # one in a million they are equal
        assert reset(mail_client, first).json == INVALID_CODE
    assert reset(mail_client, second).status_code == 200


def test_a_code_for_another_email_or_purpose_is_refused(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    auth.signup()
    auth.signup("bob@example.com")
    delivered()
    verification = code_in(mailbox.last("ada@example.com", "Confirm"))
    bobs = reset_code(mail_client, mailbox, delivered, "bob@example.com")
    assert reset(mail_client, bobs, email="ada@example.com").json == INVALID_CODE
    assert reset(mail_client, verification).json == INVALID_CODE, "a verification code is no reset code"
    assert reset(mail_client, bobs, email="bob@example.com").status_code == 200


def test_an_unknown_email_gets_invalid_code(mail_client):
    assert reset(mail_client, "123456", email="nobody@example.com").json == INVALID_CODE


def test_concurrent_resets_with_one_code_have_exactly_one_winner(mail_app, mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    responses = at_once(mail_app, 6, lambda client: reset(client, code, password=f"{id(client)}{PASSWORD}"))
    assert sorted(response.status_code for response in responses) == [200, 400, 400, 400, 400, 400]


def test_the_new_password_follows_the_signup_rules_and_keeps_the_code(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    short = reset(mail_client, code, password="short")
    assert (short.status_code, short.json["message"]) == (400, "Password must be 8 to 72 bytes long.")
    assert reset(mail_client, code, password="x" * 73).status_code == 400
    assert reset(mail_client, code).status_code == 200, "a refused password does not use up the code"


def test_bad_inputs_get_a_400_with_the_envelope(client):
    ada = {"email": "ada@example.com", "newPassword": NEW_PASSWORD}
    cases = [
        ("/api/auth/forgotPassword", {}),
        ("/api/auth/forgotPassword", {"email": "not an email"}),
        ("/api/auth/forgotPassword", {"email": {"$ne": None}}),
        ("/api/auth/forgotPassword", {"email": "a" * 250 + "@example.com"}),
        ("/api/auth/resetPassword", ada),
        ("/api/auth/resetPassword", ada | {"code": 123456}),
        ("/api/auth/resetPassword", ada | {"code": ["1"]}),
        ("/api/auth/resetPassword", ada | {"code": "1" * 21}),
        ("/api/auth/resetPassword", ada | {"code": "123456", "newPassword": 12345678}),
        ("/api/auth/resetPassword", ada | {"code": None}),
    ]
    for path, body in cases:
        response = client.post(path, json=body)
        assert response.status_code == 400, (path, body)
        assert response.json["success"] is False and response.json["message"], (path, body)
    missing = client.post("/api/auth/forgotPassword", json={})
    assert missing.json["message"] == "You must send your email address."


def test_a_code_in_the_wrong_shape_is_an_invalid_code_and_counts_as_a_try(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup()
    code = reset_code(mail_client, mailbox, delivered)
    for wrong in ("abcdef", "12345", "١٢٣٤٥٦", "1234567"):
        assert reset(mail_client, wrong).json == INVALID_CODE
    assert reset(mail_client, f"{code[:3]} {code[3:]}").status_code == 200, "spaces as typed are fine"


def test_an_account_without_a_password_gets_one(mail_client, mail_app, mailbox, delivered):
    storage = mail_app.extensions["auth_service"].storage
    storage.db["Users"].insert_one(
        {"_id": ObjectId(), "first": "Apple", "last": "User", "email": "apple@example.com", "password": None}
    )
    auth = AuthActions(mail_client)
    assert auth.login("apple@example.com", PASSWORD).json["message"] == "The email or password is incorrect."
    code = reset_code(mail_client, mailbox, delivered, "apple@example.com")
    reset(mail_client, code, email="apple@example.com")
    assert auth.login("apple@example.com", NEW_PASSWORD).status_code == 200


def test_the_link_template_puts_a_deep_link_in_the_message(make_mail_app, mailbox):
    app = make_mail_app(password_reset_url="acme://reset?email={email}&code={code}")
    client = app.test_client()
    AuthActions(client).signup("ada+x@example.com")
    forgot(client, "ada+x@example.com")
    app.extensions["mailer"].flush(10)
    message = mailbox.last("ada+x@example.com", "Reset")
    code = code_in(message)
    link = f"acme://reset?email=ada%2Bx%40example.com&code={code}"
    text, html = bodies(message)
    assert link in text
    assert link.replace("&", "&amp;") in html


def test_a_stranger_cannot_keep_the_owner_from_a_reset_code_for_the_hour(make_app):
    app = make_app(rate_limit_enabled=False)
    mail = MailLog()
    mail.capture(app)
    client = app.test_client()
    AuthActions(client).signup()
    for _ in range(3):  # the stranger spends the hour's quota...
        forgot(client)
    assert (
        forgot(client).status_code == 200 and mail.templates("ada@example.com").count("reset_password") == 3
    )
    for _ in range(5):  # ...and voids the code mailed last
        assert reset(client, "000000").json == INVALID_CODE

    forgot(client)  # the owner asks

    assert mail.templates("ada@example.com").count("reset_password") == 4
    assert reset(client, mail.last_code("ada@example.com")).status_code == 200


def test_replacements_past_the_hourly_quota_have_a_daily_cap(make_app):
    # Limits and the account's ceiling of wrong codes off: the replacements' own cap is tested.
    app = make_app(rate_limit_enabled=False, code_failures_per_day=1000)
    mail = MailLog()
    mail.capture(app)
    client = app.test_client()
    AuthActions(client).signup()
    for _ in range(3 + 5 + 2):  # the hour's 3, the day's 5 replacements, 2 more refused
        forgot(client)
        for _ in range(5):
            reset(client, "000000")

    assert mail.templates("ada@example.com").count("reset_password") == 8


@pytest.mark.parametrize("route", ["resetPassword", "verifyEmail"])
def test_an_unknown_address_does_the_lookups_a_wrong_code_does(make_app, monkeypatch, route):
    app = make_app(rate_limit_enabled=False)
    storage = app.extensions["auth_service"].storage
    client = app.test_client()
    AuthActions(client).signup()
    lookups = []
    use_code = storage.codes.use
    monkeypatch.setattr(
        storage.codes, "use", lambda *args, **kwargs: lookups.append(args[2]) or use_code(*args, **kwargs)
    )
    body = {"code": "000000", "newPassword": NEW_PASSWORD}

    for email in ("ada@example.com", "nobody@example.com"):
        response = client.post(f"/api/auth/{route}", json=body | {"email": email})
        assert response.json == INVALID_CODE

    assert lookups == ["ada@example.com", "nobody@example.com"]


def test_logout_all_leaves_a_pending_reset_code_working(mail_client, mailbox, delivered):
    """A session holder (a squatter, a thief of the old password) cannot void the owner's reset."""
    auth = AuthActions(mail_client)
    holder = auth.tokens()
    code = reset_code(mail_client, mailbox, delivered)
    response = mail_client.post("/api/auth/logoutAll", headers=bearer(holder["authToken"]))
    assert response.status_code == 200
    assert reset(mail_client, code).json == {"success": True}
    assert auth.login(password=NEW_PASSWORD).status_code == 200
