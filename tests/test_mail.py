"""Mail delivery: SMTP and console backends, off the request thread, retries, templates, no code in logs."""

import logging
import smtplib
import socket
import ssl
import threading

import pytest

from app.logs import JsonFormatter
from app.mail import VerifyingSMTP, VerifyingSmtpBackend
from config import ConfigError, Settings
from helpers import AuthActions
from smtp_server import Mailbox, bodies, code_in

KNOWN_CODE = "482913"


def forgot(client, email="ada@example.com"):
    return client.post("/api/auth/forgotPassword", json={"email": email})


MAIL_SERVERS_OWN_LOG = "mail.log"  # aiosmtpd, the test's mail server: it logs what it receives


def every_log_line(caplog) -> str:
    """Every record the auth server logged, as it writes it (JSON, extra fields included) and as text."""
    records = [record for record in caplog.records if record.name != MAIL_SERVERS_OWN_LOG]
    formatter, plain = JsonFormatter(), logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(record) + plain.format(record) for record in records)


@pytest.fixture
def known_code(monkeypatch):
    """Make every new code KNOWN_CODE, so a test can look for it where it must not be."""
    monkeypatch.setattr("app.service.codes.new_code", lambda: KNOWN_CODE)
    return KNOWN_CODE


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_code_reaches_any_log_line_with_the_smtp_backend(mail_client, mailbox, delivered, caplog):
    caplog.set_level(logging.DEBUG)
    auth = AuthActions(mail_client)
    auth.signup()
    forgot(mail_client)
    delivered()
    codes = [code_in(message) for message in mailbox.messages]
    assert len(codes) == 2
    reset = {"email": "ada@example.com", "code": codes[1], "newPassword": "a brand new passphrase"}
    assert mail_client.post("/api/auth/resetPassword", json=reset).status_code == 200
    delivered()
    lines = every_log_line(caplog)
    assert "mail sent" in lines
    for code in codes:
        assert code not in lines


def test_an_smtp_server_that_is_down_changes_no_answer_and_the_failure_is_logged_without_the_code(
    make_mail_app, caplog, known_code
):
    caplog.set_level(logging.DEBUG)
    app = make_mail_app(smtp_port=free_port())
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.signup().json == {"success": True}
    assert forgot(client).json == {"success": True}
    assert app.extensions["mailer"].flush(10)
    failures = [record for record in caplog.records if record.getMessage().startswith("mail not sent")]
    assert len(failures) == 2
    assert all(record.levelname == "ERROR" and record.fields["tries"] == 3 for record in failures)
    assert "ConnectionRefusedError" in failures[0].getMessage()
    assert known_code not in every_log_line(caplog)
    assert auth.login().status_code == 200


class FlakyMailbox(Mailbox):
    """Refuses the first message with a temporary error, then accepts."""

    refusals = 1

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.refusals:
            self.refusals -= 1
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_failed_send_is_retried(make_app, caplog):
    caplog.set_level(logging.INFO)
    box = FlakyMailbox().start()
    try:
        app = make_app(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=box.port, smtp_security="none")
        app.extensions["mailer"].retry_delays = (0, 0)
        AuthActions(app.test_client()).signup()
        assert app.extensions["mailer"].flush(10)
        assert len(box.to("ada@example.com")) == 1
        sent = [record for record in caplog.records if record.getMessage().startswith("mail sent")]
        assert sent[0].fields["tries"] == 2
    finally:
        box.stop()


class GatedMailbox(Mailbox):
    """Holds every message until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        import asyncio

        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def test_answers_do_not_wait_for_the_mail_server(make_app):
    box = GatedMailbox().start()
    try:
        app = make_app(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=box.port, smtp_security="none")
        client = app.test_client()
        assert AuthActions(client).signup().status_code == 200
        assert forgot(client).json == {"success": True}
        assert box.messages == [], "both answers came while the mail server still held the first message"
        box.gate.set()
        assert app.extensions["mailer"].flush(10)
        assert len(box.to("ada@example.com")) == 2
    finally:
        box.gate.set()
        box.stop()


def test_the_console_backend_writes_the_whole_message_to_the_log_at_debug(make_app, caplog, known_code):
    caplog.set_level(logging.DEBUG, logger="app.mail")
    app = make_app(app_name="Acme")
    AuthActions(app.test_client()).signup()
    assert app.extensions["mailer"].flush(10)
    logged = [record for record in caplog.records if record.name == "app.mail"]
    whole = [record.getMessage() for record in logged if record.levelno == logging.DEBUG]
    assert len(whole) == 1
    assert "MAIL_BACKEND=console" in whole[0]
    assert "To: ada@example.com" in whole[0] and "Subject: Confirm your email address for Acme" in whole[0]
    assert known_code in whole[0] and "text/html" in whole[0]
    readable = [record.getMessage() for record in logged if record.levelno == logging.INFO]
    assert readable == [f"mail to ada@example.com: Confirm your email address for Acme (code {known_code})"]


def test_start_up_says_where_mail_goes(make_app, make_mail_app, caplog, mailbox):
    caplog.set_level(logging.INFO)
    make_app()
    assert "Mail is written to the log (MAIL_BACKEND=console)" in caplog.text
    make_mail_app()
    assert f"Mail goes to 127.0.0.1:{mailbox.port} (none) from Acme <no-reply@acme.test>." in caplog.text


def test_production_with_the_console_backend_starts_and_says_loudly_that_no_mail_leaves(make_app, caplog):
    caplog.set_level(logging.WARNING)
    make_app(app_env="production")
    assert "MAIL_BACKEND=console in production: no mail leaves this server" in caplog.text


def test_production_with_the_console_backend_never_logs_a_code_or_link(make_app, caplog, known_code):
    caplog.set_level(logging.INFO)
    app = make_app(app_env="production", password_reset_url="acme://reset?email={email}&code={code}")
    AuthActions(app.test_client()).signup()
    app.test_client().post("/api/auth/forgotPassword", json={"email": "ada@example.com"})
    assert app.extensions["mailer"].flush(10)
    logged = [record.getMessage() for record in caplog.records if record.name == "app.mail"]
    assert len(logged) == 2 and all("To: ada@example.com" in message for message in logged)
    assert "body withheld" in logged[0]
    assert known_code not in caplog.text and "acme://reset" not in caplog.text


def test_templates_can_be_replaced_one_file_at_a_time(make_mail_app, mailbox, tmp_path):
    (tmp_path / "reset_password.subject.txt").write_text("{{ app_name }}: your code is inside")
    (tmp_path / "reset_password.txt").write_text("Code for {{ email }}: {{ code }}\n")
    app = make_mail_app(mail_templates_dir=str(tmp_path))
    client = app.test_client()
    AuthActions(client).signup()
    forgot(client)
    assert app.extensions["mailer"].flush(10)
    message = mailbox.last("ada@example.com", "inside")
    assert message["Subject"] == "Acme: your code is inside"
    text, html = bodies(message)
    code = code_in(message)
    assert text.strip() == f"Code for ada@example.com: {code}"
    assert "Acme" in html, "the HTML body still comes from the default template"


def test_html_bodies_escape_what_users_typed(mail_client, mailbox, delivered):
    AuthActions(mail_client).signup(first="<b>Ada</b>")
    delivered()
    text, html = bodies(mailbox.last("ada@example.com"))
    assert "&lt;b&gt;Ada&lt;/b&gt;" in html and "<b>Ada</b>" not in html
    assert "<b>Ada</b>" in text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAIL_BACKEND": "sendmail"}, "MAIL_BACKEND"),
        ({"MAIL_BACKEND": "smtp"}, "SMTP_HOST"),
        ({"SMTP_HOST": "mail.example.com", "SMTP_SECURITY": "tls"}, "SMTP_SECURITY"),
        ({"SMTP_PORT": "x"}, "SMTP_PORT"),
        ({"PASSWORD_RESET_URL": "acme://reset"}, "PASSWORD_RESET_URL"),
        ({"MAIL_TEMPLATES_DIR": "/no/such/folder"}, "MAIL_TEMPLATES_DIR"),
        ({"ONE_TIME_CODE_TTL": "10"}, "ONE_TIME_CODE_TTL"),
        ({"RATE_LIMIT_FORGOT_PASSWORD": "often"}, "RATE_LIMIT_FORGOT_PASSWORD"),
        ({"REQUIRE_EMAIL_VERIFICATION": "maybe"}, "REQUIRE_EMAIL_VERIFICATION"),
        (
            {
                "APP_ENV": "production",
                "SECRET_KEY": "s" * 32,
                "MONGO_URI": "mongodb://db/a",
                "SMTP_HOST": "mail",
            },
            "MAIL_FROM",
        ),
    ],
)
def test_bad_mail_settings_stop_the_server_with_a_message_naming_the_setting(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_mail_settings_defaults_and_smtp_when_a_host_is_named():
    defaults = Settings.from_env({})
    assert (defaults.mail.mail_backend, defaults.mail.smtp_port, defaults.mail.smtp_security) == (
        "console",
        587,
        "starttls",
    )
    assert (
        defaults.mail.smtp_timeout,
        defaults.accounts.one_time_code_ttl,
        defaults.accounts.require_email_verification,
    ) == (
        10,
        900,
        False,
    )
    assert Settings.from_env({"SMTP_HOST": "mail.example.com"}).mail.mail_backend == "smtp"
    assert "hunter2" not in repr(Settings.from_env({"SMTP_PASSWORD": "hunter2"}))


def test_starttls_checks_the_servers_certificate_and_name(monkeypatch):
    contexts = []
    monkeypatch.setattr(
        smtplib.SMTP, "starttls", lambda self, *args, context=None, **kwargs: contexts.append(context)
    )
    VerifyingSMTP().starttls()
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname


def test_the_smtp_backend_in_use_is_the_verifying_one(mail_app):
    with mail_app.app_context():
        connection = mail_app.extensions["mailman"].get_connection()
    assert isinstance(connection, VerifyingSmtpBackend)
    assert connection.connection_class is VerifyingSMTP


def test_the_mail_thread_ends_once_the_outbox_is_empty_and_starts_again_with_the_next_message(
    mail_app, mailbox
):
    mailer = mail_app.extensions["mailer"]
    mailer.send("account_deleted", "first@example.com", first="A")
    assert mailer.flush(10)
    thread = mailer.outbox._thread
    if thread is not None:
        thread.join(10)
    assert mailer.outbox._thread is None, "no thread left waiting once nothing was left to send"
    mailer.send("account_deleted", "second@example.com", first="B")
    assert mailer.flush(10)
    assert [message["To"] for message in mailbox.messages] == ["first@example.com", "second@example.com"]
