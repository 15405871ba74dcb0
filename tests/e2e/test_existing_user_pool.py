"""Deploying onto a user pool the stack does not own, in both modes, and giving the pool back on delete.

Each pool is created out of band with distinctive settings (MFA optional with SMS and
authenticator apps, a Pre Token Generation trigger of its own, custom messages, a
password policy, tags, an app client of its own); the stacks are deployed onto them
with ``sam deploy`` and the parameters of existing-pools.md. The emulator keeps what
UpdateUserPool is not sent, where AWS resets it, so only the unit tier (a pool that
resets) can catch a setting left out of the request; here the whole path runs: the
custom resource in CloudFormation, the triggers in Cognito, the delete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sms_otp_client.auth import PasswordlessClient, Tokens
from sms_otp_client.emulator import Emulator
from sms_otp_client.existing_pool import (
    EMULATOR_SIGN_UP_CODE,
    OWN_CLAIM,
    OutOfBandPool,
    create_distinctive_pool,
    delete_stack,
    pool_state,
)
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment, deploy, machine_architecture
from tests.e2e.conftest import sandbox_template_url
from tests.testkit.cognito_encryption import cognito_ciphertext

from .conftest import invoke

pytestmark = pytest.mark.e2e

PASSWORDLESS_STACK = "sms-otp-existing-passwordless"
SENDER_STACK = "sms-otp-existing-sender"
STACK_TRIGGERS = {"PreSignUp", "DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse", "PostAuthentication"}
SENDER_SLOTS = {"CustomSMSSender", "KMSKeyID"}
PREVIOUS_VALUES = ("TestMode", "FunctionArchitecture", "LogRetentionDays", "ExistingPoolSmsRoleArn")


class AttachedPool:
    """An out-of-band pool, what it was before the stack, and the stack deployed onto it."""

    def __init__(self, pool: OutOfBandPool, before: dict[str, Any], deployment: SandboxDeployment) -> None:
        self.pool, self.before, self.deployment = pool, before, deployment
        self.cognito = deployment.client("cognito-idp")

    def state(self) -> dict[str, Any]:
        return pool_state(self.cognito, self.pool.user_pool_id)


def _attached(emulator: Emulator, sandbox: SandboxDeployment, name: str, stack_name: str, mode: str) -> Iterator[AttachedPool]:
    pool = create_distinctive_pool(sandbox.client, name)
    before = pool_state(sandbox.client("cognito-idp"), pool.user_pool_id)
    overrides = pool.stack_parameters(mode)
    attached = AttachedPool(pool, before, deploy(emulator, machine_architecture(), stack_name=stack_name, overrides=overrides))
    yield attached
    cloudformation = sandbox.client("cloudformation")
    live = {
        summary["StackName"] for summary in cloudformation.list_stacks()["StackSummaries"] if summary["StackStatus"] != "DELETE_COMPLETE"
    }
    if stack_name in live:
        delete_stack(cloudformation, stack_name)


@pytest.fixture(scope="module")
def passwordless(emulator: Emulator, sandbox: SandboxDeployment) -> Iterator[AttachedPool]:
    """The customers' pool with the stack in Passwordless mode (after `sandbox`, which builds)."""
    yield from _attached(emulator, sandbox, "customers", PASSWORDLESS_STACK, "Passwordless")


@pytest.fixture(scope="module")
def sender_only(emulator: Emulator, sandbox: SandboxDeployment) -> Iterator[AttachedPool]:
    """Another pool with the stack attaching the Custom SMS Sender only."""
    yield from _attached(emulator, sandbox, "partners", SENDER_STACK, "CustomSmsSender")


def _without_stack_slots(settings: dict[str, Any], slots: set[str]) -> dict[str, Any]:
    return {**settings, "LambdaConfig": {slot: value for slot, value in settings["LambdaConfig"].items() if slot not in slots}}


def test_passwordless_mode_attaches_all_six_and_keeps_everything_else(passwordless: AttachedPool) -> None:
    # GIVEN the pool with the stack deployed onto it in Passwordless mode
    now, outputs = passwordless.state(), passwordless.deployment.outputs

    # THEN the stack's six triggers and key are set, the pool's own Pre Token Generation stays,
    # and every other setting, the MFA configuration and the pool's own app client are as they were
    assert set(now["settings"]["LambdaConfig"]) == {"PreTokenGeneration", *STACK_TRIGGERS, *SENDER_SLOTS}
    assert _without_stack_slots(now["settings"], STACK_TRIGGERS | SENDER_SLOTS) == passwordless.before["settings"]
    assert now["mfa"] == passwordless.before["mfa"]
    assert now["app_clients"][passwordless.pool.app_client_id] == passwordless.before["app_clients"][passwordless.pool.app_client_id]
    # AND the stack's outputs name the existing pool and its own new client, which allows only sign-in by code
    described = passwordless.cognito.describe_user_pool(UserPoolId=passwordless.pool.user_pool_id)["UserPool"]
    assert (outputs.user_pool_id, outputs.user_pool_arn) == (described["Id"], described["Arn"])
    new_client = now["app_clients"][outputs.user_pool_client_id]
    assert sorted(new_client["ExplicitAuthFlows"]) == ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert set(now["app_clients"]) == {passwordless.pool.app_client_id, outputs.user_pool_client_id}


def test_passwordless_sign_in_by_code_through_the_new_client(passwordless: AttachedPool, phone_number: str) -> None:
    # GIVEN someone who signs up through the stack's new client (confirmed with the sign-up code: never at once in a pool not the stack's)
    deployment = passwordless.deployment
    client_id = deployment.outputs.user_pool_client_id
    assert deployment.outputs.test_mode_topic_arn is not None
    inbox = TestModeInbox.create(
        sqs=deployment.client("sqs"), sns=deployment.client("sns"), topic_arn=deployment.outputs.test_mode_topic_arn, recipient=phone_number
    )
    try:
        client = PasswordlessClient(passwordless.cognito, client_id)
        assert client.sign_up(phone_number) is False
        passwordless.cognito.confirm_sign_up(ClientId=client_id, Username=phone_number, ConfirmationCode=EMULATOR_SIGN_UP_CODE)

        # WHEN they start CUSTOM_AUTH and answer with the code from the test topic
        challenge = client.start(phone_number)
        message = inbox.wait_for_message(trigger_source="CreateAuthChallenge_Authentication")
        tokens = client.answer(phone_number, challenge, message.code)
    finally:
        inbox.delete()

    # THEN the pool issues tokens for them to the new client, with the claim the pool's own trigger adds
    assert isinstance(tokens, Tokens)
    claims = tokens.id_token_claims()
    assert (claims["phone_number"], claims["aud"], claims[OWN_CLAIM[0]]) == (phone_number, client_id, OWN_CLAIM[1])


def test_custom_sms_sender_mode_attaches_the_sender_only(sender_only: AttachedPool) -> None:
    # GIVEN the second pool with the stack attaching only its Custom SMS Sender
    now, outputs = sender_only.state(), sender_only.deployment.outputs

    # THEN the sender and its key are set beside the pool's own trigger; nothing else changed, and no app client was added
    assert set(now["settings"]["LambdaConfig"]) == {"PreTokenGeneration", *SENDER_SLOTS}
    assert now["settings"]["LambdaConfig"]["KMSKeyID"] == outputs.sms_key_arn
    assert _without_stack_slots(now["settings"], SENDER_SLOTS) == sender_only.before["settings"]
    assert now["mfa"] == sender_only.before["mfa"]
    assert now["app_clients"] == sender_only.before["app_clients"]
    assert outputs.user_pool_client_id == ""


def test_the_attached_sender_sends_the_pools_codes_to_the_test_topic(sender_only: AttachedPool, phone_number: str, load_event: Any) -> None:
    # GIVEN a Custom SMS Sender event for the existing pool, its code encrypted the way Cognito does with the stack's key
    deployment = sender_only.deployment
    event = load_event("custom_sms_sender_forgot_password")
    event["userPoolId"] = sender_only.pool.user_pool_id
    event["callerContext"]["clientId"] = sender_only.pool.app_client_id
    event["request"]["userAttributes"]["phone_number"] = phone_number
    event["request"]["code"] = cognito_ciphertext(
        "730194", deployment.outputs.sms_key_arn, sender_only.pool.user_pool_id, deployment.client("kms")
    )
    assert deployment.outputs.test_mode_topic_arn is not None
    inbox = TestModeInbox.create(
        sqs=deployment.client("sqs"), sns=deployment.client("sns"), topic_arn=deployment.outputs.test_mode_topic_arn, recipient=phone_number
    )
    try:
        # WHEN the function the pool now calls for its SMS is invoked (the emulator's Cognito calls no sender)
        result = invoke(deployment, deployment.outputs.custom_sms_sender_function_name, event)
        message = inbox.wait_for_message()
    finally:
        inbox.delete()

    # THEN the pool's forgot-password code went to the test topic, not to a phone
    assert result["function_error"] is None, result
    assert message.text == "Your password reset code is 730194. Do not share it with anyone."
    assert (message.recipient, message.trigger_source) == (phone_number, "CustomSMSSender_ForgotPassword")


# ------------------------------------------------------------ bad input ---


def _final_status(cloudformation: Any, stack_name: str, polls: int = 90) -> str:
    """The stack's status once no longer in progress; a minute and a half of polls at most (the function answers at once)."""
    for _ in range(polls):
        status = str(cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
        if not status.endswith("_IN_PROGRESS"):
            return status
        time.sleep(1)
    return status


def _reason(cloudformation: Any, stack_name: str, status: str) -> str:
    events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    return next(
        str(event.get("ResourceStatusReason", ""))
        for event in events
        if event["LogicalResourceId"] == "ExistingUserPoolTriggers" and event["ResourceStatus"] == status
    )


def test_a_pool_that_does_not_exist_fails_a_new_stack_at_the_custom_resource(sandbox: SandboxDeployment) -> None:
    # GIVEN the packaged template sam deploy sent for the sandbox
    cloudformation = sandbox.client("cloudformation")
    template_url = sandbox_template_url(sandbox)

    # WHEN a stack is created onto a pool ID that names no pool
    started = time.monotonic()
    cloudformation.create_stack(
        StackName="sms-otp-missing-pool",
        TemplateURL=template_url,
        Parameters=[
            {"ParameterKey": "ExistingUserPoolId", "ParameterValue": "us-east-1_Missing123"},
            {"ParameterKey": "TestMode", "ParameterValue": "true"},
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = _final_status(cloudformation, "sms-otp-missing-pool")
    print(f"missing pool: CreateStack to {status} in {time.monotonic() - started:.1f} s")  # noqa: T201 - the measured figure, with -s

    # THEN the custom resource failed with the reason and the stack rolled back
    assert status == "ROLLBACK_COMPLETE"
    assert _reason(cloudformation, "sms-otp-missing-pool", "CREATE_FAILED") == (
        "There is no user pool us-east-1_Missing123 in this account's us-east-1 region."
    )
    delete_stack(cloudformation, "sms-otp-missing-pool")


@pytest.fixture(scope="module")
def unsuitable_pools(sandbox: SandboxDeployment) -> dict[str, OutOfBandPool]:
    """A pool whose users sign in by email, and one with a Pre sign-up trigger of its own."""
    return {
        "email": create_distinctive_pool(sandbox.client, "newsletter", username_attributes=("email",)),
        "own_trigger": create_distinctive_pool(sandbox.client, "legacy", own_pre_sign_up=True),
    }


@pytest.mark.parametrize(
    ("pool", "mode", "reason"),
    [
        (None, "CustomSmsSender", "User pool eu-west-1_AbCdEf123 is in eu-west-1 but this stack is in us-east-1"),
        # An attached stack never moves to another pool (the pools' own refusals are the unit tier's).
        ("email", "Passwordless", "The stack is attached to user pool {attached} and cannot move to another"),
        ("own_trigger", "Passwordless", "The stack is attached to user pool {attached} and cannot move to another"),
    ],
)
def test_an_update_onto_an_unsuitable_pool_fails_with_the_reason_and_changes_nothing(
    sender_only: AttachedPool, unsuitable_pools: dict[str, OutOfBandPool], pool: str | None, mode: str, reason: str
) -> None:
    # GIVEN the sender stack attached to its pool, and a pool it cannot attach to (or one in another region)
    cloudformation, cognito = sender_only.deployment.client("cloudformation"), sender_only.cognito
    target = unsuitable_pools[pool].user_pool_id if pool else "eu-west-1_AbCdEf123"
    attached = sender_only.state()
    target_before = pool_state(cognito, target) if pool else None

    # WHEN the stack is updated onto it
    started = time.monotonic()
    cloudformation.update_stack(
        StackName=SENDER_STACK,
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": "ExistingUserPoolId", "ParameterValue": target},
            {"ParameterKey": "ExistingPoolTriggers", "ParameterValue": mode},
            *(
                {"ParameterKey": name, "UsePreviousValue": True}
                for name in ("TestMode", "FunctionArchitecture", "LogRetentionDays", "ExistingPoolSmsRoleArn")
            ),
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    status = _final_status(cloudformation, SENDER_STACK)
    print(f"{pool or 'other region'}: UpdateStack to {status} in {time.monotonic() - started:.1f} s")  # noqa: T201 - with -s

    # THEN the custom resource refused with the reason, the stack rolled back, and neither pool changed
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert _reason(cloudformation, SENDER_STACK, "UPDATE_FAILED").startswith(reason.format(attached=sender_only.pool.user_pool_id))
    assert sender_only.state() == attached
    if target_before is not None:
        assert pool_state(cognito, target) == target_before


def test_a_malformed_pool_id_is_refused_before_anything_is_created(sender_only: AttachedPool) -> None:
    # WHEN the stack is updated with something that is not a pool ID; THEN CloudFormation refuses the parameter itself
    cloudformation = sender_only.deployment.client("cloudformation")
    with pytest.raises(ClientError, match="a user pool ID such as us-east-1_AbC123xyz, or empty") as refusal:
        cloudformation.update_stack(
            StackName=SENDER_STACK,
            UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "ExistingUserPoolId", "ParameterValue": "my pool"}],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    assert refusal.value.response["Error"]["Code"] == "ValidationError"


# ------------------------------------------------------------ delete ---


@pytest.mark.parametrize(("fixture", "stack_name"), [("passwordless", PASSWORDLESS_STACK), ("sender_only", SENDER_STACK)])
def test_deleting_the_stack_gives_the_pool_back_as_it_was(request: pytest.FixtureRequest, fixture: str, stack_name: str) -> None:
    # GIVEN a pool with the stack attached (its other tests above have run)
    attached: AttachedPool = request.getfixturevalue(fixture)

    # WHEN the stack is deleted
    delete_stack(attached.deployment.client("cloudformation"), stack_name)

    # THEN the pool's triggers, KMS key, settings, MFA configuration and app clients are what they were
    assert attached.state() == attached.before
