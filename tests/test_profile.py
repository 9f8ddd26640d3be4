"""The user's own profile: GET /me from the stored user, PATCH /me, changeEmail and confirmEmailChange."""

from helpers import INVALID, PASSWORD, AuthActions, at_once, bearer, claims_of, refresh
from smtp_server import bodies, code_in

INVALID_CODE = {"success": False, "message": "The code is invalid or has expired.", "code": "invalidCode"}
TAKEN = "A user with that username already exists."


def patch_me(client, token, body):
    return client.patch("/api/auth/me", json=body, headers=bearer(token))


def change_email(client, token, new_email="ada@new.example", password=PASSWORD):
    body = {"password": password, "newEmail": new_email}
    return client.post("/api/auth/changeEmail", json=body, headers=bearer(token))


def confirm(client, token, code):
    return client.post("/api/auth/confirmEmailChange", json={"code": code}, headers=bearer(token))


def activity_names(client, token) -> list[str]:
    entries = client.get("/api/auth/activity", headers=bearer(token)).json["activity"]
    return [entry["activity"] for entry in entries]


# PATCH /me and GET /me


def test_an_edit_shows_at_once_on_me_and_in_tokens_issued_after_it(auth, client):
    tokens = auth.tokens()
    response = patch_me(client, tokens["authToken"], {"first": "  Augusta ", "last": "King"})
    assert response.status_code == 200
    user = response.json["user"]
    assert (user["first"], user["last"], user["email"]) == ("Augusta", "King", "ada@example.com")
    assert client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json == {
        "success": True,
        "user": user,
    }
    new_token = refresh(client, tokens["refreshToken"]).json["authToken"]
    assert client.get("/api/auth/getAll", headers=bearer(new_token)).status_code == 201
    assert (claims_of(new_token)["first"], claims_of(new_token)["last"]) == ("Augusta", "King")
    assert "profileUpdated" in activity_names(client, tokens["authToken"])


def test_one_name_alone_can_change(auth, client):
    tokens = auth.tokens()
    user = patch_me(client, tokens["authToken"], {"last": "Byron"}).json["user"]
    assert (user["first"], user["last"]) == ("Ada", "Byron")


def test_nothing_to_change_and_bad_names_get_a_400(auth, client):
    token = auth.tokens()["authToken"]
    nothing = patch_me(client, token, {"email": "other@example.com"})
    assert (nothing.status_code, nothing.json["message"]) == (400, "Send first or last to change.")
    for body in (
        {"first": ""},
        {"first": "   "},
        {"first": None},
        {"first": 5},
        {"last": ["x"]},
        {"last": "x" * 101},
    ):
        response = patch_me(client, token, body)
        assert response.status_code == 400, body
        assert response.json["success"] is False
    me = client.get("/api/auth/me", headers=bearer(token)).json["user"]
    assert (me["first"], me["last"], me["email"]) == ("Ada", "Lovelace", "ada@example.com")


def test_me_and_its_edit_need_a_valid_token(client):
    assert client.patch("/api/auth/me", json={"first": "Eve"}).json == INVALID
    assert client.get("/api/auth/me", headers=bearer("not-a-token")).json == INVALID


def test_me_shows_no_password_hash_or_anything_but_the_public_fields(auth, client):
    token = auth.tokens()["authToken"]
    response = client.get("/api/auth/me", headers=bearer(token))
    assert set(response.json["user"]) == {
        "id",
        "first",
        "last",
        "email",
        "emailVerified",
        "createdAt",
        "role",
    }
    assert "$2b$" not in response.get_data(as_text=True)


# changeEmail and confirmEmailChange


def test_moving_to_a_new_address_end_to_end(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    tokens = auth.tokens()
    token = tokens["authToken"]
    assert change_email(mail_client, token).json == {"success": True}
    delivered()
    message = mailbox.last("ada@new.example", "new email")
    assert message["Subject"] == "Confirm your new email address for Acme"
    assert message["From"] == "Acme <no-reply@acme.test>"
    text, html = bodies(message)
    assert "Acme" in text and "Acme" in html and "ada@new.example" in text

    response = confirm(mail_client, token, code_in(message))
    assert response.status_code == 200
    user = response.json["user"]
    assert (user["email"], user["emailVerified"]) == ("ada@new.example", True)
    assert mail_client.get("/api/auth/me", headers=bearer(token)).json["user"] == user
    assert auth.login("ada@new.example").status_code == 200
    assert auth.login("ada@example.com").json["message"] == "The email or password is incorrect."
    delivered()
    notice = mailbox.last("ada@example.com", "email address was changed")
    assert "ada@new.example" in bodies(notice)[0]
    assert "emailChanged" in activity_names(mail_client, token)
    assert AuthActions(mail_client).signup("ada@example.com").json == {"success": True}, (
        "the old address is free"
    )


def test_change_email_needs_the_right_password(mail_client, mailbox, delivered):
    token = AuthActions(mail_client).tokens()["authToken"]
    response = change_email(mail_client, token, password="wrong password")
    assert (response.status_code, response.json["message"]) == (400, "The current password is incorrect.")
    delivered()
    assert mailbox.to("ada@new.example") == []


def test_change_email_to_a_taken_or_the_same_address_is_refused(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    auth.signup("bob@example.com")
    token = auth.tokens()["authToken"]
    taken = change_email(mail_client, token, "BOB@example.com")
    assert (taken.status_code, taken.json["message"]) == (400, TAKEN)
    same = change_email(mail_client, token, "ada@example.com")
    assert same.status_code == 400
    delivered()
    assert len(mailbox.to("bob@example.com")) == 1, "only Bob's own verification code"


def test_an_address_taken_between_the_code_and_its_confirmation_is_refused(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    token = auth.tokens()["authToken"]
    change_email(mail_client, token)
    delivered()
    code = code_in(mailbox.last("ada@new.example"))
    auth.signup("ada@new.example")  # someone signs up with it meanwhile
    response = confirm(mail_client, token, code)
    assert (response.status_code, response.json["message"]) == (400, TAKEN)
    assert mail_client.get("/api/auth/me", headers=bearer(token)).json["user"]["email"] == "ada@example.com"


def test_a_wrong_used_or_expired_code_does_not_change_the_email(mail_client, mailbox, delivered, clock):
    auth = AuthActions(mail_client)
    token = auth.tokens()["authToken"]
    change_email(mail_client, token)
    delivered()
    code = code_in(mailbox.last("ada@new.example"))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert confirm(mail_client, token, wrong).json == INVALID_CODE
    clock.advance(900)
    token = auth.login().json["authToken"]  # the access token has expired too
    assert confirm(mail_client, token, code).json == INVALID_CODE
    assert mail_client.get("/api/auth/me", headers=bearer(token)).json["user"]["email"] == "ada@example.com"


def test_a_code_is_only_good_for_the_account_that_asked_for_it(mail_client, mailbox, delivered):
    auth = AuthActions(mail_client)
    adas = auth.tokens()["authToken"]
    bobs = auth.tokens("bob@example.com")["authToken"]
    change_email(mail_client, adas)
    delivered()
    code = code_in(mailbox.last("ada@new.example"))
    assert confirm(mail_client, bobs, code).json == INVALID_CODE
    signup_code = code_in(mailbox.last("bob@example.com"))
    assert confirm(mail_client, bobs, signup_code).json == INVALID_CODE, (
        "a verification code is no change code"
    )
    assert confirm(mail_client, adas, code).status_code == 200


def test_concurrent_confirmations_change_the_email_once(mail_app, mail_client, mailbox, delivered):
    token = AuthActions(mail_client).tokens()["authToken"]
    change_email(mail_client, token)
    delivered()
    code = code_in(mailbox.last("ada@new.example"))
    responses = at_once(mail_app, 4, lambda client: confirm(client, token, code))
    assert sorted(response.status_code for response in responses) == [200, 400, 400, 400]
    delivered()
    assert len(mailbox.to("ada@example.com")) == 2, "the signup code and one notice"


def test_bad_inputs_get_a_400(auth, client):
    token = auth.tokens()["authToken"]
    for body in (
        {},
        {"password": PASSWORD},
        {"password": PASSWORD, "newEmail": "not an email"},
        {"password": PASSWORD, "newEmail": {"$ne": None}},
        {"password": 12345678, "newEmail": "x@example.com"},
        {"password": "p" * 73, "newEmail": "x@example.com"},
    ):
        response = client.post("/api/auth/changeEmail", json=body, headers=bearer(token))
        assert response.status_code == 400, body
    for body in ({}, {"code": 123456}, {"code": "1" * 50}, {"code": None}):
        response = client.post("/api/auth/confirmEmailChange", json=body, headers=bearer(token))
        assert response.status_code == 400, body
    assert client.post("/api/auth/changeEmail", json={}).json == INVALID
    assert client.post("/api/auth/confirmEmailChange", json={"code": "123456"}).json == INVALID
