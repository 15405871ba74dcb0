"""A user pool that behaves as AWS documents UpdateUserPool, and pool descriptions drawn from botocore's model.

``FakeUserPool`` answers ``DescribeUserPool``, ``UpdateUserPool`` and
``GetUserPoolMfaConfig`` like Cognito, where the emulator does not:

- every writable setting that ``UpdateUserPool`` is not given goes back to its
  default (absent), ``UserPoolTier`` excepted, as the API reference says;
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

    # DescribeUserPool --------------------------------------------------
    def describe_user_pool(self, *, UserPoolId: str) -> dict[str, Any]:  # noqa: N803 - botocore's argument name
        self._check_id(UserPoolId, "DescribeUserPool")
        raw = {**self.description, **self.raw_extra}
        body = json.dumps({"UserPool": raw}, default=str).encode()
        for handler in self.meta.handlers.get("after-call.cognito-idp.DescribeUserPool", []):
            handler(http_response=_RawResponse(body), parsed={}, model=None)
        # botocore keeps only the fields its model knows, and no nulls.
        parsed = {key: value for key, value in self.description.items() if key in USER_POOL_SHAPE.members and value is not None}
        return {"UserPool": copy.deepcopy(parsed)}

    def get_user_pool_mfa_config(self, *, UserPoolId: str) -> dict[str, Any]:  # noqa: N803
        self._check_id(UserPoolId, "GetUserPoolMfaConfig")
        return {
            "MfaConfiguration": self.description.get("MfaConfiguration") or "OFF",
            "SoftwareTokenMfaConfiguration": {"Enabled": self.software_token_mfa},
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    # UpdateUserPool ----------------------------------------------------
    def update_user_pool(self, **request: Any) -> dict[str, Any]:
        report = ParamValidator().validate(request, UPDATE_SHAPE)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
        self._check_id(request["UserPoolId"], "UpdateUserPool")
        self.updates.append(copy.deepcopy(request))
        if self.fail_next_update is not None:
            failure, self.fail_next_update = self.fail_next_update, None
            raise failure
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
        for setting in WRITABLE_SETTINGS:
            described = DESCRIBED_AS.get(setting, setting)
            if setting in request:
                self.description[described] = copy.deepcopy(request[setting])
            elif setting != "UserPoolTier":
                # The documented trap: what is not given goes back to its default.
                self.description.pop(described, None)
        if temporary is not None and "AdminCreateUserConfig" in self.description:
            self.description["AdminCreateUserConfig"]["UnusedAccountValidityDays"] = temporary
        self.description["LastModifiedDate"] = datetime.datetime.now(tz=datetime.UTC)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

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
def descriptions(draw: st.DrawFn, *, emulator_habits: bool = True) -> tuple[dict[str, Any], bool]:
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
