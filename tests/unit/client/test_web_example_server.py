"""The web example's configuration, and the sandbox's --web option (the server itself is tested in the e2e tier)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sms_otp_client import cli, web
from sms_otp_client.stack import StackOutputs
from sms_otp_client.web import page_config

pytestmark = pytest.mark.unit

OUTPUTS = StackOutputs(
    user_pool_id="us-east-1_Example1",
    user_pool_arn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example1",
    user_pool_client_id="4example0client0id0abcdefg",
    custom_sms_sender_function_name="sender",
    sms_key_arn="arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000",
    test_mode_topic_arn=None,
)


def test_page_config_is_amplifys_cognito_settings_for_the_stack():
    # GIVEN a stack's outputs
    # WHEN the page's configuration is made for AWS, and for an emulator
    # THEN it names the pool and the app client, and the endpoint only for the emulator
    assert page_config(OUTPUTS) == {"userPoolId": "us-east-1_Example1", "userPoolClientId": "4example0client0id0abcdefg"}
    assert page_config(OUTPUTS, "http://127.0.0.1:4566")["userPoolEndpoint"] == "http://127.0.0.1:4566"


def test_page_config_passes_the_code_length_and_the_interval_between_codes_when_the_stack_gives_them():
    # GIVEN a stack whose parameters say 8 digits and 45 s between codes
    outputs = dataclasses.replace(OUTPUTS, otp_length=8, min_seconds_between_messages=45)

    # WHEN the page's configuration is made / THEN it carries both, as numbers
    assert page_config(outputs) == {**page_config(OUTPUTS), "otpLength": 8, "minSecondsBetweenMessages": 45}


class FakeCloudFormation:
    class exceptions:  # noqa: N801 - boto3's shape
        ClientError = ClientError

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        outputs = {
            "UserPoolId": OUTPUTS.user_pool_id,
            "UserPoolArn": OUTPUTS.user_pool_arn,
            "UserPoolClientId": OUTPUTS.user_pool_client_id,
            "CustomSmsSenderFunctionName": "sender",
            "SmsKeyArn": OUTPUTS.sms_key_arn,
        }
        parameters = {"OtpLength": "8", "MinSecondsBetweenMessages": "45", "TestMode": "true"}
        return {
            "Stacks": [
                {
                    "StackName": StackName,
                    "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
                    "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
                }
            ]
        }


def test_the_code_length_and_interval_are_read_from_the_stacks_parameters():
    # GIVEN a deployed stack / WHEN its outputs are loaded / THEN two of its parameters come along as numbers
    loaded = StackOutputs.load(FakeCloudFormation(), "s")
    assert (loaded.otp_length, loaded.min_seconds_between_messages) == (8, 45)


def test_the_sandbox_refuses_web_before_starting_anything_when_the_page_is_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # GIVEN no bundle, and an emulator that must not start
    monkeypatch.setattr(web, "WEB_DIR", tmp_path)

    def must_not_start(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the emulator was started")

    monkeypatch.setattr(cli.Emulator, "start", must_not_start)

    # WHEN the sandbox is asked to serve the web example
    with pytest.raises(SystemExit) as exit_status:
        cli.command_sandbox(cli.parser().parse_args(["sandbox", "--web"]))

    # THEN it stops at once with one sentence that says how to build it
    assert exit_status.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith("error: The web example is not built (")
    assert error.endswith("is missing): run `make web`\n")
