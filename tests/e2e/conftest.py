"""The e2e tier: the real template, built by sam build and deployed by sam deploy into the emulator.

One deployment serves the whole session; each test signs up its own phone number
and reads its codes from its own inbox (an SQS queue filtered on that number).
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest

from sms_otp_client.auth import PasswordlessClient
from sms_otp_client.emulator import Emulator
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import (
    SandboxDeployment,
    build,
    build_folder_lock,
    deploy,
    emulator_python,
    machine_architecture,
    sandbox_environment,
)

# +1 202 555 0100 to 0199: valid numbers reserved for fiction.
_NUMBERS = (f"+120255501{n:02d}" for n in itertools.count())


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(emulator_python()) as running:
        yield running


@pytest.fixture(scope="session")
def sandbox(emulator: Emulator) -> SandboxDeployment:
    architecture = machine_architecture()
    # The build folder is the sandbox's: a sandbox running meanwhile takes turns with this build.
    with build_folder_lock():
        build(sandbox_environment(emulator.endpoint_url, emulator.region), architecture)
        return deploy(emulator, architecture)


@pytest.fixture
def phone_number() -> str:
    number = next(_NUMBERS)
    assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
    return number


@pytest.fixture
def inbox(sandbox: SandboxDeployment, phone_number: str) -> Iterator[TestModeInbox]:
    assert sandbox.outputs.test_mode_topic_arn is not None
    created = TestModeInbox.create(
        sqs=sandbox.client("sqs"), sns=sandbox.client("sns"), topic_arn=sandbox.outputs.test_mode_topic_arn, recipient=phone_number
    )
    yield created
    created.delete()


@pytest.fixture
def client(sandbox: SandboxDeployment) -> PasswordlessClient:
    return PasswordlessClient(sandbox.client("cognito-idp"), sandbox.outputs.user_pool_client_id)


@pytest.fixture
def signed_up(client: PasswordlessClient, phone_number: str) -> str:
    assert client.sign_up(phone_number) is True
    return phone_number


def sms_sent_to_phone(sandbox: SandboxDeployment, phone_number: str) -> list[Any]:
    """What the emulator recorded as SMS published straight to ``phone_number`` (test mode must send none)."""
    url = f"{sandbox.endpoint_url}/_ministack/sns/sms-messages?phoneNumber={urllib.parse.quote(phone_number)}"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback emulator
        body = json.loads(response.read())
    return list(body["sms_messages"].get(phone_number, []))


@pytest.fixture
def in_process_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test that drives the limit store in this process: its refusals are counted in CloudWatch's embedded
    format (on stdout), which needs the namespace the template gives the functions."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "CognitoSmsOtpE2e")


@pytest.fixture
def sandbox_env(sandbox: SandboxDeployment) -> dict[str, str]:
    """Process environment for the AWS CLI against the emulator."""
    environment = sandbox.environment()
    environment.pop("PYTHONPATH", None)
    return {**environment, "AWS_PAGER": "", "PATH": os.environ.get("PATH", "")}


def invoke(sandbox: SandboxDeployment, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke a deployed function synchronously through the emulator's Lambda API."""
    response = sandbox.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read() or b"null")
    return {"function_error": response.get("FunctionError"), "payload": payload}


# A second stack of the same build (its parameters change no code) that also allows password sign-in, with MFA required.
PASSWORD_STACK_NAME = "sms-otp-sandbox-password"
PASSWORD_STACK_OVERRIDES = {"PasswordSignIn": "true", "MfaConfiguration": "ON"}
# The emulator's sign-up confirmation code: it sends none, and checks it only when started with AUTH=true.
EMULATOR_SIGN_UP_CODE = "123456"


@pytest.fixture(scope="session")
def password_sandbox(emulator: Emulator, sandbox: SandboxDeployment) -> SandboxDeployment:
    # After `sandbox`, which builds and creates SAM's artifact bucket; this deploy uploads nothing new.
    return deploy(emulator, machine_architecture(), stack_name=PASSWORD_STACK_NAME, overrides=PASSWORD_STACK_OVERRIDES)


@pytest.fixture
def password_inbox(password_sandbox: SandboxDeployment, phone_number: str) -> Iterator[TestModeInbox]:
    assert password_sandbox.outputs.test_mode_topic_arn is not None
    created = TestModeInbox.create(
        sqs=password_sandbox.client("sqs"),
        sns=password_sandbox.client("sns"),
        topic_arn=password_sandbox.outputs.test_mode_topic_arn,
        recipient=phone_number,
    )
    yield created
    created.delete()


# The template is longer than the 51,200 bytes CloudFormation takes inline: it goes by S3, as sam deploy sends it.
TEMPLATE_BUCKET = "sms-otp-e2e-templates"


def sandbox_template_url(sandbox: SandboxDeployment) -> str:
    """The packaged template sam deploy sent for ``sandbox`` (code in the emulator's S3), put in S3 for CreateStack."""
    body = sandbox.client("cloudformation").get_template(StackName=sandbox.stack_name, TemplateStage="Original")["TemplateBody"]
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket=TEMPLATE_BUCKET)
    s3.put_object(
        Bucket=TEMPLATE_BUCKET, Key=f"{sandbox.stack_name}.yaml", Body=(body if isinstance(body, str) else json.dumps(body)).encode()
    )
    return f"{sandbox.endpoint_url}/{TEMPLATE_BUCKET}/{sandbox.stack_name}.yaml"
