"""Create Auth Challenge answers before Cognito gives up: every AWS call shares one deadline from the Lambda context.

The stalled services are real sockets on 127.0.0.1 that accept the request and never
answer, so botocore's own timeouts (seconds) would come far too late; the deadline
is what ends the wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from sms_otp.core.errors import DeadlineExceededError
from sms_otp.core.time_budget import ANSWER_MARGIN_SECONDS, DYNAMODB_CONFIG, RELEASE_GRACE_SECONDS, SNS_CONFIG, Deadline
from sms_otp.limits.errors import SendLimitError
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.sending.delivery import SmsPublisher
from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.testkit.events import EventLoader
from tests.testkit.metrics import metric_dimensions
from tests.testkit.stalled_endpoint import StalledEndpoint

pytestmark = pytest.mark.unit

IN_TIME_REFUSAL = "We could not send a code in time. Please try again in a moment."


@dataclass(frozen=True)
class ShortContext:
    """A Lambda context with ``remaining_ms`` left: a short deadline keeps the test short."""

    remaining_ms: int = 1_200
    function_name: str = "sms-otp-test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sms-otp-test-function"
    aws_request_id: str = "5f1e0c2a-aaaa-bbbb-cccc-deadbeefcafe"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stalled(loopback_network: None) -> Iterator[StalledEndpoint]:
    with StalledEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def create(aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("create_auth_challenge")


def track_calls(obj: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Wrap ``obj.name`` so the returned event is set once every call to it has ended (they may outlive the invocation)."""
    method = getattr(obj, name)
    ended = threading.Event()

    def tracked(*args: Any, **kwargs: Any) -> Any:
        ended.clear()
        try:
            return method(*args, **kwargs)
        finally:
            ended.set()

    monkeypatch.setattr(obj, name, tracked)
    return ended


# ---------------------------------------------------------------- the deadline itself ---


def test_the_deadline_is_the_contexts_remaining_time_less_the_margin() -> None:
    # GIVEN 5 s left in the invocation, as Lambda's context says at the start of a Create invocation
    clock = FakeMonotonic()
    deadline = Deadline.from_context(ShortContext(remaining_ms=5_000), clock=clock)

    # WHEN / THEN the calls must answer within 4.5 s: half a second is kept to refuse and return
    assert ANSWER_MARGIN_SECONDS == 0.5
    assert deadline.remaining() == pytest.approx(4.5)
    clock.now += 4.5
    assert deadline.remaining() == pytest.approx(0.0)


def test_giving_back_an_allowance_may_use_part_of_the_margin() -> None:
    # GIVEN a deadline just past
    clock = FakeMonotonic()
    deadline = Deadline.from_context(ShortContext(remaining_ms=500), clock=clock)

    # WHEN / THEN tidying up after the refusal gets the grace, within the margin; no deadline stays none
    assert deadline.with_grace().remaining() == pytest.approx(RELEASE_GRACE_SECONDS)
    assert RELEASE_GRACE_SECONDS < ANSWER_MARGIN_SECONDS
    assert Deadline.unbounded().with_grace().remaining() is None


def test_past_the_deadline_no_call_starts() -> None:
    # GIVEN a deadline already past
    clock = FakeMonotonic()
    deadline = Deadline.from_context(ShortContext(remaining_ms=400), clock=clock)
    calls: list[int] = []

    # WHEN / THEN a call is refused without being made, and marked as never started
    with pytest.raises(DeadlineExceededError) as refusal:
        deadline.call(calls.append, 1)
    assert (calls, refusal.value.abandoned, str(refusal.value)) == ([], False, IN_TIME_REFUSAL)


def test_an_unbounded_deadline_calls_in_the_callers_thread() -> None:
    # GIVEN no deadline
    threads: list[threading.Thread] = []

    # WHEN / THEN the call runs here, directly
    assert Deadline.unbounded().call(lambda: threads.append(threading.current_thread()) or "answer") == "answer"
    assert threads == [threading.current_thread()]
    assert Deadline.unbounded().remaining() is None


# ---------------------------------------------------------------- Create against stalled services ---


def test_a_stalled_sns_still_gets_a_clear_refusal_within_the_deadline(
    *,
    create: ModuleType,
    stalled: StalledEndpoint,
    load_event: EventLoader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN SNS taking the publish and never answering (botocore alone would wait 2 x 1.5 s, past Cognito's 5 s)
    stalled_sns = boto3.client("sns", region_name="us-east-1", endpoint_url=stalled.url, config=SNS_CONFIG)
    create.PUBLISHER = SmsPublisher(create.SETTINGS, stalled_sns)
    publish_ended = track_calls(create.PUBLISHER, "_publish", monkeypatch)

    # WHEN a sign-in starts with 1.2 s left in the invocation
    with pytest.raises(DeadlineExceededError) as refusal:
        create.lambda_handler(load_event("create_auth_challenge"), ShortContext(remaining_ms=1_200))

    # THEN the trigger answers with a clear refusal, leaving the publish behind it, still under way
    assert str(refusal.value) == IN_TIME_REFUSAL
    assert refusal.value.abandoned is True
    assert stalled.wait_for_requests(1, timeout=30)

    # AND since the message may still go out, its reservation stays: a new sign-in at once meets the interval
    with pytest.raises(SendLimitError):
        create.LIMITS.admit("+14155550123", new_round=True, send=True)
    stalled.close()
    assert publish_ended.wait(timeout=30)


def test_a_stalled_limits_table_refuses_within_the_deadline_and_sends_nothing(
    *,
    create: ModuleType,
    stalled: StalledEndpoint,
    sns_outbox: Any,
    load_event: EventLoader,
    monkeypatch: pytest.MonkeyPatch,
    logs: Any,
) -> None:
    # GIVEN DynamoDB taking the requests and never answering
    stalled_dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stalled.url, config=DYNAMODB_CONFIG)
    create.LIMITS = DynamoDbLimitStore(create.LIMITS.table_name, create.LIMITS.policy, stalled_dynamodb)
    read_ended = track_calls(stalled_dynamodb, "batch_get_item", monkeypatch)

    # WHEN a sign-in starts with 1.2 s left
    with pytest.raises(DeadlineExceededError) as refusal:
        create.lambda_handler(load_event("create_auth_challenge"), ShortContext(remaining_ms=1_200))

    # THEN the trigger answers with the clear refusal, counted as such, and no code went out
    assert str(refusal.value) == IN_TIME_REFUSAL
    assert {"service": "sms-otp", "reason": "deadline"} in metric_dimensions(logs.stdout, "SendRefusals")
    assert sns_outbox.topic_messages() == []
    stalled.close()
    assert read_ended.wait(timeout=30)


def test_an_unknown_users_imitated_send_never_outlasts_the_deadline() -> None:
    # GIVEN recent real sends of about 2 s, and 0.3 s left before the deadline
    slept: list[float] = []
    latency = LatencyMimic(default_seconds=2.0, sleep=slept.append)

    # WHEN an unknown user's send is imitated
    latency.imitate(at_most_seconds=0.3)
    latency.imitate(at_most_seconds=-1.0)

    # THEN it sleeps until the deadline at most, and not at all past it
    assert slept == [0.3, 0.0]


class StallingBudgetUpdate:
    """The moto client, except that the first update of a budget counter waits until ``resume`` is set, then goes on."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.resume = threading.Event()
        self.ended = threading.Event()
        self._stalled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **request: Any) -> Any:
        if request["Key"]["pk"]["S"].startswith("budget#") and not self._stalled:
            self._stalled = True
            self.resume.wait(timeout=30)
            try:
                return self._client.update_item(**request)
            finally:
                self.ended.set()
        return self._client.update_item(**request)


def test_a_deadline_passed_after_the_numbers_limits_were_recorded_gives_them_back(
    *, create: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the number's send recorded, then the budget's update stalling past the deadline
    stalling = StallingBudgetUpdate(create.LIMITS.client)
    create.LIMITS.client = stalling

    # WHEN a sign-in starts with 1.2 s left
    with pytest.raises(DeadlineExceededError):
        create.lambda_handler(load_event("create_auth_challenge"), ShortContext(remaining_ms=1_200))
    stalling.resume.set()
    assert stalling.ended.wait(timeout=30)

    # THEN no code went out, and the person's retry at once is not told to wait: it gets a code
    assert sns_outbox.topic_messages() == []
    create.lambda_handler(load_event("create_auth_challenge"), lambda_context)
    [message] = sns_outbox.topic_messages()
    assert message["Message"].startswith("Your sign-in code is ")
