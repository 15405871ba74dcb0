"""The role of the function that attaches to an existing pool: what each of its paths needs, on that pool's own role and key only.

Attach and delete read the pool (DescribeUserPool, GetUserPoolMfaConfig), write it
(UpdateUserPool, which hands the pool's SMS role back to Cognito and has Cognito
create grants on the keys it names), and read and write the sealed record (the table,
and the stack's key for that purpose only). Evaluated with moto's policy engine on the
transformed template; the conditions are checked as written.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from sms_otp.existing_pool.attachment_records import RECORD_PURPOSE
from tests.unit.template.test_template_safeguards import EXISTING_POOL, EXISTING_POOL_ID, SENDER_ONLY_POOL, resources

pytestmark = pytest.mark.unit

ACCOUNT = "123456789012"
POOL_ARN = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/{EXISTING_POOL_ID}"
ANOTHER_POOL_ARN = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_Another12"
SMS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/customers-sms"
ANOTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin"
POOL_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/99999999-2222-4333-8444-555555555555"
STACK_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-4333-8444-555555555555"
ANOTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/77777777-2222-4333-8444-555555555555"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/sms-otp-limits"
LOG_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/sms-otp/existing-user-pool-triggers:*"
WITH_ITS_OWN = {"ExistingPoolSmsRoleArn": SMS_ROLE, "ExistingPoolKmsKeyArn": POOL_KEY}
REFERENCES = {
    json.dumps({"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${ExistingUserPoolId}"}): POOL_ARN,
    json.dumps({"Ref": "ExistingPoolSmsRoleArn"}): SMS_ROLE,
    json.dumps({"Ref": "ExistingPoolKmsKeyArn"}): POOL_KEY,
    json.dumps({"Fn::GetAtt": ["SmsKey", "Arn"]}): STACK_KEY,
    json.dumps({"Fn::GetAtt": ["LimitsTable", "Arn"]}): TABLE,
    json.dumps({"Fn::GetAtt": ["ExistingUserPoolTriggersLogGroup", "Arn"]}): LOG_GROUP,
}


def role_policy(**overrides: str) -> tuple[IAMPolicy, dict[str, Any]]:
    """The attach function's grants as one policy (references written out), and each grant's conditions by action and ARN."""
    grants = resources(**overrides)["ExistingUserPoolTriggersRole"]["Properties"]["Grants"]
    statements, conditions = [], {}
    for name, extra in grants.items():
        effect, action, target = re.fullmatch(r"(Allow|Deny) (\S+) on (.+)", name).groups()  # type: ignore[union-attr]
        resource = REFERENCES[json.dumps(json.loads(target))] if target.startswith("{") else target
        statements.append({"Effect": effect, "Action": action, "Resource": resource})
        conditions[(action, resource)] = extra.get("Condition")
    return IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": statements})), conditions


NEEDED = [
    ("cognito-idp:DescribeUserPool", POOL_ARN),
    ("cognito-idp:GetUserPoolMfaConfig", POOL_ARN),
    ("cognito-idp:UpdateUserPool", POOL_ARN),
    ("iam:PassRole", SMS_ROLE),
    *((action, key) for action in ("kms:CreateGrant", "kms:RevokeGrant", "kms:DescribeKey") for key in (STACK_KEY, POOL_KEY)),
    ("kms:Encrypt", STACK_KEY),
    ("kms:Decrypt", STACK_KEY),
    *((action, TABLE) for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")),
]
NOT_NEEDED = [
    *((action, ANOTHER_POOL_ARN) for action in ("cognito-idp:DescribeUserPool", "cognito-idp:UpdateUserPool")),
    ("cognito-idp:DeleteUserPool", POOL_ARN),
    ("cognito-idp:SetUserPoolMfaConfig", POOL_ARN),
    ("iam:PassRole", ANOTHER_ROLE),
    *((action, ANOTHER_KEY) for action in ("kms:CreateGrant", "kms:RevokeGrant", "kms:DescribeKey", "kms:Encrypt", "kms:Decrypt")),
    ("kms:Decrypt", POOL_KEY),
    ("kms:Encrypt", POOL_KEY),
    ("kms:ScheduleKeyDeletion", STACK_KEY),
    ("dynamodb:Scan", TABLE),
]


@pytest.mark.parametrize("mode", [EXISTING_POOL, SENDER_ONLY_POOL], ids=["Passwordless", "CustomSmsSender"])
def test_the_role_may_do_what_each_path_needs_on_the_pools_own_role_and_key_and_nothing_on_others(mode: dict[str, str]) -> None:
    # GIVEN the stack deployed onto a pool with its own SMS role and KMS key, named in the parameters
    policy, conditions = role_policy(**mode, **WITH_ITS_OWN)

    # THEN every call the attach and delete paths make is allowed, and none on another pool, role or key
    for action, resource in NEEDED:
        assert policy.is_action_permitted(action, resource) == PermissionResult.PERMITTED, (action, resource)
    for action, resource in NOT_NEEDED:
        assert policy.is_action_permitted(action, resource) != PermissionResult.PERMITTED, (action, resource)
    # AND the role goes to Cognito only, and the stack's key seals records only
    assert conditions[("iam:PassRole", SMS_ROLE)] == {"StringEquals": {"iam:PassedToService": "cognito-idp.amazonaws.com"}}
    for action in ("kms:Encrypt", "kms:Decrypt"):
        assert conditions[(action, STACK_KEY)] == {"StringEquals": {"kms:EncryptionContext:purpose": RECORD_PURPOSE}}


def test_without_a_role_or_key_of_the_pools_own_the_role_may_pass_no_role_and_grant_on_the_stacks_key_only() -> None:
    policy, _ = role_policy(**EXISTING_POOL)
    assert policy.is_action_permitted("iam:PassRole", SMS_ROLE) != PermissionResult.PERMITTED
    assert policy.is_action_permitted("iam:PassRole", ANOTHER_ROLE) != PermissionResult.PERMITTED
    assert policy.is_action_permitted("kms:CreateGrant", STACK_KEY) == PermissionResult.PERMITTED
    assert policy.is_action_permitted("kms:CreateGrant", POOL_KEY) != PermissionResult.PERMITTED
