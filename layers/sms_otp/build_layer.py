"""Build the Lambda layer for the architecture ``sam build`` resolved, with bytecode for every module.

``sam build`` runs this through the Makefile beside it (``BuildMethod: makefile``). It installs the
pinned requirements as wheels for Lambda's Python 3.13 on the target architecture, adds the
``sms_otp`` package, removes what no trigger loads, and compiles every module to
``__pycache__/<module>.cpython-313.pyc``.

- Lambda's ``/opt`` is read-only: without bytecode in the layer, every cold start compiles each
  module it imports from source.
- Bytecode depends on the Python version only; native extensions (cryptography, cffi, wrapt)
  depend on the architecture. So pip fetches wheels for the target platform and never builds one
  here (``--only-binary=:all:``), and this machine's Python 3.13 compiles the bytecode, which is
  the same on either architecture.
- A makefile build is told its artifacts folder and nothing else, not even the architecture. But
  ``sam build`` writes its build graph (``build.toml``, beside the build folder) before it builds
  anything, with the architecture it resolved for each layer: it is read from there.
- ``unchecked-hash``: Python uses the bytecode without looking at the source. Timestamps do not
  survive a zip faithfully (on a mismatch Python would compile in memory at every cold start),
  and a checked hash would read and hash every source file at import; a published layer version
  never changes.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import os
import platform
import py_compile
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = "sms_otp"
# Where Lambda mounts a layer's python/ folder: the paths tracebacks show.
LAMBDA_LAYER_PATH = "/opt/python"
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Lambda's Python 3.13 runs on Amazon Linux 2023 (glibc 2.34), which loads any wheel built for
# glibc 2.34 or older; pip accepts exactly the tags it is given (the legacy manylinux2014 name
# brings manylinux2010 and manylinux1 along).
MANYLINUX_TAGS = ("manylinux_2_34", "manylinux_2_28", "manylinux_2_17", "manylinux2014")
# For builds that cannot read sam's build graph (sam build --use-container --container-env-var ...).
ARCHITECTURE_VARIABLE = "LAYER_ARCHITECTURE"
# Installed as dependencies but loaded by no trigger: cffi's C parser (only needed to compile cffi
# modules; cryptography's come compiled).
UNUSED_DISTRIBUTIONS = ("pycparser",)
# Documentation, type stubs, command-line scripts and C sources that come with the packages; the SDK's
# request examples (documentation only); Powertools' features no module imports (Logger, Metrics and
# Tracer need its logging, metrics, tracing, shared, middleware and utilities' typing and jmespath_utils).
UNUSED_FILES = (
    "bin",
    "boto3/examples",
    "*-stubs",
    "**/*.pyi",
    "**/*.c",
    "botocore/data/*/*/examples-1.json",
    "aws_lambda_powertools/event_handler",
    *(
        f"aws_lambda_powertools/utilities/{name}"
        for name in (
            "auth_alpha",
            "batch",
            "circuit_breaker",
            "data_classes",
            "data_masking",
            "feature_flags",
            "idempotency",
            "kafka",
            "metadata",
            "parameters",
            "parser",
            "streaming",
            "validation",
        )
    ),
)
# The AWS services whose clients something in the layer builds: the stack's code (boto3.client calls,
# tests/unit/repository/test_layer_models.py reads them from the code), the Encryption SDK's KMS key provider
# (kms), the X-Ray SDK's sampling rules (xray, with EnableTracing=true), and crhelper, which builds Lambda,
# EventBridge and CloudWatch Logs clients when the custom resource's container starts (events, lambda, logs).
# botocore ships the models of over 400 services, 23 MB; only these are kept, with the data files every
# client reads (endpoints, partitions).
SERVICE_MODELS = ("cognito-idp", "dynamodb", "events", "kms", "lambda", "logs", "sns", "xray")
SDK_DATA_FOLDERS = ("botocore/data", "boto3/data")


class BuildError(RuntimeError):
    """The layer cannot be built as asked."""


def sam_architecture(artifacts_dir: Path, logical_id: str) -> str:
    """The architecture ``sam build`` resolved for the layer ``logical_id`` (x86_64 or arm64)."""
    override = os.environ.get(ARCHITECTURE_VARIABLE)
    if override:
        return override
    # ARTIFACTS_DIR is <build folder>/<logical id>; sam writes build.toml beside the build folder.
    graph = artifacts_dir.parent.parent / "build.toml"
    if graph.is_file():
        definitions = tomllib.loads(graph.read_text(encoding="utf-8")).get("layer_build_definitions", {})
        for definition in definitions.values():
            if definition.get("layer") == logical_id:
                return str(definition["architecture"])
    raise BuildError(
        f"sam build did not record which architecture to build {logical_id} for (no entry in {graph}); "
        f"build the whole template, or set {ARCHITECTURE_VARIABLE} to x86_64 or arm64"
    )


def install_requirements(site: Path, architecture: str) -> None:
    """The pinned requirements and their dependencies, as wheels for Lambda's Python on ``architecture``."""
    if architecture not in MACHINES:
        raise BuildError(f"unknown architecture {architecture!r}: expected one of {', '.join(MACHINES)}")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += ["--target", str(site), "--requirement", str(HERE / "requirements.txt")]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13"]
    for tag in MANYLINUX_TAGS:
        command += ["--platform", f"{tag}_{MACHINES[architecture]}"]
    subprocess.run(command, check=True)  # noqa: S603 - this interpreter's pip, fixed arguments


def remove_distribution(site: Path, name: str) -> None:
    """Uninstall ``name`` from ``site``: every file its RECORD lists, then the folders left empty."""
    for info in site.glob(f"{name}-*.dist-info"):
        with (info / "RECORD").open(newline="", encoding="utf-8") as record:
            files = [site / row[0] for row in csv.reader(record) if row]
        for path in files:
            path.unlink(missing_ok=True)
        for folder in sorted({path.parent for path in files}, key=lambda path: len(path.parts), reverse=True):
            if folder != site and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def remove_unused(site: Path) -> None:
    for name in UNUSED_DISTRIBUTIONS:
        remove_distribution(site, name)
    for pattern in UNUSED_FILES:
        for path in site.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    remove_unused_service_models(site)


def remove_unused_service_models(site: Path, services: tuple[str, ...] = SERVICE_MODELS) -> None:
    """Keep only the SDK's models of ``services`` (each a folder under botocore/data and boto3/data)."""
    for data in SDK_DATA_FOLDERS:
        folder = site / data
        if not folder.is_dir():
            raise BuildError(f"{data} is missing: the SDK's layout changed, check SERVICE_MODELS")
        for service in folder.iterdir():
            if service.is_dir() and service.name not in services:
                shutil.rmtree(service)
    if missing := [service for service in services if not (site / "botocore" / "data" / service).is_dir()]:
        raise BuildError(f"botocore has no model for {', '.join(missing)}")


def strip_native_extensions(site: Path, architecture: str) -> None:
    """Drop the symbol tables of the native extensions (cryptography's alone carries 3 MB of them).

    The loader needs only the dynamic symbols, which stripping keeps. llvm-strip reads either
    architecture; binutils' strip only this machine's, so without llvm-strip a cross build ships them.
    """
    tool = shutil.which("llvm-strip")
    if tool is None and MACHINES[architecture] == platform.machine():
        tool = shutil.which("strip")
    if tool is None:
        print("no llvm-strip: the native extensions keep their symbol tables (about 3 MB more)", file=sys.stderr)  # noqa: T201
        return
    extensions = sorted(str(path) for path in site.rglob("*.so"))
    subprocess.run([tool, "--strip-unneeded", *extensions], check=True)  # noqa: S603 - a strip tool, our files


def compile_bytecode(site: Path) -> None:
    """Compile every module under ``site`` as Lambda's Python 3.13 will look for it."""
    compiled = compileall.compile_dir(
        site,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        stripdir=str(site),
        prependdir=LAMBDA_LAYER_PATH,
    )
    if not compiled:
        raise BuildError("some modules did not compile (see above)")


def build(artifacts_dir: Path, logical_id: str) -> None:
    """Fill ``artifacts_dir/python`` (Lambda's /opt/python) with the layer."""
    if sys.version_info[:2] != (3, 13):
        raise BuildError(f"the layer must be built with Python 3.13 (the Lambda runtime), not {sys.version.split()[0]}")
    architecture = sam_architecture(artifacts_dir, logical_id)
    site = artifacts_dir / "python"
    shutil.rmtree(site, ignore_errors=True)
    install_requirements(site, architecture)
    shutil.copytree(HERE / PACKAGE, site / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    remove_unused(site)
    strip_native_extensions(site, architecture)
    compile_bytecode(site)
    print(f"{logical_id}: built for {architecture} in {site}")  # noqa: T201 - sam build shows it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--logical-id", required=True, help="the layer's logical id in template.yaml")
    parser.add_argument("--artifacts-dir", type=Path, required=True, help="where sam build wants the layer (ARTIFACTS_DIR)")
    arguments = parser.parse_args()
    try:
        build(arguments.artifacts_dir.resolve(), arguments.logical_id)
    except (BuildError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"layer build failed: {error}") from error


if __name__ == "__main__":
    main()
