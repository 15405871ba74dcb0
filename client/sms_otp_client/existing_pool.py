"""The sandbox onto an existing user pool: a pool made out of band, the stack deployed onto it, a sign-in, the pool given back.

The pool is made the way a team's own would be, with settings a careless
``UpdateUserPool`` would lose: MFA optional with SMS and authenticator apps, a Pre
Token Generation trigger of its own (a small function that adds a claim), a custom
verification message, a password policy, tags and an app client of its own. The
stack is deployed onto it in Passwordless mode by ``sam deploy`` with
``ExistingUserPoolId``; someone signs up through the stack's new app client and
signs in with a code from the test topic; the stack is deleted, and the pool's
settings are compared with what they were.
"""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.existing_pool.user_pool_settings import writable_settings
from sms_otp_client.auth import PasswordlessClient, SignInError, Tokens, explain
from sms_otp_client.emulator import Emulator, EmulatorError
from sms_otp_client.inbox import InboxTimeoutError, TestModeInbox
from sms_otp_client.progress import Progress
from sms_otp_client.sandbox import (
    EMULATOR_LOG,
    SANDBOX_DIR,
    ClientFactory,
    SandboxDeployment,
    SandboxError,
    build,
    build_folder_lock,
    deploy,
    emulator_clients,
    emulator_python,
    machine_architecture,
    sandbox_environment,
)
from sms_otp_client.stack import StackNotFoundError

STACK_NAME = "sms-otp-sandbox-existing-pool"
# What Pre Token Generation adds to the ID token: proof that the pool's own trigger still runs.
OWN_CLAIM = ("issued_by", "the pool's own Pre Token Generation trigger")
# The emulator sends no sign-up code and accepts any (a Custom SMS Sender would get Cognito's, as in AWS).
EMULATOR_SIGN_UP_CODE = "123456"
_PRE_TOKEN_CODE = f"""
def handler(event, context):
    event["response"] = {{"claimsOverrideDetails": {{"claimsToAddOrOverride": {{{OWN_CLAIM[0]!r}: {OWN_CLAIM[1]!r}}}}}}}
    return event
"""


@dataclass(frozen=True, slots=True)
class OutOfBandPool:
    """A user pool the stack does not own, and its own pieces."""

    user_pool_id: str
    app_client_id: str


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def create_distinctive_pool(
    client: ClientFactory, name: str, *, username_attributes: tuple[str, ...] = ("phone_number",), own_pre_sign_up: bool = False
) -> OutOfBandPool:
    """Create, outside any stack, a pool with settings of every kind a team's pool has.

    ``own_pre_sign_up`` also gives it a Pre sign-up trigger of its own (the same small function).
    """
    iam, awslambda, cognito = client("iam"), client("lambda"), client("cognito-idp")
    sms_role = iam.create_role(RoleName=f"{name}-sms", AssumeRolePolicyDocument=_trust("cognito-idp.amazonaws.com"))["Role"]["Arn"]
    function_role = iam.create_role(RoleName=f"{name}-pre-token", AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"))["Role"]["Arn"]
    function_arn = awslambda.create_function(
        FunctionName=f"{name}-pre-token",
        Runtime="python3.13",
        Role=function_role,
        Handler="index.handler",
        Code={"ZipFile": _zip(_PRE_TOKEN_CODE)},
        Timeout=5,
    )["FunctionArn"]
    created = cognito.create_user_pool(
        PoolName=name,
        UsernameAttributes=list(username_attributes),
        AutoVerifiedAttributes=["phone_number"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 14,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
                "TemporaryPasswordValidityDays": 2,
            }
        },
        LambdaConfig={"PreTokenGeneration": function_arn, **({"PreSignUp": function_arn} if own_pre_sign_up else {})},
        SmsVerificationMessage="Customers: your verification code is {####}",
        SmsAuthenticationMessage="Customers: your sign-in code is {####}",
        VerificationMessageTemplate={"SmsMessage": "Customers: verification code {####}", "DefaultEmailOption": "CONFIRM_WITH_CODE"},
        MfaConfiguration="OPTIONAL",
        SmsConfiguration={"SnsCallerArn": sms_role, "ExternalId": f"{name}-sms", "SnsRegion": cognito.meta.region_name},
        DeviceConfiguration={"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_phone_number", "Priority": 1}]},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": False},
        UserPoolTags={"team": "customers", "cost-centre": "4711"},
    )["UserPool"]
    user_pool_id = created["Id"]
    cognito.set_user_pool_mfa_config(
        UserPoolId=user_pool_id,
        MfaConfiguration="OPTIONAL",
        SmsMfaConfiguration={"SmsAuthenticationMessage": "Customers: sign-in code {####}", "SmsConfiguration": {"SnsCallerArn": sms_role}},
        SoftwareTokenMfaConfiguration={"Enabled": True},
    )
    app_client_id = cognito.create_user_pool_client(
        UserPoolId=user_pool_id, ClientName=f"{name}-web", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    # Cognito may invoke the function for this pool only.
    awslambda.add_permission(
        FunctionName=function_arn,
        StatementId="cognito",
        Action="lambda:InvokeFunction",
        Principal="cognito-idp.amazonaws.com",
        SourceArn=created["Arn"],
    )
    return OutOfBandPool(user_pool_id=user_pool_id, app_client_id=app_client_id)


def pool_state(cognito: Any, user_pool_id: str) -> dict[str, Any]:
    """Everything the stack must give back: the writable settings (triggers included), the MFA configuration, the app clients."""
    description = cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"]
    mfa = {key: value for key, value in cognito.get_user_pool_mfa_config(UserPoolId=user_pool_id).items() if key != "ResponseMetadata"}
    clients = {}
    for listed in cognito.list_user_pool_clients(UserPoolId=user_pool_id, MaxResults=60)["UserPoolClients"]:
        described = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=listed["ClientId"])["UserPoolClient"]
        clients[listed["ClientId"]] = {key: value for key, value in described.items() if key not in ("LastModifiedDate", "CreationDate")}
    return {"settings": writable_settings(description), "mfa": mfa, "app_clients": clients}


def delete_stack(cloudformation: Any, stack_name: str) -> None:
    """Delete a stack and wait until it is gone (the emulator answers within seconds)."""
    cloudformation.delete_stack(StackName=stack_name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def sign_up_and_sign_in(deployment: SandboxDeployment, phone_number: str, progress: Progress) -> Tokens:
    """Sign up through the stack's app client, confirm, and sign in with the code from the test topic."""
    cognito = deployment.client("cognito-idp")
    client = PasswordlessClient(cognito, deployment.outputs.user_pool_client_id)
    assert deployment.outputs.test_mode_topic_arn is not None  # noqa: S101 - the sandbox is in test mode
    inbox = TestModeInbox.create(
        sqs=deployment.client("sqs"), sns=deployment.client("sns"), topic_arn=deployment.outputs.test_mode_topic_arn, recipient=phone_number
    )
    try:
        with progress.step(f"Sign up {phone_number} through the stack's new app client, and confirm") as details:
            client.sign_up(phone_number)
            # In a pool the stack does not own, sign-ups are confirmed with Cognito's code, never at once.
            cognito.confirm_sign_up(
                ClientId=deployment.outputs.user_pool_client_id, Username=phone_number, ConfirmationCode=EMULATOR_SIGN_UP_CODE
            )
            details.append("confirmed with the sign-up code (the emulator sends none and takes any)")
        with progress.step("Sign in with a code (CUSTOM_AUTH through the stack's triggers)") as details:
            challenge = client.start(phone_number)
            message = inbox.wait_for_message(trigger_source="CreateAuthChallenge_Authentication")
            result = client.answer(phone_number, challenge, message.code)
            if not isinstance(result, Tokens):
                raise SignInError("The code from the inbox was refused: the stack is misconfigured.")
            details.append(f"code from the test topic: {message.text!r}")
            claims = result.id_token_claims()
            details.append(f"ID token for {claims.get('phone_number')}, {OWN_CLAIM[0]}={claims.get(OWN_CLAIM[0])!r}")
        return result
    finally:
        inbox.delete()


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two :func:`pool_state` results: ``settings.<name>``, ``mfa``, ``app_clients``."""
    settings_before, settings_after = before["settings"], after["settings"]
    names = sorted(settings_before.keys() | settings_after.keys())
    differing = [f"settings.{name}" for name in names if settings_before.get(name) != settings_after.get(name)]
    return differing + [part for part in ("mfa", "app_clients") if before[part] != after[part]]


def run_existing_pool_sandbox(phone_number: str, *, stream: Any = sys.stdout) -> int:
    """``sandbox --existing-pool``: the whole round trip in the emulator; 0 when the pool came back as it was."""
    started = time.perf_counter()
    architecture = machine_architecture()
    progress = Progress(8, stream=stream)
    SANDBOX_DIR.mkdir(exist_ok=True)
    emulator = Emulator(emulator_python(), log_path=EMULATOR_LOG)
    print(f"Local sandbox onto an existing user pool ({architecture}): Passwordless mode, test mode, no SMS.", file=stream)
    try:
        with progress.step("Start the emulator") as details:
            emulator.start()
            details.append(f"listening on {emulator.endpoint_url}; log: {EMULATOR_LOG}")
        environment = sandbox_environment(emulator.endpoint_url, emulator.region)
        # The build folder is shared with other sandboxes and the e2e tier: one build and deploy at a time.
        with build_folder_lock(on_wait=lambda message: print(message, file=stream, flush=True)):
            with progress.step(f"sam build (FunctionArchitecture={architecture})") as details:
                build(environment, architecture)
                details.append(f"log: {SANDBOX_DIR / 'sam-build.log'}")
            with progress.step("Create a user pool out of band (MFA, a trigger, messages, policy, tags, an app client)") as details:
                client = emulator_clients(emulator.endpoint_url, emulator.region)
                pool = create_distinctive_pool(client, "customers")
                cognito = client("cognito-idp")
                before = pool_state(cognito, pool.user_pool_id)
                triggers = sorted(before["settings"]["LambdaConfig"])
                details.append(f"user pool {pool.user_pool_id}: triggers {triggers}, {len(before['settings'])} settings")
            with progress.step("sam deploy onto it (ExistingUserPoolId, ExistingPoolTriggers=Passwordless)") as details:
                overrides = {"ExistingUserPoolId": pool.user_pool_id, "ExistingPoolTriggers": "Passwordless"}
                deployment = deploy(emulator, architecture, stack_name=STACK_NAME, overrides=overrides)
                attached = pool_state(cognito, pool.user_pool_id)
                details.append(f"triggers now {sorted(attached['settings']['LambdaConfig'])}")
                details.append(f"new app client {deployment.outputs.user_pool_client_id}; the pool's own ({pool.app_client_id}) untouched")
        sign_up_and_sign_in(deployment, phone_number, progress)
        with progress.step(f"Delete the stack {STACK_NAME}") as details:
            delete_stack(client("cloudformation"), STACK_NAME)
            details.append("the custom resource gave the pool its own triggers back")
        with progress.step("Compare the pool with what it was") as details:
            after = pool_state(cognito, pool.user_pool_id)
            differing = _differences(before, after)
            details.append(f"triggers {sorted(after['settings']['LambdaConfig'])}")
            details.append(
                "every setting, the MFA configuration and the app clients as before" if not differing else f"DIFFERENT: {differing}"
            )
    except (EmulatorError, SandboxError, SignInError, StackNotFoundError, InboxTimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: {explain(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted; the emulator is stopped.", file=sys.stderr)
        return 130
    finally:
        emulator.stop()
    print(f"\nSandbox finished in {time.perf_counter() - started:.1f} s; the emulator is stopped.", file=stream)
    return 1 if differing else 0
