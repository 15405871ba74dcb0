"""Cold start per trigger, as a ratio to a baseline interpreter measured in the same run.

Each run is a fresh interpreter (see ``common.child_command``) with only the built
function and layer on its path and the function's environment from the template.
``trigger``: import the handler and run one invocation against the moto server.
``baseline``: import Powertools' Logger (+ boto3 and the clients the trigger calls, + the
Encryption SDK client and key provider for the Custom SMS Sender) and log one line.
``base+calls`` (informational): the baseline that also makes the trigger's AWS calls.
Runs of a trigger and its baselines are interleaved, in alternating order, to cancel drift.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    COLD_START_TARGET,
    TRIGGERS,
    Trigger,
    build_dir,
    child_path,
    layer_python_dir,
    median,
    note,
    ratio,
    ratio_text,
    table,
    verdict,
)
from bench.local_aws import EventFactory, MotoServer
from bench.runner import ChildError, run_child

# What a correct invocation of each sample event answers (a wrong one means the event was not valid).
EXPECTED_RESPONSE: dict[str, dict[str, Any]] = {
    "pre_sign_up": {"autoConfirmUser": True},
    "define": {"challengeName": "CUSTOM_CHALLENGE", "issueTokens": False},
    "verify": {"answerCorrect": True},
}


def baseline_label(trigger: Trigger) -> str:
    """What the baseline interpreter imports and builds, in words."""
    parts = ["Logger"]
    parts += [f"boto3 {service}" for service in trigger.needs if service != "esdk"]
    if "esdk" in trigger.needs:
        parts.append("ESDK client+KMS provider")
    return ", ".join(parts)


def _variants(trigger: Trigger) -> list[str]:
    return ["trigger", "baseline", "base+calls"] if trigger.has_work_baseline else ["trigger", "baseline"]


def _one_run(server: MotoServer, events: EventFactory, trigger: Trigger, variant: str, scratch: Path) -> dict[str, Any]:
    resources = server.resources
    event_file = scratch / f"{trigger.key}.json"
    spec: dict[str, Any] = {"mode": "trigger" if variant == "trigger" else "baseline", "path": child_path(trigger)}
    if variant == "trigger":
        event_file.write_text(json.dumps(events.event(trigger.event)))
        spec.update({"module": trigger.module, "event_file": str(event_file)})
    else:
        spec.update(
            {
                "needs": list(trigger.needs),
                "work_needs": list(trigger.work_needs),
                "baseline_calls": variant == "base+calls",
                "key_arn": resources.key_arn,
                "topic_arn": resources.topic_arn,
                "user_pool_id": resources.user_pool_id,
                "client_id": resources.client_id,
                "username": resources.username,
                "table_name": resources.template_values.get("LimitsTable", ""),
                "ciphertext": events.ciphertext if "esdk" in trigger.needs else None,
            }
        )
    run = run_child("cold_child.py", spec, server.function_environment(trigger))
    result = run.result
    started = float(result["started"])
    measurement = {
        "wall_ms": run.wall_s * 1000,
        "in_process_ms": (float(result["finished"]) - started) * 1000,
        "import_ms": (float(result["imported"]) - started) * 1000,
        "invoke_ms": (float(result["finished"]) - float(result["imported"])) * 1000,
        "error": result.get("error"),
        "layer_top_level": result.get("layer_top_level", []),
    }
    expected = EXPECTED_RESPONSE.get(trigger.key)
    response = result.get("response") or {}
    if variant == "trigger" and expected and any(response.get(key) != value for key, value in expected.items()):
        measurement["error"] = measurement["error"] or f"unexpected response {response!r}"
    return measurement


def run_cold(server: MotoServer, events: EventFactory, *, runs: int, warmup: int) -> dict[str, Any]:
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        trigger.key: {variant: [] for variant in _variants(trigger)} for trigger in TRIGGERS
    }
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sms-otp-bench-events-") as scratch_name:
        scratch = Path(scratch_name)
        for round_index in range(warmup + runs):
            note(f"cold start round {round_index + 1}/{warmup + runs}" + (" (warm-up, discarded)" if round_index < warmup else ""))
            for trigger in TRIGGERS:
                variants = _variants(trigger)
                for variant in variants if round_index % 2 == 0 else list(reversed(variants)):
                    try:
                        measurement = _one_run(server, events, trigger, variant, scratch)
                    except ChildError as error:
                        errors.append(f"{trigger.key}/{variant}: {error}")
                        continue
                    if measurement["error"]:
                        errors.append(f"{trigger.key}/{variant}: {measurement['error']}")
                    if round_index >= warmup:
                        samples[trigger.key][variant].append(measurement)
    summary: dict[str, Any] = {
        "runs": runs,
        "warmup_runs": warmup,
        "target_ratio": COLD_START_TARGET,
        "build_dir": str(build_dir()),
        "precompiled": next(layer_python_dir().rglob("*.pyc"), None) is not None,
        "triggers": {},
        "errors": errors,
    }
    for trigger in TRIGGERS:
        per_variant: dict[str, dict[str, Any]] = {}
        for variant, measurements in samples[trigger.key].items():
            per_variant[variant] = {
                measure: median([m[measure] for m in measurements]) for measure in ("wall_ms", "in_process_ms", "import_ms", "invoke_ms")
            } | {
                "n": len(measurements),
                "samples_wall_ms": [round(m["wall_ms"], 3) for m in measurements],
                "samples_in_process_ms": [round(m["in_process_ms"], 3) for m in measurements],
            }
        trigger_runs = samples[trigger.key]["trigger"]
        wall_ratio = ratio(per_variant["trigger"]["wall_ms"], per_variant["baseline"]["wall_ms"])
        in_process_ratio = ratio(per_variant["trigger"]["in_process_ms"], per_variant["baseline"]["in_process_ms"])
        entry: dict[str, Any] = {
            **per_variant,
            "ratio_wall": wall_ratio,
            "ratio_in_process": in_process_ratio,
            "meets_target_wall": wall_ratio <= COLD_START_TARGET,
            "meets_target_in_process": in_process_ratio <= COLD_START_TARGET,
            "layer_top_level": trigger_runs[-1]["layer_top_level"] if trigger_runs else [],
        }
        if "base+calls" in per_variant:
            entry["ratio_wall_vs_base_calls"] = ratio(per_variant["trigger"]["wall_ms"], per_variant["base+calls"]["wall_ms"])
            entry["ratio_in_process_vs_base_calls"] = ratio(
                per_variant["trigger"]["in_process_ms"], per_variant["base+calls"]["in_process_ms"]
            )
        summary["triggers"][trigger.key] = entry
    return summary


def render_cold(summary: dict[str, Any]) -> str:
    rows = []
    for trigger in TRIGGERS:
        data = summary["triggers"][trigger.key]
        rows.append(
            [
                trigger.title,
                baseline_label(trigger),
                data["trigger"]["wall_ms"],
                data["baseline"]["wall_ms"],
                ratio_text(data["ratio_wall"]),
                verdict(data["meets_target_wall"]),
                data["trigger"]["in_process_ms"],
                data["baseline"]["in_process_ms"],
                ratio_text(data["ratio_in_process"]),
                verdict(data["meets_target_in_process"]),
            ]
        )
    text = table(
        f"Cold start: median of {summary['runs']} fresh interpreters each (target: trigger/baseline <= {COLD_START_TARGET})",
        [
            "trigger",
            "baseline imports",
            "trigger wall ms",
            "baseline wall ms",
            "ratio",
            "wall",
            "trigger in-proc ms",
            "baseline in-proc ms",
            "ratio",
            "in-proc",
        ],
        rows,
        notes=[
            "wall: the parent's clock around the whole process (interpreter start-up, import, one invocation, exit).",
            "in-proc: perf_counter from the child's first line to the end of the invocation (no interpreter start-up).",
            "Children: .venv python -I -S -B, path = built function dir + built layer python/ only; "
            + (
                "modules precompiled to .pyc (--precompiled)."
                if summary["precompiled"]
                else "no .pyc, as sam build ships (compiled at import)."
            ),
            f"Build measured: {summary['build_dir']}",
            "AWS calls: moto server on 127.0.0.1 (HTTP). Verdicts are informational; they never fail the run.",
        ],
    )
    rows = []
    for trigger in TRIGGERS:
        data = summary["triggers"][trigger.key]
        base_calls = data.get("base+calls")
        rows.append(
            [
                trigger.title,
                data["trigger"]["import_ms"],
                data["trigger"]["invoke_ms"],
                data["baseline"]["import_ms"],
                data["baseline"]["invoke_ms"],
                base_calls["in_process_ms"] if base_calls else None,
                base_calls["invoke_ms"] if base_calls else None,
                ratio_text(data.get("ratio_in_process_vs_base_calls", math.nan)),
                ratio_text(data.get("ratio_wall_vs_base_calls", math.nan)),
            ]
        )
    text += "\n" + table(
        "Cold start breakdown (medians, ms): import vs first invocation; baseline that also makes the trigger's AWS calls",
        [
            "trigger",
            "import",
            "1st invoke",
            "base import",
            "base log",
            "base+calls in-proc",
            "base+calls calls",
            "ratio in-proc",
            "ratio wall",
        ],
        rows,
        notes=[
            "base+calls: the same baseline plus the work one invocation cannot do without: the AWS calls it makes"
            " (publish / describe+update / decrypt+publish); for Pre sign-up, importing phonenumbers and validating one number.",
        ],
    )
    if summary["errors"]:
        text += "   errors:\n" + "\n".join(f"   - {line.splitlines()[0]}" for line in summary["errors"][:10]) + "\n"
    return text
