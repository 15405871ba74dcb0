"""``python -m bench``: build, run every section, print one table each, write ``.bench/results.json``.

The exit status is non-zero only when something crashed; the targets are reported, never enforced.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import fixtures
from bench.artifacts import ROOT, measure_sizes, sam_build, source_only_copy
from bench.cold import Functions, render_cold, run_cold
from bench.common import table
from bench.local_aws import EventFactory, MotoServer, function_settings
from bench.round_trips import cost_table, load_prices, monthly
from bench.round_trips import run as count_calls
from bench.sandbox_load import VARIANTS, render_sandbox_load, run_sandbox_load
from bench.warm import render_warm, run_warm

OUTPUT_DIR = ROOT / ".bench"
SECTIONS = ("calls", "cold", "warm", "sizes")
# Run only when named: it deploys the sandbox into the emulator once per layer variant and repeat (minutes each).
OPTIONAL_SECTIONS = ("sandbox",)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description="Performance benchmark of the SMS OTP triggers.")
    parser.add_argument("--quick", action="store_true", help="smoke run: few runs and invocations (figures not meaningful)")
    parser.add_argument("--runs", type=int, help="cold starts per trigger and variant (default 9, quick 2)")
    every = ",".join(SECTIONS + OPTIONAL_SECTIONS)
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {every} (default: all but sandbox)")
    parser.add_argument("--people", type=int, default=16, help="sandbox: people signing in at once, each a fresh number (default 16)")
    parser.add_argument("--sign-ins", type=int, default=5, help="sandbox: sign-ins each person makes one after another (default 5)")
    parser.add_argument("--repeats", type=int, default=1, help="sandbox: runs of each layer variant, interleaved (default 1)")
    variants = "sandbox: lean (the layer as built), full (every SDK model, nothing stripped), or both"
    parser.add_argument("--variants", default=",".join(VARIANTS), help=variants)
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR / "results.json", help="results file (default .bench/results.json)")
    arguments = parser.parse_args(argv)
    arguments.sections = [name.strip() for name in arguments.sections.split(",") if name.strip()]
    if unknown := sorted(set(arguments.sections) - set(SECTIONS + OPTIONAL_SECTIONS)):
        parser.error(f"unknown sections: {', '.join(unknown)}")
    arguments.variants = [name.strip() for name in arguments.variants.split(",") if name.strip()]
    if not arguments.variants or set(arguments.variants) - set(VARIANTS):
        parser.error(f"--variants takes lean, full or both, not {','.join(arguments.variants) or 'nothing'}")
    if arguments.people < 1 or arguments.sign_ins < 1 or arguments.repeats < 1:
        parser.error("--people, --sign-ins and --repeats take a whole number of at least 1")
    return arguments


def out(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the report


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)  # noqa: T201 - progress, kept out of the report


def machine() -> dict[str, Any]:
    cpus = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S607
    product = ["layers", "src/triggers", "template.yaml"]
    changed = subprocess.run(["git", "status", "--porcelain", "--", *product], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607
    return {
        "cpu": cpus[0] if cpus else platform.processor(),
        "cores": os.cpu_count(),
        "architecture": platform.machine(),
        "python": platform.python_version(),
        "commit": commit.stdout.strip() + (" (with changes to the product)" if changed.stdout.strip() else ""),
    }


class Run:
    """Runs sections, printing each table as it completes and keeping what crashed."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.results: dict[str, Any] = {"started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "machine": machine()}
        self.crashed: list[str] = []

    def section(self, name: str, measure: Callable[[], dict[str, Any]], render: Callable[[dict[str, Any]], str]) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            data = measure()
        except Exception:  # noqa: BLE001 - a crashed section is reported, and the others still run
            self.crashed.append(name)
            out(f"== {name}: CRASHED\n{traceback.format_exc()}")
            return None
        data["seconds"] = round(time.perf_counter() - started, 1)
        self.results[name] = data
        out(render(data))
        self.output.write_text(json.dumps(self.results, indent=1, default=str) + "\n")
        return data


def render_sizes(sizes: dict[str, Any]) -> str:
    rows = [
        [f"{artifact} ({variant})", data["files"], data["unzipped_bytes"] / 1024, data["zipped_bytes"] / 1024, data["pyc_bytes"] / 1024]
        for artifact in ("layer", "function")
        for variant, built in sizes.items()
        if variant != "seconds"
        for data in [built[artifact]]
    ]
    return table("Sizes, KiB (zipped with deflate, as sam deploy does)", ["artifact", "files", "unzipped", "zipped", "of which .pyc"], rows)


def render_calls(data: dict[str, Any]) -> str:
    rows = [
        [phase, scenario, step, len(entry["calls"]), entry["depth"], " > ".join(entry["calls"])]
        for phase in ("cold", "warm")
        for scenario, steps in data["results"][phase].items()
        for step, entry in steps.items()
        if entry["calls"]
    ]
    text = table(
        "AWS calls per trigger (depth: calls one after another; overlapping calls count once)",
        ["phase", "scenario", "trigger:event", "calls", "depth", "calls in order"],
        rows,
    )
    cost_rows = [
        [scenario, row["calls"], row["requests_per_1000"], row["lambda_per_1000"], row["total_per_1000"]]
        for scenario, row in data["cost"].items()
    ]
    text += table(
        "Cost per 1,000, US dollars, warm (SMS apart)",
        ["scenario", "AWS calls", "requests", "Lambda", "total"],
        [[c[0], c[1], f"{c[2]:.5f}", f"{c[3]:.5f}", f"{c[4]:.5f}"] for c in cost_rows],
    )
    month = data["month"]
    text += f"   A month of 10,000 users signing in 4 times ({month['sign_ins']:,} sign-ins): "
    text += f"${month['stack_per_sign_ins']:.2f} for the stack, SMS apart ${month['sms']:.2f}\n"
    return text


def measure_calls() -> dict[str, Any]:
    results = count_calls(repeats=5)
    prices = load_prices()
    cost = cost_table(results, prices)
    return {"results": results, "cost": cost, "month": monthly(cost, prices)}


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    runs = arguments.runs or (2 if arguments.quick else 9)
    OUTPUT_DIR.mkdir(exist_ok=True)
    run = Run(arguments.output)
    out(table("Machine", ["what", "value"], [[key, str(value)] for key, value in run.results["machine"].items()]))
    if "calls" in arguments.sections:
        run.section("calls", measure_calls, render_calls)
    if "sandbox" in arguments.sections:
        load = {"people": arguments.people, "sign_ins": arguments.sign_ins, "repeats": arguments.repeats}
        run.section("sandbox", lambda: run_sandbox_load(variants=arguments.variants, progress=progress, **load), render_sandbox_load)
    if not {"cold", "warm", "sizes"} & set(arguments.sections):
        out(f"Results in {arguments.output}" + (f"; crashed: {', '.join(run.crashed)}" if run.crashed else ""))
        return 1 if run.crashed else 0
    progress("sam build for this machine's architecture")
    build = run.section("build", lambda: sam_build(OUTPUT_DIR / "sam-build.log"), lambda data: f"== sam build: {data['seconds']:.0f} s\n")
    if build is None:
        return 1
    builds = {"compiled": Path(build["build_dir"])}
    builds["source"] = source_only_copy(builds["compiled"], OUTPUT_DIR / "source-only")
    with MotoServer(OUTPUT_DIR / "moto-server.log") as server:
        resources = server.create_resources()
        settings = function_settings(builds["compiled"], resources)
        functions = Functions(settings, builds, server.aws_environment())
        events = EventFactory(server, resources)
        context = fixtures.lambda_context()
        if "cold" in arguments.sections:
            warmup = 0 if arguments.quick else 1
            run.section("cold", lambda: run_cold(functions, events, context, runs=runs, warmup=warmup, progress=progress), render_cold)
        if "warm" in arguments.sections:
            run.section("warm", lambda: run_warm(functions, events, context, quick=arguments.quick, progress=progress), render_warm)
    if "sizes" in arguments.sections:
        run.section("sizes", lambda: measure_sizes(settings, builds), render_sizes)
    out(f"Results in {arguments.output}" + (f"; crashed: {', '.join(run.crashed)}" if run.crashed else ""))
    return 1 if run.crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
