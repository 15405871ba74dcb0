"""After a sign-in, two round trips: the reset beside the read of whether the number is known, then the known record beside the completion.

A completion counts once per number that becomes known, as when the writes ran one after another,
whatever another sign-in does between the read and the write.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from sms_otp.limits import pumping
from sms_otp.limits.keys import known_key
from tests.unit.limits.limits_kit import PHONE, FakeClock, store

pytestmark = pytest.mark.unit

RANGE = "+1415"


class ReadingKnownAs:
    """The moto client, except that the read of the number's known record finds ``item`` (a read made before another write)."""

    def __init__(self, client: Any, item: dict[str, Any] | None) -> None:
        self._client = client
        self._item = item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_item(self, **request: Any) -> Any:
        if request["Key"]["pk"]["S"] == known_key(PHONE):
            return {"Item": self._item} if self._item is not None else {}
        return self._client.get_item(**request)


def completions() -> int:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]
    return sum(int(item.get("completed", {}).get("N", "0")) for item in items if item["pk"]["S"].startswith(pumping.KEY_PREFIX))


def known_record(known_until: int) -> dict[str, Any]:
    return {"pk": {"S": known_key(PHONE)}, "known_until": {"N": str(known_until)}, "expires_at": {"N": str(known_until)}}


def test_a_number_another_sign_in_made_known_since_the_read_counts_no_completion(aws: None) -> None:
    # GIVEN a sign-in code sent to a fresh number, and another sign-in of the number recording it known after our read
    clock = FakeClock()
    limits = store(clock=clock)
    limits.admit(PHONE, new_round=True, send=True, number_range=RANGE, phone_number=PHONE)
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName="sms-otp-limits", Item=known_record(clock.now + 3600))
    limits.client = ReadingKnownAs(limits.client, None)

    # WHEN the sign-in completes
    limits.reset_failures(PHONE, number_range=RANGE)

    # THEN the completion counted beside the known record is taken back: the other sign-in's made the number known
    assert completions() == 0


def test_a_known_record_that_expired_since_the_read_counts_the_completion(aws: None) -> None:
    # GIVEN a sign-in code sent to a fresh number whose read found it known (a record that expired before the write)
    clock = FakeClock()
    limits = store(clock=clock)
    limits.admit(PHONE, new_round=True, send=True, number_range=RANGE, phone_number=PHONE)
    limits.client = ReadingKnownAs(limits.client, known_record(clock.now + 3600))

    # WHEN the sign-in completes
    limits.reset_failures(PHONE, number_range=RANGE)

    # THEN the number became known by this sign-in, and its completion is counted
    assert completions() == 1


def test_a_fresh_number_signing_in_counts_one_completion_and_then_none(aws: None) -> None:
    # GIVEN a sign-in code sent to a fresh number
    clock = FakeClock()
    limits = store(clock=clock)
    limits.admit(PHONE, new_round=True, send=True, number_range=RANGE, phone_number=PHONE)

    # WHEN the sign-in completes, and a later one (a known number's) too
    limits.reset_failures(PHONE, number_range=RANGE)
    clock.now += 60
    limits.admit(PHONE, new_round=True, send=True, number_range=RANGE, phone_number=PHONE)
    limits.reset_failures(PHONE, number_range=RANGE)

    # THEN one completion: the first made the number known
    assert completions() == 1
