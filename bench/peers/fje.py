"""Peer: Flask with Flask-JWT-Extended's `jwt_required`, as its documentation shows."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, create_access_token, get_jwt, get_jwt_identity, jwt_required

from . import store

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["SECRET_KEY"]
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = 900
jwt = JWTManager(app)


@jwt.invalid_token_loader
@jwt.unauthorized_loader
def invalid_token(reason: str):  # noqa: ANN201, ARG001
    return jsonify(success=False, message="Your access token is invalid.", code="invalidToken"), 403


@app.post("/api/auth/signup")
def signup():  # noqa: ANN201
    if not store.create_user(request.get_json()):
        return jsonify(success=False, message="You must send all details."), 400
    return jsonify(success=True)


@app.post("/api/auth/login")
def login():  # noqa: ANN201
    user = store.check_login(request.get_json())
    if user is None:
        return jsonify(success=False, message="The email or password is incorrect."), 400
    claims = {"email": user["email"], "first": user["first"], "last": user["last"]}
    token = create_access_token(identity=user["id"], additional_claims=claims)
    return jsonify(success=True, authToken=token, user=user)


@app.get("/api/auth/me")
@jwt_required()
def me():  # noqa: ANN201
    claims = get_jwt()
    user = {
        "id": get_jwt_identity(),
        "email": claims["email"],
        "first": claims["first"],
        "last": claims["last"],
    }
    return jsonify(success=True, user=user)


@app.route("/api/auth/getAll", methods=["GET", "POST"])
@jwt_required()
def get_all():  # noqa: ANN201
    users = store.page(request.args.get("after"), int(request.args.get("limit", 100)))
    return jsonify(success=True, message=users), 201
