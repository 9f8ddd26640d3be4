"""Reference, not a peer: Flask answering /me with a fixed user, with no guard, no read, no log.

What Flask and the server cost a request before any work of the application's own: the
floor every Flask target stands on.
"""

from __future__ import annotations

from flask import Flask, jsonify

from . import store
from .plain_pyjwt import issue_token

app = Flask(__name__)
store.add_views(app, issue_token)

USER = {"id": "0" * 24, "first": "Ada", "last": "Lovelace", "email": "bench@example.com"}


@app.get("/api/auth/me")
def me():  # noqa: ANN201
    return jsonify(success=True, user=USER)
