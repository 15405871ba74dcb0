"""Writing a user pool back as it was: which settings UpdateUserPool takes, and a request that keeps them all.

``UpdateUserPool`` sets every setting it is not given back to its default, the
``LambdaConfig`` included (only ``UserPoolTier`` keeps its value when left out).
So changing one trigger of a pool the stack does not own means reading the pool
with ``DescribeUserPool`` and sending back every writable setting exactly as read,
with the new ``LambdaConfig``. The read-only fields ``DescribeUserPool`` also
returns (``Id``, ``Arn``, ``Status``, the schema, the dates...) are never sent.

Everything here is pure: descriptions in, requests and comparisons out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import Shape

# UpdateUserPool's parameters besides UserPoolId, checked on 2026-12-01: against the API
# reference (cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html, which
# says every setting but UserPoolTier goes back to its default when not given, and
# API_IssuerConfigurationType.html, which names UpdateUserPool as taking it), and against the
# model of the botocore the layer pins (1.44.8), the only source found for AcrConfiguration
# and DcrConfiguration.
# A unit test compares this list with that model, so a new pin that adds one fails it.
WRITABLE_SETTINGS: tuple[str, ...] = (
    "AccountRecoverySetting",
    "AcrConfiguration",
    "AdminCreateUserConfig",
    "AutoVerifiedAttributes",
    "DcrConfiguration",
    "DeletionProtection",
    "DeviceConfiguration",
    "EmailConfiguration",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "IssuerConfiguration",
    "KeyConfiguration",
    "LambdaConfig",
    "MfaConfiguration",
    "Policies",
    "PoolName",
    "SmsAuthenticationMessage",
    "SmsConfiguration",
    "SmsVerificationMessage",
    "UserAttributeUpdateSettings",
    "UserPoolAddOns",
    "UserPoolTags",
    "UserPoolTier",
    "VerificationMessageTemplate",
)
# The one setting DescribeUserPool names otherwise.
DESCRIBED_AS: Mapping[str, str] = {"PoolName": "Name"}
# What DescribeUserPool returns and UpdateUserPool refuses: never sent.
READ_ONLY_FIELDS: tuple[str, ...] = (
    "AliasAttributes",
    "Arn",
    "CreationDate",
    "CustomDomain",
    "Domain",
    "EmailConfigurationFailure",
    "EstimatedNumberOfUsers",
    "Id",
    "LastModifiedDate",
    "SchemaAttributes",
    "SmsConfigurationFailure",
    "Status",
    "UsernameAttributes",
    "UsernameConfiguration",
)
# Settings that SetUserPoolMfaConfig owns; UpdateUserPool neither takes nor resets them.
# AWS's DescribeUserPool does not return them, some emulators do.
SET_BY_OTHER_OPERATIONS: tuple[str, ...] = (
    "EmailMfaConfiguration",
    "SmsMfaConfiguration",
    "SoftwareTokenMfaConfiguration",
    "WebAuthnConfiguration",
)


def _is_unset(value: Any) -> bool:
    """``None``, an empty string or an empty collection: what a pool holds when a setting was never set."""
    return value is None or (isinstance(value, str | list | dict) and not value)


def _without_nulls(value: Any) -> Any:
    """``value`` with every ``None`` member of its objects removed (JSON nulls an emulator may return)."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return copy.deepcopy(value)


def writable_settings(description: Mapping[str, Any]) -> dict[str, Any]:
    """The writable settings of a ``DescribeUserPool`` result, under UpdateUserPool's names, the unset ones left out.

    One value is left out on purpose: ``AdminCreateUserConfig.UnusedAccountValidityDays``
    when ``Policies.PasswordPolicy.TemporaryPasswordValidityDays`` is set. DescribeUserPool
    reports the second as the first too, and UpdateUserPool refuses a request that holds
    both ("Please use TemporaryPasswordValidityDays in PasswordPolicy instead of
    UnusedAccountValidityDays"); the value survives through the password policy.
    """
    settings: dict[str, Any] = {}
    for setting in WRITABLE_SETTINGS:
        value = description.get(DESCRIBED_AS.get(setting, setting))
        if not _is_unset(value):
            settings[setting] = _without_nulls(value)
    password_policy = settings.get("Policies", {}).get("PasswordPolicy", {})
    admin_create_user = settings.get("AdminCreateUserConfig")
    if password_policy.get("TemporaryPasswordValidityDays") is not None and admin_create_user:
        admin_create_user.pop("UnusedAccountValidityDays", None)
    return settings


def update_request(description: Mapping[str, Any], lambda_config: Mapping[str, Any]) -> dict[str, Any]:
    """UpdateUserPool's arguments that keep every setting of the pool ``description`` describes and set ``lambda_config``."""
    request: dict[str, Any] = {"UserPoolId": description["Id"], **writable_settings(description)}
    request.pop("LambdaConfig", None)
    if lambda_config:
        request["LambdaConfig"] = copy.deepcopy(dict(lambda_config))
    return request


def settings_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The writable settings, ``LambdaConfig`` aside, that ``before`` had and ``after`` lost or holds otherwise."""
    kept, now = writable_settings(before), writable_settings(after)
    return sorted(name for name, value in kept.items() if name != "LambdaConfig" and now.get(name) != value)


def unknown_fields(raw: Any, shape: Shape, path: str = "") -> Iterator[str]:
    """Where the raw JSON ``raw`` holds a non-null field that ``shape`` (botocore's model) does not know, by path.

    botocore drops such fields when it parses a response, so a pool described by an
    SDK older than the service would be written back without them, and UpdateUserPool
    would reset them. Fields that another operation owns are not counted at the top.
    """
    if shape.type_name == "structure" and isinstance(raw, dict):
        members = shape.members
        for key, value in raw.items():
            where = f"{path}.{key}" if path else key
            if key in members:
                yield from unknown_fields(value, members[key], where)
            elif value is not None and not (not path and key in SET_BY_OTHER_OPERATIONS):
                yield where
    elif shape.type_name == "list" and isinstance(raw, list):
        for index, item in enumerate(raw):
            yield from unknown_fields(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(raw, dict):
        for key, item in raw.items():
            yield from unknown_fields(item, shape.value, f"{path}.{key}")
