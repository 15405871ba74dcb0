"""The custom resource's handler: every request gets an answer, with a one-sentence reason when it fails.

crhelper is the library that speaks CloudFormation's custom-resource protocol; these
tests check what the stack's wiring adds to it: the answer's status, physical ID and
reason for each outcome, the plain-HTTP answer to an emulator on the loopback
interface, and the record of the original kept in the stack's table.
"""

from __future__ import annotations

import http.client
import inspect
import json
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from crhelper import CfnResource

from sms_otp.existing_pool import cfn_custom_resource
from sms_otp.existing_pool.attachment_records import RECORD_PURPOSE, AttachmentRecords
from sms_otp.existing_pool.existing_user_pool import reason_for
from sms_otp.existing_pool.stack_resources import PASSWORDLESS_FUNCTION_VARIABLES
from sms_otp.existing_pool.trigger_attachment import Attachment, AttachmentRefusedError
from tests.testkit.user_pool_fakes import REGION, FakeUserPool, client_error
from tests.unit.conftest import LIMITS_TABLE_NAME
from tests.unit.existing_pool.pool_kit import LOGICAL_ID, PASSWORDLESS_CONFIG, SENDER, STACK_ID, a_pool

pytestmark = pytest.mark.unit

RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=s"


def request(request_type: str, **properties: Any) -> dict[str, Any]:
    """A CloudFormation custom resource request, as the Lambda function receives it (the stack's sender and moto's key)."""
    base = {
        "UserPoolId": f"{REGION}_Distinct1",
        "Mode": "CustomSmsSender",
        "LambdaConfig": {"CustomSMSSender": SENDER, "KMSKeyID": os.environ["SMS_KEY_ARN"]},
        "ReplaceExistingTriggers": "false",
    }
    event = {
        "RequestType": request_type,
        "RequestId": "1b7d2e1c-0000-4000-8000-000000000001",
        "ResponseURL": RESPONSE_URL,
        "ResourceType": "Custom::ExistingUserPoolTriggers",
        "LogicalResourceId": LOGICAL_ID,
        "StackId": STACK_ID,
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:attach", **base, **properties},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"{REGION}_Distinct1"
    return event


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the handler PUT to the response URL."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(cfn_custom_resource, "put_response", lambda url, body, _ssl_verify=None: sent.append({"url": url, **body}))
    return sent


@pytest.fixture
def pool() -> FakeUserPool:
    return FakeUserPool(a_pool(), software_token_mfa=True)


def stack_environment(key_arn: str, mode: str = "CustomSmsSender", pool_id: str = f"{REGION}_Distinct1") -> dict[str, str]:
    """The environment template.yaml gives the function, for the stack's functions and key."""
    functions = {
        variable: PASSWORDLESS_CONFIG[slot] for slot, variable in PASSWORDLESS_FUNCTION_VARIABLES.items() if mode == "Passwordless"
    }
    return {
        "LIMITS_TABLE_NAME": LIMITS_TABLE_NAME,
        "STACK_ID": STACK_ID,
        "EXISTING_USER_POOL_ID": pool_id,
        "EXISTING_POOL_TRIGGERS": mode,
        "CUSTOM_SMS_SENDER_FUNCTION_ARN": SENDER["LambdaArn"],
        "SMS_KEY_ARN": key_arn,
        "EXISTING_POOL_SMS_ROLE_ARN": "arn:aws:iam::123456789012:role/customers-sms",
        **functions,
    }


@pytest.fixture
def handler(
    aws: None, kms_key_arn: str, load_handler: Callable[..., ModuleType], pool: FakeUserPool, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """The handler module after its cold start (moto's table and key), its Cognito client the fake pool."""
    monkeypatch.setattr(boto3, "client", wrap_client(boto3.client, pool))
    return load_handler("existing_user_pool_triggers", **stack_environment(kms_key_arn))


def sealed_records() -> AttachmentRecords:
    """The records as the function reads them (moto's table and the stack's key)."""
    kms = boto3.client("kms", region_name=REGION)
    return AttachmentRecords(boto3.client("dynamodb", region_name=REGION), kms, LIMITS_TABLE_NAME, os.environ["SMS_KEY_ARN"])


def wrap_client(make: Callable[..., Any], pool: FakeUserPool) -> Callable[..., Any]:
    """boto3.client, except that Cognito is the fake pool."""

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        return pool if service == "cognito-idp" else make(service, *args, **{"region_name": REGION, **kwargs})

    return client


def test_create_attaches_and_answers_success_with_the_pool_as_physical_id(
    handler: ModuleType, answers: list[dict[str, Any]], pool: FakeUserPool, lambda_context: Any
) -> None:
    # GIVEN a Create request for an existing pool
    # WHEN the function handles it
    handler.lambda_handler(request("Create"), lambda_context)

    # THEN it answered SUCCESS once, on the request's URL, and the pool has the sender
    assert [(a["url"], a["Status"], a["PhysicalResourceId"], a["LogicalResourceId"]) for a in answers] == [
        (RESPONSE_URL, "SUCCESS", f"{REGION}_Distinct1", LOGICAL_ID)
    ]
    assert pool.description["LambdaConfig"]["CustomSMSSender"] == SENDER


def test_the_original_is_kept_in_the_stacks_table_until_delete(
    handler: ModuleType, answers: list[dict[str, Any]], pool: FakeUserPool, lambda_context: Any
) -> None:
    # GIVEN an attached pool
    own = dict(pool.description["LambdaConfig"])
    handler.lambda_handler(request("Create"), lambda_context)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    (item,) = dynamodb.scan(TableName=LIMITS_TABLE_NAME)["Items"]
    remembered = sealed_records().get(item["pk"]["S"])

    # WHEN the stack is deleted
    handler.lambda_handler(request("Delete"), lambda_context)

    # THEN the item under the stack's own prefix held the empty slots, sealed; it is gone, and the pool has its own triggers
    assert item["pk"]["S"].startswith(f"existing-user-pool#{STACK_ID}#{LOGICAL_ID}#")
    assert set(item) == {"pk", "sealed"}
    assert b"CustomSMSSender" not in bytes(item["sealed"]["B"])
    assert remembered.original == {"CustomSMSSender": None, "KMSKeyID": None}
    assert dynamodb.scan(TableName=LIMITS_TABLE_NAME)["Items"] == []
    assert pool.description["LambdaConfig"] == own
    assert [a["Status"] for a in answers] == ["SUCCESS", "SUCCESS"]


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"UserPoolId": "us-east-1"}, "ExistingUserPoolId 'us-east-1' is not a user pool ID (such as us-east-1_AbC123xyz)."),
        ({"UserPoolId": "eu-west-1_AbC123xyz"}, "User pool eu-west-1_AbC123xyz is in eu-west-1 but this stack is in us-east-1"),
        ({"UserPoolId": "us-east-1_Missing99"}, "There is no user pool us-east-1_Missing99 in this account's us-east-1 region."),
    ],
)
def test_a_refused_create_answers_failed_with_the_sentence(
    handler: ModuleType,
    load_handler: Callable[..., ModuleType],
    answers: list[dict[str, Any]],
    pool: FakeUserPool,
    lambda_context: Any,
    properties: dict[str, Any],
    reason: str,
) -> None:
    # GIVEN a stack deployed with a bad pool ID (its function's environment names it too)
    handler = load_handler("existing_user_pool_triggers", **stack_environment(os.environ["SMS_KEY_ARN"], pool_id=properties["UserPoolId"]))

    # WHEN the function handles its Create
    handler.lambda_handler(request("Create", **properties), lambda_context)

    # THEN it answered FAILED with the reason, and wrote nothing
    ((answer),) = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(reason)
    assert pool.updates == []


def test_an_unexpected_error_answers_failed_with_a_generic_sentence(
    handler: ModuleType, answers: list[dict[str, Any]], pool: FakeUserPool, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a bug in the attaching code
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise KeyError("Id")

    monkeypatch.setattr(pool, "get_user_pool_mfa_config", broken)

    # WHEN a Create is handled
    handler.lambda_handler(request("Create"), lambda_context)

    # THEN CloudFormation hears FAILED and where to look, not the bug's text
    ((answer),) = answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"Unexpected error (KeyError); the log of {lambda_context.function_name} has the details."


def test_a_set_up_that_failed_answers_every_request(
    load_handler: Callable[..., ModuleType], answers: list[dict[str, Any]], aws: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cold start without the stack's mode in its environment
    module = load_handler(
        "existing_user_pool_triggers", **{**stack_environment("arn:aws:kms:us-east-1:1:key/x"), "EXISTING_POOL_TRIGGERS": ""}
    )

    # WHEN a Delete arrives (a stack rolling back)
    module.lambda_handler(request("Delete"), lambda_context)

    # THEN it is answered, FAILED with the missing variable's name, rather than left waiting
    ((answer),) = answers
    assert answer["Status"] == "FAILED"
    assert "EXISTING_POOL_TRIGGERS" in answer["Reason"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (AttachmentRefusedError("A sentence."), "A sentence."),
        (
            client_error("InvalidParameterException", "Bad value.", "UpdateUserPool"),
            "UpdateUserPool failed (InvalidParameterException): Bad value.",
        ),
        (
            EndpointConnectionError(endpoint_url="https://cognito-idp"),
            "An AWS call failed (EndpointConnectionError); the log of fn has the details.",
        ),
        (AttachmentRefusedError("x" * 300), "x" * 253 + "..."),
    ],
)
def test_each_failure_becomes_one_sentence_that_fits(error: Exception, reason: str) -> None:
    assert reason_for(error, function_name="fn") == reason


# ------------------------------------------------------------ the answer's transport ---


class FakeConnection:
    made: ClassVar[list[FakeConnection]] = []

    def __init__(self, netloc: str, timeout: float) -> None:
        self.netloc, self.timeout, self.requests, self.closed = netloc, timeout, [], False
        FakeConnection.made.append(self)

    def request(self, method: str, target: str, body: str, headers: dict[str, str]) -> None:
        self.requests.append((method, target, json.loads(body), headers))

    def getresponse(self) -> Any:
        return type("Response", (), {"status": 200})()

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_an_emulators_loopback_url_is_answered_over_plain_http(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    # GIVEN the emulator's response URL (http, loopback)
    FakeConnection.made = []
    monkeypatch.setattr(http.client, "HTTPConnection", FakeConnection)
    monkeypatch.setattr(cfn_custom_resource, "send_over_https", lambda *_: pytest.fail("crhelper's sender used"))

    # WHEN an answer is sent
    cfn_custom_resource.put_response(f"http://{host}:4566/_ministack/cfn-response/tok?x=1", {"Status": "SUCCESS"})

    # THEN it went to that host and path with PUT, and the connection was closed
    ((connection),) = FakeConnection.made
    assert connection.netloc == f"{host}:4566"
    assert [(method, target, body) for method, target, body, _ in connection.requests] == [
        ("PUT", "/_ministack/cfn-response/tok?x=1", {"Status": "SUCCESS"})
    ]
    assert connection.closed


@pytest.mark.parametrize("url", [RESPONSE_URL, "http://bucket.s3.amazonaws.com/answer", "http://10.0.0.7:4566/answer"])
def test_every_other_url_goes_to_crhelpers_https_sender(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # GIVEN CloudFormation's S3 URL, or a plain-HTTP URL off this machine
    sent: list[tuple[str, Any]] = []
    monkeypatch.setattr(cfn_custom_resource, "send_over_https", lambda response_url, body, _ssl_verify: sent.append((response_url, body)))
    monkeypatch.setattr(http.client, "HTTPConnection", lambda *_a, **_k: pytest.fail("plain HTTP used"))

    # WHEN an answer is sent; THEN crhelper's own (HTTPS-only) sender took it, so nothing leaves the machine in clear
    cfn_custom_resource.put_response(url, {"Status": "FAILED"})
    assert sent == [(url, {"Status": "FAILED"})]


def test_crhelpers_sender_hook_is_still_where_the_subclass_expects_it() -> None:
    # The subclass replaces the sender through CfnResource._send's keyword; a new crhelper must keep it.
    assert list(inspect.signature(CfnResource._send).parameters) == ["self", "status", "reason", "send_response"]


# ------------------------------------------------------------ the record ---


def _plant(new_kms_key: Callable[[], str], how: str) -> dict[str, Any]:
    """A record naming a code collector as the pool's original sender, planted by someone with PutItem on the table."""
    key = f"existing-user-pool#{STACK_ID}#{LOGICAL_ID}#{REGION}_Distinct1"
    collector = {"LambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:collector", "LambdaVersion": "V1_0"}
    planted = Attachment(original={"CustomSMSSender": collector, "KMSKeyID": None}, owned=frozenset({SENDER["LambdaArn"]}))
    kms = boto3.client("kms", region_name=REGION)
    if how == "in clear":
        return {"pk": {"S": key}, "attachment": {"S": planted.to_json()}}
    sealing_key = new_kms_key() if how == "sealed with another key" else os.environ["SMS_KEY_ARN"]
    record = key if how == "sealed with another key" else key.replace("Distinct1", "Another12")
    context = {"purpose": RECORD_PURPOSE, "record": record}
    sealed = kms.encrypt(KeyId=sealing_key, Plaintext=planted.to_json().encode(), EncryptionContext=context)["CiphertextBlob"]
    return {"pk": {"S": key}, "sealed": {"B": sealed}}


@pytest.mark.parametrize("how", ["in clear", "sealed with another key", "sealed for another record"])
def test_a_planted_record_is_refused_and_nothing_is_written_to_the_pool(
    handler: ModuleType, answers: list[dict[str, Any]], pool: FakeUserPool, lambda_context: Any, new_kms_key: Callable[[], str], how: str
) -> None:
    # GIVEN an attached pool, whose record someone replaced with one of their own
    handler.lambda_handler(request("Create"), lambda_context)
    writes = len(pool.updates)
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=LIMITS_TABLE_NAME, Item=_plant(new_kms_key, how))

    # WHEN the stack is deleted
    handler.lambda_handler(request("Delete"), lambda_context)

    # THEN the delete failed, with what to do, and the pool was not written: the collector never got the slot.
    # (For another key, KMS answers IncorrectKeyException, which is refused in the same words; moto answers
    # AccessDeniedException, which fails as any other AWS error does.)
    assert answers[-1]["Status"] == "FAILED"
    expected = "Decrypt failed" if how == "sealed with another key" else "was not written by this stack, so nothing was changed: delete"
    assert expected in answers[-1]["Reason"]
    assert len(pool.updates) == writes
    assert pool.description["LambdaConfig"]["CustomSMSSender"] == SENDER
