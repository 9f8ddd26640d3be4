"""The README and the docs stand on the repository alone: every link is a web page or a file in it."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"node_modules"}
WEB = re.compile(r"(?i)^(https?:|mailto:)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(r"\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML_LINK = re.compile(r"""(?i)\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository (hidden folders and installed packages aside)."""
    return sorted(
        path
        for path in ROOT.rglob("*.md")
        if not any(part.startswith(".") or part in SKIPPED_DIRS for part in path.relative_to(ROOT).parts)
    )


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are code, not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Every link target in Markdown `text`: inline, reference-style and HTML."""
    text = prose(text)
    return [*INLINE_LINK.findall(text), *REFERENCE.findall(text), *HTML_LINK.findall(text)]


def outside_the_repository(target: str, source: Path) -> bool:
    """Say whether `target`, linked from `source`, leaves the repository (web pages do not count)."""
    if WEB.match(target):
        return False
    if SCHEME.match(target) or target.startswith(("/", "\\")):
        return True  # file:, another scheme, or a path from the root of someone's machine
    path = unquote(target.split("#", 1)[0])
    return not (source.parent / path).resolve().is_relative_to(ROOT)


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of `markdown`."""
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        candidate, number = slug, 0
        while candidate in found:
            number += 1
            candidate = f"{slug}-{number}"
        found.add(candidate)
    return found


def test_the_checker_finds_links_in_every_form_ignores_code_and_knows_githubs_anchors():
    text = (
        "See [the contract](../shared/CONTRACT.md), ![logo](img/a.png) and [b][ref].\n"
        "[ref]: /etc/passwd\n<a href='file:///work/x.md'>x</a> `[not](a/link)`\n"
        "```\n[also](not/a/link)\n```\n[web](https://example.com/a_(b)) [here](#setup)\n"
    )
    assert links(text) == [
        "../shared/CONTRACT.md",
        "img/a.png",
        "https://example.com/a_(b)",
        "#setup",
        "/etc/passwd",
        "file:///work/x.md",
    ]
    assert anchors("# Rotation (`REFRESH_TOKEN_ROTATION`)\n## A [b](c)\n## A b\n```\n# not\n```\n") == {
        "rotation-refresh_token_rotation",
        "a-b",
        "a-b-1",
    }
    readme = ROOT / "README.md"
    assert [outside_the_repository(link, readme) for link in links(text)] == [
        True,
        False,
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize("source", markdown_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_link_leaves_the_repository_except_to_a_web_page(source):
    outside = [target for target in links(source.read_text()) if outside_the_repository(target, source)]
    assert not outside, f"{source.relative_to(ROOT)} links outside the repository: {outside}"


@pytest.mark.parametrize("source", markdown_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_link_into_the_repository_finds_its_file_and_heading(source):
    broken = []
    for target in links(source.read_text()):
        if WEB.match(target) or outside_the_repository(target, source):
            continue
        path, _, anchor = target.partition("#")
        linked = (source.parent / unquote(path)).resolve() if path else source
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            broken.append(target)
    assert not broken, f"{source.relative_to(ROOT)} has broken links: {broken}"


def test_the_readme_links_the_contract_and_the_contract_has_the_error_codes():
    assert "](docs/contract.md)" in (ROOT / "README.md").read_text()
    contract = (ROOT / "docs" / "contract.md").read_text()
    for code in ("invalidToken", "refreshExpired", "rateLimited"):
        assert f"| `{code}` |" in contract
