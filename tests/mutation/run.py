"""Mutation testing of the layer's core modules with mutmut (``make mutation``); not part of CI (over an hour on two cores).

mutmut names a mutant after its module path below the working directory, so the
run happens in a workspace (``.mutation/``) where the layer package sits at
``src/sms_otp``. The tests, sample events, template and triggers are copied
beside it, and mutmut's settings (``mutmut.toml`` here) are appended to a copy
of pyproject.toml, so pytest runs exactly as in the repository.

Arguments are passed to ``mutmut run`` (mutant names or globs, ``--max-children``).
At the end the score of each module is printed: killed (timeouts included) out of all mutants.
``run.py --scores`` prints the scores of the last run (finished or not) without running anything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / ".mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")


def lay_out_workspace() -> None:
    """A fresh workspace: the layer under src/, everything the unit tier reads beside it."""
    shutil.rmtree(WORKSPACE, ignore_errors=True)
    (WORKSPACE / "src").mkdir(parents=True)
    shutil.copytree(ROOT / "layers" / "sms_otp" / "sms_otp", WORKSPACE / "src" / "sms_otp")
    shutil.copytree(ROOT / "src" / "triggers", WORKSPACE / "src" / "triggers")
    shutil.copytree(ROOT / "tests", WORKSPACE / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "events", WORKSPACE / "events")
    shutil.copy2(ROOT / "template.yaml", WORKSPACE / "template.yaml")
    settings = (
        (ROOT / "pyproject.toml").read_text(encoding="utf-8") + "\n" + (Path(__file__).with_name("mutmut.toml")).read_text(encoding="utf-8")
    )
    (WORKSPACE / "pyproject.toml").write_text(settings, encoding="utf-8")


def scores() -> dict[str, Counter[str]]:
    """The outcome of every mutant, counted per module (from mutmut's own records)."""
    from mutmut.stats import status_by_exit_code  # the mutmut installed beside this interpreter

    by_module: dict[str, Counter[str]] = {}
    for meta in sorted((WORKSPACE / "mutants" / "src" / "sms_otp").rglob("*.py.meta")):
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        by_module[meta.name.removesuffix(".meta")] = Counter(status_by_exit_code[code] for code in exit_codes.values())
    return by_module


def print_scores() -> None:
    """Each module's score: killed (timeouts included) out of all its mutants."""
    for module, counts in scores().items():
        total = sum(counts.values())
        caught = counts["killed"] + counts["timeout"]
        details = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        print(f"{module:16} {caught}/{total} killed ({counts['timeout']} by timeout); {details}")  # noqa: T201


def main(arguments: list[str]) -> int:
    if arguments == ["--scores"]:
        print_scores()
        return 0
    started = time.monotonic()
    lay_out_workspace()
    completed = subprocess.run([str(MUTMUT), "run", *arguments], cwd=WORKSPACE, check=False)  # noqa: S603 - our own tool
    minutes = (time.monotonic() - started) / 60
    print(f"\nmutmut run took {minutes:.0f} minutes (exit code {completed.returncode})")  # noqa: T201
    print_scores()
    print("Survivors: cd .mutation && ../.venv/bin/mutmut results; ../.venv/bin/mutmut show <name>")  # noqa: T201
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
