"""Peer: Flask with a hand-written PyJWT guard decorator, the way most tutorials write it."""

from __future__ import annotations

import os
import time
from functools import wraps

import jwt
from flask import Flask, jsonify, request

from . import store

SECRET = os.environ["SECRET_KEY"]

app = Flask(__name__)


def token_required(view):  # noqa: ANN001, ANN201
    @wraps(view)
    def guarded(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        token = request.headers.get("Authorization", "").replace("Bearer ", "")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return jsonify(success=False, message="Your access token is invalid.", code="invalidToken"), 403
        return view(claims, *args, **kwargs)

    return guarded


def issue_token(user: dict) -> str:
    claims = {"sub": user["id"], "email": user["email"], "first": user["first"], "last": user["last"]}
    return jwt.encode({**claims, "exp": int(time.time()) + 900}, SECRET, algorithm="HS256")


store.add_views(app, issue_token)


@app.get("/api/auth/me")
@token_required
def me(claims):  # noqa: ANN001, ANN201
    user = store.find_public(claims["sub"])  # the stored user, as the project's /me reads it
    if user is None:
        return store.not_found()
    return jsonify(success=True, user=user)


@app.route("/api/auth/getAll", methods=["GET", "POST"])
@token_required
def get_all(claims):  # noqa: ANN001, ANN201, ARG001
    return store.page_response()
