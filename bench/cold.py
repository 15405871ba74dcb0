"""Cold start per trigger: import plus first invocation in a fresh interpreter, median of N.

Three variants a trigger, their runs interleaved in rotating order to cancel drift:
``source``, the handler on the build without bytecode; ``compiled``, on the build as shipped;
``baseline``, on the build as shipped, an interpreter that imports only what the trigger cannot
do without (see children/cold.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import BASELINE_TARGET, LAMBDA_ENVIRONMENT, TRIGGERS, Trigger, check_response, median, run_child, table, verdict
from bench.local_aws import EventFactory

VARIANTS = ("source", "compiled", "baseline")


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
    spec: dict[str, Any] = {"mode": "baseline" if variant == "baseline" else "trigger", "path": functions.path(trigger, build)}
    if variant == "baseline":
        spec.update(clients=list(trigger.clients), encryption_sdk=trigger.encryption_sdk, libraries=list(trigger.libraries))
        spec.update(key_arn=events.resources.key_arn)
    else:
        spec.update(module=functions.module(trigger), event=events.event(trigger.event), context=context)
    run = run_child("cold.py", spec, functions.environment(trigger))
    if variant != "baseline":
        check_response(trigger, (run.result["response"] or {}).get("response"))
    return {measure: run.result[measure] for measure in ("total_ms", "cpu_ms", "import_ms")} | {"wall_ms": run.wall_ms}


def run_cold(
    functions: Functions, events: EventFactory, context: dict[str, Any], *, runs: int, warmup: int, progress: Any
) -> dict[str, Any]:
    samples: dict[str, dict[str, list[dict[str, float]]]] = {trigger.key: {variant: [] for variant in VARIANTS} for trigger in TRIGGERS}
    for round_index in range(warmup + runs):
        progress(f"cold start round {round_index + 1}/{warmup + runs}" + (" (warm-up, discarded)" if round_index < warmup else ""))
        order = VARIANTS[round_index % 3 :] + VARIANTS[: round_index % 3]
        for trigger in TRIGGERS:
            for variant in order:
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
            entry[f"compiled_vs_baseline{suffix}"] = medians["compiled"][measure] / medians["baseline"][measure]
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
    # The triggers whose baseline adds a library, measured against Logger alone too (a baseline measured
    # for the triggers that need nothing more).
    logger_only = next(results["triggers"][trigger.key] for trigger in TRIGGERS if not (trigger.clients or trigger.libraries))
    notes = [
        f"{trigger.title} against Logger alone, without {', '.join(trigger.libraries)}:"
        f" {results['triggers'][trigger.key]['medians']['compiled']['total_ms'] / logger_only['medians']['baseline']['total_ms']:.2f}."
        for trigger in TRIGGERS
        if trigger.libraries
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
            " Powertools' Logger, the boto3 clients the trigger uses, the Encryption SDK client and key provider for the sender,"
            " phonenumbers for Pre sign-up.",
            "ms: from the child's first line to the end of the invocation (the process's wall time, start-up included, is in the JSON).",
            "(CPU): the same ratio in the child's CPU time over the same span, which other processes on the machine hardly move.",
            "Children: python -I -S -B, path = the built function folder and the layer's python/ folder only. AWS: moto server.",
            *notes,
        ],
    )
