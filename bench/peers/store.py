"""What both Flask peers share: users in one mongomock collection, bcrypt, and the views that
do not involve the guard. Each peer adds its own tokens and guard, which is what is compared."""

from __future__ import annotations

import os
from collections.abc import Callable

import bcrypt
import mongomock
from bson import ObjectId
from flask import Flask, Response, jsonify, request

ROUNDS = int(os.environ.get("BCRYPT_ROUNDS", "12"))

users = mongomock.MongoClient().auth.Users
users.create_index("email", unique=True)


def public(user: dict) -> dict:
    """Return the fields a client may see."""
    return {"id": str(user["_id"]), "first": user["first"], "last": user["last"], "email": user["email"]}


def create_user(data: dict) -> bool:
    """Store a new user with a bcrypt hash; False when a field is missing or the email is taken."""
    if not all(data.get(name) for name in ("first", "last", "email", "password")):
        return False
    if users.find_one({"email": data["email"]}):
        return False
    hashed = bcrypt.hashpw(data["password"].encode(), bcrypt.gensalt(ROUNDS)).decode()
    users.insert_one(
        {"first": data["first"], "last": data["last"], "email": data["email"], "password": hashed}
    )
    return True


def find_public(user_id: str) -> dict | None:
    """Return the public fields of the user with this id (one find_one by _id), or None."""
    if not ObjectId.is_valid(user_id):
        return None
    user = users.find_one({"_id": ObjectId(user_id)}, {"first": 1, "last": 1, "email": 1})
    return None if user is None else public(user)


def check_login(data: dict) -> dict | None:
    """Return the user whose email and password match, else None."""
    user = users.find_one({"email": data.get("email")})
    if user is None or not bcrypt.checkpw(str(data.get("password")).encode(), user["password"].encode()):
        return None
    return public(user)


def invalid_token() -> tuple[Response, int]:
    """Answer a guarded request whose token names no stored user, as the project does."""
    return jsonify(success=False, message="Your access token is invalid.", code="invalidToken"), 403


def page(after: str | None, limit: int) -> list[dict]:
    """Return up to `limit` users after the id `after`, in id order."""
    query = {"_id": {"$gt": ObjectId(after)}} if after else {}
    return [public(user) for user in users.find(query).sort("_id", 1).limit(limit)]


def add_views(app: Flask, issue_token: Callable[[dict], str]) -> None:
    """Add signup and login to `app`, login answering with a token from `issue_token(user)`."""

    @app.post("/api/auth/signup")
    def signup() -> Response | tuple[Response, int]:
        if not create_user(request.get_json()):
            return jsonify(success=False, message="You must send all details."), 400
        return jsonify(success=True)

    @app.post("/api/auth/login")
    def login() -> Response | tuple[Response, int]:
        user = check_login(request.get_json())
        if user is None:
            return jsonify(success=False, message="The email or password is incorrect."), 400
        return jsonify(success=True, authToken=issue_token(user), user=user)


def page_response() -> tuple[Response, int]:
    """Answer getAll: one page of users, paged by the `after` and `limit` arguments."""
    users = page(request.args.get("after"), int(request.args.get("limit", 100)))
    return jsonify(success=True, message=users), 201
