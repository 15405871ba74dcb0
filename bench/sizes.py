"""Sizes of the built functions and layer, and which of the layer's distributions the triggers load."""

from __future__ import annotations

from typing import Any

from bench.build import layer_usage, measure_sizes
from bench.common import BUILD_DIR, TRIGGERS, TRIGGERS_BY_KEY, build_dir, table

MIB = 1024 * 1024


def run_sizes(audit: dict[str, Any] | None, cold: dict[str, Any] | None) -> dict[str, Any]:
    sizes = measure_sizes()
    sizes["build_dir"] = str(build_dir())
    loaded_by: dict[str, set[str]] = {}
    for trigger in TRIGGERS:
        modules: set[str] = set()
        if audit:
            modules |= set(audit["triggers"][trigger.key].get("layer_after_invoke", []))
        if cold:
            modules |= set(cold["triggers"][trigger.key].get("layer_top_level", []))
        if modules:
            loaded_by[trigger.key] = modules
    tracing_only = set(audit.get("tracing_only_top_level", [])) if audit else set()
    if loaded_by:
        sizes["distributions"] = layer_usage(sizes["distributions"], loaded_by, tracing_only)
        # X-Ray is used when EnableTracing=true, and files that are not code cannot be loaded: neither counts.
        unused = [item for item in sizes["distributions"] if not item["loaded_by"] and not item["tracing_only"] and item["code"]]
        sizes["unused_by_any_trigger"] = {
            "distributions": [item["name"] for item in unused],
            "unzipped_bytes": sum(item["unzipped_bytes"] for item in unused),
            "zipped_bytes": sum(item["zipped_bytes"] for item in unused),
        }
        sizes["layer_holds_only_what_triggers_use"] = not unused
    return sizes


def _never_loaded(item: dict[str, Any]) -> str:
    if item["tracing_only"]:
        return "only with EnableTracing=true (X-Ray)"
    return "never (not code)" if not item["code"] else "never"


def render_sizes(sizes: dict[str, Any]) -> str:
    rows: list[list[Any]] = [
        [TRIGGERS_BY_KEY[key].title + " function", data["files"], data["unzipped_bytes"], data["zipped_bytes"]]
        for key, data in sizes["functions"].items()
    ]
    layer = sizes["layer"]
    rows.append(["SmsOtpLayer layer", layer["files"], layer["unzipped_bytes"], layer["zipped_bytes"]])
    rows.append(["  (layer, MiB)", "", round(layer["unzipped_bytes"] / MIB, 1), round(layer["zipped_bytes"] / MIB, 1)])
    text = table(
        "Sizes as sam build produces them (this machine's architecture; zipped with deflate here)"
        if sizes["build_dir"] == str(BUILD_DIR)
        else f"Sizes of {sizes['build_dir']} (zipped with deflate here)",
        ["artifact", "files", "unzipped bytes", "zipped bytes"],
        rows,
        notes=[f".pyc files shipped in the layer: {layer['pyc_files']}"],
    )
    with_usage = "loaded_by" in (sizes["distributions"][0] if sizes["distributions"] else {})
    rows = []
    for item in sizes["distributions"][:10]:
        row = [f"{item['name']} {item['version']}".strip(), item["unzipped_bytes"] / MIB, item["zipped_bytes"] / MIB]
        if with_usage:
            users = (
                ", ".join(item["loaded_by"]) if item["loaded_by"] else ("none (X-Ray, tracing on only)" if item["tracing_only"] else "NONE")
            )
            row.append(users)
        rows.append(row)
    headers = ["distribution", "unzipped MiB", "zipped MiB", *(["loaded by (after one invocation)"] if with_usage else [])]
    text += "\n" + table("Layer: top 10 distributions by unzipped size", headers, rows)
    if with_usage:
        unused = [item for item in sizes["distributions"] if not item["loaded_by"]]
        rows = [
            [
                f"{item['name']} {item['version']}".strip(),
                item["unzipped_bytes"] / MIB,
                item["zipped_bytes"] / MIB,
                _never_loaded(item),
            ]
            for item in unused
        ]
        summary = sizes["unused_by_any_trigger"]
        only_used = sizes["layer_holds_only_what_triggers_use"]
        text += "\n" + table(
            "Layer: distributions no trigger loads (tracing off, one invocation each)",
            ["distribution", "unzipped MiB", "zipped MiB", "loaded"],
            rows,
            notes=[
                f"Never loaded, not counting X-Ray and files: {', '.join(summary['distributions']) or 'none'} "
                f"({summary['unzipped_bytes'] / MIB:.2f} MiB unzipped, {summary['zipped_bytes'] / MIB:.2f} MiB zipped).",
                f"Target 'the layer holds only what the triggers use': {'PASS' if only_used else 'FAIL'}.",
                "Loaded is not used: Define, Verify and Pre sign-up load botocore's __init__ only through Powertools' user-agent hook.",
            ],
        )
    return text
