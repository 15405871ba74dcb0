"""Warm latency per trigger, and the Custom SMS Sender against the AWS sample's pattern.

Each case imports once in a child interpreter on the build as shipped, at the log level the
template deploys, then times every invocation (children/warm.py).
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.cold import Functions
from bench.common import DECRYPT_TARGET, TRIGGERS, percentile, run_child, table, verdict
from bench.local_aws import EventFactory, sends_message

SENDER = next(trigger for trigger in TRIGGERS if trigger.encryption_sdk)


def _summary(samples_ns: list[int]) -> dict[str, Any]:
    samples_us = [sample / 1000 for sample in samples_ns]
    return {
        "n": len(samples_us),
        "p50_us": percentile(samples_us, 0.5),
        "p99_us": percentile(samples_us, 0.99),
        "mean_us": statistics.fmean(samples_us),
    }


def run_warm(functions: Functions, events: EventFactory, context: dict[str, Any], *, quick: bool, progress: Any) -> dict[str, Any]:
    results: dict[str, Any] = {"triggers": {}}
    for trigger in TRIGGERS:
        iterations = max(20, trigger.warm_iterations // 25) if quick else trigger.warm_iterations
        warmup = max(5, iterations // 20)
        progress(f"warm: {trigger.title}, {iterations} invocations")
        spec = {
            "mode": "handler",
            "path": functions.path(trigger, "compiled"),
            "module": functions.module(trigger),
            "event": events.event(trigger.event),
            "context": context,
            "phone_numbers": events.fresh_numbers(warmup + iterations) if sends_message(trigger.event) else [],
            "warmup": warmup,
            "iterations": iterations,
        }
        summary = _summary(run_child("warm.py", spec, functions.environment(trigger)).result["samples_ns"])
        results["triggers"][trigger.key] = {**summary, "target_us": trigger.warm_target_us}
        if trigger is SENDER:
            progress(f"warm: the AWS sample's decrypt, {iterations} invocations")
            reference = {
                "mode": "reference",
                "path": spec["path"],
                "key_arn": events.resources.key_arn,
                "ciphertext": events.ciphertext,
                "warmup": warmup,
                "iterations": iterations,
            }
            results["reference"] = _summary(run_child("warm.py", reference, functions.environment(trigger)).result["samples_ns"])
            results["sender_vs_reference"] = summary["p50_us"] / results["reference"]["p50_us"]
    return results


def render_warm(results: dict[str, Any]) -> str:
    rows: list[list[object]] = []
    for trigger in TRIGGERS:
        data = results["triggers"][trigger.key]
        target, p50 = data["target_us"], data["p50_us"]
        rows.append([trigger.title, data["n"], p50, data["p99_us"], f"< {target:.0f}" if target else "-", verdict(p50, target)])
    reference = results["reference"]
    rows.append(["AWS sample's sender decrypt", reference["n"], reference["p50_us"], reference["p99_us"], "-", "-"])
    ratio = results["sender_vs_reference"]
    judged = f"target <= {DECRYPT_TARGET}: {verdict(ratio, DECRYPT_TARGET)}"
    return table(
        "Warm invocations, microseconds (log level INFO, as deployed; AWS calls to the moto server)",
        ["trigger", "n", "p50", "p99", "p50 target", ""],
        rows,
        notes=[
            f"Custom SMS Sender p50 / the AWS sample's pattern p50: {ratio:.2f} ({judged}).",
            "The AWS sample builds the Encryption SDK client and KMS key provider in every invocation, then decrypts;"
            " ours decrypts with both built once, checks the limits and publishes.",
        ],
    )
