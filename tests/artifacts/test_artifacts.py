"""What ``sam build`` produces, for each FunctionArchitecture: every module with the bytecode Lambda's
Python 3.13 will use, native extensions for that architecture, and nothing no trigger loads.

Each architecture is built once per session, with the commands docs/deploying.md documents.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sms_otp_client.sandbox import build_dir as sandbox_build_dir
from sms_otp_client.sandbox import build_folder_lock, with_runtime_python_on_path
from tests.unit.repository.test_layer_models import LIBRARY_CLIENTS, clients_the_code_builds

pytestmark = pytest.mark.build

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAYER = "SmsOtpLayer"
# template.yaml's FunctionArchitecture default.
DEFAULT_ARCHITECTURE = "arm64"
FUNCTIONS = (
    "PreSignUpFunction",
    "DefineAuthChallengeFunction",
    "CreateAuthChallengeFunction",
    "VerifyAuthChallengeFunction",
    "PostAuthenticationFunction",
    "CustomSmsSenderFunction",
)
# The custom resource that attaches the triggers to an existing user pool, and its source folder.
CUSTOM_RESOURCE_FUNCTIONS = {"ExistingUserPoolTriggersFunction": "custom_resources"}
# ELF header e_machine of each architecture's shared objects, and the machine in CPython's extension suffix.
ELF_MACHINE = {"x86_64": 62, "arm64": 183}
EXTENSION_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
# PEP 552 flags: hash-based (bit 0), source not checked (bit 1 clear).
UNCHECKED_HASH_FLAGS = 0b01
# Loaded by no trigger: cffi's C parser, test and documentation folders, type stubs, the build's own files.
NEVER_SHIPPED = ("pycparser", "*-stubs", "**/tests", "**/test", "boto3/examples", "**/*.pyi", "requirements.txt", "build_layer.py")


@dataclass(frozen=True, slots=True)
class Build:
    architecture: str
    directory: Path

    @property
    def layer_python(self) -> Path:
        return self.directory / LAYER / "python"

    def artifact_dirs(self) -> list[Path]:
        functions = (*FUNCTIONS, *CUSTOM_RESOURCE_FUNCTIONS)
        return [self.layer_python, *(self.directory / function for function in functions)]


def sam_build(architecture: str) -> Build:
    """The template's default architecture: plain ``sam build``, as docs/deploying.md documents it (cached,
    so it costs little after ``make build``); the other: ``--parameter-overrides``, where the sandbox
    builds for it (cached too, so one of the two builds serves the other)."""
    command = [str(SAM), "build"]
    build_dir = ROOT / ".aws-sam" / "build"
    if architecture != DEFAULT_ARCHITECTURE:
        build_dir = sandbox_build_dir(architecture)
        command += ["--build-dir", str(build_dir), "--cache-dir", str(build_dir.parent / "cache")]
        command += ["--parameter-overrides", f"FunctionArchitecture={architecture}"]
    environment = with_runtime_python_on_path({**os.environ, "SAM_CLI_TELEMETRY": "0"})
    environment.pop("LAYER_ARCHITECTURE", None)
    with build_folder_lock():  # a sandbox may be building in the same folder
        completed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return Build(architecture, build_dir)


@pytest.fixture(scope="session", params=sorted(ELF_MACHINE))
def build(request: pytest.FixtureRequest) -> Build:
    return sam_build(request.param)


def modules(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.py"))


def test_every_module_has_the_bytecode_python_3_13_will_use(build: Build) -> None:
    # GIVEN the layer and every function as sam build left them
    assert sys.version_info[:2] == (3, 13), "the bytecode is checked against Python 3.13, the Lambda runtime"
    checked = 0
    for directory in build.artifact_dirs():
        assert modules(directory), f"no module in {directory}"
        for source in modules(directory):
            # WHEN reading the bytecode Python looks for beside each module
            cached = Path(importlib.util.cache_from_source(str(source)))
            assert cached.is_file(), f"no bytecode for {source.relative_to(build.directory)}"
            header = cached.read_bytes()[:16]

            # THEN it is Python 3.13's, hash-based and unchecked, and compiled from this very source
            assert header[:4] == importlib.util.MAGIC_NUMBER, cached
            assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH_FLAGS, cached
            assert header[8:16] == importlib.util.source_hash(source.read_bytes()), cached
            checked += 1
    assert checked > 1000


def test_no_bytecode_without_its_module(build: Build) -> None:
    # GIVEN every .pyc in the build
    for directory in build.artifact_dirs():
        for cached in directory.rglob("*.pyc"):
            # WHEN finding the module it was compiled from / THEN it is there, and the file is named for 3.13
            assert cached.name.endswith(".cpython-313.pyc"), cached
            assert Path(importlib.util.source_from_cache(str(cached))).is_file(), cached


def test_native_extensions_are_built_for_the_architecture(build: Build) -> None:
    # GIVEN the layer's shared objects (cryptography, cffi, wrapt)
    shared_objects = sorted(build.layer_python.rglob("*.so"))
    assert len(shared_objects) >= 3

    for shared_object in shared_objects:
        # WHEN reading the machine in its ELF header
        header = shared_object.read_bytes()[:20]

        # THEN it is the function architecture's, and so is the machine in its name, if it names one
        assert header[:4] == b"\x7fELF", shared_object
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[build.architecture], shared_object
        if "-linux-gnu" in shared_object.name:
            assert f"-{EXTENSION_MACHINE[build.architecture]}-linux-gnu" in shared_object.name, shared_object


def test_the_layer_holds_nothing_no_trigger_loads(build: Build) -> None:
    # GIVEN the built layer / WHEN looking for what no trigger loads
    found = [path.relative_to(build.directory) for pattern in NEVER_SHIPPED for path in build.layer_python.glob(pattern)]
    found += [path.relative_to(build.directory) for path in build.layer_python.glob("pycparser-*")]

    # THEN there is none of it
    assert found == []


def test_each_function_holds_the_trigger_modules_and_nothing_else(build: Build) -> None:
    # GIVEN the trigger modules in the source tree
    expected = sorted(path.name for path in (ROOT / "src" / "triggers").glob("*.py"))

    for function in FUNCTIONS:
        # WHEN listing what the function's package holds
        directory = build.directory / function
        shipped = sorted(path.name for path in directory.iterdir() if path.name != "__pycache__")

        # THEN it is the trigger modules, no Makefile or stray file
        assert shipped == expected, function


def test_the_custom_resource_function_holds_its_module_and_nothing_else(build: Build) -> None:
    for function, folder in CUSTOM_RESOURCE_FUNCTIONS.items():
        # GIVEN its modules in the source tree / WHEN listing what the function's package holds
        expected = sorted(path.name for path in (ROOT / "src" / folder).glob("*.py"))
        shipped = sorted(path.name for path in (build.directory / function).iterdir() if path.name != "__pycache__")

        # THEN it is those modules, no Makefile or stray file
        assert shipped == expected, function


# Builds, with the layer alone on the path, every client something in the layer builds: boto3's for
# each kept model, and on this machine's architecture (whose native extensions load here) the
# Encryption SDK's KMS client and the X-Ray SDK's sampling client, through the libraries' own code;
# and crhelper's clients, which it builds when it starts and would only log if they failed.
CLIENTS_FROM_THE_LAYER = """
import json, platform, sys
import boto3
services = json.loads(sys.argv[1])
for service in services:
    boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
from crhelper import CfnResource
helper = CfnResource()
assert getattr(helper, "_init_failed", None) is None, helper._init_failed
if sys.argv[2] == "native":
    from aws_encryption_sdk.key_providers.kms import DiscoveryAwsKmsMasterKeyProvider
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core.sampling.connector import ServiceConnector
    DiscoveryAwsKmsMasterKeyProvider().add_regional_client("us-east-1")
    ServiceConnector()
    Tracer(service="layer-check")
"""


def test_every_client_the_code_builds_finds_its_model_in_the_layer(build: Build) -> None:
    # GIVEN the services whose clients the code and its libraries build

    services = sorted(clients_the_code_builds() | LIBRARY_CLIENTS)
    native = "native" if EXTENSION_MACHINE[build.architecture] == os.uname().machine else "pure"

    # WHEN building each from the built layer alone
    command = [sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = [{str(build.layer_python)!r}]\n{CLIENTS_FROM_THE_LAYER}"]
    environment = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    completed = subprocess.run([*command, json.dumps(services), native], env=environment, capture_output=True, text=True, check=False)  # noqa: S603

    # THEN every model is there (botocore raises UnknownServiceError for a missing one)
    assert completed.returncode == 0, completed.stderr[-3000:]
