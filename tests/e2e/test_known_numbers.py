"""Known numbers through both attacks on the deployed stack: a stopped range, and the fresh share of the hour spent.

A stack of its own, with the pumping guard on (as shipped), a share of the budget
kept for known numbers, and figures small enough to reach quickly: a range is
stopped after 2 unanswered codes (PumpingMinSends=2), and the hour has 10
messages (StackMessagesPerHour=10), 5 of them kept for known numbers. One
country's fresh numbers may spend the whole fresh share
(FreshCountrySharePercent=100): the tier signs in +1 numbers only, and the
attack spreads them over area codes.

Each attack's state is written as the attack would leave it, by the real limit
store in the deployed table (a refusal by a deployed handler costs the emulator a
worker restart, so only the refusals under test go through the real sign-in).

The emulator never calls Post Authentication, so no number can become known there
by completing a sign-in. On a pool the stack creates, a verified phone makes a
number known (there only a code that reached the phone verifies one: Pre sign-up
never does); the test sets ``phone_number_verified`` with AdminUpdateUserAttributes,
as an administrator would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from sms_otp.core.phone_numbers import number_prefix
from sms_otp.core.settings import Settings
from sms_otp_client.auth import PasswordlessClient, SignInError, Tokens
from sms_otp_client.emulator import Emulator
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment, deploy, machine_architecture

if TYPE_CHECKING:
    from sms_otp.limits.store import DynamoDbLimitStore

pytestmark = pytest.mark.e2e

KNOWN_STACK_NAME = "sms-otp-sandbox-known"
KNOWN_STACK_OVERRIDES = {
    "PumpingMinConversionPercent": "20",
    "PumpingMinSends": "2",
    "StackMessagesPerHour": "10",
    "KnownNumbersSharePercent": "50",
    "FreshCountrySharePercent": "100",
}
CREATE_SOURCE = "CreateAuthChallenge_Authentication"
RANGE_STOPPED = "We cannot send codes to this number right now. Please try again in "
BUDGET_SPENT = "We cannot send more codes right now. Please try again in an hour."
# The spread attack's area codes: one fresh number each, under the guard's minimum, never signing in.
SPREAD_AREA_CODES = ("212", "213", "305", "404", "503", "702", "206", "801", "602", "415")


@pytest.fixture(scope="module")
def known_sandbox(emulator: Emulator, sandbox: SandboxDeployment) -> SandboxDeployment:
    # After `sandbox`, which builds and creates SAM's artifact bucket; this deploy uploads nothing new.
    return deploy(emulator, machine_architecture(), stack_name=KNOWN_STACK_NAME, overrides=KNOWN_STACK_OVERRIDES)


@pytest.fixture(scope="module")
def deployed_settings(known_sandbox: SandboxDeployment) -> Settings:
    """The settings the deployed functions read (every function shares the limits' variables)."""
    configuration = known_sandbox.client("lambda").get_function_configuration(
        FunctionName=known_sandbox.outputs.custom_sms_sender_function_name
    )
    return Settings.from_env(configuration["Environment"]["Variables"])


@pytest.fixture
def limits(known_sandbox: SandboxDeployment, deployed_settings: Settings, in_process_limits: None) -> DynamoDbLimitStore:
    """The real limit store on the deployed table, with the deployed limits: it writes what the Create trigger writes."""
    # Imported here, not at collection: sms_otp.limits builds Powertools' metrics on import (see test_limits).
    from sms_otp.limits.store import DynamoDbLimitStore

    assert known_sandbox.outputs.limits_table_name is not None
    return DynamoDbLimitStore(known_sandbox.outputs.limits_table_name, deployed_settings.limits, known_sandbox.client("dynamodb"))


@pytest.fixture
def client(known_sandbox: SandboxDeployment) -> PasswordlessClient:
    return PasswordlessClient(known_sandbox.client("cognito-idp"), known_sandbox.outputs.user_pool_client_id)


def _send_fresh_code(limits: DynamoDbLimitStore, phone_number: str) -> None:
    """Admit one sign-in code to a fresh number as the Create trigger does (its range, its country, the budget)."""
    limits.admit(phone_number, new_round=True, send=True, number_range=number_prefix(phone_number), phone_number=phone_number)


def _make_known(sandbox: SandboxDeployment, client: PasswordlessClient, phone_number: str) -> None:
    """A user whose phone is verified on the stack's own pool: a known number."""
    assert client.sign_up(phone_number) is True
    sandbox.client("cognito-idp").admin_update_user_attributes(
        UserPoolId=sandbox.outputs.user_pool_id,
        Username=phone_number,
        UserAttributes=[{"Name": "phone_number_verified", "Value": "true"}],
    )


@contextmanager
def _inbox(sandbox: SandboxDeployment, phone_number: str) -> Iterator[TestModeInbox]:
    assert sandbox.outputs.test_mode_topic_arn is not None
    created = TestModeInbox.create(
        sqs=sandbox.client("sqs"), sns=sandbox.client("sns"), topic_arn=sandbox.outputs.test_mode_topic_arn, recipient=phone_number
    )
    try:
        yield created
    finally:
        created.delete()


def _sign_in_by_code(sandbox: SandboxDeployment, client: PasswordlessClient, phone_number: str) -> Tokens | SignInError:
    """The whole CUSTOM_AUTH sign-in, the code read from the test topic; the refusal if there is one."""
    with _inbox(sandbox, phone_number) as inbox:
        try:
            challenge = client.start(phone_number)
        except SignInError as refusal:
            return refusal
        result = client.answer(phone_number, challenge, inbox.wait_for_message(trigger_source=CREATE_SOURCE).code)
    assert isinstance(result, Tokens), result
    return result


def _refusal(client: PasswordlessClient, phone_number: str) -> str:
    """What a fresh number that signs up and starts a sign-in is told (it must be refused)."""
    assert client.sign_up(phone_number) is True
    with pytest.raises(SignInError) as refusal:
        client.start(phone_number)
    return str(refusal.value)


def test_the_stack_under_test_trusts_verified_phones_and_keeps_a_share_for_known_numbers(deployed_settings: Settings) -> None:
    # The premise of both attacks below: the guard on, a known share, a fresh share, one country may spend it all.
    assert deployed_settings.trust_phone_number_verified is True
    policy = deployed_settings.limits
    assert (policy.pumping_min_conversion_percent, policy.pumping_min_sends) == (20, 2)
    assert (policy.known_share(), policy.fresh_share(), policy.country_share()) == (5, 5, 5)


def test_a_known_user_signs_in_while_their_range_is_stopped(
    known_sandbox: SandboxDeployment, client: PasswordlessClient, limits: DynamoDbLimitStore
) -> None:
    from sms_otp.limits.errors import RangeStoppedError

    # GIVEN a known user in +1 617
    known = "+16175550150"
    _make_known(known_sandbox, client, known)
    # AND the range stopped by a pumping burst: fresh numbers of +1 617 took the guard's 2 codes without signing
    # in, and the next one stopped the range for its cool-off
    for number in ("+16175550100", "+16175550101"):
        _send_fresh_code(limits, number)
    with pytest.raises(RangeStoppedError):
        _send_fresh_code(limits, "+16175550102")

    # WHEN a fresh number of the range, then the known user, sign in
    fresh_answer = _refusal(client, "+16175550199")
    known_answer = _sign_in_by_code(known_sandbox, client, known)

    # THEN the fresh number is refused with the guard's sentence, and the known user signs in by code
    assert fresh_answer.startswith(RANGE_STOPPED), fresh_answer
    assert isinstance(known_answer, Tokens), known_answer
    assert known_answer.id_token_claims()["phone_number"] == known


def _budget_items(sandbox: SandboxDeployment, keys: list[str]) -> dict[str, dict[str, Any]]:
    assert sandbox.outputs.limits_table_name is not None
    response = sandbox.client("dynamodb").batch_get_item(
        RequestItems={sandbox.outputs.limits_table_name: {"Keys": [{"pk": {"S": key}} for key in keys], "ConsistentRead": True}}
    )
    return {item["pk"]["S"]: item for item in response["Responses"][sandbox.outputs.limits_table_name]}


@pytest.fixture
def spent_fresh_share(known_sandbox: SandboxDeployment, limits: DynamoDbLimitStore) -> Iterator[list[str]]:
    """The fresh share spent by the spread attack, in this hour and the next (so the turn of the hour changes nothing);
    the counters put back afterwards, so the other tests here may run in any order. Yields the area codes it sent to."""
    from sms_otp.limits.errors import BudgetExhaustedError
    from sms_otp.limits.keys import FRESH_SHARE, budget_keys, country_share

    now = int(time.time())
    hours = (now, now + 3600)
    keys = [key for at in hours for key in budget_keys(at, FRESH_SHARE) + budget_keys(at, country_share(1))]
    before = _budget_items(known_sandbox, keys)
    sent: list[str] = []
    for at in hours:
        attacker = replace(limits, clock=lambda at=at: float(at))
        refused = False
        for area_code in SPREAD_AREA_CODES:
            try:
                _send_fresh_code(attacker, f"+1{area_code}5550100")
            except BudgetExhaustedError:
                refused = True
                break
            sent.append(area_code)
        assert refused, "the spread attack never spent the fresh share"
    yield sent
    table = known_sandbox.client("dynamodb")
    for key in keys:
        if key in before:
            table.put_item(TableName=known_sandbox.outputs.limits_table_name, Item=before[key])
        else:
            table.delete_item(TableName=known_sandbox.outputs.limits_table_name, Key={"pk": {"S": key}})


def test_a_known_user_signs_in_while_the_fresh_share_of_the_hour_is_spent(
    known_sandbox: SandboxDeployment, client: PasswordlessClient, spent_fresh_share: list[str]
) -> None:
    # GIVEN a known user in +1 202
    known = "+12025550150"
    _make_known(known_sandbox, client, known)
    # AND the hour's fresh share spent by fresh numbers spread over area codes, one code each (never enough in
    # one range for the guard), none signing in
    assert len(set(spent_fresh_share)) > 1

    # WHEN a fresh number in an area code the attack never touched, then the known user, sign in
    fresh_answer = _refusal(client, "+13035550199")
    known_answer = _sign_in_by_code(known_sandbox, client, known)

    # THEN the fresh number is refused with the budget's sentence, and the known user signs in by code
    assert fresh_answer == BUDGET_SPENT
    assert isinstance(known_answer, Tokens), known_answer
    assert known_answer.id_token_claims()["phone_number"] == known
