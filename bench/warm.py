"""Warm latency per trigger, and the Custom SMS Sender's decrypt against the AWS sample's pattern.

Each case runs in its own child interpreter (the settings and Powertools' log level
are read from the environment at import), with the built function and layer on its
path, imports the handler once and times every invocation with perf_counter_ns.
The function's logs go to /dev/null: writing them is a real write, as in Lambda.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.common import (
    DECRYPT_TARGET,
    TRIGGERS_BY_KEY,
    WARM_P50_TARGET_US,
    Trigger,
    child_path,
    mean,
    note,
    percentile,
    ratio,
    ratio_text,
    table,
    verdict,
)
from bench.local_aws import EventFactory, MotoServer, sends_message
from bench.runner import ChildError, run_child

AWS_ANSWERED_BY = "moto server (HTTP, 127.0.0.1)"
REPLAYED = "replayed in-process (no network)"
TARGETED = ("define", "verify")


@dataclass(frozen=True, slots=True)
class WarmCase:
    trigger: str
    event: str
    log_level: str
    # Answer AWS calls from memory after the first of each operation (see warm_child.install_replay).
    replay: bool = False

    @property
    def key(self) -> str:
        return f"{self.trigger}:{self.event}:{self.log_level}" + (":replay" if self.replay else "")


CASES = (
    WarmCase("pre_sign_up", "pre_sign_up", "ERROR"),
    WarmCase("define", "define_auth_challenge_new_session", "ERROR"),
    WarmCase("define", "define_auth_challenge_wrong_answer", "ERROR"),
    WarmCase("verify", "verify_auth_challenge", "ERROR"),
    WarmCase("create", "create_auth_challenge", "ERROR"),
    WarmCase("post_auth", "post_authentication", "ERROR"),
    WarmCase("custom_sms", "custom_sms_sender_sign_up", "ERROR"),
    WarmCase("create", "create_auth_challenge", "ERROR", replay=True),
    WarmCase("post_auth", "post_authentication", "ERROR", replay=True),
    WarmCase("custom_sms", "custom_sms_sender_sign_up", "ERROR", replay=True),
    WarmCase("define", "define_auth_challenge_new_session", "INFO"),
    WarmCase("define", "define_auth_challenge_wrong_answer", "INFO"),
    WarmCase("verify", "verify_auth_challenge", "INFO"),
)


def stats(samples_ns: list[int]) -> dict[str, float]:
    samples_us = [sample / 1000 for sample in samples_ns]
    return {
        "n": len(samples_us),
        "p50_us": percentile(samples_us, 0.50),
        "p99_us": percentile(samples_us, 0.99),
        "mean_us": mean(samples_us),
        "min_us": min(samples_us) if samples_us else float("nan"),
        "max_us": max(samples_us) if samples_us else float("nan"),
    }


def _run_case(
    server: MotoServer, trigger: Trigger, spec: dict[str, Any], *, iterations: int, warmup: int, log_level: str
) -> dict[str, Any]:
    run = run_child(
        "warm_child.py",
        {"path": child_path(trigger), "iterations": iterations, "warmup": warmup, **spec},
        server.function_environment(trigger, log_level=log_level),
        timeout_s=900,
    )
    return {
        **stats(run.result["samples_ns"]),
        "elapsed_s": run.result["elapsed_s"],
        "aws_calls": run.result.get("aws_calls"),
        "response": run.result.get("response"),
    }


def run_warm(server: MotoServer, events: EventFactory, *, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"aws_answered_by": AWS_ANSWERED_BY, "target_p50_us": WARM_P50_TARGET_US, "cases": []}
    for case in CASES:
        trigger = TRIGGERS_BY_KEY[case.trigger]
        iterations = trigger.warm_iterations_quick if quick else trigger.warm_iterations
        warmup = (3 if quick else 10) if trigger.calls_aws else (20 if quick else 100)
        note(f"warm {case.key} x{iterations}")
        # Replayed runs answer the limit store from memory (its first answer: no item), so one fresh number serves.
        numbers = events.fresh_numbers(iterations + warmup) if sends_message(case.event) and not case.replay else []
        measured = _run_case(
            server,
            trigger,
            {
                "mode": "handler",
                "module": trigger.module,
                "event": events.event(case.event),
                "keep_response": True,
                "phone_numbers": numbers,
                "limits_table": server.resources.template_values.get("LimitsTable") if numbers else None,
                "replay": case.replay,
            },
            iterations=iterations,
            warmup=warmup,
            log_level=case.log_level,
        )
        results["cases"].append(
            {
                "trigger": case.trigger,
                "event": case.event,
                "log_level": case.log_level,
                "replay": case.replay,
                "aws": (REPLAYED if case.replay else AWS_ANSWERED_BY) if trigger.calls_aws else "none (no AWS call)",
                **measured,
                "meets_target": measured["p50_us"] < WARM_P50_TARGET_US if case.trigger in TARGETED else None,
            }
        )
    return results


def render_warm(results: dict[str, Any]) -> str:
    rows = [
        [
            TRIGGERS_BY_KEY[case["trigger"]].title,
            case["event"],
            case["log_level"],
            case["n"],
            case["p50_us"],
            case["p99_us"],
            case["mean_us"],
            case["aws"],
            verdict(case["meets_target"]),
        ]
        for case in results["cases"]
    ]
    return table(
        f"Warm latency, in-process invocations of lambda_handler (target: Define and Verify p50 < {WARM_P50_TARGET_US:.0f} us)",
        ["trigger", "event", "log level", "n", "p50 us", "p99 us", "mean us", "AWS calls answered by", "target"],
        rows,
        notes=[
            "POWERTOOLS_LOG_LEVEL=ERROR silences the logs (set in the environment); INFO is the template's level.",
            "Metrics stay on: every invocation flushes one EMF line, as deployed.",
            "Create and Custom SMS Sender (moto): a new phone number each invocation, so the per-number limits never refuse one;",
            "  the stack's hourly budget is raised to 1,000,000 (StackMessagesPerHour) for the same reason. Each number's limits",
            "  item is deleted after its invocation (untimed), so the table stays the size it was.",
            f"{REPLAYED}: each AWS operation's first response comes from moto and is replayed from memory afterwards,",
            "  leaving our code plus botocore's serialize/sign/parse; the moto rows add the local endpoint's own latency.",
        ],
    )


# ---------------------------------------------------------------- decrypt ---


def _find(warm: dict[str, Any] | None, trigger: str, *, replay: bool) -> dict[str, Any] | None:
    for case in (warm or {}).get("cases", []):
        if case["trigger"] == trigger and case["log_level"] == "ERROR" and case.get("replay", False) == replay:
            return {key: value for key, value in case.items() if key != "response"}
    return None


def run_decrypt(server: MotoServer, events: EventFactory, warm: dict[str, Any] | None, *, quick: bool) -> dict[str, Any]:
    resources = server.resources
    trigger = TRIGGERS_BY_KEY["custom_sms"]
    common = {"key_arn": resources.key_arn, "ciphertext": events.ciphertext, "user_pool_id": resources.user_pool_id}
    iterations = trigger.warm_iterations_quick if quick else trigger.warm_iterations
    reference_iterations = 20 if quick else 200
    warmup = 3 if quick else 10
    reference_warmup = 1 if quick else 3

    def handler_spec(count: int, **extra: Any) -> dict[str, Any]:
        return {
            "mode": "handler",
            "module": trigger.module,
            "event": events.event(trigger.event),
            "phone_numbers": events.fresh_numbers(count),
            "limits_table": None if extra.get("replay") else resources.template_values.get("LimitsTable"),
            "key_arn": resources.key_arn,
            **extra,
        }

    rows: dict[str, dict[str, Any] | None] = {}
    for replay in (False, True):
        suffix = ":replay" if replay else ""
        rows[f"handler{suffix}"] = _find(warm, "custom_sms", replay=replay)
        if rows[f"handler{suffix}"] is None:
            note(f"decrypt: our handler x{iterations}{suffix}")
            rows[f"handler{suffix}"] = _run_case(
                server, trigger, handler_spec(iterations + warmup, replay=replay), iterations=iterations, warmup=warmup, log_level="ERROR"
            )
        note(f"decrypt: CodeDecryptor.decrypt x{iterations}{suffix}")
        rows[f"decryptor{suffix}"] = _run_case(
            server, trigger, {"mode": "decryptor", "replay": replay, **common}, iterations=iterations, warmup=warmup, log_level="ERROR"
        )
        note(f"decrypt: AWS sample's per-invocation pattern x{reference_iterations}{suffix}")
        rows[f"reference{suffix}"] = _run_case(
            server,
            trigger,
            {"mode": "reference", "replay": replay, **common},
            iterations=reference_iterations,
            warmup=reference_warmup,
            log_level="ERROR",
        )
    note(f"decrypt: our handler with the sample's per-invocation set-up x{reference_iterations}")
    try:
        rows["handler_fresh"] = _run_case(
            server,
            trigger,
            handler_spec(reference_iterations + reference_warmup, fresh_decryptor=True),
            iterations=reference_iterations,
            warmup=reference_warmup,
            log_level="ERROR",
        )
    except ChildError as error:
        # The handler module no longer exposes DECRYPTOR / CodeDecryptor: only this comparison is skipped.
        rows["handler_fresh"] = None
        note(f"decrypt: skipped our handler with per-invocation set-up ({str(error).splitlines()[0]})")
    comparisons = []
    for ours, reference, primary in (
        ("handler", "reference", True),
        ("decryptor", "reference", False),
        ("handler", "handler_fresh", False),
        ("handler:replay", "reference:replay", False),
        ("decryptor:replay", "reference:replay", False),
    ):
        ours_row, reference_row = rows.get(ours), rows.get(reference)
        if ours_row is None or reference_row is None:
            continue
        p50 = ratio(ours_row["p50_us"], reference_row["p50_us"])
        comparisons.append(
            {
                "ours": ours,
                "reference": reference,
                "primary": primary,
                "ratio_p50": p50,
                "ratio_mean": ratio(ours_row["mean_us"], reference_row["mean_us"]),
                "meets_target": p50 <= DECRYPT_TARGET,
            }
        )
    return {"aws_answered_by": AWS_ANSWERED_BY, "target_ratio": DECRYPT_TARGET, "rows": rows, "comparisons": comparisons}


ROW_LABELS = {
    "handler": "ours: lambda_handler (decrypt, limits, SNS publish, logs, metrics)",
    "decryptor": "ours: CodeDecryptor.decrypt only (client + provider built once)",
    "reference": "AWS sample: new ESDK client + KMS provider per invocation, decrypt",
    "handler_fresh": "our lambda_handler with the sample's per-invocation ESDK set-up",
}


def _label(key: str) -> str:
    return ROW_LABELS[key.partition(":")[0]]


def _answered_by(key: str) -> str:
    return "replayed" if key.endswith(":replay") else "moto server"


def render_decrypt(results: dict[str, Any]) -> str:
    rows = [
        [_label(key), _answered_by(key), data["n"], data["p50_us"] / 1000, data["p99_us"] / 1000, data["mean_us"] / 1000]
        for key, data in results["rows"].items()
        if data is not None
    ]
    text = table(
        "Custom SMS Sender decrypt, warm (in-process, one child interpreter per row)",
        ["what", "AWS calls", "n", "p50 ms", "p99 ms", "mean ms"],
        rows,
        notes=[f"replayed = {REPLAYED}, as in the warm table."],
    )
    rows = [
        [
            _label(item["ours"]),
            _label(item["reference"]),
            _answered_by(item["ours"]),
            ratio_text(item["ratio_p50"]),
            ratio_text(item["ratio_mean"]),
            verdict(item["meets_target"]) + (" (issue's)" if item["primary"] else ""),
        ]
        for item in results["comparisons"]
    ]
    text += "\n" + table(
        f"Custom SMS Sender: ours / reference (target <= {DECRYPT_TARGET})",
        ["ours", "reference", "AWS calls", "p50 ratio", "mean ratio", "target"],
        rows,
        notes=[
            "The issue's comparison is the first row: our warm invocation against the AWS sample's pattern.",
            "Suite 0x0378 with one KMS-wrapped data key and the pool's encryption context, as Cognito sends.",
        ],
    )
    return text
