"""`flask sessions ...`: list a user's open sessions, end one, or end them all."""

from __future__ import annotations

import click

from .. import schemas
from ..service import OPERATOR
from .common import OperatorGroup, echo_json, echo_table, json_option, report, service, who_argument

sessions = OperatorGroup("sessions", help="See and end users' sessions (one per logged-in device).")


@sessions.command("list")
@who_argument
@json_option
def list_sessions(who: str, as_json: bool) -> None:
    """List the user's open sessions, newest first."""
    auth = service()
    user = auth.operators.find_user(who)
    found = schemas.session_schema.dump(auth.operators.open_sessions(user["id"]), many=True)
    if as_json:
        echo_json({"sessions": found})
        return
    echo_table(
        ("ID", "CREATED", "LAST USED", "EXPIRES", "IP", "USER AGENT"),
        [(s["id"], s["createdAt"], s["lastUsedAt"], s["expiresAt"], s["ip"], s["userAgent"]) for s in found],
    )


# Session ids are URL-safe base64 and may start with "-": taken as the id, not as an option.
@sessions.command("end", context_settings={"ignore_unknown_options": True})
@click.argument("session_id")
@json_option
def end(session_id: str, as_json: bool) -> None:
    """End one session: its refresh token is refused from the next request on."""
    user_id = service().operators.end_any_session(session_id)
    report(as_json, f"Ended session {session_id} of user {user_id}.", sessionId=session_id, userId=user_id)


@sessions.command("end-all")
@who_argument
@json_option
def end_all(who: str, as_json: bool) -> None:
    """End every session of the user (as logoutAll does)."""
    auth = service()
    user = auth.operators.find_user(who)
    ended = auth.sessions.logout_all(user["id"], OPERATOR)
    report(as_json, f"Ended {ended} session(s) of {user['email']}.", userId=user["id"], sessionsEnded=ended)
