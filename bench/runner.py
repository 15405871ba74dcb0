"""Runs a child script in a fresh, isolated interpreter and reads back what it measured."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import child_command


class ChildError(RuntimeError):
    """A child interpreter failed before it could report."""


@dataclass(frozen=True, slots=True)
class ChildRun:
    result: dict[str, Any]
    # From just before the process is started to just after it has exited, in seconds.
    wall_s: float
    stderr: str


def run_child(
    script: str,
    spec: dict[str, Any],
    environment: dict[str, str],
    *,
    flags: tuple[str, ...] = (),
    timeout_s: float = 300.0,
    keep_stdout: bool = False,
) -> ChildRun:
    """Run ``bench/children/<script>`` with ``spec`` and exactly ``environment``; its stdout (the
    function's logs) goes to /dev/null unless ``keep_stdout``, so writing logs costs a real write."""
    with tempfile.TemporaryDirectory(prefix="sms-otp-bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        # The spec travels in a file: a warm loop's spec can exceed what one command-line argument may hold.
        spec_path = Path(scratch) / "spec.json"
        spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
        command = [*child_command(script, *flags), str(spec_path)]
        started = time.perf_counter()
        completed = subprocess.run(  # noqa: S603 - our interpreter and our scripts
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout_s,
            check=False,
        )
        wall_s = time.perf_counter() - started
        stderr = completed.stderr.decode(errors="replace")
        if completed.returncode != 0 or not result_path.exists():
            tail = "\n".join(stderr.splitlines()[-15:])
            raise ChildError(f"{script} ({spec.get('module') or spec.get('mode')}) exited with {completed.returncode}:\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text())
    return ChildRun(result=result, wall_s=wall_s, stderr=stderr)
