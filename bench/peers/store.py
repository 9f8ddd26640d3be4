"""The users both Flask peers keep: one mongomock collection and bcrypt, as a tutorial writes it."""

from __future__ import annotations

import os

import bcrypt
import mongomock
from bson import ObjectId

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


def check_login(data: dict) -> dict | None:
    """Return the user whose email and password match, else None."""
    user = users.find_one({"email": data.get("email")})
    if user is None or not bcrypt.checkpw(str(data.get("password")).encode(), user["password"].encode()):
        return None
    return public(user)


def page(after: str | None, limit: int) -> list[dict]:
    """Return up to `limit` users after the id `after`, in id order."""
    query = {"_id": {"$gt": ObjectId(after)}} if after else {}
    return [public(user) for user in users.find(query).sort("_id", 1).limit(limit)]
