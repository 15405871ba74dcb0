"""Post Authentication (sms_otp.sign_in.phone_verification): end the lockout, mark the phone verified after a sign-in by code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sms_otp.core.errors import MalformedEventError
from sms_otp.core.phone_numbers import number_prefix
from sms_otp.limits.errors import LockedOutError
from sms_otp.limits.store import DynamoDbLimitStore
from sms_otp.sign_in.code_destinations import user_of
from sms_otp.sign_in.phone_verification import ClientFlows, mark_phone_verified, post_authentication
from tests.testkit.events import Event, EventLoader
from tests.testkit.fake_limits import FakeLimits

pytestmark = pytest.mark.unit


POOL_ID = "us-east-1_EXAMPLE11"
CLIENT_ID = "4example7client3id0abcdefgh"
USERNAME = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
CODE_ONLY = ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


class CodeSentToTheNumber:
    """Create Auth Challenge's record, as Post Authentication reads it: the code went to the user's number."""

    def received_code(self, user_pool_id: str, username: str, phone_number: str) -> bool:
        return True


SENT_HERE = CodeSentToTheNumber()


@dataclass
class UserPool:
    pool_id: str
    code_only_client_id: str
    password_client_id: str
    username: str

    def phone_number_verified(self) -> str | None:
        user = boto3.client("cognito-idp", region_name="us-east-1").admin_get_user(UserPoolId=self.pool_id, Username=self.username)
        return {attribute["Name"]: attribute["Value"] for attribute in user["UserAttributes"]}.get("phone_number_verified")


@pytest.fixture
def user_pool(aws: None) -> UserPool:
    """A moto pool with a code-only app client, a client that also allows SRP, and a user whose phone is unverified."""
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = idp.create_user_pool(PoolName="sms-otp")["UserPool"]["Id"]
    code_only = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="code-only", ExplicitAuthFlows=CODE_ONLY)
    password = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="with-srp", ExplicitAuthFlows=[*CODE_ONLY, "ALLOW_USER_SRP_AUTH"])
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=USERNAME,
        UserAttributes=[{"Name": "phone_number", "Value": "+14155550123"}, {"Name": "phone_number_verified", "Value": "false"}],
        MessageAction="SUPPRESS",
    )
    return UserPool(pool_id, code_only["UserPoolClient"]["ClientId"], password["UserPoolClient"]["ClientId"], USERNAME)


@pytest.fixture
def post_auth_handler(user_pool: UserPool, load_handler: Callable[..., ModuleType]) -> ModuleType:
    """post_authentication, cold-started against moto (fresh client-flows cache)."""
    return load_handler("post_authentication")


def post_auth_event(load_event: EventLoader, pool: UserPool, client_id: str) -> Event:
    event = load_event("post_authentication")
    event["userPoolId"] = pool.pool_id
    event["callerContext"]["clientId"] = client_id
    return event


def test_a_sign_in_through_a_code_only_client_marks_the_phone_verified(
    post_auth_handler: ModuleType, user_pool: UserPool, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a user whose phone is unverified signs in through the code-only client, with a code sent to that phone
    event = post_auth_event(load_event, user_pool, user_pool.code_only_client_id)
    post_auth_handler.CODE_DESTINATIONS.record(user_pool.pool_id, user_of(event), event["request"]["userAttributes"]["phone_number"])
    expected = {**event}

    # WHEN Post Authentication runs
    result = post_auth_handler.lambda_handler(event, lambda_context)

    # THEN Cognito now has phone_number_verified=true, and the event comes back unchanged
    assert user_pool.phone_number_verified() == "true"
    assert result == expected


def test_a_client_that_also_allows_passwords_leaves_the_phone_alone(
    post_auth_handler: ModuleType, user_pool: UserPool, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN a sign-in through a client that also allows SRP (it may not have been by code)
    event = post_auth_event(load_event, user_pool, user_pool.password_client_id)

    # WHEN Post Authentication runs
    post_auth_handler.lambda_handler(event, lambda_context)

    # THEN the phone stays unverified
    assert user_pool.phone_number_verified() == "false"


def test_a_cognito_failure_does_not_fail_the_sign_in(
    post_auth_handler: ModuleType, user_pool: UserPool, load_event: EventLoader, lambda_context: object, logs: Any
) -> None:
    # GIVEN an event naming a client the pool does not have (DescribeUserPoolClient fails)
    event = post_auth_event(load_event, user_pool, "nosuchclient0000000000000")

    # WHEN the handler runs
    result = post_auth_handler.lambda_handler(event, lambda_context)

    # THEN the sign-in goes on (the code was right), the phone is untouched, and the failure is logged and counted
    assert result is event
    assert user_pool.phone_number_verified() == "false"
    assert [record["error_code"] for record in logs.records() if record["level"] == "ERROR"] == ["ResourceNotFoundException"]
    assert '"PhoneVerificationFailures":[1.0]' in logs.stdout


@pytest.mark.parametrize(
    ("flows", "code_only"),
    [
        pytest.param(["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], True, id="custom + refresh"),
        pytest.param(["ALLOW_CUSTOM_AUTH"], True, id="custom only"),
        pytest.param(["CUSTOM_AUTH_FLOW_ONLY"], True, id="legacy custom only"),
        pytest.param(["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"], False, id="plus SRP"),
        pytest.param(["ALLOW_CUSTOM_AUTH", "ALLOW_USER_PASSWORD_AUTH"], False, id="plus password"),
        pytest.param(["ALLOW_CUSTOM_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"], False, id="plus admin password"),
        pytest.param(["ALLOW_CUSTOM_AUTH", "ALLOW_USER_AUTH"], False, id="plus choice-based"),
        pytest.param(["ALLOW_REFRESH_TOKEN_AUTH"], False, id="refresh only"),
        pytest.param([], False, id="none listed (Cognito's defaults include SRP)"),
        pytest.param(None, False, id="absent"),
    ],
)
def test_which_clients_prove_the_phone(flows: list[str] | None, code_only: bool) -> None:
    # GIVEN an app client with these flows
    client = boto3.client("cognito-idp", region_name="us-east-1")
    description: dict[str, Any] = {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID, "ClientName": "app"}
    if flows is not None:
        description["ExplicitAuthFlows"] = flows
    with Stubber(client) as stubber:
        stubber.add_response("describe_user_pool_client", {"UserPoolClient": description}, {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID})

        # WHEN / THEN only custom auth (plus refresh) counts as sign-in by code
        assert ClientFlows(client).code_only(POOL_ID, CLIENT_ID) is code_only
        stubber.assert_no_pending_responses()


@pytest.fixture
def stubbed_cognito() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cognito-idp", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_an_already_verified_phone_makes_no_api_call(stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader) -> None:
    # GIVEN a user whose phone is already verified, and a Stubber with nothing queued (any call fails)
    client, _stubber = stubbed_cognito
    event = load_event("post_authentication")
    event["request"]["userAttributes"]["phone_number_verified"] = "true"

    # WHEN / THEN nothing to do, and no call made
    assert mark_phone_verified(event, cognito_client=client, client_flows=ClientFlows(client), code_destinations=SENT_HERE) is False


def test_client_flows_are_described_once_per_client(stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader) -> None:
    # GIVEN one describe response and two updates queued, for two sign-ins through the same client
    client, stubber = stubbed_cognito
    stubber.add_response(
        "describe_user_pool_client",
        {"UserPoolClient": {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID, "ExplicitAuthFlows": CODE_ONLY}},
        {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID},
    )
    for username in ("first-user", "second-user"):
        stubber.add_response(
            "admin_update_user_attributes",
            {},
            {"UserPoolId": POOL_ID, "Username": username, "UserAttributes": [{"Name": "phone_number_verified", "Value": "true"}]},
        )
    flows = ClientFlows(client)

    # WHEN two users sign in
    results = []
    for username in ("first-user", "second-user"):
        event = load_event("post_authentication")
        event["userName"] = username
        results.append(mark_phone_verified(event, cognito_client=client, client_flows=flows, code_destinations=SENT_HERE))

    # THEN both phones were marked, with one describe call in all (the Stubber would refuse a second)
    assert results == [True, True]


@pytest.mark.parametrize("verified", ["false", "False", "TRUE", None, True])
def test_anything_but_the_string_true_counts_as_unverified(
    stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader, verified: object
) -> None:
    # GIVEN attribute values are strings: a boolean True or "TRUE" is not Cognito's "true"
    client, stubber = stubbed_cognito
    stubber.add_response(
        "describe_user_pool_client",
        {"UserPoolClient": {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID, "ExplicitAuthFlows": CODE_ONLY}},
        {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID},
    )
    stubber.add_response(
        "admin_update_user_attributes",
        {},
        {"UserPoolId": POOL_ID, "Username": USERNAME, "UserAttributes": [{"Name": "phone_number_verified", "Value": "true"}]},
    )
    event = load_event("post_authentication")
    if verified is None:
        del event["request"]["userAttributes"]["phone_number_verified"]
    else:
        event["request"]["userAttributes"]["phone_number_verified"] = verified

    # WHEN / THEN the phone is marked verified
    assert mark_phone_verified(event, cognito_client=client, client_flows=ClientFlows(client), code_destinations=SENT_HERE) is True


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda event: event.pop("request"), id="no request"),
        pytest.param(lambda event: event.pop("userPoolId"), id="no pool"),
        pytest.param(lambda event: event.pop("userName"), id="no user name"),
        pytest.param(lambda event: event.pop("callerContext"), id="no caller context"),
        pytest.param(lambda event: event["callerContext"].pop("clientId"), id="no client id"),
        pytest.param(lambda event: event["request"].update(userAttributes=None), id="no attributes"),
    ],
)
def test_a_malformed_event_is_refused_without_api_calls(
    stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader, mutate: Callable[[Event], object]
) -> None:
    # GIVEN the sample event spoiled in one way, and a Stubber that refuses any call
    client, _stubber = stubbed_cognito
    event = load_event("post_authentication")
    mutate(event)

    # WHEN / THEN refused as malformed before any API call
    with pytest.raises(MalformedEventError):
        mark_phone_verified(event, cognito_client=client, client_flows=ClientFlows(client), code_destinations=SENT_HERE)


# ---------------------------------------------------------------- the lockout ends ---


def test_a_sign_in_ends_the_lockout_of_the_users_number(
    post_auth_handler: ModuleType, user_pool: UserPool, load_event: EventLoader, lambda_context: object
) -> None:
    # GIVEN the user's number locked out by rounds without success (the stack's limits table and policy)
    event = post_auth_event(load_event, user_pool, user_pool.code_only_client_id)
    limits: DynamoDbLimitStore = post_auth_handler.LIMITS
    phone_number = event["request"]["userAttributes"]["phone_number"]
    for _ in range(limits.policy.lockout_threshold):
        limits.admit(phone_number, new_round=True, send=False)
    with pytest.raises(LockedOutError):
        limits.admit(phone_number, new_round=True, send=False)

    # WHEN the user signs in (Post Authentication runs)
    post_auth_handler.lambda_handler(event, lambda_context)

    # THEN the number may start a sign-in again at once
    limits.admit(phone_number, new_round=True, send=False)


@pytest.mark.parametrize("verified", ["true", "false"], ids=["phone already verified", "phone unverified"])
def test_every_sign_in_resets_its_numbers_failed_rounds(
    stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader, verified: str
) -> None:
    # GIVEN a sign-in through a client that also allows passwords (so the phone is never marked here)
    client, stubber = stubbed_cognito
    if verified == "false":
        stubber.add_response(
            "describe_user_pool_client",
            {"UserPoolClient": {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID, "ExplicitAuthFlows": [*CODE_ONLY, "ALLOW_USER_SRP_AUTH"]}},
            {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID},
        )
    event = load_event("post_authentication")
    event["request"]["userAttributes"]["phone_number_verified"] = verified
    limits = FakeLimits()

    # WHEN Post Authentication's logic runs
    post_authentication(event, cognito_client=client, client_flows=ClientFlows(client), limits=limits, code_destinations=SENT_HERE)  # type: ignore[arg-type]

    # THEN the number's failed rounds are reset, whatever happened to the attribute, and the sign-in counts in its range
    assert limits.reset == [event["request"]["userAttributes"]["phone_number"]]
    assert limits.reset_ranges == [number_prefix(event["request"]["userAttributes"]["phone_number"])]


def test_a_sign_in_with_a_number_that_is_not_e164_counts_in_no_range(stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader) -> None:
    # GIVEN a user whose phone attribute is not a valid E.164 number (set by an administrator of a pool the stack does not own)
    client, _stubber = stubbed_cognito
    event = load_event("post_authentication")
    event["request"]["userAttributes"].update(phone_number="+1 415 555 0123", phone_number_verified="true")
    limits = FakeLimits()

    # WHEN Post Authentication's logic runs
    post_authentication(event, cognito_client=client, client_flows=ClientFlows(client), limits=limits, code_destinations=SENT_HERE)  # type: ignore[arg-type]

    # THEN its failed rounds are still reset, and no range is counted
    assert (limits.reset, limits.reset_ranges) == (["+1 415 555 0123"], [None])


@pytest.mark.parametrize("phone_number", [None, ""], ids=["no phone number", "an empty phone number"])
def test_a_user_without_a_phone_number_signs_in_untouched(
    stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader, phone_number: str | None
) -> None:
    # GIVEN a sign-in by someone with no phone number (another app client of a pool the stack does not
    # own: email and password), and a Stubber that refuses any call
    client, _stubber = stubbed_cognito
    event = load_event("post_authentication")
    event["request"]["userAttributes"].pop("phone_number")
    if phone_number is not None:
        event["request"]["userAttributes"]["phone_number"] = phone_number
    limits = FakeLimits()

    # WHEN Post Authentication's logic runs
    post_authentication(event, cognito_client=client, client_flows=ClientFlows(client), limits=limits, code_destinations=SENT_HERE)  # type: ignore[arg-type]

    # THEN the sign-in goes on: no attribute written, no lockout touched, no error
    assert limits.reset == []
    assert mark_phone_verified(event, cognito_client=client, client_flows=ClientFlows(client), code_destinations=SENT_HERE) is False


def test_a_malformed_event_resets_nothing(stubbed_cognito: tuple[Any, Stubber], load_event: EventLoader) -> None:
    # GIVEN an event without the caller's app client
    client, _stubber = stubbed_cognito
    event = load_event("post_authentication")
    del event["callerContext"]
    limits = FakeLimits()

    # WHEN / THEN refused, and no lockout is lifted on its say-so
    with pytest.raises(MalformedEventError):
        post_authentication(event, cognito_client=client, client_flows=ClientFlows(client), limits=limits, code_destinations=SENT_HERE)  # type: ignore[arg-type]
    assert limits.reset == []


def test_the_lockout_reset_failing_does_not_fail_the_sign_in(
    post_auth_handler: ModuleType, user_pool: UserPool, load_event: EventLoader, lambda_context: object, logs: Any
) -> None:
    # GIVEN the limits table gone (every call to it fails), after a code was sent to the user's phone
    post_auth_handler.CODE_DESTINATIONS.record(user_pool.pool_id, user_of(load_event("post_authentication")), "+14155550123")
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName=post_auth_handler.LIMITS.table_name)
    event = post_auth_event(load_event, user_pool, user_pool.code_only_client_id)

    # WHEN the user signs in
    result = post_auth_handler.lambda_handler(event, lambda_context)

    # THEN the sign-in goes on; the phone stays unverified, as where the code went cannot be read; both failures are
    # logged (in either order: the read and the reset run side by side)
    assert result is event
    assert user_pool.phone_number_verified() == "false"
    assert sorted(record["message"] for record in logs.records() if record["level"] == "ERROR") == [
        "Could not read where the code went; the phone stays unverified",
        "Could not reset the failed sign-in rounds",
    ]
