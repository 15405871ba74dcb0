"""What a pool must be before the stack writes to it: refusals in one sentence, each before anything changes.

- Passwordless mode needs users who sign in with their phone number, and a pool that
  confirms phone numbers itself (``phone_number`` in ``AutoVerifiedAttributes``): on a
  pool the stack does not own, Pre sign-up never confirms anyone, so without it every
  sign-up would stay UNCONFIRMED.
- ``UpdateUserPool`` checks the pool's SMS role on every write: a pool that reports an
  SMS configuration failure would refuse the write, and then could not be given back
  either; and ``SnsCallerArn`` and ``EumsSms`` may not both be sent.
- The role this stack's custom resource runs as may pass to Cognito only the SMS role,
  and let Cognito use only the KMS keys, that the stack was deployed with: a pool that
  names others is refused with the value to deploy with.

Everything here is pure: a ``DescribeUserPool`` result in, a refusal or nothing out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sms_otp.existing_pool.trigger_attachment import KMS_KEY_SLOT, AttachmentRefusedError, identity

# What SmsConfigurationFailure says of an account still in the SNS SMS sandbox: no obstacle to a write.
_HARMLESS_SMS_FAILURES = frozenset({"SNSSandbox"})


def check_sign_in_by_phone(description: Mapping[str, Any], user_pool_id: str) -> None:
    """Refuse Passwordless mode on a pool whose users cannot sign in, or sign up, with their phone number."""
    sign_in_attributes = set(description.get("UsernameAttributes") or ()) | set(description.get("AliasAttributes") or ())
    if "phone_number" not in sign_in_attributes:
        raise AttachmentRefusedError(
            f"Passwordless mode needs users who sign in with their phone number, but user pool {user_pool_id} has "
            "phone_number in neither UsernameAttributes nor AliasAttributes; deploy with ExistingPoolTriggers=CustomSmsSender."
        )
    if "phone_number" not in (description.get("AutoVerifiedAttributes") or ()):
        raise AttachmentRefusedError(
            f"User pool {user_pool_id} does not verify phone numbers itself (phone_number is not in AutoVerifiedAttributes), "
            "so Passwordless sign-ups would stay unconfirmed; add it to the pool, or deploy with ExistingPoolTriggers=CustomSmsSender."
        )


def sms_configuration_problem(description: Mapping[str, Any]) -> str | None:
    """Why ``UpdateUserPool`` would refuse this pool's SMS configuration, in words; ``None`` when nothing says it would."""
    sms = description.get("SmsConfiguration") or {}
    if sms.get("SnsCallerArn") and sms.get("EumsSms"):
        return "names both SnsCallerArn and EumsSms in its SMS configuration, which UpdateUserPool takes one at a time"
    failures = {part.strip() for part in str(description.get("SmsConfigurationFailure") or "").split(",") if part.strip()}
    failures -= _HARMLESS_SMS_FAILURES
    if failures:
        role = sms.get("SnsCallerArn") or "its SMS role"
        return f"reports an SMS configuration failure ({', '.join(sorted(failures))[:60]}) that UpdateUserPool would refuse; fix {role}"
    return None


def check_sms_configuration(description: Mapping[str, Any], user_pool_id: str) -> None:
    """Refuse, before any write, a pool whose SMS configuration UpdateUserPool would refuse."""
    problem = sms_configuration_problem(description)
    if problem is not None:
        raise AttachmentRefusedError(f"User pool {user_pool_id} {problem}, then deploy again; nothing was changed.")


def check_role_and_keys(
    description: Mapping[str, Any], user_pool_id: str, *, sms_role_arn: str | None, own_key_arns: frozenset[str], pool_key_arn: str | None
) -> None:
    """Refuse a pool whose SMS role or KMS key is not the one this stack's role may hand to Cognito.

    ``sms_role_arn`` and ``pool_key_arn`` are the stack's ExistingPoolSmsRoleArn and
    ExistingPoolKmsKeyArn (``None`` when empty); ``own_key_arns`` the stack's own key.
    """
    role = (description.get("SmsConfiguration") or {}).get("SnsCallerArn")
    if role and role != sms_role_arn:
        raise AttachmentRefusedError(
            f"User pool {user_pool_id} sends SMS as role {role}, which this stack may hand back to Cognito only when "
            f"deployed with ExistingPoolSmsRoleArn={role}; nothing was changed."
        )
    key = (description.get("LambdaConfig") or {}).get(KMS_KEY_SLOT)
    if key is not None and identity(key) not in own_key_arns and identity(key) != pool_key_arn:
        raise AttachmentRefusedError(
            f"User pool {user_pool_id} has its own KMS key {identity(key)}, which this stack may give back only when "
            f"deployed with ExistingPoolKmsKeyArn={identity(key)}; nothing was changed."
        )
