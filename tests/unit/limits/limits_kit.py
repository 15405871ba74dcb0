"""What the limits tests share: a number, a start time, the default policy, a fake clock and a store in moto."""

from __future__ import annotations

import boto3

from sms_otp.core.settings import LimitPolicy
from sms_otp.limits.store import DynamoDbLimitStore
from tests.testkit.clock import FakeClock

PHONE = "+14155550123"
OTHER_PHONE = "+14155550124"
START = 1_800_000_000
DEFAULTS = LimitPolicy()


def store(policy: LimitPolicy = DEFAULTS, clock: FakeClock | None = None, table: str = "sms-otp-limits") -> DynamoDbLimitStore:
    # No back-off sleeps: races are decided by the order of requests, never by the wall clock.
    return DynamoDbLimitStore(
        table, policy, boto3.client("dynamodb", region_name="us-east-1"), clock or FakeClock(), sleep=lambda _seconds: None
    )
