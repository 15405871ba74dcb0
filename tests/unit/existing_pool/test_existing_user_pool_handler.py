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
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from crhelper import CfnResource

from sms_otp.existing_pool import cfn_custom_resource
from sms_otp.existing_pool.existing_user_pool import AttachmentRecords, DescribedPools, ExistingPoolTriggers, reason_for
from sms_otp.existing_pool.trigger_attachment import Attachment, AttachmentRefusedError
from tests.testkit.user_pool_fakes import REGION, FakeUserPool, client_error
from tests.unit.conftest import LIMITS_TABLE_NAME
from tests.unit.existing_pool.test_existing_user_pool import LOGICAL_ID, SENDER_CONFIG, STACK_ID, a_pool

pytestmark = pytest.mark.unit

RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=s"


def request(request_type: str, **properties: Any) -> dict[str, Any]:
    """A CloudFormation custom resource request, as the Lambda function receives it."""
    base = {
        "UserPoolId": f"{REGION}_Distinct1",
        "Mode": "CustomSmsSender",
        "LambdaConfig": SENDER_CONFIG,
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


@pytest.fixture
def handler(aws: None, load_handler: Callable[..., ModuleType], pool: FakeUserPool, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The handler module after its cold start, attached to the fake pool and moto's limits table."""
    module = load_handler("existing_user_pool_triggers", LIMITS_TABLE_NAME=LIMITS_TABLE_NAME)
    records = AttachmentRecords(boto3.client("dynamodb", region_name=REGION), LIMITS_TABLE_NAME)
    monkeypatch.setattr(module, "TRIGGERS", ExistingPoolTriggers(pools=DescribedPools(pool), records=records, region=REGION))
    return module


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
    assert pool.description["LambdaConfig"]["CustomSMSSender"] == SENDER_CONFIG["CustomSMSSender"]


def test_the_original_is_kept_in_the_stacks_table_until_delete(
    handler: ModuleType, answers: list[dict[str, Any]], pool: FakeUserPool, lambda_context: Any
) -> None:
    # GIVEN an attached pool
    own = dict(pool.description["LambdaConfig"])
    handler.lambda_handler(request("Create"), lambda_context)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    (item,) = dynamodb.scan(TableName=LIMITS_TABLE_NAME)["Items"]

    # WHEN the stack is deleted
    handler.lambda_handler(request("Delete"), lambda_context)

    # THEN the item under the stack's own prefix held the empty slots; it is gone, and the pool has its own triggers
    assert item["pk"]["S"].startswith(f"existing-user-pool#{STACK_ID}#{LOGICAL_ID}#")
    assert Attachment.from_json(item["attachment"]["S"]).original == {"CustomSMSSender": None, "KMSKeyID": None}
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
    handler: ModuleType, answers: list[dict[str, Any]], pool: FakeUserPool, lambda_context: Any, properties: dict[str, Any], reason: str
) -> None:
    # GIVEN a Create request with a bad pool ID
    # WHEN the function handles it
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
    # GIVEN a cold start without the table's name
    monkeypatch.delenv("LIMITS_TABLE_NAME")
    module = load_handler("existing_user_pool_triggers")

    # WHEN a Delete arrives (a stack rolling back)
    module.lambda_handler(request("Delete"), lambda_context)

    # THEN it is answered, FAILED with the missing variable's name, rather than left waiting
    ((answer),) = answers
    assert answer["Status"] == "FAILED"
    assert "LIMITS_TABLE_NAME" in answer["Reason"]


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
