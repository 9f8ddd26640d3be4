"""Sessions: log out, list and end the user's sessions."""

from __future__ import annotations

from .. import schemas
from ..api import accepts, responds
from ..rules import READS_UNTIL_EXPIRY, public, signed_in
from .blueprint import auth_service, bp, client, current_session_id, current_user_id


@bp.post("/logout")
@accepts(schemas.refresh_schema)
@responds(200, schemas.SuccessSchema, tag="sessions")
@public()
def logout(data: dict) -> dict:
    """End the session of this refresh token (200 even if it had already ended)."""
    auth_service().sessions.logout(data["refreshToken"], client())
    return {"success": True}


@bp.post("/logoutAll")
@responds(200, schemas.RevokedResponseSchema, tag="sessions")
@signed_in(limit="login")
def logout_all() -> dict:
    """End every session of the user, this one included."""
    return {"success": True, "revoked": auth_service().sessions.logout_all(current_user_id(), client())}


@bp.get("/sessions")
@responds(200, schemas.SessionsResponseSchema, tag="sessions")
@signed_in(ended_session_ok=READS_UNTIL_EXPIRY)
def sessions() -> dict:
    """List the user's open sessions; `current` marks this one."""
    found = auth_service().sessions.list_sessions(current_user_id(), current_session_id())
    return {"success": True, "sessions": schemas.session_schema.dump(found, many=True)}


@bp.delete("/sessions/<session_id>")
@responds(200, schemas.SuccessSchema, tag="sessions")
@signed_in(errors=(404,))
def end_session(session_id: str) -> dict:
    """End one of the user's own sessions (another user's is not found)."""
    auth_service().sessions.end_session(user_id=current_user_id(), session_id=session_id, client=client())
    return {"success": True}
