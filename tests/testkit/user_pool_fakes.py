"""A user pool that behaves as AWS documents UpdateUserPool, and pool descriptions drawn from botocore's model.

``FakeUserPool`` answers ``DescribeUserPool``, ``UpdateUserPool`` and
``GetUserPoolMfaConfig`` like Cognito, where the emulator does not:

- every writable setting that ``UpdateUserPool`` is not given goes back to its
  default (absent), except ``UserPoolTier`` and ``DcrConfiguration``, which are kept,
  as the service model says; a ``DcrConfiguration`` without ``EnableStatus`` turns
  dynamic client registration on;
- a Lite pool refuses the settings that need Essentials (``AcrConfiguration``,
  ``DcrConfiguration``, ``Policies.SignInPolicy``, ``PasswordHistorySize``) with
  ``FeatureUnavailableInTierException``, and reports their effective values anyway;
- a pool that verifies by link refuses the legacy verification messages beside the
  template ("The message is invalid"), and derives them from the template;
- a pool whose SMS role is broken reports ``SmsConfigurationFailure`` and refuses
  every write that names the role;
- fields botocore's model does not know (``raw_extra``) are in the raw response only,
  and are reset by a write whose request body does not carry them;
- the request is checked against botocore's model of ``UpdateUserPool``, as a real
  client does: a read-only field such as ``Id`` or ``Arn`` is an unknown parameter;
- ``UnusedAccountValidityDays`` beside ``TemporaryPasswordValidityDays`` is refused,
  and ``DescribeUserPool`` reports the second as the first, as Cognito does;
- MFA ``ON``/``OPTIONAL`` needs an SMS configuration or authenticator apps (set by
  ``SetUserPoolMfaConfig``, which ``UpdateUserPool`` does not touch).

``descriptions()`` draws ``DescribeUserPool`` results from botocore's model of
``UserPoolType`` (every field, nested ones included, with the model's lengths and
enums), made consistent the way Cognito keeps them, and optionally with the
emulator's habits (empty strings and objects, nulls, the MFA settings in the pool).
"""

from __future__ import annotations

import copy
import datetime
import json
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator
from hypothesis import strategies as st

from sms_otp.existing_pool.user_pool_settings import DESCRIBED_AS, SET_BY_OTHER_OPERATIONS, WRITABLE_SETTINGS

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SERVICE_MODEL = botocore.session.get_session().get_service_model("cognito-idp")
USER_POOL_SHAPE = SERVICE_MODEL.shape_for("UserPoolType")
UPDATE_SHAPE = SERVICE_MODEL.operation_model("UpdateUserPool").input_shape
# The legacy verification messages, and the template member a link-style pool derives each from.
LEGACY_FROM_TEMPLATE = {
    "EmailVerificationMessage": "EmailMessage",
    "EmailVerificationSubject": "EmailSubject",
    "SmsVerificationMessage": "SmsMessage",
}
_TEXT = string.ascii_letters + string.digits + " {}#.-_"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


def client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# ------------------------------------------------------------ the pool ---


@dataclass
class _Meta:
    region_name: str = REGION
    service_model: Any = SERVICE_MODEL
    handlers: dict[str, list[Callable[..., None]]] = field(default_factory=dict)

    @property
    def events(self) -> _Meta:
        return self

    def register(self, event_name: str, handler: Callable[..., None]) -> None:
        self.handlers.setdefault(event_name, []).append(handler)


@dataclass
class _RawResponse:
    content: bytes


class FakeUserPool:
    """One user pool behind the Cognito calls the attach function makes (``meta.events`` as botocore has it)."""

    def __init__(self, description: dict[str, Any], *, software_token_mfa: bool = False, raw_extra: dict[str, Any] | None = None) -> None:
        self.description = copy.deepcopy(description)
        self.software_token_mfa = software_token_mfa
        self.raw_extra = raw_extra or {}
        self.meta = _Meta()
        self.updates: list[dict[str, Any]] = []
        self.exists = True
        self.fail_next_update: Exception | None = None
        self.sms_role_broken = False

    # DescribeUserPool --------------------------------------------------
    def describe_user_pool(self, *, UserPoolId: str) -> dict[str, Any]:  # noqa: N803 - botocore's argument name
        self._check_id(UserPoolId, "DescribeUserPool")
        reported = dict(self.description)
        if self.sms_role_broken:
            reported["SmsConfigurationFailure"] = "InvalidSmsRoleTrustRelationshipException"
        raw = {**reported, **self.raw_extra}
        body = json.dumps({"UserPool": raw}, default=str).encode()
        for handler in self.meta.handlers.get("after-call.cognito-idp.DescribeUserPool", []):
            handler(http_response=_RawResponse(body), parsed={}, model=None)
        # botocore keeps only the fields its model knows, and no nulls.
        parsed = {key: value for key, value in reported.items() if key in USER_POOL_SHAPE.members and value is not None}
        return {"UserPool": copy.deepcopy(parsed)}

    def get_user_pool_mfa_config(self, *, UserPoolId: str) -> dict[str, Any]:  # noqa: N803
        self._check_id(UserPoolId, "GetUserPoolMfaConfig")
        return {
            "MfaConfiguration": self.description.get("MfaConfiguration") or "OFF",
            "SoftwareTokenMfaConfiguration": {"Enabled": self.software_token_mfa},
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    # UpdateUserPool ----------------------------------------------------
    def update_user_pool(self, **request: Any) -> dict[str, Any]:  # noqa: PLR0912 - one branch per documented behaviour
        report = ParamValidator().validate(request, UPDATE_SHAPE)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
        self._check_id(request["UserPoolId"], "UpdateUserPool")
        # What goes on the wire: the request as botocore serialises it, after its before-call handlers.
        params = {"body": json.dumps(request).encode()}
        for handler in self.meta.handlers.get("before-call.cognito-idp.UpdateUserPool", []):
            handler(params=params, model=None, context={})
        wire = json.loads(params["body"])
        self.updates.append(copy.deepcopy(request))
        if self.fail_next_update is not None:
            failure, self.fail_next_update = self.fail_next_update, None
            raise failure
        self._refuse_what_aws_refuses(request)
        temporary = request.get("Policies", {}).get("PasswordPolicy", {}).get("TemporaryPasswordValidityDays")
        if temporary is not None and "UnusedAccountValidityDays" in request.get("AdminCreateUserConfig", {}):
            raise client_error(
                "InvalidParameterException",
                "Please use TemporaryPasswordValidityDays in PasswordPolicy instead of UnusedAccountValidityDays",
                "UpdateUserPool",
            )
        if request.get("MfaConfiguration") in ("ON", "OPTIONAL") and "SmsConfiguration" not in request and not self.software_token_mfa:
            raise client_error(
                "InvalidParameterException",
                "SMS configuration and Auto verification for phone_number are required when MFA is required/optional",
                "UpdateUserPool",
            )
        lite = self.description.get("UserPoolTier") == "LITE"
        policies = self.description.get("Policies") or {}
        effective_sign_in = policies.get("SignInPolicy") if lite else None
        effective_history = (policies.get("PasswordPolicy") or {}).get("PasswordHistorySize") if lite else None
        for setting in WRITABLE_SETTINGS:
            described = DESCRIBED_AS.get(setting, setting)
            if setting in request:
                self.description[described] = copy.deepcopy(request[setting])
            elif setting not in ("UserPoolTier", "DcrConfiguration") and not (lite and setting == "AcrConfiguration"):
                # The documented trap: what is not given goes back to its default. (A Lite pool
                # reports the effective ACR names, which nothing there can change.)
                self.description.pop(described, None)
        if effective_sign_in is not None:
            self.description.setdefault("Policies", {})["SignInPolicy"] = effective_sign_in
        if effective_history is not None:
            self.description.setdefault("Policies", {}).setdefault("PasswordPolicy", {})["PasswordHistorySize"] = effective_history
        if "DcrConfiguration" in request:
            self.description["DcrConfiguration"].setdefault("EnableStatus", "Enabled")
        template = request.get("VerificationMessageTemplate") or {}
        if template.get("DefaultEmailOption") == "CONFIRM_WITH_LINK":
            for legacy, member in LEGACY_FROM_TEMPLATE.items():
                if member in template:
                    self.description[legacy] = template[member]
        for name in list(self.raw_extra):
            if name not in wire:
                self.raw_extra.pop(name)  # a field the request did not carry goes back to its default too
        self.raw_extra.update({name: value for name, value in wire.items() if name not in UPDATE_SHAPE.members})
        if temporary is not None and "AdminCreateUserConfig" in self.description:
            self.description["AdminCreateUserConfig"]["UnusedAccountValidityDays"] = temporary
        self.description["LastModifiedDate"] = datetime.datetime.now(tz=datetime.UTC)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def _refuse_what_aws_refuses(self, request: dict[str, Any]) -> None:
        policies = request.get("Policies", {})
        if self.description.get("UserPoolTier") == "LITE" and (
            {"AcrConfiguration", "DcrConfiguration"} & set(request)
            or "SignInPolicy" in policies
            or "PasswordHistorySize" in policies.get("PasswordPolicy", {})
        ):
            raise client_error("FeatureUnavailableInTierException", "This feature is not available in the LITE tier.", "UpdateUserPool")
        link = (request.get("VerificationMessageTemplate") or {}).get("DefaultEmailOption") == "CONFIRM_WITH_LINK"
        if link and set(LEGACY_FROM_TEMPLATE) & set(request):
            raise client_error("InvalidParameterException", "The message is invalid.", "UpdateUserPool")
        if self.sms_role_broken and request.get("SmsConfiguration", {}).get("SnsCallerArn"):
            raise client_error(
                "InvalidSmsRoleTrustRelationshipException",
                "Role does not have a trust relationship allowing Cognito to assume the role.",
                "UpdateUserPool",
            )
        sms = request.get("SmsConfiguration", {})
        if sms.get("SnsCallerArn") and sms.get("EumsSms"):
            raise client_error("InvalidParameterException", "Provide either SnsCallerArn or EumsSms, not both.", "UpdateUserPool")

    def _check_id(self, user_pool_id: str, operation: str) -> None:
        if not self.exists or user_pool_id != self.description["Id"]:
            raise client_error("ResourceNotFoundException", f"User pool {user_pool_id} does not exist.", operation)


class MemoryRecords:
    """The attachment records, in memory (the DynamoDB store has tests of its own)."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.items.get(key)

    def put(self, key: str, attachment: Any) -> None:
        self.items[key] = attachment

    def delete(self, key: str) -> None:
        self.items.pop(key, None)


# ------------------------------------------------------------ descriptions ---


def _strategy(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:  # noqa: PLR0911 - one per kind of shape
    """Values of a botocore shape within its lengths, ranges and enums."""
    kind = shape.type_name
    metadata = shape.metadata
    if kind == "structure":
        required = set(shape.required_members)
        members = {name: _strategy(member, depth + 1) for name, member in shape.members.items()}
        return st.fixed_dictionaries(
            {name: strategy for name, strategy in members.items() if name in required},
            optional={name: strategy for name, strategy in members.items() if name not in required},
        )
    if kind == "list":
        return st.lists(_strategy(shape.member, depth + 1), min_size=metadata.get("min", 0), max_size=max(metadata.get("min", 0), 2))
    if kind == "map":
        return st.dictionaries(_strategy(shape.key, depth + 1), _strategy(shape.value, depth + 1), max_size=2)
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        low = metadata.get("min", 0)
        return st.text(_TEXT, min_size=low, max_size=max(low, min(metadata.get("max", 12), 12)))
    if kind in ("integer", "long"):
        low = metadata.get("min", 0)
        return st.integers(min_value=low, max_value=max(low, min(metadata.get("max", 400), 400)))
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(timezones=st.just(datetime.UTC))
    raise AssertionError(f"no strategy for {kind}")


_GENERATED = {name: _strategy(member) for name, member in USER_POOL_SHAPE.members.items()}


@st.composite
def descriptions(draw: st.DrawFn, *, emulator_habits: bool = True) -> tuple[dict[str, Any], bool]:  # noqa: PLR0912 - one per rule
    """A ``DescribeUserPool`` result and whether the pool has authenticator apps on (set by SetUserPoolMfaConfig)."""
    drawn: dict[str, Any] = {}
    for name, strategy in _GENERATED.items():
        if draw(st.booleans()):
            drawn[name] = draw(strategy)
    drawn["Id"] = f"{REGION}_{draw(st.text(string.ascii_letters + string.digits, min_size=9, max_size=9))}"
    drawn["Name"] = draw(st.text(string.ascii_letters, min_size=1, max_size=12))
    drawn["Arn"] = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{drawn['Id']}"
    # Cognito reports the temporary password's validity in both places.
    temporary = drawn.get("Policies", {}).get("PasswordPolicy", {}).get("TemporaryPasswordValidityDays")
    if temporary is not None and "AdminCreateUserConfig" in drawn:
        drawn["AdminCreateUserConfig"]["UnusedAccountValidityDays"] = temporary
    if drawn.get("UserPoolTier") == "LITE":
        # What a Lite pool can hold: the Essentials settings at their effective defaults, at most.
        drawn.pop("DcrConfiguration", None)
        policies = drawn.get("Policies", {})
        if "SignInPolicy" in policies:
            policies["SignInPolicy"] = {"AllowedFirstAuthFactors": ["PASSWORD"]}
        policies.get("PasswordPolicy", {}).pop("PasswordHistorySize", None)
    template = drawn.get("VerificationMessageTemplate") or {}
    if template.get("DefaultEmailOption") == "CONFIRM_WITH_LINK":
        # A link-style pool reports the legacy messages as the template's.
        for legacy, member in LEGACY_FROM_TEMPLATE.items():
            drawn.pop(legacy, None)
            if member in template:
                drawn[legacy] = template[member]
    sms = drawn.get("SmsConfiguration") or {}
    if sms.get("SnsCallerArn") and sms.get("EumsSms"):
        del sms["EumsSms"]  # UpdateUserPool takes one of them
    software_token_mfa = draw(st.booleans())
    if drawn.get("MfaConfiguration") in ("ON", "OPTIONAL") and not drawn.get("SmsConfiguration"):
        # Cognito keeps MFA on only with SMS or authenticator apps to offer.
        software_token_mfa = True
    if emulator_habits and draw(st.booleans()):
        for name in draw(st.lists(st.sampled_from(WRITABLE_SETTINGS), max_size=4)):
            described = DESCRIBED_AS.get(name, name)
            if described not in drawn:
                drawn[described] = draw(st.sampled_from(["", {}, [], None]))
        for name in draw(st.lists(st.sampled_from(SET_BY_OTHER_OPERATIONS), max_size=2)):
            drawn[name] = {"Enabled": True}
    return drawn, software_token_mfa
