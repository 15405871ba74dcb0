"""The existing-pool tests' shared pieces: the stack's values, a distinctive pool, requests, and the function as deployed."""

from __future__ import annotations

from typing import Any

from sms_otp.existing_pool.existing_user_pool import DescribedPools, ExistingPoolTriggers, ResourceEvent
from sms_otp.existing_pool.stack_resources import StackResources
from sms_otp.existing_pool.trigger_attachment import identity
from sms_otp.existing_pool.user_pool_settings import writable_settings
from tests.testkit.user_pool_fakes import REGION, FakeUserPool, MemoryRecords, function_arn, key_arn

STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/sms-otp/8d5c1a30-0000-4000-8000-000000000001"
LOGICAL_ID = "ExistingUserPoolTriggers"
SENDER = {"LambdaArn": function_arn("sms-otp-CustomSmsSender"), "LambdaVersion": "V1_0"}
STACK_KEY = key_arn("11111111-2222-4333-8444-555555555555")
PASSWORDLESS_CONFIG = {
    "PreSignUp": function_arn("sms-otp-PreSignUp"),
    "DefineAuthChallenge": function_arn("sms-otp-DefineAuthChallenge"),
    "CreateAuthChallenge": function_arn("sms-otp-CreateAuthChallenge"),
    "VerifyAuthChallengeResponse": function_arn("sms-otp-VerifyAuthChallenge"),
    "PostAuthentication": function_arn("sms-otp-PostAuthentication"),
    "CustomSMSSender": SENDER,
    "KMSKeyID": STACK_KEY,
}
SENDER_CONFIG = {"CustomSMSSender": SENDER, "KMSKeyID": STACK_KEY}
CONFIGS = {"Passwordless": PASSWORDLESS_CONFIG, "CustomSmsSender": SENDER_CONFIG}


def a_pool(**overrides: Any) -> dict[str, Any]:
    """A pool with distinctive settings of every kind, as DescribeUserPool returns it."""
    pool: dict[str, Any] = {
        "Id": f"{REGION}_Distinct1",
        "Name": "customers",
        "Arn": f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{REGION}_Distinct1",
        "Status": "Enabled",
        "UsernameAttributes": ["phone_number"],
        "AutoVerifiedAttributes": ["phone_number"],
        "EstimatedNumberOfUsers": 42,
        "SchemaAttributes": [{"Name": "phone_number", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        "Policies": {
            "PasswordPolicy": {"MinimumLength": 14, "RequireSymbols": True, "TemporaryPasswordValidityDays": 2},
            "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]},
        },
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True, "UnusedAccountValidityDays": 2},
        "MfaConfiguration": "OPTIONAL",
        "SmsConfiguration": {
            "SnsCallerArn": "arn:aws:iam::123456789012:role/customers-sms",
            "ExternalId": "customers",
            "SnsRegion": REGION,
        },
        "SmsAuthenticationMessage": "Your MFA code is {####}",
        "VerificationMessageTemplate": {"SmsMessage": "Customers: your code is {####}", "DefaultEmailOption": "CONFIRM_WITH_CODE"},
        "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_phone_number", "Priority": 1}]},
        "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True},
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["phone_number"]},
        "UserPoolTags": {"team": "identity", "cost-centre": "42"},
        "DeletionProtection": "ACTIVE",
        "UserPoolTier": "ESSENTIALS",
        "LambdaConfig": {
            "PreTokenGeneration": function_arn("customers-pre-token"),
            "PreTokenGenerationConfig": {"LambdaArn": function_arn("customers-pre-token"), "LambdaVersion": "V2_0"},
        },
    }
    pool.update(overrides)
    return pool


def event(
    config: dict[str, Any], *, user_pool_id: Any = f"{REGION}_Distinct1", replace: str = "false", old: dict | None = None
) -> ResourceEvent:
    """A Create/Update/Delete request's parts, with the properties the template gives the custom resource."""
    mode = "Passwordless" if "PreSignUp" in config else "CustomSmsSender"
    properties = {"UserPoolId": user_pool_id, "Mode": mode, "LambdaConfig": config, "ReplaceExistingTriggers": replace}
    properties["ServiceTimeout"] = "120"
    return ResourceEvent(stack_id=STACK_ID, logical_id=LOGICAL_ID, properties=properties, old_properties=old or {})


class StackTriggers:
    """The custom resource as each deployment of the stack runs it: its environment names what the request names.

    The template sets the function's environment from the same resources as the request's
    properties, so each request here is served by a function whose environment matches it.
    ``sms_role`` and ``pool_key`` are the stack's ExistingPoolSmsRoleArn and ExistingPoolKmsKeyArn.
    """

    def __init__(self, pools: DescribedPools, records: Any, *, sms_role: str | None, pool_key: str | None) -> None:
        self.pools, self.records, self.sms_role, self.pool_key = pools, records, sms_role, pool_key

    def serving(self, request: ResourceEvent) -> ExistingPoolTriggers:
        properties = request.properties
        stack = StackResources(
            stack_id=STACK_ID,
            user_pool_id=properties["UserPoolId"],
            mode=properties["Mode"],
            lambda_config=dict(properties["LambdaConfig"]),
            pool_sms_role_arn=self.sms_role,
            pool_kms_key_arn=self.pool_key,
        )
        return ExistingPoolTriggers(pools=self.pools, records=self.records, stack=stack, region=REGION, log=lambda *_a, **_k: None)

    def attach(self, request: ResourceEvent) -> str:
        return self.serving(request).attach(request)

    def detach(self, request: ResourceEvent) -> None:
        self.serving(request).detach(request)


def triggers_for(pool: FakeUserPool, records: Any = None) -> tuple[StackTriggers, Any]:
    """The custom resource for ``pool``, deployed with the pool's own SMS role and key as its parameters."""
    records = MemoryRecords() if records is None else records
    sms_role = (pool.description.get("SmsConfiguration") or {}).get("SnsCallerArn")
    own_key = (pool.description.get("LambdaConfig") or {}).get("KMSKeyID")
    pool_key = None if own_key is None or own_key == STACK_KEY else identity(own_key)
    return StackTriggers(DescribedPools(pool), records, sms_role=sms_role, pool_key=pool_key), records


def fit_for_attaching(description: dict[str, Any]) -> None:
    """Make a drawn pool one that both modes may attach to: users who sign in and sign up by phone, a working SMS role."""
    description["UsernameAttributes"] = ["phone_number"]
    description["AutoVerifiedAttributes"] = ["phone_number"]
    description.pop("SmsConfigurationFailure", None)


def settings_of(pool: FakeUserPool) -> dict[str, Any]:
    return writable_settings(pool.describe_user_pool(UserPoolId=pool.description["Id"])["UserPool"])
