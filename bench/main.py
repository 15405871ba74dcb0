"""The benchmark's command line: run every section, print one table each, write the results as JSON.

Timings never decide the exit status: it is non-zero only when something crashed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.audit import render_audit, run_audit
from bench.build import precompiled_copy, sam_build
from bench.cold import render_cold, run_cold
from bench.common import (
    BUILD_DIR,
    COLD_START_TARGET,
    DECRYPT_TARGET,
    OUTPUT_DIR,
    TRIGGERS,
    WARM_P50_TARGET_US,
    build_dir,
    ensure_output_dir,
    machine,
    out,
    source_revision,
    table,
    use_build_dir,
)
from bench.e2e import render_e2e, run_e2e
from bench.local_aws import EventFactory, MotoServer
from bench.sizes import render_sizes, run_sizes
from bench.warm import render_decrypt, render_warm, run_decrypt, run_warm

SECTIONS = ("audit", "cold", "warm", "decrypt", "sizes", "e2e")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description="Performance benchmark of the SMS OTP triggers.")
    parser.add_argument("--quick", action="store_true", help="smoke run: few runs and iterations (timings are not judged)")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end section (emulator and sam deploy)")
    parser.add_argument("--no-build", action="store_true", help="reuse .aws-sam/bench-build instead of running sam build")
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        help="measure this build instead (a copy of .aws-sam/bench-build with changes to try); implies --no-build",
    )
    parser.add_argument(
        "--precompiled",
        action="store_true",
        help="run on a copy of the build with every module compiled to .pyc, as if the layer shipped bytecode",
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--runs", type=int, default=None, help="cold-start runs per variant (default 10, quick 3)")
    parser.add_argument("--sign-ins", type=int, default=None, help="end-to-end sign-ins after the first (default 5, quick 2)")
    parser.add_argument("--output", type=Path, default=None, help="results file (default .bench/results.json, quick: results-quick.json)")
    return parser.parse_args(argv)


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        items = sorted(value) if isinstance(value, set) else value
        return [_json_ready(item) for item in items]
    return value


class Run:
    """Runs sections, printing each table as it completes and remembering crashes."""

    def __init__(self, results: dict[str, Any], output: Path) -> None:
        self.results = results
        self.output = output
        self.crashed: list[str] = []

    def section(self, name: str, measure: Callable[[], dict[str, Any]], render: Callable[[dict[str, Any]], str]) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            data = measure()
        except Exception:  # noqa: BLE001 - a crashed section is reported, and the others still run
            self.crashed.append(name)
            self.results["errors"][name] = traceback.format_exc()
            out(f"== {name}: CRASHED\n{traceback.format_exc()}")
            self.save()
            return None
        data["section_seconds"] = round(time.perf_counter() - started, 1)
        self.results["sections"][name] = data
        out(render(data))
        self.save()
        return data

    def save(self) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_text(json.dumps(_json_ready(self.results), indent=2) + "\n")


def render_machine(data: dict[str, Any]) -> str:
    rows = [[key, str(value)] for key, value in data.items()]
    return table("Machine", ["what", "value"], rows)


def targets_summary(sections: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, each with what was measured."""
    summary: dict[str, Any] = {}
    audit = sections.get("audit")
    if audit:
        targets = audit["targets"]
        summary["define_verify_import_no_aws_sdk_nor_esdk"] = {"pass": targets["define_verify_no_sdk"], "measured": "see import audit"}
        summary["only_custom_sms_imports_esdk"] = {"pass": targets["only_custom_sms_loads_esdk"], "measured": "see import audit"}
        unneeded = "; ".join(f"{key}: {', '.join(names)}" for key, names in targets["unneeded"].items()) or "none"
        summary["no_trigger_imports_unused_library"] = {"pass": targets["no_unneeded_library"], "measured": unneeded}
    cold = sections.get("cold")
    if cold:
        for trigger in TRIGGERS:
            data = cold["triggers"][trigger.key]
            summary[f"cold_start_{trigger.key}"] = {
                "pass": data["meets_target_wall"],
                "measured": f"wall {data['ratio_wall']:.2f}x, in-process {data['ratio_in_process']:.2f}x (target <= {COLD_START_TARGET})",
            }
    warm = sections.get("warm")
    if warm:
        for case in warm["cases"]:
            if case["meets_target"] is not None:
                variant = case["event"].removeprefix("define_auth_challenge_").replace("verify_auth_challenge", "right_answer")
                name = f"warm_p50_{case['trigger']}_{variant}_{case['log_level'].lower()}"
                summary[name] = {"pass": case["meets_target"], "measured": f"{case['p50_us']:.1f} us (target < {WARM_P50_TARGET_US:.0f})"}
    decrypt = sections.get("decrypt")
    if decrypt:
        for item in decrypt["comparisons"]:
            if item["primary"] or (item["ours"], item["reference"]) in (("decryptor", "reference"), ("handler", "handler_fresh")):
                summary[f"custom_sms_warm_{item['ours']}_vs_{item['reference']}"] = {
                    "pass": item["meets_target"],
                    "measured": f"{item['ratio_p50']:.3f}x p50 (target <= {DECRYPT_TARGET})"
                    + (" [the issue's]" if item["primary"] else ""),
                }
    sizes = sections.get("sizes")
    if sizes and "layer_holds_only_what_triggers_use" in sizes:
        unused = sizes["unused_by_any_trigger"]
        summary["layer_holds_only_what_triggers_use"] = {
            "pass": sizes["layer_holds_only_what_triggers_use"],
            "measured": f"{len(unused['distributions'])} distributions never loaded, {unused['unzipped_bytes'] / 1048576:.1f} MiB unzipped",
        }
    return summary


def render_targets(summary: dict[str, Any]) -> str:
    rows = [
        [name, "-" if item["pass"] is None else ("PASS" if item["pass"] else "MISS"), item["measured"]] for name, item in summary.items()
    ]
    return table("Targets (informational: the exit status never depends on them)", ["target", "verdict", "measured"], rows)


def render_build(data: dict[str, Any]) -> str:
    return f"== sam build: {data['seconds']:.1f} s into {data['build_dir']} ({data['architecture']})\n"


def _local_sections(run: Run, wanted: list[str], *, quick: bool, runs: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The sections that need the moto server; returns the audit and cold-start results."""
    audit = cold = warm = None
    try:
        with MotoServer() as server:
            events = EventFactory(server)
            if "audit" in wanted:
                audit = run.section("audit", lambda: run_audit(server, events), render_audit)
            if "cold" in wanted:
                cold = run.section("cold", lambda: run_cold(server, events, runs=runs, warmup=0 if quick else 1), render_cold)
            if "warm" in wanted:
                warm = run.section("warm", lambda: run_warm(server, events, quick=quick), render_warm)
            if "decrypt" in wanted:
                run.section("decrypt", lambda: run_decrypt(server, events, warm, quick=quick), render_decrypt)
    except Exception:  # noqa: BLE001 - the server failed (sections catch their own errors); the rest still runs
        run.crashed.append("moto server")
        out(f"== moto server: CRASHED\n{traceback.format_exc()}")
    return audit, cold


def _run_sections(run: Run, wanted: list[str], *, quick: bool, runs: int, sign_ins: int) -> None:
    audit = cold = None
    if {"audit", "cold", "warm", "decrypt"} & set(wanted):
        audit, cold = _local_sections(run, wanted, quick=quick, runs=runs)
    if "sizes" in wanted:
        run.section("sizes", lambda: run_sizes(audit, cold), render_sizes)
    if "e2e" in wanted:
        run.section("e2e", lambda: run_e2e(sign_ins=sign_ins), render_e2e)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    wanted = [name.strip() for name in arguments.sections.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(unknown)} (choose from {', '.join(SECTIONS)})")
    if arguments.no_e2e and "e2e" in wanted:
        wanted.remove("e2e")
    quick = arguments.quick
    runs = arguments.runs or (3 if quick else 10)
    sign_ins = arguments.sign_ins or (2 if quick else 5)
    ensure_output_dir()
    variant = ("-quick" if quick else "") + ("-precompiled" if arguments.precompiled else "")
    variant += f"-{arguments.build_dir.name}" if arguments.build_dir else ""
    output = arguments.output or OUTPUT_DIR / f"results{variant}.json"
    began = time.perf_counter()
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "source": source_revision(),
        "settings": {
            "sections": wanted,
            "cold_runs": runs,
            "e2e_sign_ins": sign_ins,
            "build_dir": str(arguments.build_dir or BUILD_DIR),
            "precompiled": arguments.precompiled,
        },
        "sections": {},
        "errors": {},
    }
    out(f"SMS OTP trigger benchmark ({results['mode']} mode), {results['started_at']}")
    out(render_machine({**results["machine"], **{f"source {key}": value for key, value in results["source"].items()}}))
    run = Run(results, output)
    if arguments.build_dir:
        use_build_dir(arguments.build_dir.resolve())
    elif not arguments.no_build and run.section("build", sam_build, render_build) is None:
        out("sam build failed: nothing else can run.")
        return _finish(run, began, output)
    if arguments.precompiled:
        source = build_dir()
        copy = run.section("precompile", lambda: precompiled_copy(source, OUTPUT_DIR / "precompiled-build"), render_precompile)
        if copy is None:
            return _finish(run, began, output)
        use_build_dir(Path(copy["build_dir"]))
    _run_sections(run, wanted, quick=quick, runs=runs, sign_ins=sign_ins)
    return _finish(run, began, output)


def render_precompile(data: dict[str, Any]) -> str:
    return f"== compileall: {data['seconds']:.1f} s into {data['build_dir']} (children read the .pyc; sizes include them)\n"


def _finish(run: Run, began: float, output: Path) -> int:
    results = run.results

    summary = targets_summary(results["sections"])
    results["targets"] = summary
    if summary:
        out(render_targets(summary))
    results["total_seconds"] = round(time.perf_counter() - began, 1)
    run.save()
    crashed = f"; crashed: {', '.join(run.crashed)}" if run.crashed else ""
    out(f"Finished in {results['total_seconds']:.0f} s ({results['mode']} mode); results in {output}{crashed}")
    return 1 if run.crashed else 0
