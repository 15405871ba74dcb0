"""The stack's safeguards on the deployed stacks: the end of the sender's retries, what a prod deletion keeps, administrator-created users.

The emulator runs Lambda's asynchronous retries and on-failure destinations, and
resolves a conditional DeletionPolicy when a stack is deleted, so these run for
real here. It has no AWS::WAFv2::WebACLAssociation and lets SignUp through a pool
that allows administrators only: the unit tier covers those.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sms_otp_client.auth import PasswordlessClient, Tokens, random_password
from sms_otp_client.emulator import Emulator
from sms_otp_client.existing_pool import delete_stack
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment, deploy, machine_architecture
from tests.testkit.cognito_encryption import cognito_ciphertext

pytestmark = pytest.mark.e2e

EVENTS = Path(__file__).resolve().parents[2] / "events"
# Nothing listens there: the sender's limit store cannot be reached, which it must retry.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"
PROD_STACK = "sms-otp-prod-delete"
PROD_OVERRIDES = {"Stage": "prod", "TestMode": "false", "AllowedCountryCodes": "1", "SelfSignUp": "false"}


def _output(sandbox: SandboxDeployment, stack_name: str, key: str) -> str:
    outputs = sandbox.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]["Outputs"]
    return next(item["OutputValue"] for item in outputs if item["OutputKey"] == key)


def _sign_up_event(sandbox: SandboxDeployment, phone_number: str, code: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "custom_sms_sender_sign_up.json").read_text())
    event["userPoolId"] = sandbox.outputs.user_pool_id
    event["callerContext"]["clientId"] = sandbox.outputs.user_pool_client_id
    event["request"]["userAttributes"]["phone_number"] = phone_number
    event["request"]["code"] = code
    return event


def _wait_until_updated(lambda_client: Any, function_name: str) -> None:
    lambda_client.get_waiter("function_updated").wait(FunctionName=function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _receive(sqs: Any, queue_url: str, within_seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return [json.loads(message["Body"]) for message in messages]
    return []


def test_the_sender_gives_up_after_two_retries_and_leaves_the_invocation_record_in_the_queue(
    sandbox: SandboxDeployment, phone_number: str, inbox: TestModeInbox
):
    # GIVEN the deployed sender, its invoke configuration and the queue it names
    lambda_client, sqs = sandbox.client("lambda"), sandbox.client("sqs")
    function_name = sandbox.outputs.custom_sms_sender_function_name
    queue_url = _output(sandbox, sandbox.stack_name, "UndeliveredSmsQueueUrl")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    config = lambda_client.get_function_event_invoke_config(FunctionName=function_name, Qualifier="$LATEST")
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (2, 300)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["SqsManagedSseEnabled"])["Attributes"] == {
        "SqsManagedSseEnabled": "true"
    }

    # AND a sender that cannot reach its limit store (a failure a retry may mend, so it raises)
    environment = lambda_client.get_function_configuration(FunctionName=function_name)["Environment"]["Variables"]
    lambda_client.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": {**environment, "AWS_ENDPOINT_URL_DYNAMODB": UNREACHABLE_ENDPOINT}}
    )
    try:
        _wait_until_updated(lambda_client, function_name)
        code = cognito_ciphertext("482913", sandbox.outputs.sms_key_arn, sandbox.outputs.user_pool_id, sandbox.client("kms"))

        # WHEN Cognito's event arrives asynchronously, as Cognito sends it
        event = _sign_up_event(sandbox, phone_number, code)
        assert (
            lambda_client.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(event).encode())["StatusCode"]
            == 202
        )

        # THEN after the retries the invocation record lands in the queue: Cognito's event, the code still encrypted
        [record] = _receive(sqs, queue_url, within_seconds=60)
    finally:
        lambda_client.update_function_configuration(FunctionName=function_name, Environment={"Variables": environment})
        _wait_until_updated(lambda_client, function_name)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == event
    assert record["requestPayload"]["request"]["code"] == code
    assert "482913" not in json.dumps(record)
    # AND nothing was sent meanwhile
    assert inbox.drain() == []


def test_an_administrator_creates_a_user_who_then_signs_in_by_code(sandbox: SandboxDeployment, phone_number: str, inbox: TestModeInbox):
    # GIVEN a user created the way your-app.md says for SelfSignUp=false: no invitation, a password nobody keeps
    cognito = sandbox.client("cognito-idp")
    pool_id = sandbox.outputs.user_pool_id
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=phone_number,
        UserAttributes=[{"Name": "phone_number", "Value": phone_number}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=phone_number, Password=random_password(), Permanent=True)
    assert cognito.admin_get_user(UserPoolId=pool_id, Username=phone_number)["UserStatus"] == "CONFIRMED"

    # WHEN they sign in with the code sent to their phone
    client = PasswordlessClient(cognito, sandbox.outputs.user_pool_client_id)
    challenge = client.start(phone_number)
    result = client.answer(phone_number, challenge, inbox.wait_for_message().code)

    # THEN they get tokens, as a user who signed up
    assert isinstance(result, Tokens)
    assert result.id_token_claims()["phone_number"] == phone_number


def _exists(call: Any, **arguments: Any) -> bool:
    try:
        call(**arguments)
    except ClientError as error:
        if error.response["Error"]["Code"] in {"ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            return False
        raise
    return True


def test_deleting_a_prod_stack_keeps_its_pool_app_client_key_and_table(emulator: Emulator, sandbox: SandboxDeployment):
    # GIVEN a prod stack (after `sandbox`, which built the code this deploy uploads)
    prod = deploy(emulator, machine_architecture(), stack_name=PROD_STACK, overrides=PROD_OVERRIDES)
    cognito, cloudformation = prod.client("cognito-idp"), prod.client("cloudformation")
    pool_id, client_id = prod.outputs.user_pool_id, prod.outputs.user_pool_client_id
    table, key_arn = prod.outputs.limits_table_name, prod.outputs.sms_key_arn
    queue_url = _output(prod, PROD_STACK, "UndeliveredSmsQueueUrl")
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["DeletionProtection"] == "ACTIVE"

    # WHEN the stack is deleted
    delete_stack(cloudformation, PROD_STACK)

    # THEN the pool, its app client, the KMS key and the limits table are still there, the key still usable
    try:
        assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Id"] == pool_id
        assert cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]["ClientId"] == client_id
        assert prod.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "Enabled"
        assert prod.client("dynamodb").describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
        # AND the functions and the queue are gone
        assert not _exists(prod.client("lambda").get_function, FunctionName=prod.outputs.custom_sms_sender_function_name)
        assert not _exists(prod.client("sqs").get_queue_attributes, QueueUrl=queue_url, AttributeNames=["QueueArn"])
    finally:
        # The steps of operations.md to remove what was kept.
        cognito.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
        cognito.delete_user_pool(UserPoolId=pool_id)
        prod.client("dynamodb").delete_table(TableName=table)
        prod.client("kms").schedule_key_deletion(KeyId=key_arn, PendingWindowInDays=7)
