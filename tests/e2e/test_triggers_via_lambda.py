"""Triggers the emulator's Cognito never calls (Custom SMS Sender, Post Authentication), invoked through its Lambda API."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sms_otp_client.auth import PasswordlessClient, Tokens
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment
from tests.testkit.cognito_encryption import cognito_ciphertext

from .conftest import invoke, sms_sent_to_phone

pytestmark = pytest.mark.e2e

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _event(name: str, sandbox: SandboxDeployment, phone_number: str) -> dict:
    event = json.loads((EVENTS / name).read_text())
    event["userPoolId"] = sandbox.outputs.user_pool_id
    event["callerContext"]["clientId"] = sandbox.outputs.user_pool_client_id
    event["request"]["userAttributes"]["phone_number"] = phone_number
    return copy.deepcopy(event)


@pytest.mark.parametrize(
    ("event_file", "plaintext", "expected_text"),
    [
        ("custom_sms_sender_sign_up.json", "482913", "Your verification code is 482913. Do not share it with anyone."),
        ("custom_sms_sender_forgot_password.json", "000417", "Your password reset code is 000417. Do not share it with anyone."),
        # SMS MFA codes, and Cognito's own SMS OTP sign-in codes on pools that use it.
        ("custom_sms_sender_authentication.json", "305172", "Your sign-in code is 305172. Do not share it with anyone."),
        (
            "custom_sms_sender_admin_create_user.json",
            "Tmp&lt;9&gt;pass",
            "Your account is ready. Sign in with {phone} and the temporary password Tmp<9>pass",
        ),
    ],
)
def test_custom_sms_sender_decrypts_a_cognito_ciphertext_and_sends_to_the_topic(
    sandbox: SandboxDeployment,
    phone_number: str,
    inbox: TestModeInbox,
    event_file: str,
    plaintext: str,
    expected_text: str,
):
    # GIVEN a Custom SMS Sender event whose code the emulator's KMS encrypted the way Cognito does
    event = _event(event_file, sandbox, phone_number)
    event["request"]["code"] = cognito_ciphertext(
        plaintext, sandbox.outputs.sms_key_arn, sandbox.outputs.user_pool_id, sandbox.client("kms")
    )

    # WHEN the deployed function is invoked
    result = invoke(sandbox, sandbox.outputs.custom_sms_sender_function_name, event)

    # THEN it sent the decrypted code to the test topic only
    assert result["function_error"] is None, result
    message = inbox.wait_for_message()
    assert message.text == expected_text.format(phone=phone_number)
    assert message.trigger_source == event["triggerSource"]
    assert message.recipient == phone_number
    assert sms_sent_to_phone(sandbox, phone_number) == []


def test_custom_sms_sender_refuses_a_code_encrypted_for_another_pool(sandbox: SandboxDeployment, phone_number: str, inbox: TestModeInbox):
    # GIVEN a ciphertext bound to another user pool
    event = _event("custom_sms_sender_sign_up.json", sandbox, phone_number)
    event["request"]["code"] = cognito_ciphertext("123456", sandbox.outputs.sms_key_arn, "us-east-1_SomeOther1", sandbox.client("kms"))

    # WHEN the function is invoked
    result = invoke(sandbox, sandbox.outputs.custom_sms_sender_function_name, event)

    # THEN it refuses it for good (logged, and returned so that Lambda does not retry), and nothing is sent
    assert result["function_error"] is None
    assert result["payload"]["triggerSource"] == event["triggerSource"]
    assert inbox.drain() == []


def test_post_authentication_marks_the_phone_verified_after_a_sign_in_by_code(
    sandbox: SandboxDeployment, client: PasswordlessClient, signed_up: str, inbox: TestModeInbox
):
    # GIVEN a user who signed in with a code (the emulator does not call Post Authentication itself)
    challenge = client.start(signed_up)
    assert isinstance(client.answer(signed_up, challenge, inbox.wait_for_message().code), Tokens)
    cognito = sandbox.client("cognito-idp")
    user = cognito.admin_get_user(UserPoolId=sandbox.outputs.user_pool_id, Username=signed_up)
    attributes = {item["Name"]: item["Value"] for item in user["UserAttributes"]}
    assert attributes.get("phone_number_verified", "false") == "false"

    # WHEN Post Authentication runs for that sign-in, through the app client that allows only codes
    event = _event("post_authentication.json", sandbox, signed_up)
    event["userName"] = user["Username"]
    event["request"]["userAttributes"] = {**attributes, "phone_number_verified": "false"}
    function_name = sandbox.client("cloudformation").describe_stack_resource(
        StackName=sandbox.stack_name, LogicalResourceId="PostAuthenticationFunction"
    )["StackResourceDetail"]["PhysicalResourceId"]
    result = invoke(sandbox, function_name, event)

    # THEN the phone is marked verified in the pool
    assert result["function_error"] is None, result
    user = cognito.admin_get_user(UserPoolId=sandbox.outputs.user_pool_id, Username=signed_up)
    assert {item["Name"]: item["Value"] for item in user["UserAttributes"]}["phone_number_verified"] == "true"
