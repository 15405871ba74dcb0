"""What every section shares: paths, the triggers, statistics, tables and the machine."""

from __future__ import annotations

import math
import os
import platform
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
CHILDREN_DIR = BENCH_DIR / "children"
EVENTS_DIR = ROOT / "events"
# Runtime output (results, logs, scratch files); ignores itself, as .pytest_cache does.
OUTPUT_DIR = ROOT / ".bench"
BUILD_DIR = ROOT / ".aws-sam" / "bench-build"
BUILD_CACHE_DIR = ROOT / ".aws-sam" / "bench-cache"
LAYER_LOGICAL_ID = "SmsOtpLayer"
# The interpreter of the children: the project's Python 3.13, the Lambda runtime's version.
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
COLD_START_TARGET = 1.25
WARM_P50_TARGET_US = 100.0
DECRYPT_TARGET = 0.3


@dataclass(frozen=True, slots=True)
class Trigger:
    """One Lambda trigger of the template, and how the benchmark drives it."""

    key: str
    title: str
    module: str
    function: str
    # The sample event (events/*.json) the cold start and the warm loop invoke it with.
    event: str
    # What the baseline interpreter sets up besides Powertools' Logger: boto3 clients
    # ("sns", "cognito-idp", "dynamodb") and "esdk" (Encryption SDK client and KMS key provider).
    needs: tuple[str, ...]
    warm_iterations: int
    warm_iterations_quick: int

    # Libraries the trigger's own work needs beyond those (Pre sign-up: phonenumbers, to validate the
    # number). Not in the baseline; the informational "base+work" baseline adds them.
    work_needs: tuple[str, ...] = ()

    @property
    def calls_aws(self) -> bool:
        return bool(self.needs)

    @property
    def has_work_baseline(self) -> bool:
        return self.calls_aws or bool(self.work_needs)


TRIGGERS: tuple[Trigger, ...] = (
    Trigger("pre_sign_up", "Pre sign-up", "pre_sign_up", "PreSignUpFunction", "pre_sign_up", (), 5000, 200, ("phonenumbers",)),
    Trigger(
        "define",
        "Define Auth Challenge",
        "define_auth_challenge",
        "DefineAuthChallengeFunction",
        "define_auth_challenge_wrong_answer",
        (),
        5000,
        200,
    ),
    Trigger(
        "create",
        "Create Auth Challenge",
        "create_auth_challenge",
        "CreateAuthChallengeFunction",
        "create_auth_challenge",
        ("sns", "dynamodb"),
        1000,
        50,
    ),
    Trigger(
        "verify",
        "Verify Auth Challenge",
        "verify_auth_challenge",
        "VerifyAuthChallengeFunction",
        "verify_auth_challenge",
        (),
        5000,
        200,
    ),
    Trigger(
        "post_auth",
        "Post Authentication",
        "post_authentication",
        "PostAuthenticationFunction",
        "post_authentication",
        ("cognito-idp", "dynamodb"),
        1000,
        50,
    ),
    Trigger(
        "custom_sms",
        "Custom SMS Sender",
        "custom_sms_sender",
        "CustomSmsSenderFunction",
        "custom_sms_sender_sign_up",
        ("sns", "dynamodb", "esdk"),
        1000,
        50,
    ),
)
TRIGGERS_BY_KEY = {trigger.key: trigger for trigger in TRIGGERS}
NO_AWS_TRIGGERS = ("define", "verify", "pre_sign_up")


_CURRENT_BUILD = {"dir": BUILD_DIR}


def build_dir() -> Path:
    """The build the children run: sam build's output, or what --build-dir / --precompiled chose."""
    return _CURRENT_BUILD["dir"]


def use_build_dir(directory: Path) -> None:
    _CURRENT_BUILD["dir"] = directory


def function_dir(trigger: Trigger) -> Path:
    return build_dir() / trigger.function


def layer_python_dir() -> Path:
    return build_dir() / LAYER_LOGICAL_ID / "python"


def child_path(trigger: Trigger) -> list[str]:
    """The child's import path besides the standard library, in Lambda's order (/var/task, then /opt/python)."""
    return [str(function_dir(trigger)), str(layer_python_dir())]


def child_command(script: str, *flags: str) -> list[str]:
    """A child interpreter: isolated (-I: no PYTHON* variables, no user site, no script directory on the path),
    no site-packages (-S: only what the build holds, as in Lambda), and no bytecode written (-B: Lambda's
    /var/task and /opt are read-only and sam build ships no .pyc, so every cold start compiles its imports).
    """
    return [str(VENV_PYTHON), "-I", "-S", "-B", *flags, str(CHILDREN_DIR / script)]


def ensure_output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    ignore = OUTPUT_DIR / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by the benchmark (bench/): results and logs, never committed.\n*\n")
    return OUTPUT_DIR


# ---------------------------------------------------------------- statistics ---


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples)) if samples else math.nan


def mean(samples: Sequence[float]) -> float:
    return float(statistics.fmean(samples)) if samples else math.nan


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator and not math.isnan(denominator) else math.nan


# ---------------------------------------------------------------- output ---


def out(text: str = "") -> None:
    """Print a line of the report (flushed, so progress shows under make)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """A progress line on stderr, kept out of the report."""
    sys.stderr.write(f"  .. {text}\n")
    sys.stderr.flush()


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a table cell; ``-`` for missing values."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.{digits}f}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], notes: Sequence[str] = ()) -> str:
    """A plain-text table: text columns left-aligned, numbers right-aligned."""
    cells = [[fmt(cell) if not isinstance(cell, str) else cell for cell in row] for row in rows]
    numeric = [bool(rows) and all(_NUMBER.match(row[index]) for row in cells) for index in range(len(headers))]
    widths = [max([len(header)] + [len(row[index]) for row in cells]) for index, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i]) for i, value in enumerate(values)]
        return "  ".join(parts).rstrip()

    lines = [f"== {title}", line(headers), "  ".join("-" * width for width in widths)]
    lines += [line(row) for row in cells]
    lines += [f"   {text}" for text in notes]
    return "\n".join(lines) + "\n"


_NUMBER = re.compile(r"^(-|[-+]?[0-9][0-9,]*(\.[0-9]+)?x?|)$")


def ratio_text(value: float) -> str:
    """A ratio for a table cell, two decimals."""
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def verdict(passed: bool | None) -> str:
    if passed is None:
        return "-"
    return "PASS" if passed else "over"


# ---------------------------------------------------------------- machine ---


def source_revision() -> dict[str, Any]:
    """The commit measured, and whether the product's files differ from it (the numbers then describe the work tree)."""
    import subprocess  # noqa: PLC0415

    def git(*arguments: str) -> str:
        completed = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607
        return completed.stdout.strip()

    changed = git("status", "--porcelain", "--", "layers", "src/triggers", "template.yaml").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "product_files_changed": len(changed)}


def machine() -> dict[str, Any]:
    """The machine the numbers come from."""
    cpu = "unknown"
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.lower().startswith("model name"):
                cpu = text_line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        memory_kb = next(
            int(text_line.split()[1]) for text_line in Path("/proc/meminfo").read_text().splitlines() if text_line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        memory_kb = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "architecture": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "child_python": str(VENV_PYTHON),
    }
