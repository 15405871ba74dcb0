"""Cold start per trigger: import plus first invocation in a fresh interpreter, median of N.

Variants a trigger, their runs interleaved in rotating order to cancel drift: ``source``, the
handler on the build without bytecode; ``compiled``, on the build as shipped; ``baseline``, on
the build as shipped, an interpreter that imports only what the trigger cannot do without (see
children/cold.py); for a trigger whose own job needs a library, ``baseline+libraries`` also
imports it (informational).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import BASELINE_TARGET, LAMBDA_ENVIRONMENT, TRIGGERS, Trigger, check_response, median, run_child, table, verdict
from bench.local_aws import EventFactory

VARIANTS = ("source", "compiled", "baseline")


def variants(trigger: Trigger) -> tuple[str, ...]:
    return (*VARIANTS, "baseline+libraries") if trigger.libraries else VARIANTS


class Functions:
    """Each trigger's path and environment in a child, from the built template's settings."""

    def __init__(self, settings: dict[str, dict[str, Any]], builds: dict[str, Path], aws_environment: dict[str, str]) -> None:
        self._settings = settings
        self._builds = builds
        self._aws_environment = aws_environment

    def module(self, trigger: Trigger) -> str:
        return str(self._settings[trigger.function]["handler"]).rsplit(".", 1)[0]

    def path(self, trigger: Trigger, build: str) -> list[str]:
        """/var/task, then /opt/python: the function's folder and the layer's python/ folder, in ``build``."""
        settings = self._settings[trigger.function]
        built = Path(settings["code_dir"]).parent
        folders = [Path(settings["code_dir"]), *(Path(layer) / "python" for layer in settings["layer_dirs"])]
        return [str(self._builds[build] / folder.relative_to(built)) for folder in folders]

    def environment(self, trigger: Trigger) -> dict[str, str]:
        settings = self._settings[trigger.function]
        lambda_variables = {
            "AWS_LAMBDA_FUNCTION_NAME": f"sms-otp-bench-{trigger.key}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings["memory_mb"]),
            "_HANDLER": settings["handler"],
        }
        return {**settings["environment"], **LAMBDA_ENVIRONMENT, **lambda_variables, **self._aws_environment}


def _one_run(trigger: Trigger, variant: str, functions: Functions, events: EventFactory, context: dict[str, Any]) -> dict[str, float]:
    build = "source" if variant == "source" else "compiled"
    baseline = variant.startswith("baseline")
    spec: dict[str, Any] = {"mode": "baseline" if baseline else "trigger", "path": functions.path(trigger, build)}
    if baseline:
        libraries = list(trigger.libraries) if variant == "baseline+libraries" else []
        spec.update(clients=list(trigger.clients), encryption_sdk=trigger.encryption_sdk, libraries=libraries)
        spec.update(key_arn=events.resources.key_arn)
    else:
        spec.update(module=functions.module(trigger), event=events.event(trigger.event), context=context)
    run = run_child("cold.py", spec, functions.environment(trigger))
    if not baseline:
        check_response(trigger, (run.result["response"] or {}).get("response"))
    return {measure: run.result[measure] for measure in ("total_ms", "cpu_ms", "import_ms")} | {"wall_ms": run.wall_ms}


def run_cold(
    functions: Functions, events: EventFactory, context: dict[str, Any], *, runs: int, warmup: int, progress: Any
) -> dict[str, Any]:
    samples = {trigger.key: {variant: list[dict[str, float]]() for variant in variants(trigger)} for trigger in TRIGGERS}
    for round_index in range(warmup + runs):
        progress(f"cold start round {round_index + 1}/{warmup + runs}" + (" (warm-up, discarded)" if round_index < warmup else ""))
        for trigger in TRIGGERS:
            shift = round_index % len(variants(trigger))
            for variant in variants(trigger)[shift:] + variants(trigger)[:shift]:
                measurement = _one_run(trigger, variant, functions, events, context)
                if round_index >= warmup:
                    samples[trigger.key][variant].append(measurement)
    results: dict[str, Any] = {"runs": runs, "triggers": {}}
    for trigger in TRIGGERS:
        medians = {
            variant: {measure: median([run[measure] for run in runs_]) for measure in ("total_ms", "cpu_ms", "import_ms", "wall_ms")}
            for variant, runs_ in samples[trigger.key].items()
        }
        entry: dict[str, Any] = {"medians": medians, "samples": samples[trigger.key]}
        for measure, suffix in (("total_ms", ""), ("cpu_ms", "_cpu")):
            entry[f"compiled_vs_source{suffix}"] = medians["compiled"][measure] / medians["source"][measure]
            for baseline in (variant for variant in medians if variant.startswith("baseline")):
                entry[f"compiled_vs_{baseline}{suffix}"] = medians["compiled"][measure] / medians[baseline][measure]
        results["triggers"][trigger.key] = entry | {"compiled_target": trigger.compiled_target, "baseline_target": BASELINE_TARGET}
    return results


def judged(value: float, target: float) -> str:
    return f"{value:.2f} {verdict(value, target)}"


def render_cold(results: dict[str, Any]) -> str:
    rows = []
    for trigger in TRIGGERS:
        data = results["triggers"][trigger.key]
        medians = data["medians"]
        rows.append(
            [
                trigger.title,
                medians["source"]["total_ms"],
                medians["compiled"]["total_ms"],
                medians["baseline"]["total_ms"],
                f"<= {trigger.compiled_target}",
                judged(data["compiled_vs_source"], trigger.compiled_target),
                judged(data["compiled_vs_source_cpu"], trigger.compiled_target),
                judged(data["compiled_vs_baseline"], BASELINE_TARGET),
                judged(data["compiled_vs_baseline_cpu"], BASELINE_TARGET),
            ]
        )
    notes = [
        f"{trigger.title} against a baseline that also imports {', '.join(trigger.libraries)}, which its job needs:"
        f" {data['compiled_vs_baseline+libraries']:.2f} ({data['compiled_vs_baseline+libraries_cpu']:.2f} in CPU time)."
        for trigger in TRIGGERS
        if trigger.libraries
        for data in [results["triggers"][trigger.key]]
    ]
    return table(
        f"Cold start: import + first invocation, ms, median of {results['runs']} fresh interpreters each",
        [
            "trigger",
            "source",
            "compiled",
            "baseline",
            "target",
            "compiled/source",
            "(CPU)",
            f"compiled/baseline <= {BASELINE_TARGET}",
            "(CPU)",
        ],
        rows,
        notes=[
            "source: the build without its bytecode; compiled: the build as shipped; baseline: compiled, importing only"
            " Powertools' Logger, the boto3 clients the trigger uses, and the Encryption SDK client and key provider for the sender.",
            "ms: from the child's first line to the end of the invocation (the process's wall time, start-up included, is in the JSON).",
            "(CPU): the same ratio in the child's CPU time over the same span, which other processes on the machine hardly move.",
            "Children: python -I -S -B, path = the built function folder and the layer's python/ folder only. AWS: moto server.",
            *notes,
        ],
    )
