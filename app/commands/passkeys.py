"""`flask users passkeys-remove`: an operator removes a user's passkeys (a lost or stolen device)."""

from __future__ import annotations

import click

from ..service import OPERATOR
from .common import json_option, report, service, who_argument
from .users import users


@users.command("passkeys-remove")
@who_argument
@click.argument("passkey_id", required=False)
@json_option
def passkeys_remove(who: str, passkey_id: str | None, as_json: bool) -> None:
    """Remove the user's passkey PASSKEY_ID, or every passkey of theirs; the sessions each signed in end.

    Unlike the user's own removal, it may take the account's last way in: the owner then sets a
    password with forgotPassword.
    """
    auth = service()
    user = auth.operators.find_user(who)
    removed = auth.passkeys.remove_by_operator(user["id"], passkey_id, OPERATOR)
    names = ", ".join(f"{passkey['name']} ({passkey['id']})" for passkey in removed) or "none"
    report(
        as_json,
        f"Removed {len(removed)} passkey(s) of {user['email']}: {names}.",
        removed=[{"id": passkey["id"], "name": passkey["name"]} for passkey in removed],
    )
