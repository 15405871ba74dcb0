"""The repository keeps its promises to a newcomer: every make target is listed, and the files speak of the product alone."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# A target at the start of a line, not a file rule (those hold a slash or a dot) and not a pattern rule.
_TARGET = re.compile(r"^([a-z][a-z0-9-]*):(?!=)", re.MULTILINE)
# The word "issue" or "PR" followed by a number, or a bare "#" and a number: a reference to a
# tracker, which is work history, not product.
_WORK_HISTORY = re.compile(r"\bissues? #?\d+|\bPR #?\d+|(?<![\w&])#\d{1,4}\b(?![\w-])", re.IGNORECASE)


def _tracked_text_files() -> list[Path]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout  # noqa: S607
    files = []
    for name in listing.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file() and path.suffix not in (".png", ".ico", ".zip"):
            files.append(path)
    return files


@pytest.mark.unit
def test_make_help_lists_every_target() -> None:
    # GIVEN the targets the Makefile defines
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(_TARGET.findall(makefile))
    # WHEN make help runs
    output = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S607
    listed = {line.split()[1] for line in output.splitlines() if line.startswith("make ")}
    # THEN every target is listed with a description, and nothing else
    assert "test" in targets
    assert "sandbox" in targets
    assert listed == targets
    assert all(len(line.split(maxsplit=2)) == 3 for line in output.splitlines())


@pytest.mark.unit
def test_files_speak_of_the_product_alone() -> None:
    # GIVEN every tracked text file
    offenders = []
    for path in _tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        # WHEN it is searched for references to issues, pull requests or tracker numbers
        for number, line in enumerate(text.splitlines(), start=1):
            if _WORK_HISTORY.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    # THEN there are none: work history belongs in commit messages
    assert offenders == []


@pytest.mark.unit
def test_pytest_collects_every_folder_that_holds_tests(request: pytest.FixtureRequest) -> None:
    # GIVEN every folder under tests/ that holds a test module, and the folder names pytest
    # never enters on its own (its defaults include "build" and "dist")
    folders = {path.parent.relative_to(ROOT / "tests") for path in (ROOT / "tests").rglob("test_*.py")}
    skipped_names = request.config.getini("norecursedirs")
    # WHEN each folder's path is read part by part, as pytest walks down from testpaths
    unreached = sorted(
        str(folder) for folder in folders if any(fnmatch.fnmatch(part, name) for part in folder.parts for name in skipped_names)
    )
    # THEN no folder is one that a plain `pytest` (what make test runs) would leave out
    assert folders
    assert unreached == []


MAX_TEST_MODULE_LINES = 600


@pytest.mark.unit
def test_no_test_module_is_longer_than_a_reader_holds_at_once() -> None:
    # GIVEN every test module and test helper under tests/
    modules = sorted((ROOT / "tests").rglob("*.py"))
    # WHEN their lines are counted
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in modules
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_TEST_MODULE_LINES
    }
    # THEN none is over the limit (split a long one by subject)
    assert modules
    assert too_long == {}


@pytest.mark.unit
def test_the_unit_tier_mirrors_the_layer_and_names_its_other_subjects() -> None:
    # GIVEN the layer's subpackages and the unit tier's folders
    layer = {path.name for path in (ROOT / "layers" / "sms_otp" / "sms_otp").iterdir() if (path / "__init__.py").exists()}
    folders = {path.name for path in (ROOT / "tests" / "unit").iterdir() if path.is_dir() and path.name != "__pycache__"}
    # WHEN compared / THEN each subpackage has its folder, and every other folder is one of the tier's other subjects
    assert layer - folders == set()
    assert folders - layer == {"client", "template", "repository", "fuzz"}
