"""GET/POST /api/auth/getAll: the original's 201, public fields only, and paging."""

import pytest

from app.storage import USERS
from helpers import PASSWORD, bearer


@pytest.fixture
def token(auth):
    return auth.tokens()["authToken"]


def sign_up_many(storage, count: int) -> None:
    storage.db[USERS].insert_many(
        {"first": f"U{i}", "last": "X", "email": f"user{i:05}@example.com", "password": "$2b$04$x"}
        for i in range(count)
    )


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_get_all_answers_201_with_the_users_in_message(client, token, method):
    response = client.open("/api/auth/getAll", method=method, headers=bearer(token))
    assert response.status_code == 201
    assert response.json["success"] is True
    assert [user["email"] for user in response.json["message"]] == ["ada@example.com"]
    assert response.json["next"] is None


def test_users_show_only_their_public_fields(auth, client, token):
    auth.login()  # a second session, so there is session data that must not leak
    response = client.post("/api/auth/getAll", headers=bearer(token))
    body = response.get_data(as_text=True)
    assert set(response.json["message"][0]) == {"id", "first", "last", "email", "emailVerified", "createdAt"}
    assert "$2b$" not in body
    assert PASSWORD not in body
    assert "tokenHash" not in body and "refreshToken" not in body


def test_pages_follow_the_cursor_until_next_is_null(client, storage, token):
    sign_up_many(storage, 24)
    seen, cursor = [], None
    while True:
        query = {"limit": 10} | ({"after": cursor} if cursor else {})
        body = client.get("/api/auth/getAll", query_string=query, headers=bearer(token)).json
        seen += [user["id"] for user in body["message"]]
        cursor = body["next"]
        if cursor is None:
            break
        assert len(body["message"]) == 10
    assert len(seen) == len(set(seen)) == 25


def test_the_default_page_is_100_users(client, storage, token):
    sign_up_many(storage, 150)
    body = client.get("/api/auth/getAll", headers=bearer(token)).json
    assert len(body["message"]) == 100
    assert body["next"] == body["message"][-1]["id"]


def test_a_full_last_page_says_there_is_no_next(client, storage, token):
    sign_up_many(storage, 9)  # ten users in all
    body = client.get("/api/auth/getAll", query_string={"limit": 10}, headers=bearer(token)).json
    assert len(body["message"]) == 10
    assert body["next"] is None


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 1001}, {"limit": -5}, {"limit": "ten"}, {"after": "nope"}, {"after": "z" * 24}],
)
def test_bad_paging_parameters_are_a_400(client, token, query):
    response = client.get("/api/auth/getAll", query_string=query, headers=bearer(token))
    assert response.status_code == 400
    assert response.json["success"] is False
    assert response.json["errors"]


def test_the_limit_can_be_1000(client, token):
    assert client.get("/api/auth/getAll?limit=1000", headers=bearer(token)).status_code == 201


def test_a_cursor_with_a_trailing_newline_is_a_400_not_an_empty_page(client, token):
    response = client.get("/api/auth/getAll", query_string={"after": "a" * 24 + "\n"}, headers=bearer(token))
    assert response.status_code == 400
