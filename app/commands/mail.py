"""`flask mail status|retry`: what the outbox holds, and failed messages sent again."""

from __future__ import annotations

from datetime import datetime

import click
from bson import ObjectId

from ..outbox import utc_now
from .common import OperatorGroup, echo_json, echo_table, json_option, report, service

mail = OperatorGroup("mail", help="See the mail outbox and send failed messages again.")

FAILED_SHOWN = 10


@mail.command("status")
@json_option
def status(as_json: bool) -> None:
    """Count the messages in each state; show the oldest waiting one and the latest failed ones."""
    storage = service().storage
    counts, oldest = storage.outbox.counts(), storage.outbox.oldest_waiting()
    failed = storage.outbox.failed(FAILED_SHOWN)
    if as_json:
        echo_json(
            {"counts": counts, "oldestWaiting": _record(oldest), "failed": [_record(m) for m in failed]}
        )
        return
    click.echo("  ".join(f"{state}: {count}" for state, count in counts.items()))
    if oldest is None:
        click.echo("Nothing waiting.")
    else:
        age = int((utc_now() - oldest["createdAt"]).total_seconds())
        click.echo(
            f"Oldest waiting: {oldest['_id']} ({oldest['template']} to {oldest['to']}), stored {age} s ago, "
            f"{oldest['attempts']} tries" + (f", last: {oldest['error']}" if oldest.get("error") else "")
        )
    if failed:
        click.echo(f"Failed (latest {FAILED_SHOWN}):")
        echo_table(
            ("ID", "TEMPLATE", "TO", "TRIES", "FAILED AT", "REASON"),
            [(m["_id"], m["template"], m["to"], m["attempts"], m["doneAt"], m["error"]) for m in failed],
        )


@mail.command("retry")
@click.argument("message_id", required=False)
@click.option("--failed", "every_failed", is_flag=True, help="Send every failed message again.")
@json_option
def retry(message_id: str | None, every_failed: bool, as_json: bool) -> None:
    """Send a failed message (by its ID) again, or every failed one with --failed."""
    if (message_id is None) == (not every_failed):
        raise click.UsageError("Name one message ID, or pass --failed.")
    count = service().storage.outbox.retry(utc_now(), message_id)
    if message_id is not None and count == 0:
        raise click.ClickException(f"No failed message has the ID {message_id}.")
    report(as_json, f"{count} message(s) will be sent again.", retried=count)


def _record(message: dict | None) -> dict | None:
    """Return a message as the operator sees it: its id and times as text, no sealed context or holder."""
    if message is None:
        return None
    return {key: _text(value) for key, value in message.items() if key not in ("holder", "sealed")}


def _text(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, ObjectId) else value
