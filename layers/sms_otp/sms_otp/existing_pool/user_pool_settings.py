"""Writing a user pool back as it was: which settings UpdateUserPool takes, and a request that keeps them all.

``UpdateUserPool`` sets every setting it is not given back to its default, the
``LambdaConfig`` included. So changing one trigger of a pool the stack does not own
means reading the pool with ``DescribeUserPool`` and sending back every writable
setting as read, with the new ``LambdaConfig``. The read-only fields
``DescribeUserPool`` also returns (``Id``, ``Arn``, ``Status``, the schema, the
dates...) are never sent.

Some settings are read but deliberately not sent back (the service model's own
documentation, not checked against a live account):

- ``UserPoolTier`` and ``DcrConfiguration`` are kept when left out; and a
  ``DcrConfiguration`` sent without ``EnableStatus`` turns dynamic client
  registration on.
- On a Lite pool, the settings that need Essentials or above (``AcrConfiguration``,
  ``Policies.SignInPolicy``, ``Policies.PasswordPolicy.PasswordHistorySize``) may
  be refused with ``FeatureUnavailableInTierException``; DescribeUserPool returns
  their effective defaults, which is what leaving them out keeps.
- On a pool that verifies by link (``CONFIRM_WITH_LINK``), the legacy
  ``EmailVerificationMessage``, ``EmailVerificationSubject`` and
  ``SmsVerificationMessage`` beside ``VerificationMessageTemplate`` are refused
  ("The message is invalid"); the template carries the messages.

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
# Kept by UpdateUserPool when left out, so never sent (sending DcrConfiguration risks turning it on).
KEPT_WHEN_OMITTED: tuple[str, ...] = ("DcrConfiguration", "UserPoolTier")
# Sent only to pools on Essentials or Plus (a Lite pool may refuse them).
ESSENTIALS_SETTINGS: tuple[str, ...] = ("AcrConfiguration",)
ESSENTIALS_POLICIES: tuple[str, ...] = ("SignInPolicy",)
ESSENTIALS_PASSWORD_POLICY: tuple[str, ...] = ("PasswordHistorySize",)
LITE_TIER = "LITE"
# The legacy verification messages, which a pool that verifies by link refuses beside the template.
LEGACY_VERIFICATION_MESSAGES: tuple[str, ...] = ("EmailVerificationMessage", "EmailVerificationSubject", "SmsVerificationMessage")
CONFIRM_WITH_LINK = "CONFIRM_WITH_LINK"
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


def is_lite(description: Mapping[str, Any]) -> bool:
    """Whether the pool is on the Lite plan (where the Essentials settings may be refused)."""
    return description.get("UserPoolTier") == LITE_TIER


def verifies_by_link(description: Mapping[str, Any]) -> bool:
    """Whether the pool's verification message template sends a link rather than a code."""
    template = description.get("VerificationMessageTemplate") or {}
    return isinstance(template, dict) and template.get("DefaultEmailOption") == CONFIRM_WITH_LINK


def not_sent(description: Mapping[str, Any]) -> tuple[str, ...]:
    """The top-level writable settings of this pool that are read but never sent back (see the module's docstring)."""
    left_out = KEPT_WHEN_OMITTED
    if is_lite(description):
        left_out += ESSENTIALS_SETTINGS
    if verifies_by_link(description):
        left_out += LEGACY_VERIFICATION_MESSAGES
    return left_out


def sendable_settings(description: Mapping[str, Any]) -> dict[str, Any]:
    """The writable settings to send back to this pool: :func:`writable_settings` less what :func:`not_sent` names."""
    settings = writable_settings(description)
    for name in not_sent(description):
        settings.pop(name, None)
    if is_lite(description) and "Policies" in settings:
        policies = settings["Policies"]
        for name in ESSENTIALS_POLICIES:
            policies.pop(name, None)
        for name in ESSENTIALS_PASSWORD_POLICY:
            policies.get("PasswordPolicy", {}).pop(name, None)
        if not policies:
            del settings["Policies"]
    return settings


def update_request(description: Mapping[str, Any], lambda_config: Mapping[str, Any]) -> dict[str, Any]:
    """UpdateUserPool's arguments that keep every setting of the pool ``description`` describes and set ``lambda_config``."""
    request: dict[str, Any] = {"UserPoolId": description["Id"], **sendable_settings(description)}
    request.pop("LambdaConfig", None)
    if lambda_config:
        request["LambdaConfig"] = copy.deepcopy(dict(lambda_config))
    return request


def settings_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The writable settings, ``LambdaConfig`` aside, that ``before`` had and ``after`` lost or holds otherwise.

    The legacy verification messages of a pool that verifies by link are the service's
    to derive from the template (they cannot be sent), so they are not compared.
    """
    kept, now = writable_settings(before), writable_settings(after)
    derived = LEGACY_VERIFICATION_MESSAGES if verifies_by_link(before) else ()
    return sorted(name for name, value in kept.items() if name not in ("LambdaConfig", *derived) and now.get(name) != value)


def unknown_fields(raw: Any, shape: Shape, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where the raw JSON ``raw`` holds a non-null field that ``shape`` (botocore's model) does not know, by path.

    botocore drops such fields when it parses a response, so a pool described by an
    SDK older than the service would be written back without them, and UpdateUserPool
    would reset them. Fields that another operation owns are not counted at the top.
    A path's parts are member names and map keys, or list indexes.
    """
    if shape.type_name == "structure" and isinstance(raw, dict):
        members = shape.members
        for key, value in raw.items():
            if key in members:
                yield from unknown_fields(value, members[key], (*path, key))
            elif value is not None and not (not path and key in SET_BY_OTHER_OPERATIONS):
                yield (*path, key)
    elif shape.type_name == "list" and isinstance(raw, list):
        for index, item in enumerate(raw):
            yield from unknown_fields(item, shape.member, (*path, index))
    elif shape.type_name == "map" and isinstance(raw, dict):
        for key, item in raw.items():
            yield from unknown_fields(item, shape.value, (*path, key))


def path_name(path: tuple[str | int, ...]) -> str:
    """A path of :func:`unknown_fields` as text: ``Policies.NewPolicy``, ``SchemaAttributes[0].New``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def value_at(raw: Any, path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` in ``raw`` (``None`` where the path is absent)."""
    for part in path:
        if isinstance(part, int):
            raw = raw[part] if isinstance(raw, list) and part < len(raw) else None
        else:
            raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def carry_unknown(body: dict[str, Any], raw: Mapping[str, Any], paths: list[tuple[str | int, ...]], left_out: tuple[str, ...]) -> None:
    """Put into an UpdateUserPool request ``body`` (its JSON) each field at ``paths`` as the raw description holds it.

    A path under a setting left out on purpose (kept by the service) is skipped; a path
    through a list cannot be placed safely, and is refused by the caller beforehand.
    """
    for path in paths:
        if path[0] in left_out:
            continue
        parent: Any = body
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        parent[path[-1]] = copy.deepcopy(value_at(raw, path))
