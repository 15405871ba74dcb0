"""Settings read once from the environment at cold start.

Every trigger builds one :class:`Settings` at import time through
:func:`load_settings`; a missing or invalid variable fails the cold start with
a message that names it, instead of failing later inside an invocation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sms_otp.errors import ConfigurationError

_SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_COUNTRY_CODES = re.compile(r"^[1-9][0-9]{0,2}(,[1-9][0-9]{0,2})*$")


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """The abuse limits, as deployed (see the template's parameters of the same names)."""

    min_seconds_between_messages: int = 30
    max_messages_per_hour: int = 5
    max_messages_per_day: int = 10
    lockout_threshold: int = 10
    lockout_base_seconds: int = 900
    lockout_max_seconds: int = 86_400
    stack_messages_per_hour: int = 1000

    def lockout_seconds(self, failed_rounds: int) -> int:
        """How long new challenges are refused after ``failed_rounds`` rounds without success.

        Nothing below the threshold; then the base, doubling with each further
        round, up to the maximum.
        """
        if failed_rounds < self.lockout_threshold:
            return 0
        doublings = min(failed_rounds - self.lockout_threshold, 32)
        return min(self.lockout_base_seconds << doublings, self.lockout_max_seconds)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LimitPolicy:
        policy = cls(
            min_seconds_between_messages=_integer(env, "MIN_SECONDS_BETWEEN_MESSAGES", default=30, minimum=0, maximum=3600),
            max_messages_per_hour=_integer(env, "MAX_MESSAGES_PER_HOUR", default=5, minimum=1, maximum=100),
            max_messages_per_day=_integer(env, "MAX_MESSAGES_PER_DAY", default=10, minimum=1, maximum=1000),
            lockout_threshold=_integer(env, "LOCKOUT_THRESHOLD", default=10, minimum=3, maximum=100),
            lockout_base_seconds=_integer(env, "LOCKOUT_BASE_SECONDS", default=900, minimum=60, maximum=86_400),
            lockout_max_seconds=_integer(env, "LOCKOUT_MAX_SECONDS", default=86_400, minimum=60, maximum=604_800),
            stack_messages_per_hour=_integer(env, "STACK_MESSAGES_PER_HOUR", default=1000, minimum=1, maximum=1_000_000),
        )
        if policy.lockout_max_seconds < policy.lockout_base_seconds:
            raise ConfigurationError("LOCKOUT_MAX_SECONDS must be at least LOCKOUT_BASE_SECONDS")
        if policy.max_messages_per_day < policy.max_messages_per_hour:
            raise ConfigurationError("MAX_MESSAGES_PER_DAY must be at least MAX_MESSAGES_PER_HOUR")
        return policy


@dataclass(frozen=True, slots=True)
class Settings:
    """What the triggers need to know about their deployment."""

    otp_length: int = 6
    otp_ttl_seconds: int = 180
    max_attempts: int = 3
    test_mode: bool = False
    test_mode_topic_arn: str | None = None
    sms_sender_id: str | None = None
    sms_origination_number: str | None = None
    sms_key_arn: str | None = None
    limits_table_name: str | None = None
    allowed_country_codes: frozenset[int] = frozenset()
    limits: LimitPolicy = LimitPolicy()
    password_sign_in: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), validating every value."""
        env = os.environ if environ is None else environ
        test_mode = _boolean(env, "TEST_MODE", default=False)
        topic_arn = _optional(env, "TEST_MODE_TOPIC_ARN", _SNS_TOPIC_ARN, "an SNS topic ARN")
        if test_mode and topic_arn is None:
            raise ConfigurationError("TEST_MODE_TOPIC_ARN must be set when TEST_MODE is 'true'")
        return cls(
            otp_length=_integer(env, "OTP_LENGTH", default=6, minimum=6, maximum=10),
            otp_ttl_seconds=_integer(env, "OTP_TTL_SECONDS", default=180, minimum=60, maximum=600),
            max_attempts=_integer(env, "MAX_ATTEMPTS", default=3, minimum=1, maximum=5),
            test_mode=test_mode,
            test_mode_topic_arn=topic_arn,
            sms_sender_id=_optional(env, "SMS_SENDER_ID", _SENDER_ID, "1 to 11 letters or digits, at least one letter"),
            sms_origination_number=_optional(env, "SMS_ORIGINATION_NUMBER", _E164, "a phone number in E.164 form"),
            sms_key_arn=_optional(env, "SMS_KEY_ARN", _KMS_KEY_ARN, "a KMS key ARN"),
            limits_table_name=_optional(env, "LIMITS_TABLE_NAME", _TABLE_NAME, "a DynamoDB table name"),
            allowed_country_codes=_country_codes(env),
            limits=LimitPolicy.from_env(env),
            password_sign_in=_boolean(env, "PASSWORD_SIGN_IN", default=False),
        )

    def require_sms_key_arn(self) -> str:
        """The KMS key ARN, for the one trigger that cannot run without it."""
        if self.sms_key_arn is None:
            raise ConfigurationError("SMS_KEY_ARN must be set to the ARN of the KMS key Cognito encrypts codes with")
        return self.sms_key_arn

    def require_limits_table_name(self) -> str:
        """The limits table, for the triggers that send messages or issue challenges."""
        if self.limits_table_name is None:
            raise ConfigurationError("LIMITS_TABLE_NAME must be set to the DynamoDB table that holds the abuse limits")
        return self.limits_table_name


def load_settings() -> Settings:
    """Read the settings from the process environment (call once, at module import)."""
    return Settings.from_env()


def _country_codes(env: Mapping[str, str]) -> frozenset[int]:
    raw = _optional(env, "ALLOWED_COUNTRY_CODES", _COUNTRY_CODES, "calling codes separated by commas, such as 1,44")
    return frozenset(int(code) for code in raw.split(",")) if raw else frozenset()


def _integer(env: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not minimum <= int(raw) <= maximum:
        raise ConfigurationError(f"{name} must be a whole number from {minimum} to {maximum}, got {raw!r}")
    return int(raw)


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false"):
        raise ConfigurationError(f"{name} must be 'true' or 'false', got {raw!r}")
    return raw == "true"


def _optional(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not pattern.match(raw):
        raise ConfigurationError(f"{name} must be {what}, got {raw!r}")
    return raw
