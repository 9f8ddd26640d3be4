"""The user list of the original server (getAll), and who may see it (GETALL_ACCESS)."""

from __future__ import annotations

from flask import Flask, abort, request

from .. import schemas
from ..api import accepts, responds
from ..errors import ADMINS_ONLY, AuthError, Code
from ..rules import READS_UNTIL_EXPIRY, signed_in
from ..storage import ADMIN
from .blueprint import auth_service, bp, current_user, settings


@bp.route("/getAll", methods=["GET", "POST"])
@accepts(schemas.page_schema, location="query")
@responds(201, schemas.UsersPageSchema, tag="users")
@signed_in(ended_session_ok=READS_UNTIL_EXPIRY, errors=(404,))
def get_all(data: dict) -> tuple[dict, int]:
    """List users, one page at a time (`next` is the cursor for `after`).

    Who may is set by GETALL_ACCESS: every signed-in user (`all`), admins only (`admin`:
    others get 403 `forbidden`), or nobody (`off`: 404). Admins also see each user's role.
    """
    caller_is_admin = current_user()["role"] == ADMIN  # as stored now, never the token's word
    if settings().server.getall_access == "admin" and not caller_is_admin:
        raise AuthError(Code.FORBIDDEN, ADMINS_ONLY)
    users, next_cursor = auth_service().accounts.list_users(data["after"], data["limit"])
    shape = schemas.user_with_role_schema if caller_is_admin else schemas.user_schema
    return {"success": True, "message": shape.dump(users, many=True), "next": next_cursor}, 201


def switch_off_user_listing(app: Flask) -> None:
    """Make getAll answer 404 to everyone (GETALL_ACCESS=off), before the guard looks for a token."""

    def hide() -> None:
        if request.endpoint == "auth.get_all":
            abort(404)

    app.before_request(hide)  # the app's hooks run before the blueprint's guard
