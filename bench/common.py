"""What the sections share: the triggers, the child interpreters, statistics and tables."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHILDREN = Path(__file__).resolve().parent / "children"
# Lambda's own variables, as the python3.13 runtime sets them (the function's name and memory are added per trigger).
LAMBDA_ENVIRONMENT = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """One function of the template, and how the benchmark drives it."""

    title: str
    function: str
    # The sample event (events/*.json) it is invoked with.
    event: str
    # What a right invocation answers in event["response"] (None: any value).
    answers: dict[str, Any]
    # Its cold start, compiled, at most this fraction of the source-only one.
    compiled_target: float
    # The unavoidable-library baseline, besides Powertools' Logger: boto3 clients, and the Encryption
    # SDK client and KMS key provider.
    clients: tuple[str, ...] = ()
    encryption_sdk: bool = False
    # Libraries its own job needs, for an informational baseline that imports them too.
    libraries: tuple[str, ...] = ()
    warm_iterations: int = 5000
    # Warm p50 target, in microseconds (None: not judged).
    warm_target_us: float | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.function.removesuffix("Function"))


CHALLENGE = {"publicChallengeParameters": None, "privateChallengeParameters": None, "challengeMetadata": None}
TRIGGERS = (
    # Its job is to validate the number, with phonenumbers.
    Trigger("Pre sign-up", "PreSignUpFunction", "pre_sign_up", {"autoConfirmUser": True}, 0.7, libraries=("phonenumbers",)),
    Trigger(
        "Define Auth Challenge",
        "DefineAuthChallengeFunction",
        "define_auth_challenge_wrong_answer",
        {"challengeName": "CUSTOM_CHALLENGE", "issueTokens": False},
        0.7,
        warm_target_us=100.0,
    ),
    Trigger(
        "Create Auth Challenge",
        "CreateAuthChallengeFunction",
        "create_auth_challenge",
        CHALLENGE,
        0.6,
        clients=("sns", "dynamodb"),
        warm_iterations=300,
    ),
    Trigger(
        "Verify Auth Challenge",
        "VerifyAuthChallengeFunction",
        "verify_auth_challenge",
        {"answerCorrect": True},
        0.7,
        warm_target_us=100.0,
    ),
    Trigger(
        "Post Authentication",
        "PostAuthenticationFunction",
        "post_authentication",
        {},
        0.7,
        clients=("cognito-idp", "dynamodb"),
        warm_iterations=300,
    ),
    Trigger(
        "Custom SMS Sender",
        "CustomSmsSenderFunction",
        "custom_sms_sender_sign_up",
        {},
        0.6,
        clients=("sns", "dynamodb"),
        encryption_sdk=True,
        warm_iterations=300,
    ),
)
BASELINE_TARGET = 1.25
DECRYPT_TARGET = 0.3


def check_response(trigger: Trigger, response: Any) -> None:
    """Raise unless the invocation answered as a right one does (else the event was not valid)."""
    response = response if isinstance(response, dict) else {}
    wrong = {
        key: response.get(key)
        for key, value in trigger.answers.items()
        if key not in response or (value is not None and response[key] != value)
    }
    if wrong:
        raise RuntimeError(f"{trigger.title} answered {wrong}, not {trigger.answers}")


@dataclass(frozen=True, slots=True)
class ChildRun:
    result: dict[str, Any]
    # From just before the process started to just after it exited.
    wall_ms: float


def run_child(script: str, spec: dict[str, Any], environment: dict[str, str]) -> ChildRun:
    """Run ``children/<script>`` the Lambda way: isolated (-I), without site-packages (-S: only the
    paths in the spec, as in Lambda), writing no bytecode (-B: /var/task and /opt are read-only).
    A run whose function logged an error fails: it did not take the path it is meant to measure."""
    with tempfile.TemporaryDirectory(prefix="sms-otp-bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        command = [sys.executable, "-I", "-S", "-B", str(CHILDREN / script), json.dumps({**spec, "result": str(result_path)})]
        started = time.perf_counter()
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
        wall_ms = (time.perf_counter() - started) * 1000
        errors = [line for line in completed.stdout.splitlines() if '"level":"ERROR"' in line or '"level":"CRITICAL"' in line]
        if completed.returncode != 0 or errors or not result_path.exists():
            raise RuntimeError(f"{script} {spec.get('module', spec['mode'])} failed:\n{completed.stderr[-2000:]}{''.join(errors)[-2000:]}")
        return ChildRun(json.loads(result_path.read_text()), wall_ms)


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples)) if samples else math.nan


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return float(ordered[max(1, math.ceil(fraction * len(ordered))) - 1]) if ordered else math.nan


def verdict(value: float, target: float | None) -> str:
    if target is None or math.isnan(value):
        return "-"
    return "PASS" if value <= target else "MISS"


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], notes: Sequence[str] = ()) -> str:
    """A plain-text table; numbers right-aligned."""
    cells = [[f"{cell:,.1f}" if isinstance(cell, float) else str(cell) for cell in row] for row in rows]
    widths = [max([len(header), *(len(row[index]) for row in cells)]) for index, header in enumerate(headers)]
    numeric = [all(row[index][:1].isdigit() for row in cells) for index in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        cells = zip(values, widths, numeric, strict=True)
        return "  ".join(value.rjust(width) if right else value.ljust(width) for value, width, right in cells)

    body = [line(headers), "  ".join("-" * width for width in widths), *(line(row) for row in cells)]
    return "\n".join([f"== {title}", *(text.rstrip() for text in body), *(f"   {note}" for note in notes)]) + "\n"
