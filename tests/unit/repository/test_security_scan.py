"""The security scan a platform team would run: checkov over the template, in `make test`, each skipped check with its reason."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.testkit.template import expand_language_extensions, load_template

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
CHECK_ID = re.compile(r"CKV2?_AWS_\d+")


def skips(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each resource's checkov skips, by logical id."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        skipped = resource.get("Metadata", {}).get("checkov", {}).get("skip")
        if skipped is not None:
            found[logical_id] = skipped
    return found


def test_every_skipped_check_names_its_check_and_says_why_in_one_line() -> None:
    # GIVEN the resources of the template, its loops expanded, as checkov reads them
    template = expand_language_extensions(load_template())

    # WHEN their skips are read / THEN each names a check and gives a one-line reason
    for logical_id, entries in skips(template).items():
        for entry in entries:
            assert set(entry) == {"id", "comment"}, logical_id
            assert CHECK_ID.fullmatch(entry["id"]), (logical_id, entry)
            assert entry["comment"].strip(), (logical_id, entry)
            assert "\n" not in entry["comment"], (logical_id, entry)
        assert len({entry["id"] for entry in entries}) == len(entries), logical_id


def test_the_scan_reads_the_resources_the_loops_make() -> None:
    # GIVEN the template as written (checkov does not expand Fn::ForEach) and as the scan reads it
    written, scanned = load_template(), expand_language_extensions(load_template())

    # THEN the loops' log groups and roles are scanned too, each log group carrying its skip
    assert "PreSignUpLogGroup" not in written["Resources"]
    for trigger in ("PreSignUp", "DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallenge", "PostAuthentication"):
        assert f"{trigger}Role" in scanned["Resources"]
        assert [entry["id"] for entry in skips(scanned)[f"{trigger}LogGroup"]] == ["CKV_AWS_158"]


def test_make_test_runs_the_scan_on_the_expanded_template() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"^\t\$\(MAKE\) .*\bscan\b", test_recipe, re.MULTILINE)
    scan_recipe = makefile.split("\nscan:", 1)[1].split("\n\n", 1)[0]
    assert "$(PY) -m tests.testkit.template $(CHECKOV_TEMPLATE)" in scan_recipe
    assert ".venv-checkov/bin/checkov --file $(CHECKOV_TEMPLATE) --framework cloudformation" in scan_recipe
    assert re.search(r"^checkov==\d+\.\d+\.\d+$", (ROOT / "requirements-checkov.txt").read_text(encoding="utf-8"), re.MULTILINE)
