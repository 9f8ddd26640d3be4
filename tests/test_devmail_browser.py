"""The development mailbox in a real browser: sign up, open /dev/mail, read the code, verify.

Headless Chromium from Debian's package (`apt install chromium`), driven by Playwright pointed at
it. .ci/run installs it and sets REQUIRE_SYSTEM_TOOLS=1, so there the test runs or fails; on a
machine without Chromium it is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from test_devserver import LiveServer

from helpers import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As Debian's Chromium runs headless here: no sandbox as root, no calls to Google's services.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None and os.environ.get("REQUIRE_SYSTEM_TOOLS") == "1":
    raise RuntimeError("REQUIRE_SYSTEM_TOOLS=1 but no chromium is installed (apt install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt install chromium)")


@pytest.fixture
def server(tmp_path):
    live = LiveServer(tmp_path, LOG_FORMAT="text")
    yield live
    live.stop()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser.new_page()
        browser.close()


def open_when_delivered(page, url: str, seconds: float = 10) -> None:
    """Open the mailbox, reloading as a developer would until the outbox has delivered the mail."""
    deadline = time.monotonic() + seconds
    page.goto(url)
    while page.locator(".code").count() == 0:
        assert time.monotonic() < deadline, "no mail on the page"
        page.wait_for_timeout(200)
        page.reload()


def test_a_developer_reads_the_signup_code_on_the_page_and_verifies_the_address(server, page):
    body = {"first": "Ada", "last": "Lovelace", "email": "ada@example.com", "password": PASSWORD}
    assert server.call("POST", "/api/auth/signup", body) == {"success": True}

    open_when_delivered(page, f"{server.url}/dev/mail")
    assert page.locator(".mail .to").first.inner_text() == "ada@example.com"
    code = page.locator(".code").first.inner_text()
    assert len(code) == 6 and code.isdigit()

    page.locator(".mail h2 a").first.click()
    assert code in page.content(), "the message opens as its recipient sees it, code included"

    verify = {"email": "ada@example.com", "code": code, "password": PASSWORD}
    assert server.call("POST", "/api/auth/verifyEmail", verify) == {"success": True, "passwordRemoved": False}
