"""The development mailbox: every console mail kept at /dev/mail, and never in production."""

from __future__ import annotations

import logging

import pytest

from helpers import PASSWORD, AuthActions

SUBJECT = "Confirm your email address for Auth server"


@pytest.fixture
def dev_app(make_app):
    app = make_app(mail_backend="console")
    app.extensions["mailer"].retry_delays = (0, 0)
    return app


def signed_up(app, email: str = "ada@example.com") -> dict:
    AuthActions(app.test_client()).signup(email)
    assert app.extensions["mailer"].flush(10)
    return app.test_client().get("/dev/mail.json").json["messages"][0]


def test_a_signup_code_is_read_from_the_json_twin_and_verifies_the_address(dev_app):
    mail = signed_up(dev_app)
    assert (mail["to"], mail["subject"]) == ("ada@example.com", SUBJECT)
    assert len(mail["code"]) == 6 and mail["code"].isdigit()
    assert mail["code"] in mail["text"] and mail["code"] in mail["html"]
    body = {"email": "ada@example.com", "code": mail["code"], "password": PASSWORD}
    assert dev_app.test_client().post("/api/auth/verifyEmail", json=body).json["success"] is True


def test_the_page_lists_the_newest_first_with_each_code_in_large_type(dev_app):
    first, second = signed_up(dev_app, "ada@example.com"), signed_up(dev_app, "bob@example.com")
    page = dev_app.test_client().get("/dev/mail")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert html.index("bob@example.com") < html.index("ada@example.com")
    assert f'data-code="{second["code"]}"' in html and f'data-code="{first["code"]}"' in html
    assert "script" not in html, "the page runs nothing"


def test_a_message_opens_as_its_recipient_would_see_it_and_runs_nothing(dev_app):
    mail = signed_up(dev_app)
    shown = dev_app.test_client().get(f"/dev/mail/{mail['id']}")
    assert shown.get_data(as_text=True) == mail["html"]
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    assert "script-src" not in shown.headers["Content-Security-Policy"]
    assert dev_app.test_client().get("/dev/mail/999").status_code == 404


def test_the_log_has_one_readable_line_a_mail_and_the_whole_message_only_at_debug(dev_app, caplog):
    caplog.set_level(logging.INFO, logger="app.mail")
    mail = signed_up(dev_app)
    lines = [record.getMessage() for record in caplog.records if record.name == "app.mail"]
    assert lines == [f"mail to ada@example.com: {SUBJECT} (code {mail['code']})"]
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="app.mail")
    signed_up(dev_app, "bob@example.com")
    assert any("Content-Type: multipart/alternative" in record.getMessage() for record in caplog.records)


def test_the_mailbox_keeps_a_bounded_number(dev_app):
    box = dev_app.extensions["dev_mailbox"]
    for number in range(150):
        box.keep(f"user{number}@example.com", "Subject", "text", "<p>html</p>", {"code": "123456"})
    kept = box.newest_first()
    assert len(kept) == 100 and kept[0].to == "user149@example.com"


@pytest.mark.parametrize("overrides", [{"mail_backend": "smtp", "smtp_host": "127.0.0.1"}])
def test_there_is_no_mailbox_route_when_mail_really_goes_out(make_app, overrides):
    app = make_app(**overrides)
    assert not any(rule.rule.startswith("/dev/") for rule in app.url_map.iter_rules())
    assert app.test_client().get("/dev/mail").status_code == 404


def test_production_never_has_the_mailbox(settings):
    from app import create_app

    production = settings.replace(
        app_env="production", mongo_uri="mongodb://127.0.0.1:1/auth", secret_key="s" * 40
    )
    app = create_app(production, warn=False, prepare_database=False)
    assert "dev_mailbox" not in app.extensions
    assert not any(rule.rule.startswith("/dev/") for rule in app.url_map.iter_rules())
