"""The documentation as the tests read it: README.md, and the pages of the site in docs/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS_DIR = ROOT / "docs"


def page(name: str) -> str:
    """The text of one page of docs/, such as ``"deploying.md"``."""
    return (DOCS_DIR / name).read_text(encoding="utf-8")


def every_document() -> dict[str, str]:
    """README.md and every page of docs/, by path from the repository's root."""
    paths = [ROOT / "README.md", *sorted(DOCS_DIR.rglob("*.md"))]
    return {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in paths}
