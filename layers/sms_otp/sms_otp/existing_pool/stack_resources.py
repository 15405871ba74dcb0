"""What the custom resource may write, read from its own environment, and requests held to it.

Anyone allowed to invoke the function can hand it any event. So the event is never
the source of what is written: the stack, the pool, the mode and every value of the
``LambdaConfig`` come from the function's environment (set by the template from the
stack's own functions and key), and a request that asks for anything else is refused
before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sms_otp.core.errors import ConfigurationError
from sms_otp.existing_pool.trigger_attachment import CUSTOM_SMS_SENDER, KMS_KEY_SLOT, AttachmentRefusedError, identity

# The environment variable that holds the ARN of the stack's function for each Passwordless slot.
PASSWORDLESS_FUNCTION_VARIABLES: Mapping[str, str] = {
    "PreSignUp": "PRE_SIGN_UP_FUNCTION_ARN",
    "DefineAuthChallenge": "DEFINE_AUTH_CHALLENGE_FUNCTION_ARN",
    "CreateAuthChallenge": "CREATE_AUTH_CHALLENGE_FUNCTION_ARN",
    "VerifyAuthChallengeResponse": "VERIFY_AUTH_CHALLENGE_FUNCTION_ARN",
    "PostAuthentication": "POST_AUTHENTICATION_FUNCTION_ARN",
}
LOGICAL_ID = "ExistingUserPoolTriggers"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value


@dataclass(frozen=True, slots=True)
class StackResources:
    """The stack, the pool and the exact ``LambdaConfig`` values this function may write."""

    stack_id: str
    user_pool_id: str
    mode: str
    lambda_config: dict[str, Any]
    pool_sms_role_arn: str | None = None
    pool_kms_key_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackResources:
        """Read once at cold start; a missing variable fails the cold start with its name."""
        mode = _required(env, "EXISTING_POOL_TRIGGERS")
        config: dict[str, Any] = {}
        if mode == "Passwordless":
            config = {slot: _required(env, variable) for slot, variable in PASSWORDLESS_FUNCTION_VARIABLES.items()}
        config[CUSTOM_SMS_SENDER] = {"LambdaArn": _required(env, "CUSTOM_SMS_SENDER_FUNCTION_ARN"), "LambdaVersion": "V1_0"}
        config[KMS_KEY_SLOT] = _required(env, "SMS_KEY_ARN")
        return cls(
            stack_id=_required(env, "STACK_ID"),
            user_pool_id=_required(env, "EXISTING_USER_POOL_ID"),
            mode=mode,
            lambda_config=config,
            pool_sms_role_arn=env.get("EXISTING_POOL_SMS_ROLE_ARN", "").strip() or None,
            pool_kms_key_arn=env.get("EXISTING_POOL_KMS_KEY_ARN", "").strip() or None,
        )

    @property
    def own_identities(self) -> frozenset[str]:
        """The function and key ARNs that are the stack's own."""
        return frozenset(identity(value) for value in self.lambda_config.values())

    @property
    def sms_key_arn(self) -> str:
        """The stack's own KMS key."""
        return str(self.lambda_config[KMS_KEY_SLOT])

    def check_event(self, *, stack_id: str, logical_id: str, properties: Mapping[str, Any], deleting: bool) -> None:
        """Refuse a request that is not this stack's resource asking for exactly what the environment says."""
        if stack_id != self.stack_id or logical_id != LOGICAL_ID:
            raise AttachmentRefusedError("The request names another stack or resource than this function serves; nothing was changed.")
        if deleting:
            return  # a delete may name the pool of an earlier attach that failed; see ExistingPoolTriggers.detach
        if properties.get("UserPoolId") != self.user_pool_id:
            raise AttachmentRefusedError(
                f"The request names another user pool than {self.user_pool_id}, the one this stack attaches to; nothing was changed."
            )
        if properties.get("Mode") != self.mode or properties.get("LambdaConfig") != self.lambda_config:
            raise AttachmentRefusedError(
                "The request's mode or LambdaConfig is not exactly the stack's own functions and key; nothing was changed."
            )
