"""Who can open a code the stack keeps, and who can publish where: the key policy, the queue policy and the SMS roles.

A record in the undelivered-SMS queue is Lambda's record of Cognito's event: the
phone number and the code, still encrypted under ``SmsKey``. Reading the queue
must not be enough to sign in: only the sender's role may decrypt with the key,
whatever IAM or a grant gives anyone else. And no role that may publish an SMS
may publish to a topic outside test mode.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from tests.unit.template.test_template_safeguards import (
    A_PLATFORM_ENDPOINT,
    A_TOPIC_ELSEWHERE,
    ANOTHER_TOPIC,
    PHONE_NUMBER,
    POOLS,
    TEST_TOPIC,
    _policy_of,
    grants,
    resources,
)

pytestmark = pytest.mark.unit

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ROLE_ARNS = {
    "CustomSmsSenderRole": f"arn:aws:iam::{ACCOUNT}:role/sms-otp-CustomSmsSenderRole-1A2B3C4D5E6F",
    "CreateAuthChallengeRole": f"arn:aws:iam::{ACCOUNT}:role/sms-otp-CreateAuthChallengeRole-6F5E4D3C2B1A",
    "ExistingUserPoolTriggersRole": f"arn:aws:iam::{ACCOUNT}:role/sms-otp-ExistingUserPoolTriggersRole-0A9B8C7D6E5F",
}
# The encryption contexts of what the key protects: a code Cognito encrypted, and the attach role's sealed record.
A_CODE = {"userpool-id": "us-east-1_EXAMPLE11"}
A_RECORD = {"purpose": "existing-user-pool-record", "record": "existing-user-pool#stack#ExistingUserPoolTriggers#us-east-1_AbC"}
# Principals that IAM may well allow kms:Decrypt on "*": an administrator, an operator reading the queue, a CI role.
OTHER_PRINCIPALS = [
    f"arn:aws:iam::{ACCOUNT}:role/Administrator",
    f"arn:aws:iam::{ACCOUNT}:role/OnCallOperator",
    f"arn:aws:iam::{ACCOUNT}:user/ci",
    ROLE_ARNS["CreateAuthChallengeRole"],
    ROOT,
]
OPENING_A_CODE = ["kms:Decrypt", "kms:ReEncryptFrom"]


def _resolve(value: Any) -> Any:
    """Template references to the roles and the account, written out as this account's ARNs."""
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        return ROLE_ARNS[logical_id]
    if value == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}:
        return ROOT
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(conditions: dict[str, Any], principal: str, context: dict[str, str]) -> bool:
    """The conditions of a statement for a request by ``principal`` with the encryption ``context``; any operator
    this evaluator does not know fails the test (a key absent from the request makes a negated operator hold)."""
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            if key == "aws:PrincipalArn" and operator in ("ArnEquals", "ArnNotEquals"):
                named = principal in [_resolve(arn) for arn in _as_list(expected)]
                if named != (operator == "ArnEquals"):
                    return False
            elif key.startswith("kms:EncryptionContext:") and operator == "StringNotEquals":
                if context.get(key.removeprefix("kms:EncryptionContext:")) in _as_list(expected):
                    return False
            else:
                raise AssertionError(f"no evaluation for {operator} {key}")
    return True


def key_policy_decision(
    key_policy: dict[str, Any], principal: str, action: str, *, iam_allows: bool, context: dict[str, str] = A_CODE
) -> bool:
    """Whether ``principal`` may do ``action`` on the key: an explicit deny wins; else the key policy allows it, or
    delegates to the account (its root) and IAM allows it."""
    allowed = False
    for statement in key_policy["Statement"]:
        principals = [_resolve(arn) for arn in _as_list(statement["Principal"]["AWS"])]
        if "*" not in principals and principal not in principals and ROOT not in principals:
            continue
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in _as_list(statement["Action"])):
            continue
        if not _conditions_hold(statement.get("Condition", {}), principal, context):
            continue
        if statement["Effect"] == "Deny":
            return False
        delegated_to_iam = principal not in principals and ROOT in principals
        allowed = allowed or not delegated_to_iam or iam_allows
    return allowed


@pytest.mark.parametrize("pool", POOLS)
def test_only_the_senders_role_can_open_a_code_held_in_the_undelivered_queue(pool: str) -> None:
    # GIVEN the stack's resources: the queue that keeps what the sender gave up on, and the key of its codes
    created = resources(**POOLS[pool])
    destination = created["CustomSmsSenderEventInvokeConfig"]["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["UndeliveredSmsQueue", "Arn"]}
    assert created["CustomSmsSenderFunction"]["Properties"]["Environment"]["Variables"]["SMS_KEY_ARN"] == {"Fn::GetAtt": ["SmsKey", "Arn"]}
    key_policy = created["SmsKey"]["Properties"]["KeyPolicy"]

    # WHEN anyone else asks KMS to open a code, though IAM gives them kms:Decrypt and kms:ReEncrypt* on "*"
    # THEN the key refuses: a reader of the queue holds a phone number and a ciphertext, never a code
    for principal in OTHER_PRINCIPALS:
        for action in OPENING_A_CODE:
            assert key_policy_decision(key_policy, principal, action, iam_allows=True) is False, (principal, action)

    # AND the sender's role, with its own IAM grant, still decrypts
    assert key_policy_decision(key_policy, ROLE_ARNS["CustomSmsSenderRole"], "kms:Decrypt", iam_allows=True) is True
    # AND the account keeps administering the key (it could not be managed, or deleted, otherwise)
    assert key_policy_decision(key_policy, f"arn:aws:iam::{ACCOUNT}:role/Administrator", "kms:PutKeyPolicy", iam_allows=True) is True
    # AND on an existing pool, the role that attaches the triggers cannot open a code either, whatever its IAM says
    if "ExistingUserPoolTriggersRole" in created:
        for action in OPENING_A_CODE:
            assert key_policy_decision(key_policy, ROLE_ARNS["ExistingUserPoolTriggersRole"], action, iam_allows=True) is False


@pytest.mark.parametrize("pool", ["an existing pool", "an existing pool, sender only"])
def test_the_attach_role_opens_its_sealed_record_of_the_pool_and_nothing_else(pool: str) -> None:
    # GIVEN a stack on an existing pool: its custom resource seals the record of the pool's original with the stack's key
    created = resources(**POOLS[pool])
    key_policy = created["SmsKey"]["Properties"]["KeyPolicy"]
    role = ROLE_ARNS["ExistingUserPoolTriggersRole"]

    # WHEN it opens the record (on update and delete) / THEN the key lets it, so the pool can always be given back
    assert key_policy_decision(key_policy, role, "kms:Decrypt", iam_allows=True, context=A_RECORD) is True
    # AND with any other context (a code, or nothing) the key refuses it
    assert key_policy_decision(key_policy, role, "kms:Decrypt", iam_allows=True, context=A_CODE) is False
    assert key_policy_decision(key_policy, role, "kms:Decrypt", iam_allows=True, context={}) is False
    # AND nobody else opens a record
    for principal in OTHER_PRINCIPALS:
        assert key_policy_decision(key_policy, principal, "kms:Decrypt", iam_allows=True, context=A_RECORD) is False
    # AND its grants on the key live apart from the role, which the key's policy names (no cycle)
    assert created["ExistingUserPoolTriggers"]["DependsOn"] in ("ExistingUserPoolTriggersKeyPolicy", ["ExistingUserPoolTriggersKeyPolicy"])


@pytest.mark.parametrize("pool", POOLS)
def test_only_the_senders_role_writes_records_to_the_undelivered_queue_and_only_over_tls(pool: str) -> None:
    created = resources(**POOLS[pool])
    [policy] = [r["Properties"] for r in created.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert policy["Queues"] == [{"Ref": "UndeliveredSmsQueue"}]
    denies = {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"] if statement["Effect"] == "Deny"}
    assert denies["OnlyTheSenderReports"]["Action"] == "sqs:SendMessage"
    assert denies["OnlyTheSenderReports"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["CustomSmsSenderRole", "Arn"]}}
    }
    assert denies["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(statement["Principal"] == {"AWS": "*"} for statement in denies.values())


@pytest.mark.parametrize("pool", POOLS)
def test_every_role_that_can_publish_is_denied_topics_outside_test_mode(pool: str) -> None:
    # GIVEN every role of the stack that is granted anything on SNS, outside test mode
    created = resources(**POOLS[pool])
    publishers = [logical_id for logical_id, r in created.items() if r["Type"] == "AWS::IAM::Role" and grants(r, "sns")]
    assert publishers, "no role may publish at all"

    for role in publishers:
        policy = _policy_of(created[role])
        # WHEN it publishes / THEN a phone number is allowed, and every topic and platform endpoint denied outright
        assert policy.is_action_permitted("sns:Publish", PHONE_NUMBER).name == "PERMITTED", role
        for arn in (ANOTHER_TOPIC, A_TOPIC_ELSEWHERE, A_PLATFORM_ENDPOINT, TEST_TOPIC):
            assert policy.is_action_permitted("sns:Publish", arn).name == "DENIED", (role, arn)


def test_cognitos_own_sms_role_is_denied_topics_in_test_mode_too() -> None:
    # Cognito never publishes to a topic: its role is denied every SNS ARN in every mode.
    created = resources(**{**POOLS["a new pool"], "TestMode": "true"})
    policy = _policy_of(created["CognitoSmsRole"])
    for arn in (ANOTHER_TOPIC, TEST_TOPIC):
        assert policy.is_action_permitted("sns:Publish", arn).name == "DENIED", arn
