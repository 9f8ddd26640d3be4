"""Peer: Flask with Flask-JWT-Extended's `jwt_required`, as its documentation shows."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity, jwt_required

from . import store

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["SECRET_KEY"]
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = 900
jwt = JWTManager(app)


@jwt.invalid_token_loader
@jwt.unauthorized_loader
def invalid_token(reason: str):  # noqa: ANN201, ARG001
    return jsonify(success=False, message="Your access token is invalid.", code="invalidToken"), 403


def issue_token(user: dict) -> str:
    claims = {"email": user["email"], "first": user["first"], "last": user["last"]}
    return create_access_token(identity=user["id"], additional_claims=claims)


store.add_views(app, issue_token)


@app.get("/api/auth/me")
@jwt_required()
def me():  # noqa: ANN201
    user = store.find_public(get_jwt_identity())  # the stored user, as the project's /me reads it
    if user is None:
        return store.not_found()
    return jsonify(success=True, user=user)


@app.route("/api/auth/getAll", methods=["GET", "POST"])
@jwt_required()
def get_all():  # noqa: ANN201
    return store.page_response()
