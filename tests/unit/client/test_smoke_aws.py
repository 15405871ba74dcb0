"""The smoke script's own logic: which parameters a pool needs, and how a difference in the pool is reported."""

from __future__ import annotations

import pytest

from sms_otp_client.smoke_aws import differences, stack_parameters

pytestmark = pytest.mark.unit


def test_the_pools_own_sms_role_and_key_become_the_stacks_parameters() -> None:
    pool = {
        "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/scratch-sms"},
        "LambdaConfig": {"KMSKeyID": "arn:aws:kms:us-east-1:123456789012:key/k"},
    }
    assert stack_parameters(pool, "us-east-1_Scratch1", replace_existing_triggers=False) == {
        "ExistingUserPoolId": "us-east-1_Scratch1",
        "ExistingPoolTriggers": "Passwordless",
        "TestMode": "true",
        "ReplaceExistingTriggers": "false",
        "ExistingPoolSmsRoleArn": "arn:aws:iam::123456789012:role/scratch-sms",
        "ExistingPoolKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
    }
    assert "ExistingPoolSmsRoleArn" not in stack_parameters({}, "us-east-1_Scratch1", replace_existing_triggers=True)


def test_every_difference_is_named_by_its_path_with_both_values() -> None:
    before = {"DescribeUserPool": {"LambdaConfig": {"PreSignUp": "a"}, "Policies": {"X": 1}}, "GetUserPoolMfaConfig": {"M": "ON"}}
    after = {"DescribeUserPool": {"LambdaConfig": {}, "Policies": {"X": 1}}, "GetUserPoolMfaConfig": {"M": "OFF"}}
    assert differences(before, after) == [
        'DescribeUserPool.LambdaConfig.PreSignUp: "a" -> null',
        'GetUserPoolMfaConfig.M: "ON" -> "OFF"',
    ]
    assert differences(before, before) == []
