"""The layer's shape: subpackages by job whose imports run one way, and modules small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[3] / "layers" / "sms_otp" / "sms_otp"
# What each subpackage may import of the others: the shared ground below everything, the limits above it,
# the triggers' logic on top, and attaching to an existing pool beside it on the shared ground alone.
MAY_IMPORT = {
    "core": set(),
    "limits": {"core"},
    "sign_in": {"core", "limits"},
    "sending": {"core", "limits"},
    "existing_pool": {"core"},
}
MAX_MODULE_LINES = 300


def layer_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def subpackage_of(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def imported_subpackages(path: Path) -> set[str]:
    """The layer's subpackages ``path`` imports, at run time or for type checking alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "sms_otp" and len(parts) > 1 and parts[1] in MAY_IMPORT:
                found.add(parts[1])
    return found


def test_every_module_lives_in_a_subpackage_that_the_rule_knows() -> None:
    # GIVEN the layer's modules / WHEN each is placed by its folder
    homeless = [str(path.relative_to(PACKAGE)) for path in layer_modules() if subpackage_of(path) is None and path.name != "__init__.py"]
    unknown = {subpackage_of(path) for path in layer_modules()} - set(MAY_IMPORT) - {None}

    # THEN every module is in one of the subpackages, and the rule names every subpackage
    assert homeless == []
    assert unknown == set()


@pytest.mark.parametrize("path", layer_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_run_only_downward(path: Path) -> None:
    # GIVEN a layer module and the subpackage it lives in
    home = subpackage_of(path)
    allowed = MAY_IMPORT.get(home, set(MAY_IMPORT)) | ({home} if home else set())

    # WHEN its imports are read / THEN it imports only its own subpackage and those below it
    assert imported_subpackages(path) - allowed == set()


def test_the_rule_itself_has_no_cycle() -> None:
    # GIVEN what each subpackage may import / WHEN following the rule from each
    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        pending = list(MAY_IMPORT[start])
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(MAY_IMPORT[name])
        return seen

    # THEN no subpackage reaches itself
    assert [name for name in MAY_IMPORT if name in reachable(name)] == []


def test_the_subpackages_init_files_import_nothing() -> None:
    # GIVEN the subpackages' __init__ files: importing one module must load only what it needs (cold starts)
    # WHEN their statements are read / THEN each holds a docstring at most (and the package its version)
    for init in PACKAGE.rglob("__init__.py"):
        statements = ast.parse(init.read_text(encoding="utf-8")).body
        imports = [node for node in statements if isinstance(node, ast.Import | ast.ImportFrom)]
        assert imports == [], init


@pytest.mark.parametrize("path", layer_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_longer_than_a_reader_holds_at_once(path: Path) -> None:
    # GIVEN a layer module / WHEN its lines are counted / THEN it is at most the limit
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES
