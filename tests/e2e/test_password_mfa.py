"""Password sign-in with MFA, on the second sandbox stack (PasswordSignIn=true, MfaConfiguration=ON).

SRP is pycognito's and TOTP is pyotp's (what an authenticator app computes); the
emulator checks both for real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP
from pycognito.exceptions import MFAChallengeException

from sms_otp_client.auth import PasswordlessClient, Tokens, decode_jwt_claims, random_password
from sms_otp_client.emulator import Emulator
from sms_otp_client.inbox import TestModeInbox
from sms_otp_client.sandbox import SandboxDeployment, emulator_clients
from tests.testkit.template import load_template

from .conftest import EMULATOR_SIGN_UP_CODE

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Account:
    phone_number: str
    password: str


def srp_sign_in(deployment: SandboxDeployment, account: Account) -> dict[str, Any]:
    """USER_SRP_AUTH through pycognito: tokens, or the MFA challenge Cognito asks for next."""
    srp = AWSSRP(
        username=account.phone_number,
        password=account.password,
        pool_id=deployment.outputs.user_pool_id,
        client_id=deployment.outputs.user_pool_client_id,
        client=deployment.client("cognito-idp"),
    )
    try:
        response: dict[str, Any] = srp.authenticate_user()
    except MFAChallengeException as challenge:
        response = challenge.get_tokens()
    return response


def wrong_totp(totp: pyotp.TOTP) -> str:
    """A six-digit code outside the window Cognito accepts (one step either side of now), with a step of margin."""
    candidate = int(totp.now())
    while totp.verify(f"{candidate:06d}", valid_window=2):
        candidate = (candidate + 1) % 10**6
    return f"{candidate:06d}"


def enrol_authenticator(cognito: Any, access_token: str) -> pyotp.TOTP:
    """AssociateSoftwareToken, VerifySoftwareToken with the app's code, and TOTP as the preferred factor."""
    secret = cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
    totp = pyotp.TOTP(secret)
    assert cognito.verify_software_token(AccessToken=access_token, UserCode=totp.now(), FriendlyDeviceName="phone")["Status"] == "SUCCESS"
    cognito.set_user_mfa_preference(AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    return totp


@pytest.fixture
def cognito(password_sandbox: SandboxDeployment) -> Any:
    return password_sandbox.client("cognito-idp")


@pytest.fixture
def account(password_sandbox: SandboxDeployment, cognito: Any, phone_number: str) -> Account:
    """A user who signed up with a password and confirmed the sign-up."""
    created = Account(phone_number=phone_number, password=random_password())
    cognito.sign_up(
        ClientId=password_sandbox.outputs.user_pool_client_id,
        Username=created.phone_number,
        Password=created.password,
        UserAttributes=[{"Name": "phone_number", "Value": created.phone_number}],
    )
    cognito.confirm_sign_up(
        ClientId=password_sandbox.outputs.user_pool_client_id, Username=created.phone_number, ConfirmationCode=EMULATOR_SIGN_UP_CODE
    )
    return created


def test_a_password_works_only_once_the_sign_up_is_confirmed(password_sandbox: SandboxDeployment, cognito: Any, phone_number: str):
    # GIVEN someone signs up with a password (Pre sign-up does not auto-confirm when passwords are allowed)
    account = Account(phone_number=phone_number, password=random_password())
    client_id = password_sandbox.outputs.user_pool_client_id
    signed_up = cognito.sign_up(
        ClientId=client_id,
        Username=phone_number,
        Password=account.password,
        UserAttributes=[{"Name": "phone_number", "Value": phone_number}],
    )
    assert signed_up["UserConfirmed"] is False

    # WHEN they sign in by password before confirming
    with pytest.raises(ClientError) as refused:
        srp_sign_in(password_sandbox, account)

    # THEN Cognito refuses; once confirmed, SRP sign-in issues tokens (a first sign-in asks for no MFA yet)
    assert refused.value.response["Error"]["Code"] == "UserNotConfirmedException"
    cognito.confirm_sign_up(ClientId=client_id, Username=phone_number, ConfirmationCode=EMULATOR_SIGN_UP_CODE)
    user = cognito.admin_get_user(UserPoolId=password_sandbox.outputs.user_pool_id, Username=phone_number)
    assert user["UserStatus"] == "CONFIRMED"
    result = srp_sign_in(password_sandbox, account)
    claims = decode_jwt_claims(result["AuthenticationResult"]["IdToken"])
    assert claims["phone_number"] == phone_number
    assert claims["aud"] == client_id


def test_an_enrolled_authenticator_app_is_asked_for_at_each_password_sign_in(
    password_sandbox: SandboxDeployment, cognito: Any, account: Account
):
    # GIVEN a signed-in user who enrols an authenticator app; a wrong code does not enrol it
    access_token = srp_sign_in(password_sandbox, account)["AuthenticationResult"]["AccessToken"]
    totp = pyotp.TOTP(cognito.associate_software_token(AccessToken=access_token)["SecretCode"])
    with pytest.raises(ClientError) as mismatch:
        cognito.verify_software_token(AccessToken=access_token, UserCode=wrong_totp(totp))
    assert mismatch.value.response["Error"]["Code"] == "EnableSoftwareTokenMFAException"
    assert cognito.verify_software_token(AccessToken=access_token, UserCode=totp.now())["Status"] == "SUCCESS"
    cognito.set_user_mfa_preference(AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    user = cognito.admin_get_user(UserPoolId=password_sandbox.outputs.user_pool_id, Username=account.phone_number)
    assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]

    # WHEN they sign in by password again
    challenge = srp_sign_in(password_sandbox, account)

    # THEN Cognito asks for the app's code; a wrong one is refused, and the right one in the same session gives tokens
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert "AuthenticationResult" not in challenge

    def answer(code: str) -> dict[str, Any]:
        response: dict[str, Any] = cognito.respond_to_auth_challenge(
            ClientId=password_sandbox.outputs.user_pool_client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": account.phone_number, "SOFTWARE_TOKEN_MFA_CODE": code},
        )
        return response

    with pytest.raises(ClientError) as wrong:
        answer(wrong_totp(totp))
    assert wrong.value.response["Error"]["Code"] == "CodeMismatchException"
    claims = decode_jwt_claims(answer(totp.now())["AuthenticationResult"]["IdToken"])
    assert claims["phone_number"] == account.phone_number
    assert claims["token_use"] == "id"


def test_sign_in_by_code_still_works_and_asks_for_no_mfa(
    password_sandbox: SandboxDeployment, cognito: Any, account: Account, password_inbox: TestModeInbox
):
    # GIVEN a user with an authenticator app enrolled, on a pool that requires MFA for passwords
    access_token = srp_sign_in(password_sandbox, account)["AuthenticationResult"]["AccessToken"]
    enrol_authenticator(cognito, access_token)
    assert srp_sign_in(password_sandbox, account)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"

    # WHEN they sign in with a code instead (CUSTOM_AUTH)
    client = PasswordlessClient(cognito, password_sandbox.outputs.user_pool_client_id)
    challenge = client.start(account.phone_number)
    result = client.answer(account.phone_number, challenge, password_inbox.wait_for_message().code)

    # THEN the code alone gives tokens: MFA applies to password sign-in only
    assert isinstance(result, Tokens)
    assert result.id_token_claims()["phone_number"] == account.phone_number


def test_a_password_inside_custom_auth_is_refused(
    password_sandbox: SandboxDeployment, cognito: Any, account: Account, password_inbox: TestModeInbox
):
    # GIVEN a CUSTOM_AUTH sign-in started the way SRP-then-custom-challenge flows start it (with SRP_A)
    srp_a = AWSSRP(
        username=account.phone_number,
        password=account.password,
        pool_id=password_sandbox.outputs.user_pool_id,
        client_id=password_sandbox.outputs.user_pool_client_id,
        client=cognito,
    ).get_auth_params()["SRP_A"]

    # WHEN it reaches Define Auth Challenge
    with pytest.raises(ClientError) as refused:
        cognito.initiate_auth(
            ClientId=password_sandbox.outputs.user_pool_client_id,
            AuthFlow="CUSTOM_AUTH",
            AuthParameters={"USERNAME": account.phone_number, "SRP_A": srp_a},
        )

    # THEN the session fails at once and no code is sent
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert password_inbox.drain() == []


# ------------------------------------------------------------------ the template's rule ---


def rule_refusal(emulator: Emulator, parameters: dict[str, str]) -> str | None:
    """The message with which template.yaml's Rules refuse ``parameters``, or None when they pass.

    The emulator's CloudFormation evaluates the Rules section as AWS does, when a
    stack is created; the stack holds the template's Parameters and Rules and one
    resource that does nothing.
    """
    template = load_template()
    body = {
        "Parameters": template["Parameters"],
        "Rules": template["Rules"],
        "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }
    cloudformation = emulator_clients(emulator.endpoint_url, emulator.region)("cloudformation")
    stack_name = "rules-" + "-".join(f"{name}-{value}" for name, value in sorted(parameters.items())).lower()
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": name, "ParameterValue": value} for name, value in parameters.items()],
        )
    except ClientError as error:
        return str(error.response["Error"]["Message"])
    cloudformation.delete_stack(StackName=stack_name)
    return None


@pytest.mark.parametrize("mfa_configuration", ["ON", "OPTIONAL"])
def test_mfa_without_password_sign_in_is_refused(emulator: Emulator, mfa_configuration: str):
    # GIVEN MFA on a stack that allows no password sign-in, where it would ask for nothing
    parameters = {"PasswordSignIn": "false", "MfaConfiguration": mfa_configuration}

    # WHEN a stack is created with them
    refusal = rule_refusal(emulator, parameters)

    # THEN the template refuses it, with the rule's sentence
    assert refusal is not None
    assert "MfaNeedsPasswordSignIn" in refusal
    assert "MfaConfiguration applies to password sign-in only" in refusal


@pytest.mark.parametrize(
    ("password_sign_in", "mfa_configuration"), [("false", "OFF"), ("true", "OFF"), ("true", "OPTIONAL"), ("true", "ON")]
)
def test_mfa_with_password_sign_in_and_no_mfa_are_accepted(emulator: Emulator, password_sign_in: str, mfa_configuration: str):
    # GIVEN a combination that makes sense / WHEN a stack is created with it
    refusal = rule_refusal(emulator, {"PasswordSignIn": password_sign_in, "MfaConfiguration": mfa_configuration})

    # THEN no rule refuses it
    assert refusal is None
