"""What Hypothesis draws: hostile values, phone numbers, sessions, answers, codes, and whole examples."""

from __future__ import annotations

import operator
from collections.abc import Sequence

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sms_otp.core.settings import load_settings
from sms_otp.sending.custom_sms import TRIGGER_SOURCES
from sms_otp.sign_in.codes import CLOCK_SKEW_SECONDS
from sms_otp.sign_in.custom_auth import CUSTOM_CHALLENGE

from .mutations import (
    CIPHERTEXT_SOURCES,
    DIGIT_SCRIPTS,
    TAMPERINGS,
    Assign,
    Ciphertext,
    Delete,
    FreshMetadata,
    InsertEntries,
    IssuedAgo,
    Mutation,
    Plan,
    Replace,
    RightAnswer,
    fullwidth,
)

# The settings the handlers run with (the unit tier's environment).
SETTINGS = load_settings()
POOL_ID = "us-east-1_EXAMPLE11"
OTHER_POOL_ID = "us-east-1_OTHERPOOL"


def fuzz(max_examples: int) -> settings:
    """A fixed seed and a budget: the same examples on every run, in CI and on a laptop."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        # The moto world, the handler and the log capture are built once per test and shared by its examples.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# ---------------------------------------------------------------- hostile values ---

# "123456" in every other script.
UNICODE_DIGITS = tuple(digits[1:7] for script, digits in DIGIT_SCRIPTS.items() if script != "ascii")
ODD_STRINGS = (
    *("", " ", "true", "false", "True", "FALSE", "null", "None", "0", "1", "-1", "NaN", "Infinity", "[]", "{}"),
    *("\x00", "abc\x00def", "\x1b[2J\x07", "\r\n", "\u202e", "\ufeff", "\ud800", "%s%n{0}{code}"),
    *("${jndi:ldap://example.invalid/a}", "<script>alert(1)</script>", "&lt;&gt;&amp;", "' OR '1'='1"),
    *("../../etc/passwd", "CUSTOM_CHALLENGE\x00"),
    *UNICODE_DIGITS,
)
HUGE_STRINGS = st.builds(
    operator.mul, st.sampled_from(["1", "٣", "\x00", "A", "+", "é", "\u202e", "=", "ab"]), st.integers(10_000, 100_000)
)
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([-1, -(2**63), 2**64, -0.0, 1e308]),
    st.floats(),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=30),
    HUGE_STRINGS,
)
KNOWN_KEYS = (
    *("request", "response", "triggerSource", "userPoolId", "userName", "callerContext", "clientId", "userAttributes"),
    *("phone_number", "session", "challengeName", "challengeResult", "challengeMetadata", "userNotFound"),
    *("privateChallengeParameters", "codeHash", "codeSalt", "issuedAt", "challengeAnswer", "code"),
)
HOSTILE_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
GENERIC_MUTATIONS = st.builds(Delete, st.integers(0, 999)) | st.builds(Replace, st.integers(0, 999), HOSTILE_VALUES)

# The non-objects and made-up objects a trigger might be handed instead of a Cognito event.
WHOLE_EVENTS = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=20),
    st.lists(HOSTILE_SCALARS, max_size=3),
    HOSTILE_VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "triggerSource": st.sampled_from(sorted(TRIGGER_SOURCES)) | HOSTILE_SCALARS,
            "userPoolId": st.just(POOL_ID) | HOSTILE_SCALARS,
            "userName": HOSTILE_SCALARS,
            "callerContext": HOSTILE_VALUES,
            "request": st.dictionaries(st.sampled_from(KNOWN_KEYS), HOSTILE_VALUES, max_size=6) | HOSTILE_VALUES,
            "response": HOSTILE_VALUES,
        },
    ),
)


def plans(base_events: Sequence[str], targeted: Sequence[st.SearchStrategy[Mutation]]) -> st.SearchStrategy[Plan]:
    """Three examples in four mutate a sample event (targeted and anywhere); the fourth is made up whole."""
    mutated = st.builds(
        Plan,
        base=st.sampled_from(base_events),
        mutations=st.lists(st.one_of(*targeted, GENERIC_MUTATIONS), max_size=4).map(tuple),
    )
    whole = st.builds(Plan, base=st.none(), whole=WHOLE_EVENTS)
    # Hypothesis favours (and shrinks towards) 0, so 0 is the sample event: a failure shrinks to the least mutation.
    return st.integers(0, 3).flatmap(lambda pick: whole if pick == 3 else mutated)


# ---------------------------------------------------------------- phone numbers and users ---

VALID_PHONE_NUMBERS = ("+14155550123", "+447911123456", "+12025550143", "+33612345678")
INVALID_PHONE_NUMBERS = (
    *("+14155550123 ", " +14155550123", "+14155550123\n", "+14155550123\x00", "+1 415 555 0123", "+1 (415) 555-0123"),
    *("14155550123", "+1415555012", "+141555501234567890", "+0014155550123", "+1415555O123"),
    "+" + "14155550123".translate(str.maketrans(DIGIT_SCRIPTS["ascii"], DIGIT_SCRIPTS["arabic-indic"])),
    fullwidth("+") + "14155550123",
    *("tel:+14155550123", "+", "+44"),
    *("+19005550123", "+449098790000"),  # premium rate
    "+448712345678",  # shared cost
)
PHONES = st.sampled_from(VALID_PHONE_NUMBERS + INVALID_PHONE_NUMBERS) | HOSTILE_SCALARS
SET_PHONE = st.builds(Assign, st.just(("request", "userAttributes", "phone_number")), PHONES)

USER_NOT_FOUND: st.SearchStrategy[object] = (
    st.sampled_from([True, False, None, "true", "false", "False", "", "0", 0, 1, -1, 0.0, 1.5, [], [False], {}]) | HOSTILE_SCALARS
)
SET_USER_NOT_FOUND = st.builds(Assign, st.just(("request", "userNotFound")), USER_NOT_FOUND)

# ---------------------------------------------------------------- sessions ---

OTHER_CHALLENGES = (
    *("SRP_A", "PASSWORD_VERIFIER", "SMS_MFA", "SOFTWARE_TOKEN_MFA", "DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER"),
    *("ADMIN_NO_SRP_AUTH", "NEW_PASSWORD_REQUIRED"),
)
CHALLENGE_NAMES = (
    st.sampled_from(OTHER_CHALLENGES)
    | st.sampled_from([CUSTOM_CHALLENGE, "custom_challenge", " CUSTOM_CHALLENGE", "CUSTOM_CHALLENGE\x00", fullwidth(CUSTOM_CHALLENGE)])
    | HOSTILE_SCALARS
)
RESULTS = st.sampled_from([True, False, "true", "True", 1, 0, 1.0, None, [True], {"value": True}]) | HOSTILE_SCALARS
METADATA_VALUES = st.just(FreshMetadata()) | st.sampled_from(["SMS_OTP:v1", "SMS_OTP:v2:1:AA==:AA==", "SMS_OTP:v1:x:y:z"]) | HOSTILE_SCALARS
OTHER_CHALLENGE_ENTRY = st.sampled_from(OTHER_CHALLENGES).map(
    lambda name: {"challengeName": name, "challengeResult": True, "challengeMetadata": None}
)
RIGHT_CUSTOM_ENTRY = st.just({"challengeName": CUSTOM_CHALLENGE, "challengeResult": True, "challengeMetadata": FreshMetadata()})
ODD_ENTRY = st.fixed_dictionaries(
    {}, optional={"challengeName": CHALLENGE_NAMES, "challengeResult": RESULTS, "challengeMetadata": METADATA_VALUES}
)
SESSION_ENTRIES = OTHER_CHALLENGE_ENTRY | RIGHT_CUSTOM_ENTRY | ODD_ENTRY | HOSTILE_SCALARS
SESSION_MUTATIONS: list[st.SearchStrategy[Mutation]] = [
    # The last answer decides tokens: "true", 1 or [True] there must not pass for True.
    st.builds(Assign, st.just(("request", "session", -1, "challengeResult")), RESULTS),
    st.builds(InsertEntries, st.integers(0, 5), st.lists(SESSION_ENTRIES, min_size=1, max_size=3).map(tuple)),
    st.builds(Assign, st.just(("request", "session")), st.lists(SESSION_ENTRIES, max_size=4) | HOSTILE_VALUES),
    st.builds(Assign, st.tuples(st.just("request"), st.just("session"), st.integers(-3, 3), st.just("challengeResult")), RESULTS),
    st.builds(Assign, st.tuples(st.just("request"), st.just("session"), st.integers(-3, 3), st.just("challengeName")), CHALLENGE_NAMES),
    st.builds(Assign, st.tuples(st.just("request"), st.just("session"), st.integers(-3, 3), st.just("challengeMetadata")), METADATA_VALUES),
]

# ---------------------------------------------------------------- answers and private parameters (Verify) ---

ANSWERS = st.one_of(
    st.builds(
        RightAnswer, st.sampled_from(sorted(DIGIT_SCRIPTS)), st.sampled_from(["", " ", "\n", "\t", "\x00", "\u00a0", "\u3000", "0", "-"])
    ),
    st.sampled_from(["", "000000", "999999", "12345", "1234567", "123 456", "+123456", "-123456", "123456.0", "0x1E240", "1e5"]),
    HOSTILE_VALUES,
)
# Around the code's lifetime and the allowed clock skew, where an off-by-one would hide.
_TTL = SETTINGS.otp_ttl_seconds
ISSUED_AGO = st.sampled_from([0, 1, _TTL - 1, _TTL, _TTL + 1, 86_400, -CLOCK_SKEW_SECONDS, -CLOCK_SKEW_SECONDS - 1])
PRIVATE_PARAMETER_VALUES = (
    st.builds(IssuedAgo, ISSUED_AGO | st.integers(-10, _TTL + 10))
    | st.sampled_from(["", "=", "AAAA", "%%%", "0", "-1", "99999999999999", "١٧٦٣٧٤٠٨٠٠", "1763740800"])
    | HOSTILE_SCALARS
)

# ---------------------------------------------------------------- Custom SMS Sender ---

CUSTOM_SMS_SOURCES = (
    st.sampled_from(
        [*sorted(TRIGGER_SOURCES), "CustomSMSSender_Unknown", "customsmssender_signup", "CustomEmailSender_SignUp", "PreSignUp_SignUp"]
    )
    | HOSTILE_SCALARS
)
CIPHERTEXTS = st.builds(Ciphertext, st.sampled_from(CIPHERTEXT_SOURCES), st.sampled_from(tuple(TAMPERINGS)), st.integers(0, 10_000))
# Whole ones too: an intact ciphertext made for another pool, under another key or of binary data must be refused as well.
INTACT_CIPHERTEXTS = st.builds(Ciphertext, st.sampled_from(CIPHERTEXT_SOURCES), st.just("none"), st.just(0))
# Intact, and still not Cognito's code for this pool: each must be refused before anything is sent.
REFUSED_CIPHERTEXTS = st.builds(Ciphertext, st.sampled_from(["other-pool", "other-key", "not-text"]), st.just("none"), st.just(0))
CUSTOM_SMS_CODES = st.one_of(
    INTACT_CIPHERTEXTS,
    CIPHERTEXTS,
    st.sampled_from([None, "", "AYADeBgEXAMPLEREPLACEDBYTESTSWITHAREALCIPHERTEXT==", "====", "A", "null", "604219", "AYAD" * 40]),
    HOSTILE_VALUES,
)
