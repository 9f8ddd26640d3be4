"""`flask db init|check`: prepare the database as start-up does, and check it before the server starts."""

from __future__ import annotations

import click
from flask import current_app

from .common import OperatorGroup, echo_json, settings_error

db = OperatorGroup("db", help="Prepare and check the database (usable as a container's pre-start step).")


@db.command("init")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
def init(as_json: bool) -> None:
    """Create the indexes and run the one-time migrations, as start-up does (safe to run again)."""
    problem = settings_error()
    if problem is not None:
        raise click.ClickException(f"The settings are not valid: {problem}")
    storage = current_app.extensions["auth_service"].storage
    indexes, migrations = storage.missing_indexes(), storage.pending_migrations()
    storage.ensure_indexes()
    if as_json:
        echo_json({"createdIndexes": indexes, "ranMigrations": migrations})
        return
    click.echo(f"Indexes created: {', '.join(indexes) or 'none (all were there)'}.")
    click.echo(f"Migrations run: {', '.join(migrations) or 'none (all had run)'}.")


def _check() -> dict:
    """Return what `db check` found: the settings, the database, the indexes and migrations."""
    problem = settings_error()
    if problem is not None:
        return {"ok": False, "errors": [f"The settings are not valid: {problem}"], "warnings": []}
    settings = current_app.extensions["settings"]
    storage = current_app.extensions["auth_service"].storage
    found: dict = {"errors": [], "warnings": settings.warnings()}
    found["database"] = storage.ping()
    if not found["database"]:
        found["errors"].append("The database does not answer within 2 seconds (check MONGO_URI).")
    else:
        found["missingIndexes"] = storage.missing_indexes()
        found["pendingMigrations"] = storage.pending_migrations()
        if found["missingIndexes"] or found["pendingMigrations"]:
            found["errors"].append("The database is not prepared: run `flask --app wsgi db init`.")
    found["ok"] = not found["errors"]
    return found


@db.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
def check(as_json: bool) -> None:
    """Check that the settings are sane, the database answers, and its indexes and migrations are in place.

    Exits 0 when all is well, 1 otherwise; warnings alone do not fail.
    """
    found = _check()
    if as_json:
        echo_json(found)
    else:
        if "database" in found:
            click.echo(f"database: {'answers' if found['database'] else 'does not answer'}")
        if "missingIndexes" in found:
            click.echo(f"missing indexes: {', '.join(found['missingIndexes']) or 'none'}")
            click.echo(f"pending migrations: {', '.join(found['pendingMigrations']) or 'none'}")
        for warning in found["warnings"]:
            click.echo(f"warning: {warning}", err=True)
        for error in found["errors"]:
            click.echo(f"error: {error}", err=True)
        click.echo("ok" if found["ok"] else "not ok")
    if not found["ok"]:
        raise click.exceptions.Exit(1)
