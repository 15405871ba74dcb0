"""Import audit: what each trigger loads (at import, after one invocation) and what its import costs."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bench.common import TRIGGERS, Trigger, child_path, note, table
from bench.local_aws import EventFactory, MotoServer
from bench.runner import run_child

WATCHED = (
    "boto3",
    "botocore.client",
    "aws_encryption_sdk",
    "aws_xray_sdk",
    "phonenumbers",
    "aws_lambda_powertools.utilities.data_classes",
    "botocore",
    "cryptography",
)
SHORT_NAMES = {"aws_lambda_powertools.utilities.data_classes": "pt.data_classes"}
# The libraries (of WATCHED) each trigger needs for what it does; anything else it loads is unneeded.
NEEDED: dict[str, set[str]] = {
    "pre_sign_up": {"phonenumbers"},
    "define": set(),
    "verify": set(),
    "create": {"boto3", "botocore.client", "phonenumbers"},
    "post_auth": {"boto3", "botocore.client"},
    "custom_sms": {"boto3", "botocore.client", "aws_encryption_sdk", "phonenumbers"},
}
LIBRARIES = ("boto3", "botocore.client", "aws_encryption_sdk", "aws_xray_sdk", "phonenumbers")
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class ImportEntry:
    name: str
    depth: int
    self_us: int
    cumulative_us: int


def parse_importtime(stderr: str) -> list[ImportEntry]:
    entries = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            entries.append(ImportEntry(name=name, depth=(len(indent) - 1) // 2, self_us=int(self_us), cumulative_us=int(cumulative_us)))
    return entries


def subtree(entries: list[ImportEntry], module: str) -> tuple[ImportEntry | None, list[ImportEntry]]:
    """The entry of ``module`` (a top-level import) and every import it caused (printed before it)."""
    for index, entry in enumerate(entries):
        if entry.name == module and entry.depth == 0:
            start = index
            while start > 0 and entries[start - 1].depth > 0:
                start -= 1
            return entry, entries[start:index]
    return None, []


def audit_trigger(server: MotoServer, events: EventFactory, trigger: Trigger, *, tracing: bool = False) -> dict[str, Any]:
    environment = server.function_environment(trigger)
    if tracing:
        environment["POWERTOOLS_TRACE_DISABLED"] = "false"
    run = run_child(
        "audit_child.py",
        {"path": child_path(trigger), "module": trigger.module, "event": events.event(trigger.event), "watched": list(WATCHED)},
        environment,
        flags=("-X", "importtime"),
    )
    root, children = subtree(parse_importtime(run.stderr), trigger.module)
    by_package: dict[str, int] = defaultdict(int)
    for entry in children:
        by_package[entry.name.split(".")[0]] += entry.self_us
    if root is not None:
        # The trigger module's own line: its body runs at import (settings, clients), which is not an import.
        by_package[f"{trigger.module} (module body)"] += root.self_us
    top = sorted(children, key=lambda entry: entry.cumulative_us, reverse=True)[:8]
    loaded = run.result["after_import"]
    unneeded = sorted(name for name in LIBRARIES if loaded.get(name) and name not in NEEDED[trigger.key])
    return {
        **run.result,
        "import_us": root.cumulative_us if root else None,
        "top_cumulative": [
            {"module": entry.name, "depth": entry.depth, "cumulative_us": entry.cumulative_us, "self_us": entry.self_us} for entry in top
        ],
        "self_us_by_package": dict(sorted(by_package.items(), key=lambda item: item[1], reverse=True)),
        "unneeded_libraries": unneeded,
    }


def run_audit(server: MotoServer, events: EventFactory) -> dict[str, Any]:
    results: dict[str, Any] = {"triggers": {}}
    for trigger in TRIGGERS:
        note(f"audit {trigger.key}")
        results["triggers"][trigger.key] = audit_trigger(server, events, trigger)
    note("audit create (EnableTracing=true)")
    traced = audit_trigger(server, events, TRIGGERS[2], tracing=True)
    untraced = set(results["triggers"]["create"]["layer_after_invoke"])
    results["tracing_only_top_level"] = sorted(set(traced["layer_after_invoke"]) - untraced)
    results["targets"] = targets(results["triggers"])
    return results


def targets(triggers: dict[str, Any]) -> dict[str, Any]:
    """The issue's import targets, judged on what was loaded after import."""
    sdk = ("boto3", "botocore.client", "aws_encryption_sdk")
    no_sdk = {key: not any(triggers[key]["after_import"].get(name) for name in sdk) for key in ("define", "verify")}
    esdk_users = sorted(key for key, value in triggers.items() if value["after_import"].get("aws_encryption_sdk"))
    return {
        "define_verify_no_sdk": all(no_sdk.values()),
        "only_custom_sms_loads_esdk": esdk_users == ["custom_sms"],
        "no_unneeded_library": all(not value["unneeded_libraries"] for value in triggers.values()),
        "unneeded": {key: value["unneeded_libraries"] for key, value in triggers.items() if value["unneeded_libraries"]},
    }


def render_audit(results: dict[str, Any]) -> str:
    headers = ["trigger", *(SHORT_NAMES.get(name, name) for name in WATCHED), "modules", "import ms", "unneeded"]
    rows = []
    for trigger in TRIGGERS:
        data = results["triggers"][trigger.key]
        flags = ["X" if data["after_import"].get(name) else "." for name in WATCHED]
        import_ms = data["import_us"] / 1000 if data.get("import_us") else None
        rows.append([trigger.title, *flags, data["modules_after_import"], import_ms, ", ".join(data["unneeded_libraries"]) or "none"])
    verdicts = results["targets"]
    unneeded = "; ".join(f"{key}: {', '.join(names)}" for key, names in verdicts["unneeded"].items())
    unneeded = f" ({unneeded})" if unneeded else ""
    text = table(
        "Import audit: loaded after `import <trigger>` (X = in sys.modules), fresh interpreter, built layer, -X importtime",
        headers,
        rows,
        notes=[
            f"Define and Verify load no AWS SDK and no Encryption SDK: {'PASS' if verdicts['define_verify_no_sdk'] else 'FAIL'}",
            f"Only the Custom SMS Sender loads the Encryption SDK: {'PASS' if verdicts['only_custom_sms_loads_esdk'] else 'FAIL'}",
            f"No trigger loads a library it does not use: {'PASS' if verdicts['no_unneeded_library'] else 'FAIL'}{unneeded}",
            "botocore (the bare package) comes with Powertools itself (its user-agent hook), in the baseline too.",
            "import ms: -X importtime's cumulative figure (the tracing adds its own overhead); compare triggers with each other.",
        ],
    )
    for trigger in TRIGGERS:
        data = results["triggers"][trigger.key]
        rows = [
            ["  " * entry["depth"] + entry["module"], entry["cumulative_us"] / 1000, entry["self_us"] / 1000]
            for entry in data["top_cumulative"]
        ]
        text += "\n" + table(
            f"-X importtime, top 8 cumulative under `import {trigger.module}`", ["module", "cumulative ms", "self ms"], rows
        )
    packages: dict[str, dict[str, float]] = defaultdict(dict)
    for trigger in TRIGGERS:
        for package, self_us in results["triggers"][trigger.key]["self_us_by_package"].items():
            packages[package][trigger.key] = self_us / 1000
    ranked = sorted(packages.items(), key=lambda item: max(item[1].values()), reverse=True)[:14]
    rows = [[package, *(values.get(trigger.key, 0.0) or "-" for trigger in TRIGGERS)] for package, values in ranked]
    text += "\n" + table(
        "-X importtime, self time summed by top-level package (ms), per trigger",
        ["package", *(trigger.key for trigger in TRIGGERS)],
        rows,
    )
    return text
