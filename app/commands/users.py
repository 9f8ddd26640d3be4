"""`flask users ...`: find, create, re-password, verify, disable, promote and delete accounts."""

from __future__ import annotations

import click

from .. import schemas
from ..logs import escaped
from ..service import OPERATOR
from ..service.operators import USER_ID
from ..storage import ADMIN, USER
from .common import (
    OperatorGroup,
    echo_json,
    echo_table,
    json_option,
    password_stdin_option,
    read_password,
    report,
    service,
    user_record,
    who_argument,
)

users = OperatorGroup("users", help="Find and change user accounts (every change is in the user's activity).")


def _cursor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not USER_ID.fullmatch(value):
        raise click.BadParameter("must be a user id (24 hexadecimal digits), the `next` of a previous page.")
    return value


@users.command("list")
@click.option("--email-prefix", metavar="TEXT", help="Only users whose email starts with this.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Users per page.")
@click.option("--after", metavar="ID", callback=_cursor, help="Start after this user id (a previous `next`).")
@json_option
def list_users(email_prefix: str | None, limit: int, after: str | None, as_json: bool) -> None:
    """List users in creation order, one page at a time."""
    found, next_cursor = service().operators.find_users(email_prefix, after, limit)
    records = [user_record(user) for user in found]
    if as_json:
        echo_json({"users": records, "next": next_cursor})
        return
    echo_table(
        ("ID", "EMAIL", "NAME", "ROLE", "DISABLED", "VERIFIED", "CREATED"),
        [
            (
                user["id"],
                user["email"],
                f"{user['first']} {user['last']}",
                user["role"],
                "yes" if user["disabled"] else "",
                "yes" if user["emailVerified"] else "",
                user["createdAt"],
            )
            for user in records
        ],
    )
    if next_cursor:
        click.echo(f"More: --after {next_cursor}")


@users.command("show")
@who_argument
@click.option(
    "--activity",
    "activity_limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="How many of the latest activity entries to show.",
)
@json_option
def show(who: str, activity_limit: int, as_json: bool) -> None:
    """Show one user, with any failed logins in a row, the open sessions and the latest activity."""
    auth = service()
    user = auth.operators.find_user(who)
    open_sessions = schemas.session_schema.dump(auth.operators.open_sessions(user["id"]), many=True)
    entries, _ = auth.activity.list(user["id"], None, activity_limit)
    activity = schemas.activity_schema.dump(entries, many=True)
    failures = auth.operators.failed_logins(user)
    failed = None if failures is None else schemas.failed_logins_schema.dump(failures)
    factors = auth.mfa.status(user["id"])
    # Every passkey, those marked as cloned too: their ids are what `users passkeys-remove` takes.
    stored_passkeys = auth.storage.passkeys.list_for_user(user["id"])
    passkeys = [
        schemas.passkey_schema.dump(passkey) | {"cloneSuspected": passkey["cloneSuspected"]}
        for passkey in stored_passkeys
    ]
    if as_json:
        shown = {"user": user_record(user), "failedLogins": failed, "sessions": open_sessions}
        shown["factors"] = factors
        shown["passkeys"] = passkeys
        echo_json(shown | {"activity": activity})
        return
    for name, value in user_record(user).items():
        click.echo(f"{name + ':':<15}{escaped(value)}")
    if failed is not None:
        click.echo(f"{'failedLogins:':<15}{failed['today']} today")
        for run in failed["sources"]:
            click.echo(
                f"{'':<15}{run['count']} in a row {run['source']}, next attempt from {run['nextAttemptAt']}"
            )
    click.echo(
        f"{'factors:':<15}totp {'on' if factors['totp'] else 'off'}, "
        f"{factors['recoveryCodesLeft']} recovery code(s) left, {factors['passkeys']} passkey(s)"
    )
    if passkeys:
        echo_table(
            ("PASSKEY", "NAME", "SYNCED", "CREATED", "LAST USED", "CLONE SUSPECTED"),
            [
                (p["id"], p["name"], p["synced"], p["createdAt"], p["lastUsedAt"], p["cloneSuspected"])
                for p in passkeys
            ],
        )
    click.echo(f"\nOpen sessions ({len(open_sessions)}):")
    echo_table(
        ("ID", "CREATED", "LAST USED", "IP", "USER AGENT"),
        [(s["id"], s["createdAt"], s["lastUsedAt"], s["ip"], s["userAgent"]) for s in open_sessions],
    )
    click.echo("\nLatest activity:")
    echo_table(
        ("TIME", "ACTIVITY", "BY", "IP", "USER AGENT"),
        [(e["time"], e["activity"], e.get("by", "user"), e["ip"], e["userAgent"]) for e in activity],
    )


@users.command("create")
@click.option("--email", required=True, help="The new user's email (their login).")
@click.option("--first", required=True, help="First name.")
@click.option("--last", required=True, help="Last name.")
@click.option("--admin", is_flag=True, help="Make the new user an admin.")
@password_stdin_option
@json_option
def create(email: str, first: str, last: str, admin: bool, password_stdin: bool, as_json: bool) -> None:
    """Create an account, under the signup rules; the password is prompted for (or read from stdin)."""
    details = {"first": first, "last": last, "email": email}
    schemas.load(schemas.signup_schema, details, partial=("password",))  # before asking for a password
    auth = service()
    data = schemas.load(schemas.signup_schema, details | {"password": read_password(password_stdin)})
    user_id = auth.accounts.signup(data["first"], data["last"], data["email"], data["password"], OPERATOR)
    if admin:
        auth.operators.set_role(auth.operators.find_user(user_id), ADMIN)
    user = auth.operators.find_user(user_id)
    report(as_json, f"Created {user['email']} ({user['id']}, {user['role']}).", user=user_record(user))


@users.command("set-password")
@who_argument
@password_stdin_option
@json_option
def set_password(who: str, password_stdin: bool, as_json: bool) -> None:
    """Set a new password (prompted, or read from stdin) and end every session of the user."""
    auth = service()
    user = auth.operators.find_user(who)
    ended = auth.operators.set_password(user, read_password(password_stdin))
    report(
        as_json,
        f"Set a new password for {user['email']}; ended {ended} session(s).",
        user=user_record(auth.operators.find_user(user["id"])),
        sessionsEnded=ended,
    )


@users.command("verify-email")
@who_argument
@json_option
def verify_email(who: str, as_json: bool) -> None:
    """Mark the user's email address as verified.

    As a mailed code's first proof does, it removes the identities linked before it (and ends
    the sessions when it does); the password stays.
    """
    auth = service()
    user = auth.operators.find_user(who)
    changed = auth.operators.mark_email_verified(user)
    text = f"Marked {user['email']} as verified." if changed else f"{user['email']} was already verified."
    report(as_json, text, user=user_record(auth.operators.find_user(user["id"])), changed=changed)


@users.command("disable")
@who_argument
@json_option
def disable(who: str, as_json: bool) -> None:
    """Disable the account: no login and no refresh, and every session ends now."""
    auth = service()
    user = auth.operators.find_user(who)
    changed, ended = auth.operators.disable(user)
    state = "Disabled" if changed else "Already disabled:"
    report(
        as_json,
        f"{state} {user['email']}; ended {ended} session(s).",
        user=user_record(auth.operators.find_user(user["id"])),
        changed=changed,
        sessionsEnded=ended,
    )


@users.command("enable")
@who_argument
@json_option
def enable(who: str, as_json: bool) -> None:
    """Let a disabled account log in again."""
    auth = service()
    user = auth.operators.find_user(who)
    changed = auth.operators.enable(user)
    text = f"Enabled {user['email']}." if changed else f"{user['email']} was not disabled."
    report(as_json, text, user=user_record(auth.operators.find_user(user["id"])), changed=changed)


def _set_role(who: str, role: str, as_json: bool) -> None:
    auth = service()
    user = auth.operators.find_user(who)
    changed = auth.operators.set_role(user, role)
    noun = "an admin" if role == ADMIN else "a user"
    text = f"{user['email']} is now {noun}." if changed else f"{user['email']} was already {noun}."
    report(as_json, text, user=user_record(auth.operators.find_user(user["id"])), changed=changed)


@users.command("promote")
@who_argument
@json_option
def promote(who: str, as_json: bool) -> None:
    """Make the user an admin (may list users with GETALL_ACCESS=admin, and sees roles)."""
    _set_role(who, ADMIN, as_json)


@users.command("demote")
@who_argument
@json_option
def demote(who: str, as_json: bool) -> None:
    """Make an admin a plain user again; takes effect on the user's next request to getAll."""
    _set_role(who, USER, as_json)


@users.command("delete")
@who_argument
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def delete(who: str, yes: bool, as_json: bool) -> None:
    """Delete the account and everything it owns: sessions, activity, failed-login counts."""
    auth = service()
    user = auth.operators.find_user(who)
    if not yes:
        who_exactly = escaped(f"{user['email']} ({user['id']})")
        click.confirm(
            f"Delete {who_exactly}, its sessions and its activity? This cannot be undone.", abort=True
        )
    auth.operators.delete_user(user)
    report(as_json, f"Deleted {user['email']} ({user['id']}).", deleted=user_record(user))


@users.command("mfa-reset")
@who_argument
@click.option("--force", is_flag=True, help="Even if the account's email changed in the last 7 days.")
@json_option
def mfa_reset(who: str, force: bool, as_json: bool) -> None:
    """Remove the user's authenticator and recovery codes (they lost them), end every session, mail them.

    Check first that the request comes from the owner: this removes the account's second factor.
    """
    auth = service()
    user = auth.operators.find_user(who)
    had = auth.mfa.operator_reset(user, OPERATOR, force=force)
    text = (
        f"Reset two-step verification of {user['email']}."
        if had
        else f"{user['email']} had no TOTP; sessions ended."
    )
    report(as_json, text, user=user_record(user), changed=had)
