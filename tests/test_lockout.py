"""Per-account login delays: after 5 failures in a row each further attempt waits twice as long."""

from datetime import timedelta

import bcrypt
import pytest

from app.errors import Code, RateLimited
from app.lockout import LoginThrottle
from app.storage import LOGIN_FAILURES
from config import LimitSettings
from helpers import PASSWORD, AuthActions, at_once, bearer
from smtp_server import code_in

RATE_LIMITED = Code.RATE_LIMITED

WRONG = "wrong password"


def fail(auth, times: int, email: str = "ada@example.com") -> None:
    for _ in range(times):
        assert auth.login(email=email, password=WRONG).status_code == 400


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (14, 512), (15, 900), (1000, 900)],
)
def test_the_delay_doubles_after_five_failures_up_to_fifteen_minutes(failures, delay):
    assert LoginThrottle.from_settings(None, LimitSettings()).delay_after(failures) == delay


def test_five_failures_cost_nothing_and_the_sixth_attempt_must_wait_a_second(auth, clock):
    auth.signup()
    fail(auth, 5)
    response = auth.login()  # even the right password
    assert response.status_code == 429
    assert response.json["code"] == RATE_LIMITED
    assert response.headers["Retry-After"] == "1"
    clock.advance(1)
    assert auth.login().status_code == 200


def test_each_further_failure_doubles_the_wait(auth, clock):
    auth.signup()
    fail(auth, 5)
    for expected in (1, 2, 4, 8):
        refused = auth.login(password=WRONG)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(expected)
        clock.advance(expected)
        assert auth.login(password=WRONG).status_code == 400


def test_an_attempt_during_the_wait_is_refused_before_any_bcrypt_work(auth, monkeypatch):
    auth.signup()
    fail(auth, 5)
    calls = []
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: calls.append(1))
    assert auth.login().status_code == 429
    assert calls == []


def test_a_refused_attempt_does_not_lengthen_the_wait(auth, clock):
    auth.signup()
    fail(auth, 5)
    for _ in range(3):
        assert auth.login().status_code == 429
    clock.advance(1)
    assert auth.login().status_code == 200


def test_a_successful_login_starts_the_count_afresh(auth, clock):
    auth.signup()
    fail(auth, 4)
    assert auth.login().status_code == 200
    fail(auth, 4)
    assert auth.login().status_code == 200


def test_the_wait_never_exceeds_the_maximum_setting(make_app, clock):
    auth = AuthActions(make_app(login_delay_max=60).test_client())
    auth.signup()
    for _ in range(12):  # uncapped, the wait after the twelfth failure would be 128 s
        fail(auth, 1)
        clock.advance(60)
    fail(auth, 1)
    assert auth.login().headers["Retry-After"] == "60"


def test_unknown_emails_are_delayed_the_same_so_delays_reveal_no_account(auth):
    auth.signup()
    fail(auth, 5)
    fail(auth, 5, email="nobody@example.com")
    known = auth.login(password=WRONG)
    unknown = auth.login(email="nobody@example.com", password=WRONG)
    assert known.status_code == unknown.status_code == 429
    assert known.json == unknown.json


def test_accounts_are_delayed_separately_and_the_email_is_normalised(auth):
    auth.signup()
    auth.signup(email="grace@example.com")
    fail(auth, 5, email="  ADA@example.com")
    assert auth.login().status_code == 429
    assert auth.login(email="grace@example.com").status_code == 200


def test_failures_are_counted_in_the_database_with_a_ttl_and_no_password(auth, storage):
    auth.signup()
    fail(auth, 3)
    records = {record["_id"]: record for record in storage.db[LOGIN_FAILURES].find({})}
    assert set(records) == {"ada@example.com from 127.0.0.1", "ada@example.com"}, (
        "this address's, the account's"
    )
    assert [record["count"] for record in records.values()] == [3, 3]
    assert WRONG not in str(records) and PASSWORD not in str(records)
    ttl = [
        index
        for index in storage.db[LOGIN_FAILURES].index_information().values()
        if "expireAfterSeconds" in index
    ]
    assert ttl and ttl[0]["key"] == [("expiresAt", 1)]
    auth.login()
    # The address starts afresh; the account's daily count keeps the failures, not the success.
    [account] = storage.db[LOGIN_FAILURES].find({})
    assert (account["_id"], account["count"]) == ("ada@example.com", 3)


def test_the_count_is_shared_by_every_process_using_the_database(auth, storage, clock):
    """A second server on the same database sees the same count: it lives in the database."""
    auth.signup()
    fail(auth, 5)
    other_process = LoginThrottle.from_settings(storage, LimitSettings())
    with pytest.raises(RateLimited):
        other_process.claim("ada@example.com", "from 127.0.0.1", clock())


def test_wrong_current_passwords_at_change_password_are_delayed_like_failed_logins(auth, client, monkeypatch):
    """A stolen access token must not become a way to guess the password, nor to keep the owner out."""
    token = auth.tokens()["authToken"]
    guess = {"currentPassword": WRONG, "newPassword": "a new password 123"}
    for _ in range(5):
        response = client.post("/api/auth/changePassword", json=guess, headers=bearer(token))
        assert response.status_code == 400
    calls = []
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: calls.append(1))
    refused = client.post("/api/auth/changePassword", json=guess, headers=bearer(token))
    assert refused.status_code == 429
    assert refused.json["code"] == RATE_LIMITED
    assert calls == []
    monkeypatch.undo()
    assert auth.login().status_code == 200, "the session's guesses do not delay the account's owner"


def test_simultaneous_guesses_after_a_wait_get_one_bcrypt_check_not_one_each(app, auth, clock, monkeypatch):
    """A burst from many addresses at once must not slip past the delay the first guess sets."""
    auth.signup()
    fail(auth, 5)
    clock.advance(1)
    checks = []
    real_checkpw = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(1) or real_checkpw(*args))
    body = {"email": "ada@example.com", "password": WRONG}
    responses = at_once(app, 16, lambda client: client.post("/api/auth/login", json=body))
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [400] + [429] * 15
    assert len(checks) == 1


# A stranger must not be able to keep the owner out (per-source delays, a per-account ceiling).

ATTACKER = {"REMOTE_ADDR": "198.51.100.9"}
OWNER = {"REMOTE_ADDR": "203.0.113.5"}
DAY = 24 * 3600


def login_from(client, environ: dict, password: str = PASSWORD, **body):
    body = {"email": "ada@example.com", "password": password, **body}
    return client.post("/api/auth/login", json=body, environ_base=environ)


def test_a_stranger_guessing_all_day_from_one_address_never_keeps_the_owner_out(make_app, clock):
    client = make_app(rate_limit_enabled=False).test_client()  # the per-address limit is tested apart
    AuthActions(client).signup()
    start, guesses, next_owner_login = clock(), 0, clock()
    while clock() - start < timedelta(seconds=DAY):
        response = login_from(client, ATTACKER, WRONG)
        if response.status_code == 429:  # the attacker waits exactly as long as told, then guesses again
            clock.advance(int(response.headers["Retry-After"]))
        else:
            assert response.status_code == 400
            guesses += 1
        if clock() >= next_owner_login:
            assert login_from(client, OWNER).status_code == 200, f"owner refused after {guesses} guesses"
            next_owner_login = clock() + timedelta(hours=1)
    assert 90 <= guesses <= 120, "one address: about a hundred guesses a day"
    token = login_from(client, OWNER).json["authToken"]
    change = {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}
    assert client.post("/api/auth/changePassword", json=change, headers=bearer(token)).status_code == 200


def test_guesses_from_many_addresses_are_bounded_per_account_and_a_session_holder_still_gets_in(
    make_app, clock, monkeypatch
):
    client = make_app(rate_limit_enabled=False, login_account_failures_per_day=30).test_client()
    AuthActions(client).signup()
    held = login_from(client, OWNER).json["refreshToken"]
    checks = []
    real_checkpw = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda *args: checks.append(1) or real_checkpw(*args))
    statuses = [
        login_from(client, {"REMOTE_ADDR": f"198.51.100.{address}"}, WRONG).status_code
        for address in range(20)
        for _ in range(5)  # within each address's free failures
    ]
    assert statuses.count(400) == len(checks) == 30, "the account's ceiling, across addresses"
    assert statuses.count(429) == 70
    # A stranger, the owner on a new device included, waits for the next day ...
    refused = login_from(client, OWNER)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= DAY
    # ... but a client that holds a session of the account gets in now.
    assert login_from(client, OWNER, refreshToken=held).status_code == 200
    clock.advance(DAY)
    assert login_from(client, OWNER).status_code == 200


def test_only_a_current_refresh_token_of_the_same_account_exempts_a_login(make_app, clock):
    client = make_app(rate_limit_enabled=False, login_account_failures_per_day=5).test_client()
    auth = AuthActions(client)
    auth.signup()
    auth.signup(email="grace@example.com")
    other_account = auth.login(email="grace@example.com").json["refreshToken"]
    ended = login_from(client, OWNER).json["refreshToken"]
    client.post("/api/auth/logout", json={"refreshToken": ended})
    for address in range(5):
        login_from(client, {"REMOTE_ADDR": f"198.51.100.{address}"}, WRONG)
    for token in (other_account, ended, "not-a-token", ""):
        assert login_from(client, OWNER, refreshToken=token).status_code == 429
    assert login_from(client, OWNER, refreshToken=123).status_code == 400, "a token must be a string"


def test_a_session_holders_own_wrong_guesses_still_wait(make_app, clock):
    client = make_app(rate_limit_enabled=False).test_client()
    AuthActions(client).signup()
    held = login_from(client, OWNER).json["refreshToken"]
    for _ in range(5):
        assert login_from(client, ATTACKER, WRONG, refreshToken=held).status_code == 400
    assert login_from(client, ATTACKER, WRONG, refreshToken=held).status_code == 429
    assert login_from(client, OWNER).status_code == 200, "the owner's address has its own count"


def test_an_ipv6_client_is_one_source_across_its_64(make_app):
    client = make_app(rate_limit_enabled=False).test_client()
    AuthActions(client).signup()
    for host in range(1, 6):
        assert login_from(client, {"REMOTE_ADDR": f"2001:db8:5:6::{host}"}, WRONG).status_code == 400
    assert login_from(client, {"REMOTE_ADDR": "2001:db8:5:6:a:b:c:d"}, WRONG).status_code == 429
    assert login_from(client, {"REMOTE_ADDR": "2001:db8:5:7::1"}, WRONG).status_code == 400


def guess_from_many_addresses(client, failures: int) -> None:
    """`failures` wrong passwords, five from each address: no address is ever delayed."""
    for failure in range(failures):
        address = {"REMOTE_ADDR": f"198.51.100.{failure // 5}"}
        assert login_from(client, address, WRONG).status_code == 400


def test_by_default_the_account_takes_at_most_100_failures_a_day_from_strangers(make_app, clock):
    """NIST SP 800-63B 5.2.2: no more than 100 failed attempts at one account."""
    client = make_app(rate_limit_enabled=False).test_client()
    AuthActions(client).signup()
    held = login_from(client, OWNER).json["refreshToken"]
    guess_from_many_addresses(client, 100)
    refused = login_from(client, {"REMOTE_ADDR": "192.0.2.1"}, WRONG)
    assert refused.status_code == 429
    assert refused.json["code"] == RATE_LIMITED
    assert login_from(client, OWNER).status_code == 429, "the owner without a session waits too"
    assert login_from(client, OWNER, refreshToken=held).status_code == 200, "a session holder gets in"


def test_a_password_reset_clears_the_accounts_daily_ceiling(make_mail_app, mailbox):
    client = make_mail_app(rate_limit_enabled=False).test_client()
    AuthActions(client).signup()
    guess_from_many_addresses(client, 100)
    assert login_from(client, OWNER).status_code == 429
    client.post("/api/auth/forgotPassword", json={"email": "ada@example.com"})
    assert client.application.extensions["mailer"].flush(10)
    code = code_in(mailbox.last("ada@example.com", "Reset"))
    new_password = "a brand new passphrase"
    body = {"email": "ada@example.com", "code": code, "newPassword": new_password}
    assert client.post("/api/auth/resetPassword", json=body).status_code == 200
    assert login_from(client, OWNER, new_password).status_code == 200, "no session needed after a reset"
