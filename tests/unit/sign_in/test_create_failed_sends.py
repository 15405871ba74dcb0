"""Create Auth Challenge: no charge without a code. The send is recorded before the publish and given back when it fails."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from sms_otp.core.errors import DeliveryError
from sms_otp.core.settings import LimitPolicy
from sms_otp.limits.errors import SendLimitError
from tests.testkit.events import EventLoader

pytestmark = pytest.mark.unit


@pytest.fixture
def create(aws: None, sns_outbox: Any, load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("create_auth_challenge")


@pytest.mark.parametrize(
    ("error_code", "http_status"),
    [pytest.param("Throttling", 400, id="SNS throttled"), pytest.param("InvalidParameter", 400, id="SNS refusing the message")],
)
def test_a_failed_publish_gives_the_send_back_so_a_retry_at_once_gets_a_code(
    *,
    create: ModuleType,
    sns_outbox: Any,
    load_event: EventLoader,
    lambda_context: object,
    error_code: str,
    http_status: int,
) -> None:
    # GIVEN SNS refusing the first publish
    with Stubber(create.PUBLISHER.client) as sns:
        sns.add_client_error("publish", service_error_code=error_code, http_status_code=http_status)

        # WHEN a sign-in starts
        # THEN the person is told the code could not be sent
        with pytest.raises(DeliveryError, match=r"^We could not send the code\. Please try again later\.$"):
            create.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # AND their retry at once is not told to wait 30 seconds: it gets a code
    event = load_event("create_auth_challenge")
    create.lambda_handler(event, lambda_context)
    [message] = sns_outbox.topic_messages()
    assert message["Message"].startswith("Your sign-in code is ")
    assert event["response"]["publicChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == "+*******0123"


def test_failed_publishes_count_no_rounds_toward_the_lockout(
    *, create: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a lockout after 3 rounds without success, and SNS failing three sign-ins in a row
    create.LIMITS.policy = LimitPolicy(lockout_threshold=3, lockout_base_seconds=900, lockout_max_seconds=900)
    with Stubber(create.PUBLISHER.client) as sns:
        for _ in range(3):
            sns.add_client_error("publish", service_error_code="InternalError", http_status_code=500)
            with pytest.raises(DeliveryError):
                create.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # WHEN SNS is back and the person tries again
    create.lambda_handler(load_event("create_auth_challenge"), lambda_context)

    # THEN they get their code: rounds that sent nothing did not lock them out
    assert len(sns_outbox.topic_messages()) == 1


def test_a_publish_whose_answer_was_lost_stays_counted(
    *, create: ModuleType, sns_outbox: Any, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN SNS taking the publish and its answer lost, on every attempt (the code may be on its way)
    events = create.PUBLISHER.client.meta.events

    def lose_the_answer(**_kwargs: object) -> None:
        raise ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com/")

    events.register("before-send.sns.Publish", lose_the_answer, unique_id="lost-answer")
    with pytest.raises(DeliveryError):
        create.lambda_handler(load_event("create_auth_challenge"), lambda_context)
    events.unregister("before-send.sns.Publish", unique_id="lost-answer")

    # WHEN the person asks again at once
    # THEN the interval applies, as after any code that may have arrived
    with pytest.raises(SendLimitError):
        create.lambda_handler(load_event("create_auth_challenge"), lambda_context)
