"""The documentation site: every page in the nav, a strict build, the README's links, and true paths in the recipes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mkdocs.config import load_config

from tests.testkit.docs import DOCS_DIR, ROOT, page
from tests.testkit.template import expand_language_extensions, load_template

pytestmark = pytest.mark.unit

# mkdocs-material prints a notice about its future on every build; it says nothing about this site.
BUILD_ENVIRONMENT = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def _nav_pages(entries: list[Any]) -> list[str]:
    """The page paths of an mkdocs nav, sections opened."""
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


NAV = _nav_pages(load_config(config_file=str(ROOT / "mkdocs.yml"))["nav"])


def test_every_page_is_in_the_nav_once_and_every_nav_entry_is_a_page() -> None:
    # GIVEN the Markdown files under docs/ and the pages mkdocs.yml's nav names
    files = sorted(path.relative_to(DOCS_DIR).as_posix() for path in DOCS_DIR.rglob("*.md"))
    # THEN they are the same pages, each named once
    assert sorted(NAV) == files
    assert len(set(NAV)) == len(NAV)


def mkdocs_build(config_file: Path, site_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter's own mkdocs
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config_file), "--site-dir", str(site_dir)],
        env=BUILD_ENVIRONMENT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    # WHEN the site is built as `make test` builds it, into a folder of the test's own
    result = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    # THEN it builds with no warning, a page for each entry of the nav
    assert result.returncode == 0, result.stderr[-3000:]
    for name in NAV:
        built = tmp_path / "site" / ("index.html" if name == "index.md" else name.removesuffix(".md") + "/index.html")
        assert built.is_file(), built


def test_the_strict_build_refuses_a_link_to_a_heading_that_does_not_exist(tmp_path: Path) -> None:
    # GIVEN a copy of the site where one page links to a heading no page has
    shutil.copytree(DOCS_DIR, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as index:
        index.write("\nSee [the parameters](deploying.md#no-such-heading).\n")
    # WHEN it is built / THEN the build fails and names the link
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-heading" in result.stderr


README_LINKS = re.findall(r"\]\((docs/[^)#\s]*)(?:#[^)]*)?\)", (ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_links_to_every_page_and_to_nothing_that_is_missing() -> None:
    # GIVEN the README's links into docs/
    assert README_LINKS
    # THEN each names a file that exists, and every page of the nav is linked
    assert [link for link in README_LINKS if not (ROOT / link).exists()] == []
    assert sorted(set(NAV) - {link.removeprefix("docs/") for link in README_LINKS}) == []


def _tracked_top_level_names() -> set[str]:
    """The names at the repository's root that git tracks (so `.venv/...` or `local-invoke/...` are not repository paths)."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S607
    return {line.split("/", 1)[0] for line in listed.splitlines()}


def _repository_paths(text: str, top_level: set[str]) -> list[str]:
    """The code spans of ``text`` that name a path in the repository: a root entry git tracks, or a path under one."""
    spans = re.findall(r"`([^`\s<>*]+)`", text)
    return [span for span in spans if span.rstrip("/").split("/", 1)[0] in top_level]


def test_every_repository_path_on_the_architecture_page_exists() -> None:
    # GIVEN the paths architecture.md names, in its layout and in its recipes
    paths = _repository_paths(page("architecture.md"), _tracked_top_level_names())
    assert len(paths) >= 40
    # THEN each is there
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_the_path_check_sees_a_path_that_does_not_exist() -> None:
    # GIVEN a recipe step that names a file under a tracked folder that is not there, and spans that are no paths
    text = "Edit `layers/sms_otp/sms_otp/limits/no_such_module.py`, then run `make test` with `--strict` in `.venv/bin`."
    # THEN the first is taken for a repository path, the others are not
    assert _repository_paths(text, _tracked_top_level_names()) == ["layers/sms_otp/sms_otp/limits/no_such_module.py"]


def test_every_alarm_of_the_template_is_in_the_operations_table() -> None:
    # GIVEN the template's alarms and the rows of the Alarms table
    resources = expand_language_extensions(load_template())["Resources"]
    alarms = sorted(name for name, resource in resources.items() if resource["Type"] == "AWS::CloudWatch::Alarm")
    section = page("operations.md").split("\n## Alarms\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)
    # THEN each alarm has one row, and no row names another
    assert len(rows) == len(set(rows))
    assert sorted(rows) == alarms


def test_the_architecture_page_names_every_module_of_the_layer() -> None:
    # GIVEN the layer's modules, by subpackage, and the architecture page's table of packages
    package = ROOT / "layers" / "sms_otp" / "sms_otp"
    modules = sorted(path.relative_to(package) for path in package.glob("*/*.py") if path.name != "__init__.py")
    table = {
        line.split("|")[1].strip(" `"): line.split("|")[2]
        for line in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and line.split("|")[1].strip(" `").endswith("/")
    }

    # WHEN each module is looked up in its package's row / THEN a newcomer finds every module where it lives
    missing = [str(module) for module in modules if f"`{module.name}`" not in table.get(f"{module.parent}/", "")]
    assert modules
    assert missing == []
