"""The local-invoke tier: every sample event through ``sam local`` in a container, against a deployed stack.

The stack is the real template deployed into the emulator, which listens on
Docker's bridge gateway so that the containers reach it. Functions run on the
project's offline base image (built once and cached; see ``base_image``), whose
bootstrap sends their AWS calls to the emulator named by ``--add-host``. The files
``sam local`` needs (``--env-vars``, made events, a SAM config file) are written by
the same code as ``sms-otp sandbox --local-invoke``.

One ``sam local start-lambda`` serves the invocations, each function in one warm
container (SAM builds each function's image with the layer once, not per event).
Everything the tier starts (Docker's engine if none was usable, the emulator,
SAM, its containers) is stopped by process or container id at the end.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sms_otp_client.auth import PasswordlessClient
from sms_otp_client.base_image import LoadedImage, load_base_image
from sms_otp_client.docker_engine import DockerEngine, LocalContainerError, docker_engine, memory_directory, stop_process
from sms_otp_client.emulator import LOOPBACK, Emulator, free_port
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.local_invoke import SAMPLE_PHONE_NUMBER, prepare_sandbox
from sms_otp_client.sandbox import (
    PROJECT_ROOT,
    SANDBOX_DIR,
    SandboxDeployment,
    build,
    build_dir,
    build_folder_lock,
    deploy,
    emulator_python,
    machine_architecture,
    sam_executable,
    sandbox_environment,
)

# SAM labels every container it starts for a function.
SAM_CONTAINER_LABEL = "sam.cli.container.type=lambda"


@pytest.fixture(scope="package")
def engine() -> Iterator[DockerEngine]:
    """Docker's engine: the configured one if usable, else (as root) one started for the tier."""
    SANDBOX_DIR.mkdir(exist_ok=True)
    try:
        with docker_engine(log_path=SANDBOX_DIR / "dockerd.log") as running:
            yield running
    except LocalContainerError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="package")
def base_image(engine: DockerEngine) -> LoadedImage:
    try:
        return load_base_image(engine.docker(), machine_architecture(), log=SANDBOX_DIR / "base-image.log")
    except LocalContainerError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="package")
def scratch() -> Iterator[Path]:
    """The tier's files, in memory when root (the emulator unpacks the layer for each function it runs)."""
    with memory_directory("sms-otp-tier-") as directory:
        yield directory


@pytest.fixture(scope="package")
def stack(engine: DockerEngine, scratch: Path) -> Iterator[SandboxDeployment]:
    """The template, built for this machine and deployed into an emulator the containers reach."""
    with Emulator(emulator_python(), host=engine.gateway, scratch=scratch) as emulator:
        architecture = machine_architecture()
        # The build folder is the sandbox's: a sandbox running meanwhile takes turns with this build.
        with build_folder_lock():
            build(sandbox_environment(emulator.endpoint_url, emulator.region), architecture)
            deployment = deploy(emulator, architecture)
            # SAM mounts the functions' folders while it runs: a copy, which no later build changes.
            shutil.copytree(build_dir(architecture), scratch / "build", symlinks=True)
        yield deployment


@pytest.fixture(scope="package")
def phone_number(stack: SandboxDeployment) -> str:
    """The samples' phone number, signed up in the stack's pool."""
    client = PasswordlessClient(stack.client("cognito-idp"), stack.outputs.user_pool_client_id)
    assert client.sign_up(SAMPLE_PHONE_NUMBER) is True
    # The emulator runs the deployed functions too, and they reach it on the bridge: a sign-in starts.
    assert client.start(SAMPLE_PHONE_NUMBER).destination == "+*******0123"
    return SAMPLE_PHONE_NUMBER


@pytest.fixture(scope="package")
def local_invoke_dir(stack: SandboxDeployment, base_image: LoadedImage, phone_number: str, scratch: Path) -> Path:
    """What `sms-otp sandbox --local-invoke` writes to local-invoke/, written here to the tier's folder."""
    directory = scratch / "local-invoke"
    prepare_sandbox(
        stack,
        image_options=base_image.sam_options(),
        architecture=machine_architecture(),
        phone_number=phone_number,
        directory=directory,
        now=int(time.time()),
        template=scratch / "build" / "template.yaml",
    )
    return directory


def sam_environment(engine: DockerEngine, stack: SandboxDeployment) -> dict[str, str]:
    """SAM's process environment: this engine, and the sandbox's throw-away credentials (never the user's)."""
    return engine.environment(sandbox_environment(stack.endpoint_url, stack.region))


@dataclass(frozen=True, slots=True)
class Invocation:
    """What a function answered: the event it returned, or the error it raised."""

    payload: Any

    @property
    def error_type(self) -> str | None:
        return self.payload.get("errorType") if isinstance(self.payload, dict) else None

    @property
    def response(self) -> dict[str, Any]:
        """The event's ``response``, for an invocation that did not raise."""
        assert self.error_type is None, self.payload
        response: dict[str, Any] = self.payload["response"]
        return response


class LocalLambda:
    """``sam local start-lambda``'s endpoint: invokes a function of the template on an event file."""

    def __init__(self, endpoint_url: str) -> None:
        self._client = boto3.client(
            "lambda",
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            # A function's first invocation waits for SAM to build its image; never retry an invocation.
            config=Config(read_timeout=300, connect_timeout=5, retries={"total_max_attempts": 1}),
        )

    def invoke(self, function: str, event_file: Path) -> Invocation:
        response = self._client.invoke(FunctionName=function, Payload=event_file.read_bytes())
        return Invocation(json.loads(response["Payload"].read() or b"null"))


@pytest.fixture(scope="package")
def local_lambda(engine: DockerEngine, stack: SandboxDeployment, local_invoke_dir: Path) -> Iterator[LocalLambda]:
    """``sam local start-lambda`` with the sandbox's SAM config file; stopped, with its containers, at the end."""
    docker = engine.docker()
    containers_before = docker.container_ids(f"label={SAM_CONTAINER_LABEL}")
    port = free_port()
    log_path = SANDBOX_DIR / "sam-local-start-lambda.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own SAM CLI, fixed arguments
            [
                str(sam_executable()),
                "local",
                "start-lambda",
                "--config-file",
                str(local_invoke_dir / "samconfig.toml"),
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--warm-containers",
                "LAZY",
            ],
            cwd=PROJECT_ROOT,
            env=sam_environment(engine, stack),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(port, process, log_path)
        yield LocalLambda(f"http://{LOOPBACK}:{port}")
    finally:
        # SIGINT is SAM's Ctrl-C: it stops and removes its warm containers before exiting.
        stop_process(process, signal.SIGINT, grace_seconds=60)
        leftovers = docker.container_ids(f"label={SAM_CONTAINER_LABEL}") - containers_before
        if leftovers:
            docker.run("rm", "--force", *sorted(leftovers))


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log_path: Path, timeout_seconds: float = 300) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sam local start-lambda exited with status {process.returncode}; its log: {log_path}", pytrace=False)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"sam local start-lambda did not listen within {timeout_seconds:.0f} s; its log: {log_path}", pytrace=False)


@pytest.fixture(scope="package")
def inbox(stack: SandboxDeployment, phone_number: str) -> Iterator[TestModeInbox]:
    """The test topic's messages for the samples' phone number.

    The emulator delivers a message to the queue within the Publish call, so once an
    invocation has returned, ``drain()`` holds everything it sent.
    """
    assert stack.outputs.test_mode_topic_arn is not None
    created = TestModeInbox.create(
        sqs=stack.client("sqs"), sns=stack.client("sns"), topic_arn=stack.outputs.test_mode_topic_arn, recipient=phone_number
    )
    yield created
    created.delete()
