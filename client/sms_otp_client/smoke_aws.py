"""``smoke-aws``: the existing-pool round trip against a scratch user pool in your own account.

The stack is deployed onto the pool in Passwordless mode and test mode (codes go to
the test topic, never to a phone); someone signs up and signs in by code; the stack is
updated to CustomSmsSender mode (the custom resource's update path gives five slots
back); the stack is deleted. ``DescribeUserPool`` and ``GetUserPoolMfaConfig`` are
read before and after, and every difference is printed.

The steps are written once, against a :class:`SmokeTarget`: the real account (``sam
deploy``, your AWS configuration) or the local emulator (the e2e tier runs it there,
so the script stays working). Nothing here runs without an explicit stack name.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from sms_otp_client.auth import PasswordlessClient, SignInError, Tokens
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import ClientFactory
from sms_otp_client.stack import StackOutputs
from sms_otp_client.trigger_check import missing_triggers

# What changes on its own between two reads of a pool: never a difference the stack made.
VOLATILE_FIELDS = ("LastModifiedDate", "EstimatedNumberOfUsers")
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass(frozen=True, slots=True)
class SmokeTarget:
    """Where the smoke test runs: clients, a deployer (stack name, parameters → outputs) and how a sign-up code is read."""

    client: ClientFactory
    deploy: Callable[[str, Mapping[str, str]], StackOutputs]
    sign_up_code: Callable[[TestModeInbox], str]
    delete_wait_seconds: int = 5


def pool_snapshot(cognito: Any, user_pool_id: str) -> dict[str, Any]:
    """DescribeUserPool (less what changes on its own) and GetUserPoolMfaConfig, as JSON-comparable data."""
    pool = cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"]
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=user_pool_id)
    described = {key: value for key, value in pool.items() if key not in VOLATILE_FIELDS}
    mfa = {key: value for key, value in mfa.items() if key != "ResponseMetadata"}
    snapshot: dict[str, Any] = json.loads(json.dumps({"DescribeUserPool": described, "GetUserPoolMfaConfig": mfa}, default=str))
    return snapshot


def triggers(cognito: Any, user_pool_id: str) -> list[str]:
    """The names of the pool's trigger slots that are set."""
    return sorted(cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"].get("LambdaConfig") or {})


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Every path where ``after`` differs from ``before``, with both values."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(before.keys() | after.keys()):
            found += differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return found
    return [] if before == after else [f"{path}: {json.dumps(before)[:200]} -> {json.dumps(after)[:200]}"]


def stack_parameters(pool: Mapping[str, Any], user_pool_id: str, *, replace_existing_triggers: bool) -> dict[str, str]:
    """The parameters that deploy onto ``pool``: its own SMS role and key read from it, test mode on."""
    parameters = {
        "ExistingUserPoolId": user_pool_id,
        "ExistingPoolTriggers": "Passwordless",
        "TestMode": "true",
        "ReplaceExistingTriggers": "true" if replace_existing_triggers else "false",
    }
    role = (pool.get("SmsConfiguration") or {}).get("SnsCallerArn")
    if role:
        parameters["ExistingPoolSmsRoleArn"] = role
    key = (pool.get("LambdaConfig") or {}).get("KMSKeyID")
    if key:
        parameters["ExistingPoolKmsKeyArn"] = key
    return parameters


def _sign_in(target: SmokeTarget, outputs: StackOutputs, phone_number: str, say: Callable[[str], None]) -> None:
    cognito = target.client("cognito-idp")
    if outputs.test_mode_topic_arn is None:
        raise SignInError("The stack is not in test mode; the smoke test never sends a real SMS.")
    client = PasswordlessClient(cognito, outputs.user_pool_client_id)
    inbox = TestModeInbox.create(
        sqs=target.client("sqs"), sns=target.client("sns"), topic_arn=outputs.test_mode_topic_arn, recipient=phone_number
    )
    try:
        client.sign_up(phone_number)
        cognito.confirm_sign_up(ClientId=outputs.user_pool_client_id, Username=phone_number, ConfirmationCode=target.sign_up_code(inbox))
        challenge = client.start(phone_number)
        message = inbox.wait_for_message(trigger_source="CreateAuthChallenge_Authentication")
        if not isinstance(client.answer(phone_number, challenge, message.code), Tokens):
            raise SignInError("The code from the test topic was refused.")
        say("signed up and signed in by code through the stack's triggers")
    finally:
        inbox.delete()
        with contextlib.suppress(cognito.exceptions.UserNotFoundException):
            cognito.admin_delete_user(UserPoolId=outputs.user_pool_id, Username=phone_number)


def run_smoke(
    target: SmokeTarget,
    *,
    stack_name: str,
    user_pool_id: str,
    phone_number: str,
    replace_existing_triggers: bool = False,
    stream: Any = sys.stdout,
) -> int:
    """Attach, sign in, update, delete; 0 when the pool reads as it did before, 1 (with the differences printed) otherwise."""

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    if not stack_name:
        raise ValueError("An explicit stack name is required.")
    cognito = target.client("cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"]
    before = pool_snapshot(cognito, user_pool_id)
    parameters = stack_parameters(pool, user_pool_id, replace_existing_triggers=replace_existing_triggers)
    say(f"1/5 deploy {stack_name} onto {user_pool_id} (Passwordless, test mode): {sorted(parameters)}")
    outputs = target.deploy(stack_name, parameters)
    say(f"    triggers now {triggers(cognito, user_pool_id)}")
    missing = missing_triggers(target.client("cloudformation"), cognito, stack_name, user_pool_id)
    if missing:
        raise SignInError(f"The pool does not hold the stack's {', '.join(missing)} after the deploy.")
    say("2/5 sign up and sign in by code (test mode: the code comes from the test topic)")
    _sign_in(target, outputs, phone_number, lambda text: say(f"    {text}"))
    say("3/5 update the stack to CustomSmsSender mode (the custom resource's update path)")
    target.deploy(stack_name, {**parameters, "ExistingPoolTriggers": "CustomSmsSender"})
    say(f"    triggers now {triggers(cognito, user_pool_id)}")
    say(f"4/5 delete {stack_name}")
    cloudformation = target.client("cloudformation")
    cloudformation.delete_stack(StackName=stack_name)
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=stack_name, WaiterConfig={"Delay": target.delete_wait_seconds, "MaxAttempts": 720 // target.delete_wait_seconds}
    )
    say("5/5 compare DescribeUserPool and GetUserPoolMfaConfig with what they were")
    found = differences(before, pool_snapshot(cognito, user_pool_id))
    for difference in found:
        say(f"    DIFFERENT {difference}")
    say("    the pool reads exactly as before" if not found else f"    {len(found)} difference(s)")
    return 1 if found else 0


def aws_target(region: str | None, build_and_deploy: Callable[[str, Mapping[str, str]], None]) -> SmokeTarget:
    """The real account, through your AWS configuration; ``build_and_deploy`` runs ``sam`` for a stack name and parameters."""
    session = boto3.session.Session(region_name=region)

    def deploy(stack_name: str, parameters: Mapping[str, str]) -> StackOutputs:
        build_and_deploy(stack_name, parameters)
        return StackOutputs.load(session.client("cloudformation"), stack_name)

    def sign_up_code(inbox: TestModeInbox) -> str:
        # The stack's Custom SMS Sender is attached, so Cognito's sign-up code reaches the test topic.
        return inbox.wait_for_message(trigger_source="CustomSMSSender_SignUp", timeout_seconds=60).code

    return SmokeTarget(client=session.client, deploy=deploy, sign_up_code=sign_up_code, delete_wait_seconds=10)


def sam_deploy(sam: str, region: str | None) -> Callable[[str, Mapping[str, str]], None]:
    """``sam build`` once, then ``sam deploy`` of that build for each call (a guided-free deploy: every value is given)."""
    built: list[bool] = []

    def run(stack_name: str, parameters: Mapping[str, str]) -> None:
        if not built:
            subprocess.run([sam, "build"], check=True)  # noqa: S603 - the project's own sam, fixed arguments
            built.append(True)
        command = [sam, "deploy", "--stack-name", stack_name, "--resolve-s3", "--no-confirm-changeset", "--no-fail-on-empty-changeset"]
        command += ["--capabilities", *CAPABILITIES, "--parameter-overrides", *(f"{name}={value}" for name, value in parameters.items())]
        if region:
            command += ["--region", region]
        started = time.monotonic()
        subprocess.run(command, check=True)  # noqa: S603 - the project's own sam, arguments from the caller's flags
        print(f"    sam deploy took {time.monotonic() - started:.0f} s", flush=True)

    return run
