"""The configuration guide's tables say what config.py declares: every setting, and its default."""

from __future__ import annotations

import re
from pathlib import Path

from config import declarations

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ("configuration.md", "deployment.md")  # the settings tables, the server's in the second
ROW = re.compile(r"^\| ([^|]*`[A-Z][A-Z0-9_]+`[^|]*) \| ([^|]*) \|", re.MULTILINE)


def documented() -> dict[str, str]:
    """Return each setting the guides' tables name, with its row's default cell."""
    rows = {}
    guides = "".join((ROOT / "docs" / name).read_text() for name in GUIDES)
    for names, default in ROW.findall(guides):
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", names):
            rows.setdefault(name, default)  # the configuration table comes first
    return rows


def shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_every_declared_setting_is_in_a_readme_table():
    rows = documented()
    missing = [
        declared.metadata["env"] for _, declared in declarations() if declared.metadata["env"] not in rows
    ]
    assert missing == []


def test_every_fixed_default_is_the_one_the_readme_gives():
    rows = documented()
    wrong = []
    for _, declared in declarations():
        meta = declared.metadata
        if (
            meta["default_from"] is not None
            or declared.default in (None, "")
            or not isinstance(declared.default, bool | int | str)
        ):
            continue
        if f"`{shown(declared.default)}`".lower() not in rows[meta["env"]].lower():
            wrong.append((meta["env"], declared.default, rows[meta["env"]]))
    assert wrong == []


def test_a_bound_the_declaration_sets_is_enforced():
    from config import ConfigError, Settings

    for _, declared in declarations():
        meta = declared.metadata
        if meta["maximum"] is not None:
            name = meta["env"]
            try:
                Settings.from_env({name: str(meta["maximum"] + 1)})
            except ConfigError as refusal:
                assert name in str(refusal)
            else:
                raise AssertionError(f"{name} above its maximum was accepted")
