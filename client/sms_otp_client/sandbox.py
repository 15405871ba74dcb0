"""The local sandbox: build and deploy the real template into the emulator, then sign in.

Nothing here talks to AWS: every client and the SAM CLI are pointed at the
emulator on 127.0.0.1 with throw-away credentials, and the user's own AWS
configuration files are hidden from the subprocesses.
"""

from __future__ import annotations

import fcntl
import os
import platform
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from sms_otp_client.emulator import Emulator
from sms_otp_client.stack import StackOutputs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_CONFIG_ENV = "sandbox"
SANDBOX_DIR = PROJECT_ROOT / ".sandbox"
# The sandbox's emulator writes its log here (it holds the texts of test mode, codes included).
EMULATOR_LOG = SANDBOX_DIR / "emulator.log"
# A second stack of the same build (its parameters change no code): password sign-in allowed, MFA required.
PASSWORD_STACK_NAME = "sms-otp-sandbox-password"  # noqa: S105 - a stack's name
PASSWORD_STACK_OVERRIDES = {"PasswordSignIn": "true", "MfaConfiguration": "ON"}
# The emulator sends no sign-up confirmation code and takes any (it checks one only when started with AUTH=true).
EMULATOR_SIGN_UP_CODE = "123456"
BUILD_LOCK = PROJECT_ROOT / ".aws-sam" / "sandbox-build.lock"
# Throw-away credentials: the emulator does not check them.
SANDBOX_ACCESS_KEY = "sandbox"
SANDBOX_SECRET_KEY = "sandbox"  # noqa: S105 - not a secret
# Gives a boto3 client for a service name ("cognito-idp", "sqs"...).
ClientFactory = Callable[[str], Any]


class SandboxError(Exception):
    """A sandbox step failed; the message says which and where its log is."""


def sam_executable() -> Path:
    """The SAM CLI the sandbox runs: ``.venv-sam``'s, or ``SMS_OTP_SAM``."""
    return Path(os.environ.get("SMS_OTP_SAM", PROJECT_ROOT / ".venv-sam" / "bin" / "sam"))


def emulator_python() -> Path:
    """The interpreter with the emulator installed: ``.venv-emulator``'s, or ``SMS_OTP_EMULATOR_PYTHON``."""
    return Path(os.environ.get("SMS_OTP_EMULATOR_PYTHON", PROJECT_ROOT / ".venv-emulator" / "bin" / "python"))


def machine_architecture() -> str:
    """The Lambda architecture that runs on this machine (the emulator runs handlers natively)."""
    return "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"


def sandbox_config() -> dict[str, Any]:
    """samconfig.toml's ``[sandbox]`` environment."""
    with (PROJECT_ROOT / "samconfig.toml").open("rb") as handle:
        config: dict[str, Any] = tomllib.load(handle)
    sandbox: dict[str, Any] = config[SANDBOX_CONFIG_ENV]
    return sandbox


def sandbox_parameter_overrides(architecture: str, extra: Mapping[str, str] | None = None) -> list[str]:
    """The [sandbox] parameter overrides of samconfig.toml, with this machine's architecture and ``extra`` on top."""
    overrides = dict(item.split("=", 1) for item in shlex.split(sandbox_config()["deploy"]["parameters"]["parameter_overrides"]))
    overrides.update({"FunctionArchitecture": architecture, **(extra or {})})
    return [f"{name}={value}" for name, value in overrides.items()]


@dataclass(frozen=True, slots=True)
class SandboxDeployment:
    """A stack deployed into the emulator, with a boto3 session that reaches it."""

    endpoint_url: str
    region: str
    stack_name: str
    outputs: StackOutputs

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` that talks to the emulator."""
        return emulator_clients(self.endpoint_url, self.region)(service)

    def environment(self) -> dict[str, str]:
        """Variables that point an AWS SDK or CLI at the emulator (and never at a real account)."""
        return sandbox_environment(self.endpoint_url, self.region)


def emulator_clients(endpoint_url: str, region: str) -> ClientFactory:
    """boto3 clients that reach the emulator at ``endpoint_url`` with the sandbox's throw-away credentials."""
    session = boto3.session.Session(aws_access_key_id=SANDBOX_ACCESS_KEY, aws_secret_access_key=SANDBOX_SECRET_KEY, region_name=region)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    return client


def sandbox_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """The process environment for SAM CLI and AWS CLI runs against the emulator."""
    SANDBOX_DIR.mkdir(exist_ok=True)
    empty = SANDBOX_DIR / "empty-aws-config"
    empty.touch()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": SANDBOX_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SANDBOX_SECRET_KEY,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            # Hide the user's own profiles so nothing can reach a real account.
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "SAM_CLI_TELEMETRY": "0",
            # The emulator answers at once; SAM's default of 5 s between status polls was most of a deploy.
            "SAM_CLI_POLL_DELAY": "0.5",
        }
    )
    return environment


@contextmanager
def build_folder_lock(on_wait: Callable[[str], object] = lambda _message: None) -> Iterator[None]:
    """Hold the build folder for one ``build`` and ``deploy`` at a time.

    Every sandbox of a checkout, the e2e and build tiers and the benchmark build
    into one folder a architecture with one cache (see ``build_dir``: the layer's
    dependencies are installed once, not per run); two builds at once would trip
    over each other's files. A second run waits for the first to deploy, and
    ``on_wait`` tells the person why. ``flock`` releases the
    lock when its holder exits, however it exits, so no stale lock survives.
    """
    BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with BUILD_LOCK.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait("Another sandbox or test run is building in .aws-sam; waiting for it to deploy ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], *, environment: dict[str, str], log_name: str) -> None:
    SANDBOX_DIR.mkdir(exist_ok=True)
    log_path = SANDBOX_DIR / log_name
    with log_path.open("wb") as log:
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise SandboxError(f"`{' '.join(command[:2])}` failed (exit {result.returncode}); full log: {log_path}\n{tail}")


def build_dir(architecture: str) -> Path:
    """Where the sandbox builds for ``architecture``: .aws-sam/<architecture>/build, with its cache beside it.

    The build tests and the benchmark build there too, so sam build's cache serves them all; and
    the folder's build graph (build.toml, which the layer build reads the architecture from) is
    its own, apart from `make build`'s in .aws-sam.
    """
    return PROJECT_ROOT / ".aws-sam" / architecture / "build"


def with_runtime_python_on_path(environment: Mapping[str, str]) -> dict[str, str]:
    """``environment`` with the runtime's interpreter (python3.13) first on ``PATH``, where ``sam build`` looks for it.

    The interpreter running this client is that version (``requires-python``), so its
    folder goes first, which also gets past a pyenv shim whose global version is another.
    """
    return {**environment, "PATH": os.pathsep.join([str(Path(sys.base_prefix) / "bin"), environment.get("PATH", "")])}


def build(environment: dict[str, str], architecture: str) -> None:
    """``sam build`` of the real template, for this machine's architecture (see :func:`with_runtime_python_on_path`)."""
    environment = with_runtime_python_on_path(environment)
    _run(
        [
            str(sam_executable()),
            "build",
            "--config-file",
            str(PROJECT_ROOT / "samconfig.toml"),
            "--config-env",
            SANDBOX_CONFIG_ENV,
            "--build-dir",
            str(build_dir(architecture)),
            "--cached",
            "--cache-dir",
            str(build_dir(architecture).parent / "cache"),
            "--parameter-overrides",
            *sandbox_parameter_overrides(architecture),
        ],
        environment=environment,
        log_name="sam-build.log",
    )


def deploy(
    emulator: Emulator,
    architecture: str,
    *,
    stack_name: str | None = None,
    overrides: Mapping[str, str] | None = None,
    built: Path | None = None,
) -> SandboxDeployment:
    """``sam deploy`` of the built template into the emulator; returns the stack's outputs.

    ``stack_name`` and ``overrides`` deploy another stack of the same build, with
    other parameters on top of samconfig.toml's [sandbox] ones; ``built`` deploys
    another build folder than :func:`build_dir`'s (a copy the benchmark changed).
    """
    environment = sandbox_environment(emulator.endpoint_url, emulator.region)
    default_stack_name: str = sandbox_config()["global"]["parameters"]["stack_name"]
    stack_name = stack_name or default_stack_name
    _run(
        [
            str(sam_executable()),
            "deploy",
            "--config-file",
            str(PROJECT_ROOT / "samconfig.toml"),
            "--config-env",
            SANDBOX_CONFIG_ENV,
            "--stack-name",
            stack_name,
            "--template-file",
            str((built or build_dir(architecture)) / "template.yaml"),
            "--region",
            emulator.region,
            "--no-progressbar",
            "--parameter-overrides",
            *sandbox_parameter_overrides(architecture, overrides),
        ],
        environment=environment,
        log_name="sam-deploy.log" if stack_name == default_stack_name else f"sam-deploy-{stack_name}.log",
    )
    client = emulator_clients(emulator.endpoint_url, emulator.region)
    outputs = StackOutputs.load(client("cloudformation"), stack_name)
    coerce_client_numbers(client("cognito-idp"), outputs)
    return SandboxDeployment(endpoint_url=emulator.endpoint_url, region=emulator.region, stack_name=stack_name, outputs=outputs)


# The app client's settings that UpdateUserPoolClient takes back as they were described.
_CLIENT_SETTINGS = (
    "ClientName",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AuthSessionValidity",
)
_CLIENT_NUMBERS = ("RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "AuthSessionValidity")


def coerce_client_numbers(cognito: Any, outputs: StackOutputs) -> bool:
    """Work around an emulator gap: it stores the app client's numbers from template parameters as strings.

    CloudFormation hands every parameter to a resource as a string and AWS converts
    it to the property's type; ministack 1.5.33 keeps the string, and its sign-in
    then fails computing a session's expiry. This sets the same values back as
    numbers. Returns whether anything needed it.
    """
    if not outputs.user_pool_client_id:
        return False
    client = cognito.describe_user_pool_client(UserPoolId=outputs.user_pool_id, ClientId=outputs.user_pool_client_id)["UserPoolClient"]
    if not any(isinstance(client.get(name), str) for name in _CLIENT_NUMBERS):
        return False
    update = {name: client[name] for name in _CLIENT_SETTINGS if client.get(name) is not None}
    update.update({name: int(client[name]) for name in _CLIENT_NUMBERS if client.get(name) is not None})
    cognito.update_user_pool_client(UserPoolId=outputs.user_pool_id, ClientId=outputs.user_pool_client_id, **update)
    return True
