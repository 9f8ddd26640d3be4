"""`flask mail ...` through click's test runner: the outbox's status, and failed messages sent again."""

import json

from smtp_server import Mailbox


class RefusingEveryone(Mailbox):
    """Refuses every message for good until told otherwise."""

    refusing = True

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.refusing:
            return "554 5.7.1 Rejected"
        return await super().handle_DATA(server, session, envelope)


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def smtp_app(make_app, port):
    return make_app(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")


def test_status_counts_each_state_and_names_the_oldest_waiting_message(app):
    mailer = app.extensions["mailer"]
    mailer.outbox.stop(1)  # nothing is sent: both wait
    mailer.send("account_deleted", "first@example.com", first="A")
    mailer.send("account_deleted", "second@example.com", first="B")
    result = run(app, "mail", "status", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["counts"] == {"waiting": 2, "sending": 0, "sent": 0, "failed": 0}
    assert found["oldestWaiting"]["to"] == "first@example.com"
    assert "sealed" not in found["oldestWaiting"]
    text = run(app, "mail", "status").output
    assert "waiting: 2" in text and "Oldest waiting:" in text and "first@example.com" in text


def test_failed_messages_are_listed_with_their_reason_and_sent_again_on_retry(make_app):
    box = RefusingEveryone().start()
    try:
        app = smtp_app(make_app, box.port)
        mailer = app.extensions["mailer"]
        for number in range(3):
            mailer.send("account_deleted", f"user{number}@example.com", first="A")
        assert mailer.flush(10)
        found = json.loads(run(app, "mail", "status", "--json").output)
        assert found["counts"]["failed"] == 3
        assert all("554" in message["error"] for message in found["failed"])
        assert "554 5.7.1 Rejected" in run(app, "mail", "status").output

        box.refusing = False
        one = found["failed"][0]
        result = run(app, "mail", "retry", one["_id"])
        assert result.exit_code == 0 and "1 message(s)" in result.output
        assert mailer.flush(10)
        assert [message["To"] for message in box.messages] == [one["to"]]

        result = run(app, "mail", "retry", "--failed", "--json")
        assert json.loads(result.output) == {"retried": 2}
        assert mailer.flush(10)
        assert len(box.messages) == 3
        assert json.loads(run(app, "mail", "status", "--json").output)["counts"]["sent"] == 3
    finally:
        box.stop()


def test_retry_refuses_an_unknown_id_and_wants_an_id_or_failed(app):
    result = run(app, "mail", "retry", "65a1f0c2e4b0a1b2c3d4e5f6")
    assert result.exit_code == 1 and "No failed message has the ID" in result.output
    assert run(app, "mail", "retry").exit_code == 2
    assert run(app, "mail", "retry", "x", "--failed").exit_code == 2
