"""Reading the metrics the functions write to stdout in CloudWatch's embedded metric format."""

from __future__ import annotations

import json


def metric_dimensions(stdout: str, name: str) -> list[dict[str, str]]:
    """Each time the metric ``name`` was written, in order: its dimensions and their values."""
    found = []
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if isinstance(blob, dict) and name in blob and "_aws" in blob:
            [dimensions] = blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            found.append({dimension: blob[dimension] for dimension in dimensions})
    return found
