"""Settings read once from the environment at cold start.

Every trigger builds one :class:`Settings` at import time through
:func:`load_settings`; a missing or invalid variable fails the cold start with
a message that names it, instead of failing later inside an invocation.

Each setting is defined once, in the table below: its environment variable, the
template parameter that sets it, its default and what it accepts. The
dataclasses take their defaults from it, :meth:`Settings.from_env` reads the
environment through it, and a unit test checks template.yaml's parameters
(defaults, ranges, patterns, and the variable each one sets) against it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from sms_otp.core.errors import ConfigurationError


# The table's entries are named tuples, and their patterns plain strings compiled on first use (re caches
# them): every cold start builds the table, and frozen dataclasses and compiled patterns cost Define and
# Verify about 2 ms more, a twentieth of their cold start.
class WholeNumber(NamedTuple):
    """A setting that is a whole number within a range."""

    variable: str
    parameter: str
    default: int
    minimum: int
    maximum: int

    def read(self, env: Mapping[str, str]) -> int:
        """The value in ``env``, or the default when the variable is unset or blank."""
        raw = env.get(self.variable, "").strip()
        if not raw:
            return self.default
        if not raw.isascii() or not raw.isdigit() or not self.minimum <= int(raw) <= self.maximum:
            raise ConfigurationError(f"{self.variable} must be a whole number from {self.minimum} to {self.maximum}, got {raw!r}")
        return int(raw)


class Switch(NamedTuple):
    """A setting that is ``true`` or ``false`` (in any case)."""

    variable: str
    parameter: str | None
    default: bool

    def read(self, env: Mapping[str, str]) -> bool:
        """The value in ``env``, or the default when the variable is unset or blank."""
        raw = env.get(self.variable, "").strip().lower()
        if not raw:
            return self.default
        if raw not in ("true", "false"):
            raise ConfigurationError(f"{self.variable} must be 'true' or 'false', got {raw!r}")
        return raw == "true"


class OptionalText(NamedTuple):
    """A setting that is either unset (``None``) or text matching ``pattern``.

    ``parameter`` is the template parameter that sets it, or ``None`` when the
    template sets it from a resource (a topic, a key, a table).
    """

    variable: str
    parameter: str | None
    pattern: str
    description: str

    def read(self, env: Mapping[str, str]) -> str | None:
        """The value in ``env``, or ``None`` when the variable is unset or blank."""
        raw = env.get(self.variable, "").strip()
        if not raw:
            return None
        if not re.fullmatch(self.pattern, raw):
            raise ConfigurationError(f"{self.variable} must be {self.description}, got {raw!r}")
        return raw


# ---------------------------------------------------------------- the table ---
# Variable, template parameter, then the default and range (or the pattern, and what it means).

OTP_LENGTH = WholeNumber("OTP_LENGTH", "OtpLength", 6, 6, 10)
OTP_TTL_SECONDS = WholeNumber("OTP_TTL_SECONDS", "OtpTtlSeconds", 180, 60, 600)
MAX_ATTEMPTS = WholeNumber("MAX_ATTEMPTS", "MaxAttempts", 3, 1, 5)
MIN_SECONDS_BETWEEN_MESSAGES = WholeNumber("MIN_SECONDS_BETWEEN_MESSAGES", "MinSecondsBetweenMessages", 30, 0, 3600)
MAX_MESSAGES_PER_HOUR = WholeNumber("MAX_MESSAGES_PER_HOUR", "MaxMessagesPerHour", 5, 1, 100)
MAX_MESSAGES_PER_DAY = WholeNumber("MAX_MESSAGES_PER_DAY", "MaxMessagesPerDay", 10, 1, 1000)
LOCKOUT_THRESHOLD = WholeNumber("LOCKOUT_THRESHOLD", "LockoutThreshold", 10, 3, 100)
LOCKOUT_BASE_SECONDS = WholeNumber("LOCKOUT_BASE_SECONDS", "LockoutBaseSeconds", 900, 60, 86_400)
LOCKOUT_MAX_SECONDS = WholeNumber("LOCKOUT_MAX_SECONDS", "LockoutMaxSeconds", 86_400, 60, 604_800)
STACK_MESSAGES_PER_HOUR = WholeNumber("STACK_MESSAGES_PER_HOUR", "StackMessagesPerHour", 100, 1, 1_000_000)
PUMPING_MIN_SENDS = WholeNumber("PUMPING_MIN_SENDS", "PumpingMinSends", 10, 1, 10_000)
PUMPING_MIN_CONVERSION_PERCENT = WholeNumber("PUMPING_MIN_CONVERSION_PERCENT", "PumpingMinConversionPercent", 20, 0, 100)
PUMPING_COOL_OFF_SECONDS = WholeNumber("PUMPING_COOL_OFF_SECONDS", "PumpingCoolOffSeconds", 900, 60, 86_400)
KNOWN_NUMBERS_SHARE_PERCENT = WholeNumber("KNOWN_NUMBERS_SHARE_PERCENT", "KnownNumbersSharePercent", 50, 0, 90)
FRESH_COUNTRY_SHARE_PERCENT = WholeNumber("FRESH_COUNTRY_SHARE_PERCENT", "FreshCountrySharePercent", 25, 1, 100)
MAX_ATTRIBUTE_CODES_PER_ACCOUNT_PER_DAY = WholeNumber(
    "MAX_ATTRIBUTE_CODES_PER_ACCOUNT_PER_DAY", "MaxAttributeCodesPerAccountPerDay", 5, 1, 100
)
TEST_MODE = Switch("TEST_MODE", "TestMode", default=False)
PASSWORD_SIGN_IN = Switch("PASSWORD_SIGN_IN", "PasswordSignIn", default=False)
# Set by the template, not a parameter: "true" on a pool the stack creates, where only a code can verify a phone.
TRUST_PHONE_NUMBER_VERIFIED = Switch("TRUST_PHONE_NUMBER_VERIFIED", None, default=False)
SMS_SENDER_ID = OptionalText(
    "SMS_SENDER_ID", "SenderId", r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$", "1 to 11 letters or digits, at least one letter"
)
SMS_ORIGINATION_NUMBER = OptionalText(
    "SMS_ORIGINATION_NUMBER", "OriginationNumber", r"^\+[1-9][0-9]{6,14}$", "a phone number in E.164 form"
)
ALLOWED_COUNTRY_CODES = OptionalText(
    "ALLOWED_COUNTRY_CODES",
    "AllowedCountryCodes",
    r"^\*$|^[1-9][0-9]{0,2}(,[1-9][0-9]{0,2})*$",
    "calling codes separated by commas, such as 1,44, or * for every country",
)
EVERY_COUNTRY = "*"
TEST_MODE_TOPIC_ARN = OptionalText(
    "TEST_MODE_TOPIC_ARN", None, r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256}$", "an SNS topic ARN"
)
SMS_KEY_ARN = OptionalText("SMS_KEY_ARN", None, r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", "a KMS key ARN")
LIMITS_TABLE_NAME = OptionalText("LIMITS_TABLE_NAME", None, r"^[A-Za-z0-9_.-]{3,255}$", "a DynamoDB table name")

TABLE: tuple[WholeNumber | Switch | OptionalText, ...] = (
    OTP_LENGTH,
    OTP_TTL_SECONDS,
    MAX_ATTEMPTS,
    MIN_SECONDS_BETWEEN_MESSAGES,
    MAX_MESSAGES_PER_HOUR,
    MAX_MESSAGES_PER_DAY,
    LOCKOUT_THRESHOLD,
    LOCKOUT_BASE_SECONDS,
    LOCKOUT_MAX_SECONDS,
    STACK_MESSAGES_PER_HOUR,
    PUMPING_MIN_SENDS,
    PUMPING_MIN_CONVERSION_PERCENT,
    PUMPING_COOL_OFF_SECONDS,
    KNOWN_NUMBERS_SHARE_PERCENT,
    FRESH_COUNTRY_SHARE_PERCENT,
    MAX_ATTRIBUTE_CODES_PER_ACCOUNT_PER_DAY,
    TEST_MODE,
    PASSWORD_SIGN_IN,
    TRUST_PHONE_NUMBER_VERIFIED,
    SMS_SENDER_ID,
    SMS_ORIGINATION_NUMBER,
    ALLOWED_COUNTRY_CODES,
    TEST_MODE_TOPIC_ARN,
    SMS_KEY_ARN,
    LIMITS_TABLE_NAME,
)
"""Every setting the triggers read from the environment."""


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """The abuse limits, as deployed (see the template's parameters of the same names)."""

    min_seconds_between_messages: int = MIN_SECONDS_BETWEEN_MESSAGES.default
    max_messages_per_hour: int = MAX_MESSAGES_PER_HOUR.default
    max_messages_per_day: int = MAX_MESSAGES_PER_DAY.default
    lockout_threshold: int = LOCKOUT_THRESHOLD.default
    lockout_base_seconds: int = LOCKOUT_BASE_SECONDS.default
    lockout_max_seconds: int = LOCKOUT_MAX_SECONDS.default
    stack_messages_per_hour: int = STACK_MESSAGES_PER_HOUR.default
    pumping_min_sends: int = PUMPING_MIN_SENDS.default
    pumping_min_conversion_percent: int = PUMPING_MIN_CONVERSION_PERCENT.default
    pumping_cool_off_seconds: int = PUMPING_COOL_OFF_SECONDS.default
    known_numbers_share_percent: int = KNOWN_NUMBERS_SHARE_PERCENT.default
    fresh_country_share_percent: int = FRESH_COUNTRY_SHARE_PERCENT.default
    max_attribute_codes_per_account_per_day: int = MAX_ATTRIBUTE_CODES_PER_ACCOUNT_PER_DAY.default
    # How many calling codes the stack may send to (0: every country); no country's slice is less than an even split.
    allowed_countries: int = 0

    def known_share(self) -> int:
        """Messages an hour kept for known numbers: fresh numbers can never spend them."""
        return self.stack_messages_per_hour * self.known_numbers_share_percent // 100

    def fresh_share(self) -> int:
        """Messages an hour fresh numbers may take (known numbers may take them too, once their own share is spent)."""
        return self.stack_messages_per_hour - self.known_share()

    def country_share(self) -> int:
        """Messages an hour the fresh numbers of one calling code may take: the percentage, or an even split if larger."""
        percent = self.fresh_country_share_percent
        if self.allowed_countries:
            percent = max(percent, -(-100 // self.allowed_countries))
        return max(1, self.fresh_share() * min(percent, 100) // 100) if self.fresh_share() else 0

    def lockout_seconds(self, failed_rounds: int) -> int:
        """How long new challenges are refused after ``failed_rounds`` rounds without success.

        Nothing below the threshold; then the base, doubling with each further
        round, up to the maximum. A maximum below the base caps every lockout at
        the maximum: every pair of values in the parameters' ranges means something,
        since CloudFormation cannot refuse a pair at deploy time.
        """
        if failed_rounds < self.lockout_threshold:
            return 0
        doublings = min(failed_rounds - self.lockout_threshold, 32)
        return min(self.lockout_base_seconds << doublings, self.lockout_max_seconds)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LimitPolicy:
        """The limits from ``env``, each validated against its range."""
        # No pair is refused here: a refusal would stop every trigger at start-up after a deploy that
        # CloudFormation let through (its Rules cannot compare two numbers). A daily limit below the
        # hourly one is the limit that binds, and a longest lockout below the first caps them all.
        return cls(
            min_seconds_between_messages=MIN_SECONDS_BETWEEN_MESSAGES.read(env),
            max_messages_per_hour=MAX_MESSAGES_PER_HOUR.read(env),
            max_messages_per_day=MAX_MESSAGES_PER_DAY.read(env),
            lockout_threshold=LOCKOUT_THRESHOLD.read(env),
            lockout_base_seconds=LOCKOUT_BASE_SECONDS.read(env),
            lockout_max_seconds=LOCKOUT_MAX_SECONDS.read(env),
            stack_messages_per_hour=STACK_MESSAGES_PER_HOUR.read(env),
            pumping_min_sends=PUMPING_MIN_SENDS.read(env),
            pumping_min_conversion_percent=PUMPING_MIN_CONVERSION_PERCENT.read(env),
            pumping_cool_off_seconds=PUMPING_COOL_OFF_SECONDS.read(env),
            known_numbers_share_percent=KNOWN_NUMBERS_SHARE_PERCENT.read(env),
            fresh_country_share_percent=FRESH_COUNTRY_SHARE_PERCENT.read(env),
            max_attribute_codes_per_account_per_day=MAX_ATTRIBUTE_CODES_PER_ACCOUNT_PER_DAY.read(env),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """What the triggers need to know about their deployment."""

    otp_length: int = OTP_LENGTH.default
    otp_ttl_seconds: int = OTP_TTL_SECONDS.default
    max_attempts: int = MAX_ATTEMPTS.default
    test_mode: bool = TEST_MODE.default
    test_mode_topic_arn: str | None = None
    sms_sender_id: str | None = None
    sms_origination_number: str | None = None
    sms_key_arn: str | None = None
    limits_table_name: str | None = None
    # Empty: every country (ALLOWED_COUNTRY_CODES empty or "*").
    allowed_country_codes: frozenset[int] = frozenset()
    limits: LimitPolicy = LimitPolicy()
    password_sign_in: bool = PASSWORD_SIGN_IN.default
    # Whether phone_number_verified="true" makes a number known (see sms_otp.limits.shares).
    trust_phone_number_verified: bool = TRUST_PHONE_NUMBER_VERIFIED.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), validating every value."""
        env = os.environ if environ is None else environ
        test_mode = TEST_MODE.read(env)
        topic_arn = TEST_MODE_TOPIC_ARN.read(env)
        if test_mode and topic_arn is None:
            raise ConfigurationError("TEST_MODE_TOPIC_ARN must be set when TEST_MODE is 'true'")
        country_codes = ALLOWED_COUNTRY_CODES.read(env)
        # "*" names every country on purpose (production refuses an empty list); both mean no restriction.
        if country_codes == EVERY_COUNTRY:
            country_codes = None
        allowed_country_codes = frozenset(int(code) for code in country_codes.split(",")) if country_codes else frozenset()
        return cls(
            otp_length=OTP_LENGTH.read(env),
            otp_ttl_seconds=OTP_TTL_SECONDS.read(env),
            max_attempts=MAX_ATTEMPTS.read(env),
            test_mode=test_mode,
            test_mode_topic_arn=topic_arn,
            sms_sender_id=SMS_SENDER_ID.read(env),
            sms_origination_number=SMS_ORIGINATION_NUMBER.read(env),
            sms_key_arn=SMS_KEY_ARN.read(env),
            limits_table_name=LIMITS_TABLE_NAME.read(env),
            allowed_country_codes=allowed_country_codes,
            limits=replace(LimitPolicy.from_env(env), allowed_countries=len(allowed_country_codes)),
            password_sign_in=PASSWORD_SIGN_IN.read(env),
            trust_phone_number_verified=TRUST_PHONE_NUMBER_VERIFIED.read(env),
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
