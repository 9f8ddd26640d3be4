"""The mail outbox: stored before the answer, delivered by any worker once, retried from the database."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from pymongo.errors import AutoReconnect

from app.mail import Mailer
from app.outbox import utc_now
from app.sealed import outbox_key
from app.storage import MAIL_OUTBOX, ONE_TIME_CODES
from config import ConfigError, Settings
from helpers import AuthActions
from smtp_server import Mailbox, code_in

REFUSED = "nobody@refused.example"
DELIVERY_BOUND_S = 10  # a bound on a wait for an event, not a measure of speed


class RefusingMailbox(Mailbox):
    """Refuses one recipient for good (550) and accepts the others; counts each RCPT it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.recipients_tried: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        self.recipients_tried.append(address)
        if address == REFUSED:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class FlakyMailbox(Mailbox):
    """Answers every message with a temporary error (451)."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        return "451 4.3.0 Try again later"


def smtp_settings(port: int) -> dict:
    return {"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}


def wait_for(condition, timeout: float = DELIVERY_BOUND_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def refusing():
    box = RefusingMailbox().start()
    yield box
    box.stop()


def outbox(app):
    return app.extensions["auth_service"].storage.db[MAIL_OUTBOX]


def test_a_refused_recipient_is_tried_once_kept_as_failed_and_holds_up_no_other_message(make_app, refusing):
    app = make_app(**smtp_settings(refusing.port))  # the real retry delays: 2, 10, 30 s and more
    mailer = app.extensions["mailer"]
    for _ in range(3):
        mailer.send("account_deleted", REFUSED, first="Mallory")
    mailer.send("account_deleted", "ada@example.com", first="Ada")

    assert wait_for(lambda: refusing.to("ada@example.com")), "the good address waited behind the refused one"
    assert mailer.flush(DELIVERY_BOUND_S)
    assert refusing.recipients_tried.count(REFUSED) == 3, "each refused message was tried once"
    failed = list(outbox(app).find({"to": REFUSED}))
    assert [message["state"] for message in failed] == ["failed"] * 3
    assert all("550" in message["error"] and message["attempts"] == 1 for message in failed)


def test_a_temporary_failure_waits_in_the_database_for_its_retry_without_holding_up_others(make_app):
    box = FlakyMailbox().start()
    try:
        app = make_app(**smtp_settings(box.port))
        mailer = app.extensions["mailer"]
        mailer.send("account_deleted", "ada@example.com", first="Ada")
        assert mailer.flush(DELIVERY_BOUND_S)  # nothing due: the retry waits for its time
        message = outbox(app).find_one()
        assert message["state"] == "waiting" and message["attempts"] == 1 and "451" in message["error"]
        assert message["dueAt"] > utc_now(), "the retry is scheduled later, stored with the message"
    finally:
        box.stop()


def test_the_request_stores_the_code_and_its_message_before_answering_and_no_code_lies_readable(
    make_app, monkeypatch
):
    monkeypatch.setattr("app.service.codes.new_code", lambda: "482913")
    app = make_app()
    app.extensions["mailer"].outbox.stop(1)  # the process "dies" after answering: nothing is sent
    assert AuthActions(app.test_client()).signup().status_code == 200
    db = app.extensions["auth_service"].storage.db
    assert db[ONE_TIME_CODES].count_documents({"email": "ada@example.com"}) == 1
    [message] = outbox(app).find({"to": "ada@example.com"})
    assert (message["template"], message["state"]) == ("verify_email", "waiting")
    stored = repr([list(db[name].find()) for name in db.list_collection_names()])
    assert "482913" not in stored, "the code is stored only hashed, and sealed in its message"


def test_another_process_delivers_what_a_stopped_one_stored(make_mail_app, mailbox):
    app = make_mail_app()
    app.extensions["mailer"].outbox.stop(1)
    AuthActions(app.test_client()).signup()
    assert mailbox.messages == []

    storage = app.extensions["auth_service"].storage
    restarted = Mailer(
        app, app.extensions["settings"].mail, storage, outbox_key(app_code_key(app)), production=False
    )
    assert restarted.flush(DELIVERY_BOUND_S)
    assert len(mailbox.to("ada@example.com")) == 1
    assert code_in(mailbox.last("ada@example.com"))
    sent = outbox(app).find_one()
    assert sent["state"] == "sent" and "sealed" not in sent, "a sent message keeps no code"
    keep = timedelta(days=7)  # MAIL_KEEP_DAYS: then the TTL index removes it
    assert sent["expiresAt"] == sent["doneAt"] + keep


def app_code_key(app) -> bytes:
    return app.extensions["auth_service"].recovery.codes.rules.code_key


def test_workers_racing_for_the_outbox_send_each_message_once(make_mail_app, mailbox):
    app = make_mail_app()
    first = app.extensions["mailer"]
    first.outbox.stop(1)
    addresses = [f"user{number}@example.com" for number in range(20)]
    for address in addresses:
        first.send("account_deleted", address, first="A")
    storage, settings = app.extensions["auth_service"].storage, app.extensions["settings"]
    workers = [
        Mailer(app, settings.mail, storage, outbox_key(app_code_key(app)), production=False) for _ in range(4)
    ]
    barrier = threading.Barrier(len(workers))

    def drain(mailer: Mailer) -> None:
        barrier.wait()
        mailer.flush(DELIVERY_BOUND_S)

    threads = [threading.Thread(target=drain, args=(mailer,)) for mailer in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DELIVERY_BOUND_S * 2)
    assert sorted(message["To"] for message in mailbox.messages) == sorted(addresses)


def test_a_message_whose_worker_died_mid_send_goes_again_when_its_lease_ends(make_mail_app, mailbox):
    app = make_mail_app()
    mailer = app.extensions["mailer"]
    mailer.outbox.stop(1)
    mailer.send("account_deleted", "ada@example.com", first="Ada")
    storage = app.extensions["auth_service"].storage
    now = utc_now()
    assert storage.outbox.claim(now, now + timedelta(seconds=60), "a worker that then died") is not None

    again = Mailer(
        app, app.extensions["settings"].mail, storage, outbox_key(app_code_key(app)), production=False
    )
    again.outbox.wake()
    time.sleep(0.2)  # nothing may go while the lease lasts
    assert mailbox.messages == []
    outbox(app).update_one({}, {"$set": {"dueAt": utc_now()}})  # the lease ends
    assert again.flush(DELIVERY_BOUND_S)
    assert len(mailbox.to("ada@example.com")) == 1
    assert outbox(app).find_one()["attempts"] == 2


def test_the_worker_outlives_the_database_going_away_and_delivers_once_it_is_back(
    make_mail_app, mailbox, monkeypatch
):
    app = make_mail_app()
    mailer = app.extensions["mailer"]
    storage = app.extensions["auth_service"].storage
    claim = storage.outbox.claim
    outage = threading.Event()
    outage.set()

    def claim_unless_away(*args, **kwargs):
        if outage.is_set():
            raise AutoReconnect("connection refused")
        return claim(*args, **kwargs)

    monkeypatch.setattr(storage.outbox, "claim", claim_unless_away)
    mailer.send("account_deleted", "ada@example.com", first="Ada")
    time.sleep(0.2)
    assert mailbox.messages == []
    outage.clear()
    assert wait_for(lambda: mailbox.to("ada@example.com")), "delivered once the database answered again"


@pytest.mark.parametrize(
    ("route", "verified"),
    [("forgotPassword", False), ("resendVerification", False), ("resendVerification", True)],
)
def test_an_address_that_gets_no_code_costs_the_same_writes_and_nothing_is_sent(
    make_mail_app, mailbox, monkeypatch, route, verified
):
    app = make_mail_app(rate_limit_enabled=False)
    client = app.test_client()
    storage = app.extensions["auth_service"].storage
    AuthActions(client).signup()
    assert app.extensions["mailer"].flush(DELIVERY_BOUND_S)
    if verified:
        storage.db["Users"].update_one({}, {"$set": {"emailVerified": True}})
    writes = []
    for store, name in ((storage.codes, "store"), (storage.outbox, "add")):
        monkeypatch.setattr(store, name, spy(getattr(store, name), name, writes))

    def ask(email: str) -> list[str]:
        writes.clear()
        assert client.post(f"/api/auth/{route}", json={"email": email}).json == {"success": True}
        return list(writes)

    stranger = ask("nobody@example.com")
    owner = ask("ada@example.com")
    assert stranger == owner == ["store", "add"]
    assert app.extensions["mailer"].flush(DELIVERY_BOUND_S)
    received = {message["To"] for message in mailbox.messages[1:]}
    assert received == (set() if verified else {"ada@example.com"})
    assert storage.outbox.counts()["sent"] == (1 if verified else 2), "decoys are no messages"


def spy(method, name: str, calls: list):
    def called(*args, **kwargs):
        calls.append(name)
        return method(*args, **kwargs)

    return called


def test_the_reliability_settings_have_defaults_and_refuse_what_is_not_a_duration():
    defaults = Settings.from_env({})
    assert (
        defaults.mail.mail_keep_days,
        defaults.store.mongo_timeout_seconds,
        defaults.server.shutdown_grace_seconds,
    ) == (
        7,
        5,
        20,
    )
    for name in ("MAIL_KEEP_DAYS", "MONGO_TIMEOUT_SECONDS", "SHUTDOWN_GRACE_SECONDS"):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: "0"})
