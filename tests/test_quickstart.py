"""The README's quickstart runs as pasted, against a live `python wsgi.py`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_devserver import LiveServer

ROOT = Path(__file__).resolve().parent.parent
# .ci/run installs jq and Chromium and sets this, so there the tools' tests run or fail, never skip.
if os.environ.get("REQUIRE_SYSTEM_TOOLS") == "1" and not shutil.which("jq"):
    raise RuntimeError("REQUIRE_SYSTEM_TOOLS=1 but jq is not installed (apt install jq)")
QUICKSTART = re.compile(r"## Quickstart[^\n]*\n.*?```sh\n(.*?)```", re.DOTALL)


def quickstart() -> str:
    return QUICKSTART.search((ROOT / "README.md").read_text()).group(1)


@pytest.fixture
def server(tmp_path):
    live = LiveServer(tmp_path, LOG_FORMAT="text")
    yield live
    live.stop()


def test_the_quickstart_needs_only_curl_and_jq_and_names_both():
    commands = {line.split()[0] for line in quickstart().splitlines() if line and not line.startswith(" ")}
    assert commands <= {
        "BASE=http://localhost:1140",
        "curl",
        "LOGIN=$(curl",
        "AUTH_TOKEN=$(echo",
        "AUTH_TOKEN=$(curl",
    }
    assert shutil.which("jq"), "the quickstart's prerequisite, jq, is installed by .ci/run"


def test_the_quickstart_runs_as_pasted(server):
    # Only the address changes: the test server listens on a free port.
    script = quickstart().replace("BASE=http://localhost:1140", f"BASE={server.url}", 1)
    script += 'echo; echo "AUTH=$AUTH_TOKEN"; echo "REFRESH=$REFRESH_TOKEN"\n'
    command = [shutil.which("bash"), "-euo", "pipefail", "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)  # noqa: S603 - the README's own lines
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    answers = [json.loads(line) for line in "\n".join(lines[:-2]).replace("}{", "}\n{").splitlines() if line]
    assert answers[0] == {"success": True}
    assert answers[1]["success"] is True and answers[1]["user"]["email"] == "ada@example.com"
    assert answers[2] == {"success": True}
    auth, refresh = lines[-2].removeprefix("AUTH="), lines[-1].removeprefix("REFRESH=")
    assert auth.count(".") == 2 and refresh.count(".") == 2, "both tokens were kept"
    assert server.call("GET", "/api/auth/me", token=auth)["user"]["email"] == "ada@example.com"
    assert (
        server.call("POST", "/api/auth/refreshToken", {"refreshToken": refresh})["code"] == "refreshExpired"
    )
