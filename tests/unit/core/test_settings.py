"""sms_otp.core.settings: one frozen Settings from the environment, failing fast with the variable's name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import ModuleType

import pytest

from sms_otp.core.errors import ConfigurationError, UserFacingError
from sms_otp.core.phone_numbers import validate_destination
from sms_otp.core.settings import TABLE, OptionalText, Settings, Switch, WholeNumber, load_settings
from tests.testkit.template import load_template

pytestmark = pytest.mark.unit

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sms-otp-test-mode"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_defaults_when_nothing_is_set() -> None:
    # GIVEN an empty environment
    # WHEN building the settings
    settings = Settings.from_env({})

    # THEN every default applies
    assert settings == Settings(
        otp_length=6,
        otp_ttl_seconds=180,
        max_attempts=3,
        test_mode=False,
        test_mode_topic_arn=None,
        sms_sender_id=None,
        sms_origination_number=None,
        sms_key_arn=None,
    )


def test_empty_and_blank_values_mean_the_default() -> None:
    blank = dict.fromkeys(
        ["OTP_LENGTH", "OTP_TTL_SECONDS", "MAX_ATTEMPTS", "TEST_MODE", "TEST_MODE_TOPIC_ARN", "SMS_SENDER_ID", "SMS_ORIGINATION_NUMBER"],
        " ",
    )
    assert Settings.from_env({**blank, "SMS_KEY_ARN": ""}) == Settings()


def test_every_variable_is_read() -> None:
    # GIVEN every variable set (with stray white space and upper-case booleans, as consoles produce)
    environ = {
        "OTP_LENGTH": " 8 ",
        "OTP_TTL_SECONDS": "300",
        "MAX_ATTEMPTS": "5",
        "TEST_MODE": "TRUE",
        "TEST_MODE_TOPIC_ARN": TOPIC_ARN,
        "SMS_SENDER_ID": "Example",
        "SMS_ORIGINATION_NUMBER": "+18005550199",
        "SMS_KEY_ARN": KEY_ARN,
    }

    # WHEN / THEN
    assert Settings.from_env(environ) == Settings(
        otp_length=8,
        otp_ttl_seconds=300,
        max_attempts=5,
        test_mode=True,
        test_mode_topic_arn=TOPIC_ARN,
        sms_sender_id="Example",
        sms_origination_number="+18005550199",
        sms_key_arn=KEY_ARN,
    )


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("OTP_LENGTH", "6", "otp_length", 6),
        ("OTP_LENGTH", "10", "otp_length", 10),
        ("OTP_TTL_SECONDS", "60", "otp_ttl_seconds", 60),
        ("OTP_TTL_SECONDS", "600", "otp_ttl_seconds", 600),
        ("MAX_ATTEMPTS", "1", "max_attempts", 1),
        ("MAX_ATTEMPTS", "5", "max_attempts", 5),
        ("TEST_MODE", "false", "test_mode", False),
        ("TEST_MODE", " False ", "test_mode", False),
        ("SMS_SENDER_ID", "A", "sms_sender_id", "A"),
        ("SMS_SENDER_ID", "Example1234", "sms_sender_id", "Example1234"),
        ("SMS_ORIGINATION_NUMBER", "+447911123456", "sms_origination_number", "+447911123456"),
        ("ALLOWED_COUNTRY_CODES", "1,44,998", "allowed_country_codes", frozenset({1, 44, 998})),
        ("ALLOWED_COUNTRY_CODES", " * ", "allowed_country_codes", frozenset()),
        (
            "TEST_MODE_TOPIC_ARN",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:otp.fifo",
            "test_mode_topic_arn",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:otp.fifo",
        ),
    ],
)
def test_boundary_values_are_accepted(name: str, value: str, field: str, expected: object) -> None:
    assert getattr(Settings.from_env({name: value}), field) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTP_LENGTH", "5"),
        ("OTP_LENGTH", "11"),
        ("OTP_LENGTH", "0"),
        ("OTP_LENGTH", "-6"),
        ("OTP_LENGTH", "6.0"),
        ("OTP_LENGTH", "six"),
        ("OTP_LENGTH", "٦"),
        ("OTP_LENGTH", "1e1"),
        ("OTP_TTL_SECONDS", "59"),
        ("OTP_TTL_SECONDS", "601"),
        ("OTP_TTL_SECONDS", "3m"),
        ("MAX_ATTEMPTS", "0"),
        ("MAX_ATTEMPTS", "6"),
        ("MAX_ATTEMPTS", "three"),
        ("TEST_MODE", "yes"),
        ("TEST_MODE", "1"),
        ("TEST_MODE", "on"),
        ("TEST_MODE_TOPIC_ARN", "sms-otp-test-mode"),
        ("TEST_MODE_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:queue"),
        ("TEST_MODE_TOPIC_ARN", "arn:aws:sns:us-east-1:12345:topic"),
        ("SMS_SENDER_ID", "Example12345"),
        ("SMS_SENDER_ID", "12345"),
        ("SMS_SENDER_ID", "Ex ample"),
        ("SMS_SENDER_ID", "Exämple"),
        ("SMS_ORIGINATION_NUMBER", "18005550199"),
        ("SMS_ORIGINATION_NUMBER", "+08005550199"),
        ("SMS_ORIGINATION_NUMBER", "+1 800 555 0199"),
        ("SMS_KEY_ARN", "alias/cognito-sms"),
        ("SMS_KEY_ARN", "arn:aws:kms:us-east-1:123456789012:alias/cognito-sms"),
        ("SMS_KEY_ARN", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("ALLOWED_COUNTRY_CODES", "**"),
        ("ALLOWED_COUNTRY_CODES", "*,44"),
        ("ALLOWED_COUNTRY_CODES", "+44"),
        ("ALLOWED_COUNTRY_CODES", "1, 44"),
        ("ALLOWED_COUNTRY_CODES", "1000"),
    ],
)
def test_an_invalid_value_fails_naming_the_variable(name: str, value: str) -> None:
    # GIVEN one variable out of range or malformed
    # WHEN building the settings
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({name: value})

    # THEN the message starts with the variable's name and quotes the value
    assert str(raised.value).startswith(f"{name} must be ")
    assert repr(value.strip().lower() if name == "TEST_MODE" else value.strip()) in str(raised.value)


@pytest.mark.parametrize("topic", [None, "", "  "])
def test_test_mode_without_a_topic_fails(topic: str | None) -> None:
    # GIVEN test mode on and no topic
    environ = {"TEST_MODE": "true"} if topic is None else {"TEST_MODE": "true", "TEST_MODE_TOPIC_ARN": topic}

    # WHEN / THEN the cold start fails and says which variable is missing
    with pytest.raises(ConfigurationError, match=r"^TEST_MODE_TOPIC_ARN must be set when TEST_MODE is 'true'$"):
        Settings.from_env(environ)


@pytest.mark.parametrize("every_country", ["*", ""])
def test_a_star_or_nothing_allows_a_number_of_any_country(every_country: str) -> None:
    # GIVEN the country list written as "*" (on purpose, as production requires) or left empty
    settings = Settings.from_env({"ALLOWED_COUNTRY_CODES": every_country})

    # WHEN / THEN a number of any country is a valid destination, as with no list at all
    assert settings == Settings()
    assert validate_destination("+447911123456", settings.allowed_country_codes) == "+447911123456"


def test_a_list_of_countries_refuses_the_others() -> None:
    settings = Settings.from_env({"ALLOWED_COUNTRY_CODES": "1"})
    with pytest.raises(UserFacingError):
        validate_destination("+447911123456", settings.allowed_country_codes)


def test_a_longest_lockout_below_the_first_caps_every_lockout() -> None:
    # GIVEN LockoutMaxSeconds below LockoutBaseSeconds, which CloudFormation cannot refuse at deploy time
    policy = Settings.from_env({"LOCKOUT_BASE_SECONDS": "900", "LOCKOUT_MAX_SECONDS": "600", "LOCKOUT_THRESHOLD": "3"}).limits

    # WHEN / THEN the functions start, and every lockout, the first included, lasts the maximum
    assert [policy.lockout_seconds(rounds) for rounds in (2, 3, 4, 40)] == [0, 600, 600, 600]


def test_a_daily_limit_below_the_hourly_one_is_the_limit_that_binds() -> None:
    # GIVEN MaxMessagesPerDay below MaxMessagesPerHour, which CloudFormation cannot refuse at deploy time
    from sms_otp.limits.errors import SendLimitError
    from sms_otp.limits.policy import check_send
    from sms_otp.limits.record import SubjectState

    policy = Settings.from_env({"MAX_MESSAGES_PER_HOUR": "5", "MAX_MESSAGES_PER_DAY": "2", "MIN_SECONDS_BETWEEN_MESSAGES": "0"}).limits
    now = 1_000_000

    # WHEN a number has had two messages this hour / THEN the functions start, and a third is refused by the daily limit
    check_send(SubjectState(sent_at=(now - 60,)), policy, now)
    with pytest.raises(SendLimitError):
        check_send(SubjectState(sent_at=(now - 120, now - 60)), policy, now)


def test_require_sms_key_arn() -> None:
    assert Settings(sms_key_arn=KEY_ARN).require_sms_key_arn() == KEY_ARN
    with pytest.raises(ConfigurationError, match=r"^SMS_KEY_ARN must be set"):
        Settings().require_sms_key_arn()


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().otp_length = 4  # type: ignore[misc]


def test_load_settings_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN OTP_LENGTH=8 and TEST_MODE=false in the process environment
    monkeypatch.setenv("OTP_LENGTH", "8")
    monkeypatch.setenv("TEST_MODE", "false")

    # WHEN / THEN load_settings reads them
    assert load_settings().otp_length == 8
    assert load_settings().test_mode is False


@pytest.mark.parametrize("module_name", ["define_auth_challenge", "verify_auth_challenge", "create_auth_challenge", "custom_sms_sender"])
def test_a_trigger_with_a_bad_setting_fails_its_cold_start(load_handler: Callable[..., ModuleType], module_name: str) -> None:
    # GIVEN / WHEN importing the trigger with an out-of-range setting
    # THEN the import itself fails, naming the variable
    with pytest.raises(ConfigurationError, match=r"^MAX_ATTEMPTS must be"):
        load_handler(module_name, MAX_ATTEMPTS="9")


def test_the_custom_sms_sender_cannot_start_without_its_key(
    load_handler: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMS_KEY_ARN")
    with pytest.raises(ConfigurationError, match=r"^SMS_KEY_ARN must be set"):
        load_handler("custom_sms_sender")


# ---------------------------------------------------------------- the template agrees with the table ---

GLOBAL_VARIABLES = load_template()["Globals"]["Function"]["Environment"]["Variables"]
TEMPLATE_PARAMETERS = load_template()["Parameters"]
FROM_PARAMETERS = [setting for setting in TABLE if setting.parameter is not None]


def _parameter_on_a_new_pool(value: object) -> str | None:
    """The parameter a Globals variable takes on a stack that creates its pool: a plain ``Ref``, or the
    ``Ref`` in the new-pool branch of ``Fn::If [CreatesUserPool, ...]`` (a pool the stack does not own
    may fix the value, which the existing-pool tests cover)."""
    if isinstance(value, dict) and "Fn::If" in value and value["Fn::If"][0] == "CreatesUserPool":
        value = value["Fn::If"][1]
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in TEMPLATE_PARAMETERS:
        return str(value["Ref"])
    return None


@pytest.mark.parametrize("setting", FROM_PARAMETERS, ids=lambda setting: setting.variable)
def test_every_function_gets_the_setting_from_its_template_parameter(setting: WholeNumber | Switch | OptionalText) -> None:
    # GIVEN a setting the template sets from a parameter / WHEN reading the template's Globals
    # THEN every function's environment has the variable, set to that parameter
    assert _parameter_on_a_new_pool(GLOBAL_VARIABLES[setting.variable]) == setting.parameter


@pytest.mark.parametrize("setting", FROM_PARAMETERS, ids=lambda setting: setting.variable)
def test_the_template_parameter_has_the_settings_default_and_range(setting: WholeNumber | Switch | OptionalText) -> None:
    # GIVEN the parameter that sets this setting
    assert setting.parameter is not None
    parameter = TEMPLATE_PARAMETERS[setting.parameter]

    # WHEN / THEN it offers what the setting accepts, and its default is the setting's default
    if isinstance(setting, WholeNumber):
        assert (parameter["Type"], parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (
            "Number",
            setting.default,
            setting.minimum,
            setting.maximum,
        )
    elif isinstance(setting, Switch):
        assert (parameter["Type"], parameter["Default"], sorted(parameter["AllowedValues"])) == (
            "String",
            str(setting.default).lower(),
            ["false", "true"],
        )
    else:
        # An empty parameter leaves the variable blank, which the settings read as unset.
        assert (parameter["Type"], parameter["Default"], parameter["AllowedPattern"]) == ("String", "", "^$|" + setting.pattern)
    # AND the template's default, as the environment would carry it, reads back as the default
    assert getattr(setting, "default", None) == setting.read({setting.variable: str(parameter["Default"])})


def test_every_parameter_that_reaches_the_functions_is_in_the_table() -> None:
    # GIVEN the Globals variables set from a template parameter
    from_parameters = {name: _parameter_on_a_new_pool(value) for name, value in GLOBAL_VARIABLES.items()}
    from_parameters = {name: parameter for name, parameter in from_parameters.items() if parameter is not None}

    # WHEN / THEN each is a setting of the table, under the same parameter
    assert from_parameters == {setting.variable: setting.parameter for setting in FROM_PARAMETERS}
