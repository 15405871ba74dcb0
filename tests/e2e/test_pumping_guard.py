"""A stack of its own with the pumping guard on: the guard stopping a burst, and the sender's retryable failure.

The shared sandbox turns the guard off (the emulator never calls Post
Authentication, so no sign-in ever completes there); this stack keeps every
default but that one. Its Custom SMS Sender is also the one reconfigured to lose
KMS, so the shared sandbox's sender is never touched.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sms_otp_client.auth import PasswordlessClient, SignInError
from sms_otp_client.emulator import Emulator
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment, deploy, machine_architecture
from tests.testkit.cognito_encryption import cognito_ciphertext

from .conftest import invoke

pytestmark = pytest.mark.e2e

GUARD_STACK_NAME = "sms-otp-sandbox-guard"
EVENTS = Path(__file__).resolve().parents[2] / "events"
# Nobody answers on the discard port of the loopback: every connection is refused at once.
UNREACHABLE = "http://127.0.0.1:9"
# A fresh number outside the range the burst stops (+1312): the sender's text meets the guard like any other.
SENDER_NUMBER = "+13135550150"


@pytest.fixture(scope="module")
def guard_sandbox(emulator: Emulator, sandbox: SandboxDeployment) -> SandboxDeployment:
    # After `sandbox`, which builds and creates SAM's artifact bucket; this deploy uploads nothing new.
    return deploy(emulator, machine_architecture(), stack_name=GUARD_STACK_NAME, overrides={"PumpingMinConversionPercent": "20"})


def _range_items(sandbox: SandboxDeployment, number_range: str) -> list[dict[str, Any]]:
    assert sandbox.outputs.limits_table_name is not None
    items = sandbox.client("dynamodb").scan(TableName=sandbox.outputs.limits_table_name)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(f"pumping#{number_range}#")]


def test_the_guard_stops_a_pumping_burst_through_the_deployed_stack(guard_sandbox: SandboxDeployment) -> None:
    # GIVEN twelve fresh numbers of one area code, signed up and never signing in (the deployed defaults:
    # at least 10 codes a range, then 20 % of them completed)
    client = PasswordlessClient(guard_sandbox.client("cognito-idp"), guard_sandbox.outputs.user_pool_client_id)
    numbers = [f"+1312555{n:04d}" for n in range(100, 112)]
    for number in numbers:
        assert client.sign_up(number) is True

    # WHEN each starts a sign-in, one after the other
    outcomes = []
    for number in numbers:
        try:
            client.start(number)
            outcomes.append("code sent")
        except SignInError as refusal:
            outcomes.append(str(refusal))

    # THEN the first ten got codes, and the range was stopped for the cool-off
    stopped = "We cannot send codes to this number right now. Please try again in 15 minutes."
    assert outcomes == ["code sent"] * 10 + [stopped] * 2
    # AND the deployed table holds the range's count (10) and its stop, keyed by the range, never a whole number
    items = _range_items(guard_sandbox, "+1312")
    assert sum(int(item.get("sent", {}).get("N", "0")) for item in items) == 10
    assert [item["stops"]["N"] for item in items if item["pk"]["S"] == "pumping#+1312#stop"] == ["1"]


class SenderConfiguration:
    """The environment of the guard stack's deployed Custom SMS Sender, to change and to put back."""

    def __init__(self, sandbox: SandboxDeployment) -> None:
        self._lambda = sandbox.client("lambda")
        self.name = sandbox.outputs.custom_sms_sender_function_name
        self.original: dict[str, str] = self._lambda.get_function_configuration(FunctionName=self.name)["Environment"]["Variables"]

    def set(self, variables: dict[str, str]) -> None:
        self._lambda.update_function_configuration(FunctionName=self.name, Environment={"Variables": variables})
        self._lambda.get_waiter("function_updated_v2").wait(FunctionName=self.name)


@pytest.fixture
def sender(guard_sandbox: SandboxDeployment) -> Iterator[SenderConfiguration]:
    configuration = SenderConfiguration(guard_sandbox)
    yield configuration
    configuration.set(configuration.original)


@pytest.fixture
def inbox_150(guard_sandbox: SandboxDeployment) -> Iterator[TestModeInbox]:
    assert guard_sandbox.outputs.test_mode_topic_arn is not None
    created = TestModeInbox.create(
        sqs=guard_sandbox.client("sqs"),
        sns=guard_sandbox.client("sns"),
        topic_arn=guard_sandbox.outputs.test_mode_topic_arn,
        recipient=SENDER_NUMBER,
    )
    yield created
    created.delete()


def test_the_sender_raises_for_lambda_when_kms_is_out_of_reach_and_the_retry_gets_the_code_through(
    guard_sandbox: SandboxDeployment, sender: SenderConfiguration, inbox_150: TestModeInbox
) -> None:
    # GIVEN an MFA code encrypted for the stack's pool as Cognito does, and the deployed sender unable to reach KMS
    event = copy.deepcopy(json.loads((EVENTS / "custom_sms_sender_authentication.json").read_text()))
    event["userPoolId"] = guard_sandbox.outputs.user_pool_id
    event["callerContext"]["clientId"] = guard_sandbox.outputs.user_pool_client_id
    event["request"]["userAttributes"]["phone_number"] = SENDER_NUMBER
    event["request"]["code"] = cognito_ciphertext(
        "730115", guard_sandbox.outputs.sms_key_arn, guard_sandbox.outputs.user_pool_id, guard_sandbox.client("kms")
    )
    sender.set({**sender.original, "AWS_ENDPOINT_URL_KMS": UNREACHABLE})

    # WHEN the deployed function is invoked (as Lambda runs Cognito's asynchronous invocation)
    failed = invoke(guard_sandbox, sender.name, event)

    # THEN it raised the error Lambda retries on, saying why (the emulator reports every raised error's type as
    # Runtime.HandlerError, and its text as it was raised), and sent nothing
    assert failed["function_error"] is not None, failed
    assert "KMS could not decrypt the code for now (EndpointConnectionError)" in failed["payload"]["errorMessage"]
    assert inbox_150.drain() == []

    # AND once KMS is back, the retry (well within the 30-second interval) sends the code: the failure spent nothing
    sender.set(sender.original)
    retried = invoke(guard_sandbox, sender.name, event)
    assert retried["function_error"] is None, retried
    assert inbox_150.wait_for_message().text == "Your sign-in code is 730115. Do not share it with anyone."
