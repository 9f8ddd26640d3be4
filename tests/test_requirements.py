"""requirements.txt holds what the server runs, and only that; requirements-dev.txt adds the tools."""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SERVER_CODE = [
    *sorted((ROOT / "app").rglob("*.py")),
    *(ROOT / name for name in ("config.py", "wsgi.py", "serve.py", "gunicorn.conf.py")),
]
TEST_CODE = [*sorted((ROOT / "tests").glob("*.py")), ROOT / "postman" / "build.py"]
# The project's own modules, and the tests' shared modules (helpers, providers, ...).
FIRST_PARTY = {"app", "config", "wsgi", "serve"} | {file.stem for file in (ROOT / "tests").glob("*.py")}
DEV_TOOLS = {"pytest", "hypothesis", "ruff", "mypy", "types-zxcvbn", "schemathesis", "openapi-spec-validator"}


def pinned(file: Path) -> set[str]:
    """The distributions a requirements file names, following its `-r` includes."""
    names = set()
    for line in file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            names |= pinned(file.parent / line[2:].strip())
        elif line:
            names.add(canonicalize_name(Requirement(line).name))
    return names


def installed_with(names: set[str]) -> set[str]:
    """`names` and everything they require when installed (no extras)."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return found


def imported_distributions(files: list[Path]) -> dict[str, str]:
    """Map each third-party distribution the files import to one file that imports it."""
    owners = metadata.packages_distributions()
    used = {}
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
                    continue
                for distribution in owners.get(top, [top]):  # not installed: named by its module
                    used.setdefault(canonicalize_name(distribution), file.relative_to(ROOT).as_posix())
    return used


def test_the_runtime_requirements_hold_no_test_or_lint_tool():
    assert not DEV_TOOLS & pinned(ROOT / "requirements.txt")
    assert DEV_TOOLS <= pinned(ROOT / "requirements-dev.txt")


def test_the_dev_requirements_include_the_runtime():
    assert re.search(r"^-r requirements\.txt$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)


def not_installed_by(requirements: str, files: list[Path]) -> dict[str, str]:
    """The distributions `files` import that installing `requirements` would not bring."""
    available = installed_with(pinned(ROOT / requirements))
    return {name: file for name, file in imported_distributions(files).items() if name not in available}


def test_everything_the_server_imports_comes_with_the_runtime_requirements():
    missing = not_installed_by("requirements.txt", SERVER_CODE)
    assert not missing, f"imported by the server but not in requirements.txt: {missing}"


def test_the_runtime_requirements_would_not_bring_the_test_tools():
    """The check above can tell: the tests' own imports are missing from the runtime."""
    assert {"pytest", "hypothesis", "schemathesis"} <= not_installed_by("requirements.txt", TEST_CODE).keys()


def test_everything_the_tests_import_comes_with_the_dev_requirements():
    missing = not_installed_by("requirements-dev.txt", TEST_CODE)
    assert not missing, f"imported by the tests but not in requirements-dev.txt: {missing}"


def test_the_image_installs_the_runtime_requirements_only():
    installs = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line]
    assert installs == ["RUN python -m pip install -r requirements.txt"]
