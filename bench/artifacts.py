"""What the benchmark runs: ``sam build``'s output for this machine, and a copy of it without bytecode.

The build goes where the sandbox and the build tests build for this architecture, so sam build's
cache serves them all (``sms_otp_client.sandbox.build_dir``). The source-only copy is the same
build with every ``__pycache__`` folder removed: what Lambda ran before the build shipped bytecode.
"""

from __future__ import annotations

import io
import os
import platform
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

from sms_otp_client.sandbox import build_dir, build_folder_lock

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def machine_architecture() -> str:
    """This machine's architecture in Lambda's words: the children load the layer's native extensions."""
    return ARCHITECTURES[platform.machine()]


def sam_build(log_path: Path) -> dict[str, Any]:
    """``sam build`` for this machine's architecture (cached)."""
    architecture = machine_architecture()
    target = build_dir(architecture)
    command = [str(ROOT / ".venv-sam" / "bin" / "sam"), "build", "--cached", "--parallel"]
    command += ["--build-dir", str(target), "--cache-dir", str(target.parent / "cache")]
    command += ["--parameter-overrides", f"FunctionArchitecture={architecture}"]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")} | {"SAM_CLI_TELEMETRY": "0"}
    started = time.perf_counter()
    with log_path.open("wb") as log, build_folder_lock():  # a sandbox may be building in the same folder
        completed = subprocess.run(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise RuntimeError(f"sam build failed (exit {completed.returncode}); see {log_path}")
    return {"architecture": architecture, "build_dir": str(target), "seconds": time.perf_counter() - started}


def source_only_copy(build: Path, target: Path) -> Path:
    """A copy of ``build`` at ``target`` without any bytecode."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(build, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def package_size(directory: Path) -> dict[str, int]:
    """Files, bytes, and bytes once zipped with deflate (as sam deploy zips them)."""
    buffer = io.BytesIO()
    files = unzipped = pyc = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
                files += 1
                unzipped += path.stat().st_size
                pyc += path.stat().st_size if path.suffix == ".pyc" else 0
    return {"files": files, "unzipped_bytes": unzipped, "zipped_bytes": len(buffer.getvalue()), "pyc_bytes": pyc}


def measure_sizes(functions: dict[str, dict[str, Any]], builds: dict[str, Path]) -> dict[str, Any]:
    """Sizes of one function (they all hold the same modules) and the layer, in each build."""
    function = next(iter(functions.values()))
    code_dir, layer_dir = Path(function["code_dir"]), Path(function["layer_dirs"][0])
    built = code_dir.parent
    return {
        variant: {
            "function": package_size(directory / code_dir.relative_to(built)),
            "layer": package_size(directory / layer_dir.relative_to(built)),
        }
        for variant, directory in builds.items()
    }
