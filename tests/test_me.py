"""GET /api/auth/me: the signed-in user, read from the access token."""

from helpers import bearer


def test_me_answers_the_user_of_the_token(auth, client):
    tokens = auth.tokens()
    response = client.get("/api/auth/me", headers=bearer(tokens["authToken"]))
    assert response.status_code == 200
    assert response.json["success"] is True
    assert response.json["user"]["id"] == tokens["user"]["id"]
    assert response.json["user"]["email"] == "ada@example.com"


def test_me_without_a_token_is_invalid_token(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 403
    assert response.json["code"] == "invalidToken"
