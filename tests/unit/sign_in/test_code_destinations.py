"""Post Authentication marks verified only the number the sign-in code went to.

On a pool that does not require verification before an attribute update, a user
can change ``phone_number`` while a sign-in is under way and answer with the code
sent to the old number. Through the real handlers (Create Auth Challenge, then Post
Authentication), against moto: the number Create sent the code to is recorded, and
Post Authentication compares the user's number with it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from sms_otp.core.errors import DeliveryError
from sms_otp.sign_in.code_destinations import DESTINATION_KEY_PREFIX, number_fingerprint
from tests.testkit.events import Event, EventLoader
from tests.testkit.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.unit

USERNAME = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
OLD_NUMBER = "+14155550123"
NEW_NUMBER = "+14155550199"
CODE_ONLY = ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


class Pool:
    """A moto pool with a code-only app client and one user whose phone is unverified."""

    def __init__(self) -> None:
        self.idp = boto3.client("cognito-idp", region_name="us-east-1")
        self.pool_id = self.idp.create_user_pool(PoolName="sms-otp")["UserPool"]["Id"]
        self.client_id = self.idp.create_user_pool_client(UserPoolId=self.pool_id, ClientName="code-only", ExplicitAuthFlows=CODE_ONLY)[
            "UserPoolClient"
        ]["ClientId"]
        self.idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=USERNAME,
            UserAttributes=[{"Name": "phone_number", "Value": OLD_NUMBER}, {"Name": "phone_number_verified", "Value": "false"}],
            MessageAction="SUPPRESS",
        )

    def attributes(self) -> dict[str, str]:
        user = self.idp.admin_get_user(UserPoolId=self.pool_id, Username=USERNAME)
        return {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}

    def change_number(self, phone_number: str) -> None:
        """The user's number changes at once (a pool without verification before an attribute update)."""
        self.idp.admin_update_user_attributes(
            UserPoolId=self.pool_id,
            Username=USERNAME,
            UserAttributes=[{"Name": "phone_number", "Value": phone_number}, {"Name": "phone_number_verified", "Value": "false"}],
        )


@pytest.fixture
def pool(sns_outbox: Any) -> Pool:
    return Pool()


@pytest.fixture
def handlers(pool: Pool, load_handler: Callable[..., ModuleType]) -> tuple[ModuleType, ModuleType]:
    """Create Auth Challenge and Post Authentication, cold-started against moto in test mode."""
    return load_handler("create_auth_challenge"), load_handler("post_authentication")


def trigger_event(load_event: EventLoader, name: str, pool: Pool) -> Event:
    """The sample event for ``name``, for the pool's user as Cognito would send it now."""
    event = load_event(name)
    event["userPoolId"] = pool.pool_id
    event["callerContext"]["clientId"] = pool.client_id
    event["request"]["userAttributes"] = {**event["request"]["userAttributes"], **pool.attributes()}
    return event


def sign_in_by_code(handlers: tuple[ModuleType, ModuleType], pool: Pool, load_event: EventLoader, *, number_changed_to: str | None) -> None:
    """A sign-in: Create sends the code to the user's number, the number may change, then the right answer ends in Post Authentication."""
    create, post_authentication = handlers
    create.lambda_handler(trigger_event(load_event, "create_auth_challenge", pool), FakeLambdaContext())
    if number_changed_to is not None:
        pool.change_number(number_changed_to)
    post_authentication.lambda_handler(trigger_event(load_event, "post_authentication", pool), FakeLambdaContext())


def test_the_number_that_received_the_code_is_marked_verified(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, sns_outbox: Any, load_event: EventLoader
) -> None:
    # GIVEN / WHEN a sign-in by a code sent to the user's number, which stays the same
    sign_in_by_code(handlers, pool, load_event, number_changed_to=None)

    # THEN the code went to that number, and the number is now verified
    [message] = sns_outbox.topic_messages()
    assert message["MessageAttributes"]["recipient"]["Value"] == OLD_NUMBER
    assert pool.attributes()["phone_number_verified"] == "true"


def test_a_number_changed_during_the_sign_in_is_not_marked_verified(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, sns_outbox: Any, load_event: EventLoader, logs: Any
) -> None:
    # GIVEN a code sent to the user's number
    # WHEN the user changes phone_number to another number before answering, then answers right
    sign_in_by_code(handlers, pool, load_event, number_changed_to=NEW_NUMBER)

    # THEN the sign-in goes on, but the new number, which no code reached, stays unverified
    assert pool.attributes()["phone_number"] == NEW_NUMBER
    assert pool.attributes()["phone_number_verified"] == "false"
    assert "Phone left unverified: the sign-in code did not go to the user's number now" in logs.text
    assert '"PhoneVerificationsRefused":[1.0]' in logs.stdout


def test_the_user_is_known_by_sub_whatever_name_they_signed_in_with(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, load_event: EventLoader
) -> None:
    # GIVEN Create's event naming the user by the phone number they typed, Post Authentication's by the pool's user name
    create, post_authentication = handlers
    create_event = trigger_event(load_event, "create_auth_challenge", pool)
    create_event["userName"] = OLD_NUMBER
    create.lambda_handler(create_event, FakeLambdaContext())

    # WHEN Post Authentication runs
    post_authentication.lambda_handler(trigger_event(load_event, "post_authentication", pool), FakeLambdaContext())

    # THEN the record is found under the user's sub, and the number is verified
    assert pool.attributes()["phone_number_verified"] == "true"


def test_a_record_past_the_codes_lifetime_proves_nothing(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, load_event: EventLoader
) -> None:
    # GIVEN a code sent to the user's number, whose record is past its lifetime (DynamoDB's TTL deletes lazily)
    create, post_authentication = handlers
    create.lambda_handler(trigger_event(load_event, "create_auth_challenge", pool), FakeLambdaContext())
    post_authentication.CODE_DESTINATIONS.clock = lambda: 4_000_000_000.0

    # WHEN Post Authentication runs for that number
    post_authentication.lambda_handler(trigger_event(load_event, "post_authentication", pool), FakeLambdaContext())

    # THEN the number stays unverified
    assert pool.attributes()["phone_number_verified"] == "false"


def test_the_table_holds_no_number_and_no_user_name_in_clear(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, load_event: EventLoader
) -> None:
    # GIVEN a code sent
    create, _post_authentication = handlers
    create.lambda_handler(trigger_event(load_event, "create_auth_challenge", pool), FakeLambdaContext())

    # WHEN the table is read / THEN the record names neither the number nor the user, and expires with the code
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=create.LIMITS.table_name)["Items"]
    [record] = [item for item in items if item["pk"]["S"].startswith(DESTINATION_KEY_PREFIX)]
    assert OLD_NUMBER.lstrip("+") not in str(record)
    assert USERNAME not in str(record)
    assert pool.attributes()["sub"] not in str(record)
    assert int(record["expires_at"]["N"]) - create.CODE_DESTINATIONS.clock() <= create.SETTINGS.otp_ttl_seconds + 60


THROTTLED = {"Error": {"Code": "Throttling", "Message": "slow down"}, "ResponseMetadata": {"HTTPStatusCode": 400}}


def failing_publishes(create: ModuleType, failure: Exception) -> Callable[[], None]:
    """Every publish of Create fails with ``failure`` until the returned function is called."""

    def fail(**_kwargs: object) -> None:
        raise failure

    events = create.PUBLISHER.client.meta.events
    events.register("before-send.sns.Publish", fail, unique_id="publish-fails")
    return lambda: events.unregister("before-send.sns.Publish", unique_id="publish-fails")


def destination_records() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="sms-otp-limits")["Items"]
    return [item for item in items if item["pk"]["S"].startswith(DESTINATION_KEY_PREFIX)]


@pytest.mark.parametrize(
    ("failure", "recorded_after"),
    [
        pytest.param(ClientError(THROTTLED, "Publish"), OLD_NUMBER, id="certainly not sent: the earlier record put back"),  # type: ignore[arg-type]
        pytest.param(ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com/"), NEW_NUMBER, id="answer lost: kept"),
    ],
)
def test_a_publish_that_certainly_failed_leaves_the_record_of_the_code_before_it(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, load_event: EventLoader, failure: Exception, recorded_after: str
) -> None:
    # GIVEN a code sent to the user's number, then the number changed, and a new sign-in whose publish fails
    create, _post_authentication = handlers
    create.lambda_handler(trigger_event(load_event, "create_auth_challenge", pool), FakeLambdaContext())
    pool.change_number(NEW_NUMBER)
    restore = failing_publishes(create, failure)

    # WHEN the new sign-in's code is asked for (its record is written beside the publish)
    with pytest.raises(DeliveryError):
        create.lambda_handler(trigger_event(load_event, "create_auth_challenge", pool), FakeLambdaContext())
    restore()

    # THEN a code that certainly went nowhere leaves the first code's record, and one that may have gone out keeps its own
    [record] = destination_records()
    assert record["number"]["S"] == number_fingerprint(recorded_after)


def test_a_first_code_that_certainly_failed_leaves_no_record(
    handlers: tuple[ModuleType, ModuleType], pool: Pool, load_event: EventLoader
) -> None:
    # GIVEN a user's first sign-in, whose publish is refused
    create, _post_authentication = handlers
    restore = failing_publishes(create, ClientError(THROTTLED, "Publish"))  # type: ignore[arg-type]

    # WHEN the code is asked for
    with pytest.raises(DeliveryError):
        create.lambda_handler(trigger_event(load_event, "create_auth_challenge", pool), FakeLambdaContext())
    restore()

    # THEN no record says a code went to the number
    assert destination_records() == []
