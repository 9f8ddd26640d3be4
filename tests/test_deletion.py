"""deleteAccount: everything the user owns goes, every session ends, the email is free, a notice is mailed."""

from bson import ObjectId

from app.service import Client
from app.storage import (
    ACTIVITY,
    LOGIN_FAILURES,
    ONE_TIME_CODES,
    SESSIONS,
    USERS,
)
from helpers import EXPIRED, INVALID, PASSWORD, AuthActions, MailLog, bearer, refresh
from smtp_server import bodies

OWNED = (USERS, SESSIONS, ONE_TIME_CODES, ACTIVITY, LOGIN_FAILURES)


def delete_account(client, token, password=PASSWORD):
    return client.post("/api/auth/deleteAccount", json={"password": password}, headers=bearer(token))


def owned_by(storage, user_id: str, email: str) -> dict[str, int]:
    """Count the documents of each collection that belong to the user."""
    filters = {
        USERS: {"_id": ObjectId(user_id)},
        SESSIONS: {"userId": user_id},
        ONE_TIME_CODES: {"userId": user_id},
        ACTIVITY: {"userId": ObjectId(user_id)},
        LOGIN_FAILURES: {"_id": email},
    }
    return {name: storage.db[name].count_documents(query) for name, query in filters.items()}


def busy_user(client, auth: AuthActions, email: str) -> dict:
    """A user with something in every collection: sessions, codes, activity, failed logins, mail counted."""
    tokens = auth.tokens(email)
    auth.login(email)  # a second session
    auth.login(email, password="wrong password")  # a failed login on record
    client.post("/api/auth/forgotPassword", json={"email": email})  # a reset code, more mail counted
    return tokens


def test_deleting_an_account_removes_everything_it_owns_and_nothing_else(mail_client, mail_app, delivered):
    storage = mail_app.extensions["auth_service"].storage
    auth = AuthActions(mail_client)
    tokens = busy_user(mail_client, auth, "ada@example.com")
    bob = busy_user(mail_client, auth, "bob@example.com")["user"]["id"]
    ada = tokens["user"]["id"]
    before = owned_by(storage, ada, "ada@example.com")
    assert all(before.values()), before

    response = delete_account(mail_client, tokens["authToken"])

    assert (response.status_code, response.json) == (200, {"success": True})
    assert owned_by(storage, ada, "ada@example.com") == dict.fromkeys(OWNED, 0)
    assert all(owned_by(storage, bob, "bob@example.com").values()), "another user's documents stay"


def test_a_deleted_accounts_tokens_are_refused_and_its_email_is_free(mail_client, delivered):
    auth = AuthActions(mail_client)
    tokens = auth.tokens()
    delete_account(mail_client, tokens["authToken"])
    assert refresh(mail_client, tokens["refreshToken"]).json == EXPIRED
    me = mail_client.get("/api/auth/me", headers=bearer(tokens["authToken"]))
    assert (me.status_code, me.json) == (403, INVALID)
    assert auth.login().json["message"] == "The email or password is incorrect."
    assert auth.signup().json == {"success": True}
    fresh = auth.login()
    assert fresh.status_code == 200 and fresh.json["user"]["id"] != tokens["user"]["id"]


def test_with_the_session_check_every_access_token_of_a_deleted_account_is_refused_at_once(make_app):
    client = make_app(access_token_session_check=True).test_client()
    tokens = AuthActions(client).tokens()
    delete_account(client, tokens["authToken"])
    assert client.get("/api/auth/getAll", headers=bearer(tokens["authToken"])).json == INVALID


def test_a_notice_is_mailed_to_the_deleted_address(mail_client, mailbox, delivered):
    tokens = AuthActions(mail_client).tokens()
    delete_account(mail_client, tokens["authToken"])
    delivered()
    notice = mailbox.last("ada@example.com", "deleted")
    assert notice["Subject"] == "Your Acme account was deleted"
    text, html = bodies(notice)
    assert "Acme" in text and "Acme" in html


def test_a_wrong_password_deletes_nothing(mail_client, mail_app):
    storage = mail_app.extensions["auth_service"].storage
    tokens = AuthActions(mail_client).tokens()
    response = delete_account(mail_client, tokens["authToken"], "wrong password")
    assert (response.status_code, response.json["message"]) == (400, "The current password is incorrect.")
    assert storage.db[USERS].count_documents({}) == 1
    assert refresh(mail_client, tokens["refreshToken"]).status_code == 200


def test_wrong_passwords_are_delayed_for_that_session_as_at_login(auth, client):
    token = auth.tokens()["authToken"]
    for _ in range(5):
        assert delete_account(client, token, "wrong password").status_code == 400
    assert delete_account(client, token, "wrong password").status_code == 429
    # The session's guesses delay the session only: the owner still logs in elsewhere.
    assert auth.login().status_code == 200


def test_bad_inputs_get_a_400_and_an_account_with_a_password_must_give_it(auth, client):
    token = auth.tokens()["authToken"]
    for body in (
        {},
        {"password": 12345678},
        {"password": ["x"]},
        {"password": "p" * 73},
        {"idToken": "eyJ..."},
    ):
        response = client.post("/api/auth/deleteAccount", json=body, headers=bearer(token))
        assert response.status_code == 400, body
    missing = client.post("/api/auth/deleteAccount", json={}, headers=bearer(token))
    assert (
        missing.json["message"]
        == "You must send your password or a passkey (or a fresh idToken, for an account without a password)."
    )
    id_token = client.post("/api/auth/deleteAccount", json={"idToken": "x"}, headers=bearer(token))
    assert id_token.json["message"] == "This account has a password: send it to delete the account."
    assert client.post("/api/auth/deleteAccount", json={"password": PASSWORD}).json == INVALID


def test_the_service_deletes_without_a_request_for_other_callers(app, auth, storage):
    user_id = auth.tokens()["user"]["id"]
    service = app.extensions["auth_service"]
    deleted = service.deletion.delete_account(user_id, Client(ip=None, user_agent="operator"))
    assert deleted[USERS] == 1 and deleted[SESSIONS] == 1
    assert service.deletion.delete_account(user_id, Client(ip=None, user_agent="operator")) is None
    assert storage.users.find_by_id(user_id) is None


def test_signing_up_and_deleting_again_and_again_cannot_flood_an_inbox(make_app):
    app = make_app(rate_limit_enabled=False)
    mail = MailLog()
    mail.capture(app)
    client = app.test_client()
    auth = AuthActions(client)
    for _ in range(10):
        assert auth.signup("target@example.com").status_code == 200
        tokens = auth.login("target@example.com").json
        assert delete_account(client, tokens["authToken"]).status_code == 200

    sent = mail.templates("target@example.com")
    # The hour's 3 codes survive each deletion; a deletion removes the code, so the day's 5
    # replacements of a code no longer usable go too, and no more.
    assert sent.count("verify_email") == 3 + 5
    assert sent.count("account_deleted") == 3, "notices have an hourly quota of their own"
    quota = app.extensions["auth_service"].storage.db["MailQuota"]
    assert quota.count_documents({"email": "target@example.com"}) == 3  # codes, replacements, notices


def test_a_proven_address_gets_every_notice_so_a_thief_cannot_silence_them(make_app):
    app = make_app(rate_limit_enabled=False)
    mail = MailLog()
    mail.capture(app)
    client = app.test_client()
    tokens = AuthActions(client).tokens()
    app.extensions["auth_service"].storage.db["Users"].update_one({}, {"$set": {"emailVerified": True}})
    password = PASSWORD
    for round_ in range(5):  # someone holding the account changes the password again and again
        new = f"another passphrase {round_}"
        body = {"currentPassword": password, "newPassword": new}
        response = client.post("/api/auth/changePassword", json=body, headers=bearer(tokens["authToken"]))
        assert response.status_code == 200
        password = new

    assert mail.templates("ada@example.com").count("password_changed") == 5
