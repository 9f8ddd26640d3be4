"""An existing database of the original server works as it is: its users can log in."""

import threading
from datetime import datetime

import bcrypt
import pytest
from bson import ObjectId

from app.storage import MIGRATIONS, USERS, DuplicateEmails, Storage
from helpers import bearer


def insert_original_user(storage, password: str, prefix: bytes = b"$2a$") -> ObjectId:
    """Store a user the way the original (Mongoose + bcryptjs) did: no createdAt, a $2a$ hash."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4))
    user_id = ObjectId.from_datetime(datetime(2018, 6, 1))
    storage.db[USERS].insert_one(
        {
            "_id": user_id,
            "first": "Jay",
            "last": "Gould",
            "email": "jay@example.com",
            "password": (prefix + hashed[4:]).decode(),
            "refreshToken": "an-old-refresh-token",
            "__v": 0,
        }
    )
    return user_id


def test_an_original_user_with_a_2a_hash_can_log_in(auth, storage):
    insert_original_user(storage, "original-password")
    response = auth.login(email="jay@example.com", password="original-password")
    assert response.status_code == 200
    assert response.json["user"]["first"] == "Jay"


def test_an_original_user_with_a_short_password_can_still_log_in(auth, storage):
    insert_original_user(storage, "abc")
    assert auth.login(email="jay@example.com", password="abc").status_code == 200


def test_an_original_user_without_created_at_shows_the_time_of_its_id(auth, client, storage):
    insert_original_user(storage, "original-password")
    token = auth.login(email="jay@example.com", password="original-password").json["authToken"]
    users = client.post("/api/auth/getAll", headers=bearer(token)).json["message"]
    assert users[0]["createdAt"] == "2018-06-01T00:00:00.000Z"
    # An original user has no role stored: a plain user, which /me shows (getAll, to a non-admin, does not).
    assert client.get("/api/auth/me", headers=bearer(token)).json["user"] == users[0] | {"role": "user"}


def test_the_original_stored_refresh_token_never_leaves_the_server(auth, client, storage):
    insert_original_user(storage, "original-password")
    token = auth.login(email="jay@example.com", password="original-password").json["authToken"]
    body = client.post("/api/auth/getAll", headers=bearer(token)).get_data(as_text=True)
    assert "an-old-refresh-token" not in body
    assert "__v" not in body


def test_a_user_whose_stored_password_is_not_a_bcrypt_hash_cannot_log_in(auth, storage):
    insert_original_user(storage, "original-password")
    storage.db[USERS].update_one({}, {"$set": {"password": "plaintext"}})
    response = auth.login(email="jay@example.com", password="plaintext")
    assert response.status_code == 400


def restart_on(storage) -> None:
    """Run start-up's database preparation again, as on a database the original server filled."""
    storage.db[MIGRATIONS].delete_many({})
    storage.ensure_indexes()


def test_emails_stored_as_typed_are_lower_cased_at_start_up_so_their_users_can_log_in(auth, storage):
    insert_original_user(storage, "original-password")
    storage.db[USERS].update_one({}, {"$set": {"email": " Jay@Example.COM"}})
    restart_on(storage)
    assert storage.db[USERS].find_one({})["email"] == "jay@example.com"
    assert auth.login(email="Jay@example.com", password="original-password").status_code == 200
    assert auth.signup(email="JAY@example.com").status_code == 400  # one account per mailbox


def test_two_stored_users_with_one_mailbox_stop_the_start_with_a_clear_message(storage):
    insert_original_user(storage, "original-password")
    storage.db[USERS].insert_one({"first": "J", "last": "G", "email": "JAY@example.com", "password": "x"})
    with pytest.raises(DuplicateEmails, match="same email"):
        restart_on(storage)


def test_emails_are_normalised_once_not_at_every_start(storage):
    restart_on(storage)
    storage.db[USERS].insert_one({"first": "J", "last": "G", "email": "Later@Example.com", "password": "x"})
    storage.ensure_indexes()
    assert storage.db[USERS].find_one({})["email"] == "Later@Example.com"


def test_a_stored_created_at_that_differs_from_the_id_is_shown_as_the_ids_time(auth, client, storage):
    """Accounts made by earlier builds stored the time to the millisecond, before their id."""
    auth.signup()
    user = storage.db[USERS].find_one()
    storage.db[USERS].update_one({}, {"$set": {"createdAt": datetime(2018, 6, 1, 0, 0, 0, 734000)}})
    tokens = auth.tokens()
    shown = {
        tokens["user"]["createdAt"],
        client.get("/api/auth/me", headers=bearer(tokens["authToken"])).json["user"]["createdAt"],
        client.get("/api/auth/getAll", headers=bearer(tokens["authToken"])).json["message"][0]["createdAt"],
    }
    assert shown == {user["_id"].generation_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")}


def test_emails_are_lower_cased_by_the_unicode_rules_signup_uses(auth, storage):
    insert_original_user(storage, "original-password")
    storage.db[USERS].update_one({}, {"$set": {"email": "Émile.Ölçer@example.com"}})  # no ASCII capital
    restart_on(storage)
    assert storage.db[USERS].find_one({})["email"] == "émile.ölçer@example.com"
    assert auth.login(email="ÉMILE.ÖLÇER@example.com", password="original-password").status_code == 200
    assert auth.login(email="émile.ölçer@example.com", password="original-password").status_code == 200


def test_two_servers_starting_on_one_database_at_once_both_start(storage, monkeypatch):
    """Both find the migration not done and both run it; the second marker must be no error."""
    insert_original_user(storage, "original-password")
    storage.db[USERS].update_one({}, {"$set": {"email": "Jay@Example.com"}})
    storage.db[MIGRATIONS].delete_many({})
    collection_type = type(storage.db[USERS])
    real_find = collection_type.find
    both_checked = threading.Barrier(2, timeout=10)

    def find_once_both_have_checked(self, *args, **kwargs):
        if self.name == USERS:
            both_checked.wait()
        return real_find(self, *args, **kwargs)

    monkeypatch.setattr(collection_type, "find", find_once_both_have_checked)
    servers = [Storage(storage.db, embedded=storage.embedded) for _ in range(2)]  # each its own lock
    failures = []

    def start(server) -> None:
        try:
            server.ensure_indexes()
        except Exception as error:  # noqa: BLE001 - any failure to start is the finding
            failures.append(error)

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()
    assert failures == []
    assert storage.db[USERS].find_one({})["email"] == "jay@example.com"
    assert storage.db[MIGRATIONS].count_documents({}) == 1
