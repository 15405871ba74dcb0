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
        )

    def require_sms_key_arn(self) -> str:
        """The KMS key ARN, for the one trigger that cannot run without it."""
        if self.sms_key_arn is None:
            raise ConfigurationError("SMS_KEY_ARN must be set to the ARN of the KMS key Cognito encrypts codes with")
        return self.sms_key_arn


def load_settings() -> Settings:
    """Read the settings from the process environment (call once, at module import)."""
    return Settings.from_env()


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
