"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app

from . import schemas
from .api import responds
from .errors import ServiceUnavailable
from .rules import public

bp = Blueprint("health", __name__)


@bp.get("/health")
@responds(200, schemas.StatusResponseSchema, tag="operations")
@public(uses_database=False)
def health() -> dict:
    """Answer while the process is up, whatever the database does."""
    return {"success": True, "status": "up"}


@bp.get("/ready")
@responds(200, schemas.StatusResponseSchema, tag="operations")
@public()
def ready() -> dict:
    """Answer 200 when the database answers a ping, else 503."""
    if not current_app.extensions["auth_service"].storage.ping():
        raise ServiceUnavailable()
    return {"success": True, "status": "ready"}
