"""``sam build`` into the benchmark's own build directory, and the sizes of what it produced.

The benchmark builds for this machine's architecture (the children load the
layer's compiled extensions) with the sandbox's parameter overrides, into
``.aws-sam/bench-build``, so that it never touches the build directories that
``make build`` and the sandbox use.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    BUILD_CACHE_DIR,
    BUILD_DIR,
    LAYER_LOGICAL_ID,
    ROOT,
    TRIGGERS,
    VENV_PYTHON,
    build_dir,
    ensure_output_dir,
    layer_python_dir,
)


class BuildError(RuntimeError):
    """sam build failed."""


def _python313_dir() -> str | None:
    """The folder of a real python3.13 (sam build looks for the runtime's interpreter on PATH)."""
    candidates = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), key=lambda path: path.parts)
    found = shutil.which("python3.13")
    for candidate in [*reversed(candidates), *([Path(found)] if found else [])]:
        if candidate.exists():
            return str(candidate.parent)
    return None


def sam_build(target: Path = BUILD_DIR) -> dict[str, Any]:
    """Build the template for this machine; return the command's description and duration."""
    from sms_otp_client.sandbox import (  # noqa: PLC0415 - the project's own helpers, on PYTHONPATH (see the Makefile)
        SANDBOX_CONFIG_ENV,
        machine_architecture,
        sam_executable,
        sandbox_parameter_overrides,
    )

    architecture = machine_architecture()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment["SAM_CLI_TELEMETRY"] = "0"
    python_dir = _python313_dir()
    if python_dir:
        environment["PATH"] = python_dir + os.pathsep + environment.get("PATH", "")
    command = [
        str(sam_executable()),
        "build",
        "--config-file",
        str(ROOT / "samconfig.toml"),
        "--config-env",
        SANDBOX_CONFIG_ENV,
        "--build-dir",
        str(target),
        "--cached",
        "--cache-dir",
        str(BUILD_CACHE_DIR),
        "--parameter-overrides",
        *sandbox_parameter_overrides(architecture),
    ]
    log_path = ensure_output_dir() / "sam-build.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        completed = subprocess.run(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if completed.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise BuildError(f"sam build failed (exit {completed.returncode}); log: {log_path}\n{tail}")
    return {"architecture": architecture, "build_dir": str(target), "seconds": time.perf_counter() - started, "log": str(log_path)}


def precompiled_copy(source: Path, target: Path) -> dict[str, Any]:
    """Copy a build and compile every module to .pyc (unchecked-hash, as one would ship them in the zip),
    to measure what shipping bytecode would save; the children still never write bytecode themselves."""
    started = time.perf_counter()
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [str(VENV_PYTHON), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {"build_dir": str(target), "seconds": time.perf_counter() - started}


# ---------------------------------------------------------------- sizes ---


def _files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file() and not path.is_symlink())


def zip_directory(directory: Path, target: Path) -> zipfile.ZipFile:
    """Zip ``directory``'s contents (deflate, as Lambda deployment packages are) and return it reopened for reading."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _files(directory):
            archive.write(path, path.relative_to(directory).as_posix())
    return zipfile.ZipFile(target)


@dataclass
class Distribution:
    name: str
    version: str
    top_level: set[str] = field(default_factory=set)
    unzipped: int = 0
    zipped: int = 0
    files: int = 0
    code: bool = True


def _distributions(python_dir: Path) -> tuple[dict[str, Distribution], dict[str, str]]:
    """Distributions in the layer from their RECORD files, and which distribution owns each file."""
    distributions: dict[str, Distribution] = {}
    owner: dict[str, str] = {}
    for info in sorted(python_dir.glob("*.dist-info")):
        stem = info.name.removesuffix(".dist-info")
        name, _, version = stem.partition("-")
        distribution = Distribution(name=name, version=version)
        distributions[name] = distribution
        record = info / "RECORD"
        paths = [row[0] for row in csv.reader(record.read_text().splitlines()) if row] if record.exists() else []
        for relative in [*paths, *(path.relative_to(python_dir).as_posix() for path in _files(info))]:
            if relative.startswith("../") or not (python_dir / relative).is_file():
                continue
            owner[relative] = name
            top = relative.split("/")[0]
            if not top.endswith((".dist-info", ".data")) and top != "__pycache__":
                distribution.top_level.add(top.removesuffix(".py").split(".")[0])
    return distributions, owner


def measure_sizes() -> dict[str, Any]:
    """Unzipped and zipped bytes of each function and the layer, and the layer's distributions."""
    results: dict[str, Any] = {"functions": {}, "layer": {}, "distributions": []}
    with tempfile.TemporaryDirectory(prefix="sms-otp-bench-zip-") as scratch:
        for trigger in TRIGGERS:
            directory = build_dir() / trigger.function
            with zip_directory(directory, Path(scratch) / f"{trigger.function}.zip") as archive:
                results["functions"][trigger.key] = {
                    "function": trigger.function,
                    "files": len(archive.infolist()),
                    "unzipped_bytes": sum(info.file_size for info in archive.infolist()),
                    "zipped_bytes": (Path(scratch) / f"{trigger.function}.zip").stat().st_size,
                }
        layer_dir = build_dir() / LAYER_LOGICAL_ID
        layer_zip = Path(scratch) / "layer.zip"
        python_dir = layer_python_dir()
        distributions, owner = _distributions(python_dir)
        own: dict[str, Distribution] = defaultdict(lambda: Distribution(name="?", version=""))
        with zip_directory(layer_dir, layer_zip) as archive:
            infos = archive.infolist()
            for info in infos:
                relative = info.filename.removeprefix("python/")
                name = owner.get(relative)
                if name is None:
                    top = relative.split("/")[0]
                    distribution = own[top]
                    code = (python_dir / top).is_dir() or top.endswith((".py", ".so"))
                    distribution.name = top if code else f"{top} (not code: copied from ContentUri)"
                    distribution.code = code
                    distribution.top_level.add(top.removesuffix(".py"))
                else:
                    distribution = distributions[name]
                distribution.unzipped += info.file_size
                distribution.zipped += info.compress_size
                distribution.files += 1
            results["layer"] = {
                "files": len(infos),
                "unzipped_bytes": sum(info.file_size for info in infos),
                "zipped_bytes": layer_zip.stat().st_size,
                "pyc_files": sum(1 for info in infos if info.filename.endswith(".pyc")),
            }
        every = [*distributions.values(), *own.values()]
        results["distributions"] = [
            {
                "name": item.name,
                "version": item.version,
                "top_level": sorted(item.top_level),
                "files": item.files,
                "unzipped_bytes": item.unzipped,
                "zipped_bytes": item.zipped,
                "code": item.code,
            }
            for item in sorted(every, key=lambda item: item.unzipped, reverse=True)
        ]
    return results


def layer_usage(distributions: list[dict[str, Any]], loaded_by: dict[str, set[str]], tracing_only: set[str]) -> list[dict[str, Any]]:
    """Which triggers load each distribution (``loaded_by``: trigger -> top-level modules loaded)."""
    usage = []
    for item in distributions:
        top_level = set(item["top_level"])
        users = sorted(trigger for trigger, modules in loaded_by.items() if top_level & modules)
        usage.append({**item, "loaded_by": users, "tracing_only": bool(top_level & tracing_only) and not users})
    return usage
