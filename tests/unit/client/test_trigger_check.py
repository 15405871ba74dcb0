"""check-triggers: the stack's triggers gone from a pool (its own infrastructure code ran again) are named."""

from __future__ import annotations

from typing import Any

import pytest

from sms_otp_client.trigger_check import missing_triggers
from tests.testkit.user_pool_fakes import REGION, FakeUserPool, function_arn, key_arn
from tests.unit.existing_pool.pool_kit import a_pool

pytestmark = pytest.mark.unit

KEY_ID = "11111111-2222-4333-8444-555555555555"
FUNCTIONS = {"PreSignUpFunction": "sms-otp-PreSignUp-1", "CustomSmsSenderFunction": "sms-otp-Sender-1"}


class StackResources:
    """What CloudFormation's ListStackResources answers for the stack."""

    def get_paginator(self, _name: str) -> Any:
        summaries = [
            {"LogicalResourceId": logical_id, "PhysicalResourceId": name, "ResourceType": "AWS::Lambda::Function"}
            for logical_id, name in FUNCTIONS.items()
        ]
        summaries.append({"LogicalResourceId": "SmsKey", "PhysicalResourceId": KEY_ID, "ResourceType": "AWS::KMS::Key"})
        return type("Paginator", (), {"paginate": lambda _self, **_kw: [{"StackResourceSummaries": summaries}]})()


ATTACHED = {
    "PreSignUp": function_arn("sms-otp-PreSignUp-1"),
    "CustomSMSSender": {"LambdaArn": function_arn("sms-otp-Sender-1"), "LambdaVersion": "V1_0"},
    "KMSKeyID": key_arn(KEY_ID),
}


@pytest.mark.parametrize(
    ("lambda_config", "missing"),
    [
        (ATTACHED, []),
        ({"PreTokenGeneration": function_arn("customers-pre-token")}, ["PreSignUp", "CustomSMSSender", "KMSKeyID"]),
        ({**ATTACHED, "PreSignUp": function_arn("customers-pre-sign-up")}, ["PreSignUp"]),
    ],
    ids=["in place", "rewritten by the pool's own IaC", "one slot taken back"],
)
def test_the_slots_that_no_longer_hold_the_stacks_functions_are_named(lambda_config: dict[str, Any], missing: list[str]) -> None:
    pool = FakeUserPool(a_pool(LambdaConfig=lambda_config))
    assert missing_triggers(StackResources(), pool, "sms-otp", f"{REGION}_Distinct1") == missing
