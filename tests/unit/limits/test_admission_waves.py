"""One admission's writes go out side by side: what is given back when some of them fail, and what goes with them.

The rules are in sms_otp.limits.admission's docstring: a message is admitted only if
every write succeeded; what succeeded beside a failure is given back; a write that
failed took nothing; the caller's write that goes with them (the exactly-once claim)
is written once and undone when the message certainly does not go out.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sms_otp.core.errors import DeadlineExceededError, DeliveryError
from sms_otp.core.time_budget import Deadline, together
from sms_otp.limits.errors import RangeStoppedError
from sms_otp.limits.keys import subject_key
from tests.unit.limits.limits_kit import PHONE, store

pytestmark = pytest.mark.unit

RANGE = "+1415"


def conditional_check_failed(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "refused"}}, operation)  # type: ignore[arg-type]


class FillingTheRange:
    """The moto client, except that the range's bucket fills (another invocation took its last place) just before our count."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **request: Any) -> Any:
        key = request["Key"]["pk"]["S"]
        if key.startswith("pumping#") and "sent < :cap" in request.get("ConditionExpression", ""):
            raise conditional_check_failed("UpdateItem")
        return self._client.update_item(**request)


class LosingTheFirstPut:
    """The moto client, except that another invocation writes the number's item just before our first write of it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.lost = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **request: Any) -> Any:
        if request["Item"]["pk"]["S"].startswith("subject#") and not self.lost:
            self.lost = True
            raise conditional_check_failed("PutItem")
        return self._client.put_item(**request)


class RecordingClaim:
    """Stands in for the exactly-once claim: counts its writes and undoes, or refuses with ``refusal``."""

    def __init__(self, refusal: Exception | None = None) -> None:
        self.writes = 0
        self.undone = 0
        self.refusal = refusal

    def write(self, deadline: Deadline) -> None:
        self.writes += 1
        if self.refusal is not None:
            raise self.refusal

    def undo(self, deadline: Deadline) -> None:
        self.undone += 1


def sent_counts() -> dict[str, int]:
    """What every counter holds, by kind (budget shares, a country's slice, a range's buckets)."""
    counts: dict[str, int] = {}
    for item in boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]:
        key = item["pk"]["S"]
        kind = "country" if "#country+" in key else key.split("#")[0]
        counts[kind] = counts.get(kind, 0) + int(item.get("sent", {}).get("N", "0"))
    return {kind: sent for kind, sent in counts.items() if sent}


def sends_held(phone_number: str = PHONE) -> int:
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName="sms-otp-limits", Key={"pk": {"S": subject_key(phone_number)}}
    )
    return len(item.get("Item", {}).get("sent_at", {}).get("L", []))


def test_a_counter_that_filled_beside_the_numbers_write_refuses_and_everything_else_is_given_back(aws: None) -> None:
    # GIVEN a range whose last place is taken between our read and our count
    limits = store()
    limits.client = FillingTheRange(limits.client)
    claim = RecordingClaim()

    # WHEN a sign-in code is asked for, with a claim beside it
    with pytest.raises(RangeStoppedError):
        limits.admit(PHONE, new_round=True, send=True, number_range=RANGE, phone_number=PHONE, alongside=claim)

    # THEN the number's item written beside the count holds no send, the budget and the country's slice are taken back,
    # and the claim is undone
    assert sends_held() == 0
    assert sent_counts() == {}
    assert (claim.writes, claim.undone) == (1, 1)


def test_a_lost_race_gives_back_the_counters_and_keeps_the_claim_for_the_next_attempt(aws: None) -> None:
    # GIVEN another invocation writing the number's item between our read and our write, once
    limits = store()
    limits.client = LosingTheFirstPut(limits.client)
    claim = RecordingClaim()

    # WHEN a sign-in code is asked for, with a claim beside it
    reservation = limits.admit(PHONE, new_round=True, send=True, number_range=RANGE, phone_number=PHONE, alongside=claim)

    # THEN it is admitted on the second attempt, every counter counts it once, and the claim was written once, not undone
    assert sends_held() == 1
    assert sent_counts() == {"budget": 1, "country": 1, "pumping": 1}
    assert (claim.writes, claim.undone) == (1, 0)
    # AND giving the message back undoes the claim with the rest
    limits.release(reservation)
    assert (sends_held(), sent_counts(), claim.undone) == (0, {}, 1)


def test_a_claim_that_refuses_gives_back_the_admission(aws: None) -> None:
    # GIVEN a claim that finds its message sent already (Lambda's retry of a publish that may have gone out), as the range fills
    limits = store()
    limits.client = FillingTheRange(limits.client)
    claim = RecordingClaim(refusal=DeliveryError("sent already", retryable=False, may_have_been_sent=False))

    # WHEN / THEN the admission raises the claim's refusal (not the range's), and holds nothing
    with pytest.raises(DeliveryError, match="sent already"):
        limits.admit(PHONE, new_round=False, send=True, number_range=RANGE, phone_number=PHONE, alongside=claim)
    assert (sends_held(), sent_counts(), claim.undone) == (0, {}, 0)


def test_a_message_the_read_refuses_writes_no_claim(aws: None) -> None:
    # GIVEN a message just sent to the number
    limits = store()
    limits.admit(PHONE, new_round=False, send=True)
    claim = RecordingClaim()

    # WHEN / THEN another at once is refused by the read, before any write
    with pytest.raises(Exception, match="Too many codes"):
        limits.admit(PHONE, new_round=False, send=True, alongside=claim)
    assert (claim.writes, claim.undone) == (0, 0)


# ---------------------------------------------------------------- together ---


def test_tasks_run_together_and_each_outcome_comes_back_in_order() -> None:
    # GIVEN three tasks that each wait for the other two (run one after another, they would never meet)
    meeting = threading.Barrier(3, timeout=30)

    def meet(value: int) -> int:
        meeting.wait()
        if value == 2:
            raise ValueError("the second failed")
        return value

    # WHEN they run together
    outcomes = together([lambda: meet(1), lambda: meet(2), lambda: meet(3)], Deadline.unbounded())

    # THEN all met, and their values and errors come back in order, nothing raised
    assert [outcome.value for outcome in outcomes] == [1, None, 3]
    assert isinstance(outcomes[1].error, ValueError)
    assert [outcome.succeeded for outcome in outcomes] == [True, False, True]


def test_past_the_deadline_no_task_starts() -> None:
    # GIVEN a deadline already passed
    started: list[int] = []

    # WHEN tasks are run together
    outcomes = together([lambda: started.append(1)], Deadline(0.0, clock=lambda: 1.0))

    # THEN none started: unfinished, and not left running
    assert started == []
    assert [(outcome.finished, outcome.abandoned) for outcome in outcomes] == [(False, False)]


def test_a_task_still_running_at_the_deadline_is_left_running() -> None:
    # GIVEN a task that waits until it is let go, and a deadline it will outlast
    let_go = threading.Event()

    # WHEN it runs together with one that answers at once
    outcomes = together([lambda: let_go.wait(30), lambda: "answered"], Deadline.from_context(_Remaining(600), margin_seconds=0.5))
    let_go.set()

    # THEN the one that answered is back, and the other is reported as left running (it may still complete)
    assert outcomes[1].value == "answered"
    assert (outcomes[0].finished, outcomes[0].abandoned) == (False, True)


def test_an_inline_deadline_calls_in_the_callers_thread_and_never_past_it() -> None:
    # GIVEN a deadline's inline form, in time and past it
    in_time = Deadline.unbounded().inline()
    past = Deadline(0.0, clock=lambda: 1.0).inline()

    # WHEN / THEN the call runs in this thread; past the deadline it never starts
    assert in_time.call(threading.get_ident) == threading.get_ident()
    assert Deadline(10.0, clock=lambda: 1.0).inline().call(threading.get_ident) == threading.get_ident()
    with pytest.raises(DeadlineExceededError) as refusal:
        past.call(threading.get_ident)
    assert refusal.value.abandoned is False


class _Remaining:
    def __init__(self, milliseconds: int) -> None:
        self.milliseconds = milliseconds

    def get_remaining_time_in_millis(self) -> int:
        return self.milliseconds
