"""The public keys that verify this server's tokens, for other services (RFC 7517 key set)."""

from __future__ import annotations

from flask import Blueprint, current_app

from . import schemas
from .api import responds
from .errors import AuthError, Code
from .rules import public

bp = Blueprint("jwks", __name__)

CACHE = "public, max-age=300"  # verifiers may cache the set; a new key is picked up within minutes


@bp.get("/.well-known/jwks.json")
@responds(200, schemas.KeySetResponseSchema, tag="keys")
@public(errors=(404,), uses_database=False)
def jwks() -> tuple[dict, int, dict]:
    """Return the key set; 404 when tokens are signed with a shared secret (HS256)."""
    key_set = current_app.extensions["auth_service"].signer.keys.jwks()
    if not key_set["keys"]:
        raise AuthError(Code.NO_PUBLIC_KEYS)
    # Cacheable, and its CORS headers depend on the request's Origin: caches must key on it.
    return {"success": True, **key_set}, 200, {"Cache-Control": CACHE, "Vary": "Origin"}
