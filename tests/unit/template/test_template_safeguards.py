"""The stack's safeguards, as CloudFormation would create them from template.yaml.

Publishing limited to phone numbers, an end for the Custom SMS Sender's retries with
a record of what it gave up on, what a deletion keeps, the optional web ACL and the
administrator-only sign-up mode: each checked on the transformed template, for the
parameter values that change it, with a pool of the stack's own and an existing one.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from sms_otp.existing_pool.attachment_records import RECORD_KEY_PREFIX
from sms_otp.sign_in.code_destinations import DESTINATION_KEY_PREFIX
from tests.testkit.template import load_template as load_raw_template
from tests.unit.template.test_template_snapshot import load_template, normalised_resources

pytestmark = pytest.mark.unit

EXISTING_POOL_ID = "us-east-1_Example12"
PROD = {"Stage": "prod", "AllowedCountryCodes": "1,44"}
NEW_POOL = {"TestMode": "false"}
EXISTING_POOL = {"ExistingUserPoolId": EXISTING_POOL_ID, "ExistingPoolTriggers": "Passwordless", "TestMode": "false"}
SENDER_ONLY_POOL = {"ExistingUserPoolId": EXISTING_POOL_ID, "ExistingPoolTriggers": "CustomSmsSender", "TestMode": "false"}
POOLS = {"a new pool": NEW_POOL, "an existing pool": EXISTING_POOL, "an existing pool, sender only": SENDER_ONLY_POOL}
WEB_ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shared/0f3c1e9a-4b7d-4c2e-9a51-7d2f8e6b1c40"
EXISTING_POOL_ARN = {"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${ExistingUserPoolId}"}


@functools.cache
def _resources(overrides: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return normalised_resources(load_template(), dict(overrides))


def resources(**overrides: str) -> dict[str, Any]:
    """The resources CloudFormation would create for the template's defaults with ``overrides``."""
    return _resources(tuple(sorted(overrides.items())))


def grants(role: dict[str, Any], service: str) -> dict[str, Any]:
    return {name: conditions for name, conditions in role["Properties"]["Grants"].items() if f" {service}:" in name}


# ---------------------------------------------------------------- publishing: phone numbers only ---

PARTITION = "aws"
PHONE_NUMBER = "+14155550123"  # SNS authorises a publish to a phone number on the number itself
ANOTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:sms-otp-alarms"
A_TOPIC_ELSEWHERE = "arn:aws:sns:eu-west-1:210987654321:payments.fifo"
A_PLATFORM_ENDPOINT = "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/5e3e9847-3183-3f18-a7e8-671c3a57d4b3"
TEST_TOPIC = "arn:aws:sns:us-east-1:123456789012:sms-otp-test-mode"


def _policy_of(role: dict[str, Any]) -> IAMPolicy:
    """The role's SNS grants as one policy document, references written out as ARNs of this account."""
    statements = []
    for name in grants(role, "sns"):
        effect, action, target = re.fullmatch(r"(Allow|Deny) (\S+) on (.+)", name).groups()  # type: ignore[union-attr]
        resource = json.loads(target) if target.startswith("{") else target
        if resource == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}:
            resource = f"arn:{PARTITION}:sns:*:*:*"
        elif resource == {"Ref": "TestModeTopic"}:
            resource = TEST_TOPIC
        assert isinstance(resource, str), f"unexpected SNS resource {resource}"
        statements.append({"Effect": effect, "Action": action, "Resource": resource})
    return IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": statements}))


def _sms_roles(created: dict[str, Any]) -> list[str]:
    return [role for role in ("CreateAuthChallengeRole", "CustomSmsSenderRole") if role in created]


@pytest.mark.parametrize("pool", POOLS)
def test_outside_test_mode_the_sending_roles_may_publish_to_phone_numbers_only(pool: str) -> None:
    # GIVEN the roles of Create and the sender outside test mode
    created = resources(**POOLS[pool])
    for role in _sms_roles(created):
        policy = _policy_of(created[role])

        # WHEN / THEN a text to a phone number is allowed, and every topic and platform endpoint is denied outright
        assert policy.is_action_permitted("sns:Publish", PHONE_NUMBER) == PermissionResult.PERMITTED, role
        for arn in (ANOTHER_TOPIC, A_TOPIC_ELSEWHERE, A_PLATFORM_ENDPOINT, TEST_TOPIC):
            assert policy.is_action_permitted("sns:Publish", arn) == PermissionResult.DENIED, (role, arn)
    # AND no other role may publish at all, but Cognito's own SMS role
    publishers = {logical_id for logical_id, r in created.items() if r["Type"] == "AWS::IAM::Role" and grants(r, "sns")}
    assert publishers == set(_sms_roles(created)) | ({"CognitoSmsRole"} if pool == "a new pool" else set())


@pytest.mark.parametrize("pool", POOLS)
def test_in_test_mode_the_sending_roles_may_publish_to_the_test_topic_only(pool: str) -> None:
    created = resources(**{**POOLS[pool], "TestMode": "true"})
    for role in _sms_roles(created):
        policy = _policy_of(created[role])
        assert policy.is_action_permitted("sns:Publish", TEST_TOPIC) == PermissionResult.PERMITTED, role
        for resource in (PHONE_NUMBER, ANOTHER_TOPIC, A_PLATFORM_ENDPOINT):
            assert policy.is_action_permitted("sns:Publish", resource) != PermissionResult.PERMITTED, (role, resource)


def test_the_deny_names_the_stacks_partition() -> None:
    # GIVEN the deny as written / THEN it covers every SNS ARN of the partition the stack is deployed in
    sender = resources(**NEW_POOL)["CustomSmsSenderRole"]
    assert grants(sender, "sns")['Deny sns:Publish on {"Fn::Sub":"arn:${AWS::Partition}:sns:*:*:*"}'] == {}


# ---------------------------------------------------------------- the sender's retries and their end ---

QUEUE = {"Fn::GetAtt": ["UndeliveredSmsQueue", "Arn"]}
# Lambda waits about a minute before the first retry of an asynchronous invocation and two before the second.
WAIT_BEFORE_RETRIES_SECONDS = (60, 120)


@pytest.mark.parametrize("pool", POOLS)
def test_the_sender_is_retried_twice_within_five_minutes_then_recorded_in_the_queue(pool: str) -> None:
    # GIVEN the resources for this pool
    created = resources(**POOLS[pool])

    # THEN the sender's asynchronous invocations end after 2 retries or 300 s, in the queue
    assert created["CustomSmsSenderEventInvokeConfig"] == {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "Properties": {
            "FunctionName": {"Ref": "CustomSmsSenderFunction"},
            "Qualifier": "$LATEST",
            "MaximumEventAgeInSeconds": 300,
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
        },
    }
    # AND the queue is encrypted by SQS (no key for the sender to be granted) and keeps records 4 days
    assert created["UndeliveredSmsQueue"]["Properties"] == {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 345600}
    # AND the sender's role may send to that queue, and no role may do anything else with SQS
    sqs_grants = {logical_id: grants(r, "sqs") for logical_id, r in created.items() if r["Type"] == "AWS::IAM::Role"}
    assert {logical_id: granted for logical_id, granted in sqs_grants.items() if granted} == {
        "CustomSmsSenderRole": {f"Allow sqs:SendMessage on {json.dumps(QUEUE, separators=(',', ':'))}": {}}
    }


def test_the_event_age_leaves_room_for_both_retries() -> None:
    # GIVEN the sender's timeout and its invoke configuration
    created = resources(**NEW_POOL)
    timeout = created["CustomSmsSenderFunction"]["Properties"]["Timeout"]
    config = created["CustomSmsSenderEventInvokeConfig"]["Properties"]

    # WHEN every attempt runs to its timeout / THEN the last retry still starts before the event is too old
    assert config["MaximumRetryAttempts"] == len(WAIT_BEFORE_RETRIES_SECONDS)
    assert sum(WAIT_BEFORE_RETRIES_SECONDS) + config["MaximumRetryAttempts"] * timeout < config["MaximumEventAgeInSeconds"]


def test_a_record_in_the_queue_raises_the_alarm() -> None:
    alarm = resources(**NEW_POOL)["UndeliveredSmsAlarm"]["Properties"]
    assert {key: alarm[key] for key in ("Namespace", "MetricName", "Dimensions", "Statistic", "Threshold", "ComparisonOperator")} == {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["UndeliveredSmsQueue", "QueueName"]}}],
        "Statistic": "Maximum",
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["TreatMissingData"] == "notBreaching"


# ---------------------------------------------------------------- what a deletion keeps ---

# On delete and on replacement, for a prod stack that created its pool.
RETAINED = {
    "UserPool": ("Retain", "Retain"),
    "UserPoolClient": ("Retain", "Delete"),
    "SmsKey": ("Retain", "Retain"),
    "LimitsTable": ("Retain", "Retain"),
}


def _policies(created: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each resource's (DeletionPolicy, UpdateReplacePolicy) where either is not Delete."""
    policies = {
        logical_id: (r.get("DeletionPolicy", "Delete"), r.get("UpdateReplacePolicy", "Delete")) for logical_id, r in created.items()
    }
    return {logical_id: policy for logical_id, policy in policies.items() if policy != ("Delete", "Delete")}


def test_a_prod_stack_keeps_its_pool_app_client_key_and_table() -> None:
    # GIVEN Stage=prod with a pool of the stack's own / THEN exactly these outlive a deletion, or a replacement
    assert _policies(resources(**PROD, **NEW_POOL)) == RETAINED


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({**NEW_POOL}, id="dev"),
        pytest.param({**NEW_POOL, "TestMode": "true"}, id="dev in test mode"),
        pytest.param({**PROD, **EXISTING_POOL}, id="prod on an existing pool"),
        pytest.param({**PROD, **SENDER_ONLY_POOL}, id="prod on an existing pool, sender only"),
    ],
)
def test_otherwise_a_deletion_keeps_nothing(overrides: dict[str, str]) -> None:
    assert _policies(resources(**overrides)) == {}


def test_the_prod_pool_keeps_its_deletion_protection() -> None:
    assert resources(**PROD, **NEW_POOL)["UserPool"]["Properties"]["DeletionProtection"] == "ACTIVE"


# ---------------------------------------------------------------- AWS WAF ---

TARGET = "AWSCognitoIdentityProviderService.{}"
# Public operations that send a code, check one, or create an account: counted per IP address.
COUNTED = (
    "SignUp",
    "ConfirmSignUp",
    "ResendConfirmationCode",
    "InitiateAuth",
    "RespondToAuthChallenge",
    "ForgotPassword",
    "ConfirmForgotPassword",
    # A signed-in user's calls that text a code to a phone number, which may be a new one each time.
    "UpdateUserAttributes",
    "GetUserAttributeVerificationCode",
    "VerifyUserAttribute",
)
# Operations of a signed-in user that send no text, and the refresh of tokens: never counted.
NOT_COUNTED = ("GetUser", "GlobalSignOut", "RevokeToken", "ChangePassword", "GetTokensFromRefreshToken", "AssociateSoftwareToken")
WAF_TYPES = {"AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation"}


def _waf(created: dict[str, Any]) -> dict[str, Any]:
    return {logical_id: r for logical_id, r in created.items() if r["Type"] in WAF_TYPES}


@pytest.mark.parametrize("pool", POOLS)
def test_no_web_acl_by_default(pool: str) -> None:
    assert _waf(resources(**POOLS[pool])) == {}


@pytest.mark.parametrize(
    ("pool", "pool_arn"), [("a new pool", {"Fn::GetAtt": ["UserPool", "Arn"]}), ("an existing pool", EXISTING_POOL_ARN)]
)
def test_a_created_web_acl_limits_each_ip_address_on_the_pool(pool: str, pool_arn: dict[str, Any]) -> None:
    # GIVEN WebAcl=create
    waf = _waf(resources(**POOLS[pool], WebAcl="create"))

    # THEN the stack's web ACL allows by default and has one rule: a block per IP address past the rate
    assert set(waf) == {"UserPoolWebAcl", "UserPoolWebAclAssociation"}
    acl = waf["UserPoolWebAcl"]["Properties"]
    assert (acl["Scope"], acl["DefaultAction"]) == ("REGIONAL", {"Allow": {}})
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rule["Action"], rate["AggregateKeyType"], rate["EvaluationWindowSec"], rate["Limit"]) == (
        {"Block": {}},
        "IP",
        300,
        {"Ref": "WebAclRateLimit"},
    )
    # AND it is associated with the pool
    assert waf["UserPoolWebAclAssociation"]["Properties"] == {
        "ResourceArn": pool_arn,
        "WebACLArn": {"Fn::GetAtt": ["UserPoolWebAcl", "Arn"]},
    }


def test_the_rule_counts_sign_up_sign_in_and_code_requests_only() -> None:
    # GIVEN the rule's scope: the operation named in the X-Amz-Target header
    acl = resources(**NEW_POOL, WebAcl="create")["UserPoolWebAcl"]["Properties"]
    scope = acl["Rules"][0]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["RegexMatchStatement"]
    assert scope["FieldToMatch"] == {"SingleHeader": {"Name": "x-amz-target"}}
    assert scope["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]
    pattern = re.compile(scope["RegexString"])

    # WHEN / THEN it matches the operations that cost an SMS, check a code or create an account, and no other
    assert [operation for operation in COUNTED if not pattern.search(TARGET.format(operation))] == []
    assert [operation for operation in NOT_COUNTED if pattern.search(TARGET.format(operation))] == []
    assert not pattern.search(TARGET.format("SignUpX"))
    assert not pattern.search("XAWSCognitoIdentityProviderService.SignUp")


@pytest.mark.parametrize("pool", ["a new pool", "an existing pool"])
def test_a_web_acl_of_your_own_is_associated_and_none_is_created(pool: str) -> None:
    waf = _waf(resources(**POOLS[pool], WebAcl=WEB_ACL_ARN))
    assert set(waf) == {"UserPoolWebAclAssociation"}
    assert waf["UserPoolWebAclAssociation"]["Properties"]["WebACLArn"] == {"Ref": "WebAcl"}


def test_the_web_acl_parameter_takes_create_or_a_regional_web_acl_arn() -> None:
    pattern = re.compile(load_raw_template()["Parameters"]["WebAcl"]["AllowedPattern"])
    for accepted in ("", "create", WEB_ACL_ARN, WEB_ACL_ARN.replace("arn:aws:", "arn:aws-us-gov:")):
        assert pattern.fullmatch(accepted), accepted
    for refused in ("Create", WEB_ACL_ARN.replace("regional", "global"), "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/x/y"):
        assert not pattern.fullmatch(refused), refused


def test_the_web_acl_output_exists_only_with_a_web_acl() -> None:
    assert load_raw_template()["Outputs"]["WebAclArn"]["Condition"] == "AssociatesWebAcl"
    assert load_raw_template()["Conditions"]["AssociatesWebAcl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebAcl"}, ""]}]}


# ---------------------------------------------------------------- who may create accounts ---


@pytest.mark.parametrize(("self_sign_up", "admin_only"), [("true", False), ("false", True)])
def test_self_sign_up_false_lets_only_an_administrator_create_users(self_sign_up: str, admin_only: bool) -> None:
    pool = resources(**NEW_POOL, SelfSignUp=self_sign_up)["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": admin_only}


# ---------------------------------------------------------------- the records of an existing pool's triggers ---

ON_LIMITS_TABLE = ' on {"Fn::GetAtt":["LimitsTable","Arn"]}'
RECORDS = [f"{RECORD_KEY_PREFIX}*"]
CREATE_DELETES = f"Allow dynamodb:DeleteItem{ON_LIMITS_TABLE}"
ONLY_CODE_DESTINATIONS = {"Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{DESTINATION_KEY_PREFIX}*"]}}}


def _table_grants(role: dict[str, Any]) -> dict[str, Any]:
    return {name: conditions for name, conditions in grants(role, "dynamodb").items() if name.endswith(ON_LIMITS_TABLE)}


@pytest.mark.parametrize("pool", POOLS)
def test_only_the_attach_function_may_touch_the_records_of_an_existing_pools_triggers(pool: str) -> None:
    # GIVEN every role that may use the limits table
    created = resources(**POOLS[pool])
    roles = {logical_id: _table_grants(r) for logical_id, r in created.items() if r["Type"] == "AWS::IAM::Role" and _table_grants(r)}
    assert "CustomSmsSenderRole" in roles

    for logical_id, table_grants in roles.items():
        if logical_id == "ExistingUserPoolTriggersRole":
            # THEN the attach function reaches its records and nothing else
            expected = {"Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": RECORDS}}}
        else:
            # AND no trigger can read or write a record: one written by a trigger would choose
            # the functions the pool gets back when the stack is deleted
            expected = {"Condition": {"ForAllValues:StringNotLike": {"dynamodb:LeadingKeys": RECORDS}}}
        assert table_grants, logical_id
        # (Create's removal of a code's destination record reaches those records only, none of the attach function's.)
        code_destinations = {"Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{DESTINATION_KEY_PREFIX}*"]}}}
        assert all(
            conditions == expected
            or (logical_id, name, conditions)
            == ("CreateAuthChallengeRole", f"Allow dynamodb:DeleteItem{ON_LIMITS_TABLE}", code_destinations)
            for name, conditions in table_grants.items()
        ), (logical_id, table_grants)


@pytest.mark.parametrize("pool", ["a new pool", "an existing pool"])
def test_create_may_remove_a_codes_destination_record_and_no_other_item(pool: str) -> None:
    # GIVEN the roles of a stack with the passwordless triggers
    created = resources(**POOLS[pool])

    # WHEN their DeleteItem grants on the limits table are read
    deletes = {
        logical_id: {name: conditions for name, conditions in _table_grants(r).items() if " dynamodb:DeleteItem " in name}
        for logical_id, r in created.items()
        if r["Type"] == "AWS::IAM::Role" and logical_id != "ExistingUserPoolTriggersRole"
    }

    # THEN Create alone may delete, and only the records of where a code went (it removes its own when a send certainly failed)
    assert {logical_id: grant for logical_id, grant in deletes.items() if grant} == {
        "CreateAuthChallengeRole": {
            f"Allow dynamodb:DeleteItem{ON_LIMITS_TABLE}": {
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{DESTINATION_KEY_PREFIX}*"]}}
            }
        }
    }
