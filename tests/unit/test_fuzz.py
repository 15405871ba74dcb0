"""Fuzz: every trigger handler driven by malformed and hostile events.

Each test starts from the sample events in ``events/`` (the files ``sam local
invoke -e`` uses) and mutates them: keys deleted at any depth; values replaced
by hostile ones (None, numbers, booleans, lists, objects, strings of up to
100,000 characters, digits of other scripts, NUL and control characters,
"true"/"false" where booleans belong); sessions padded with entries of other
challenge types; odd ``userNotFound`` flags; null, forged or tampered codes;
hostile answers. Some events are made up whole, and some are not objects at all.

Every handler runs as Lambda runs it (moto behind the ones that call AWS, test
mode on, the logger at DEBUG), and for every example:

1. only the package's own errors (:class:`~sms_otp.errors.SmsOtpError`) escape;
2. Define issues tokens only after a real user's right answer to a session that
   is all ours, and Verify answers correct only for the right, fresh code of a
   real user (the fuzzer never knows the code: it is drawn when the test starts);
3. nothing is sent for a broken event (Create, Custom SMS Sender), and nothing
   ever straight to a phone in test mode;
4. no code, code hash or salt, temporary password or full phone number is logged.

The seed is fixed (``derandomize``) and the budgets small, so CI is reproducible and fast.
``pytest --hypothesis-show-statistics`` shows how the examples ended (returned,
refused, failed), to check that the fuzzer still reaches every path.

Two bugs the fuzzer found (a numeric zero ``userNotFound`` taken for a real user,
bytes after a genuine ciphertext ignored) are pinned by regression tests at the end.
"""

from __future__ import annotations

import base64
import binascii
import html
import operator
import re
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from sms_otp.codes import CLOCK_SKEW_SECONDS, IssuedCode, generate_code
from sms_otp.custom_auth import LatencyMimic
from sms_otp.custom_sms import ACCOUNT_TAKEOVER_MESSAGE, ACCOUNT_TAKEOVER_SOURCE, TRIGGER_SOURCES
from sms_otp.errors import SmsOtpError

pytestmark = [
    pytest.mark.unit,
    # The Encryption SDK raises "Footer not read" from a destructor after a failed decrypt; that is its own noise.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

Event = dict[str, Any]
EventLoader = Callable[[str], Event]
Path = tuple[str | int, ...]
Resolve = Callable[[object], object]

REGION = "us-east-1"
POOL_ID = "us-east-1_EXAMPLE11"
OTHER_POOL_ID = "us-east-1_OTHERPOOL"
LIMITS_TABLE_NAME = "sms-otp-limits"
OTP_LENGTH = 6
OTP_TTL_SECONDS = 180
CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"
TEMPORARY_PASSWORD = "Tmp&lt;Pa55&gt;w0rd"
CODE_ONLY_FLOWS = ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


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


# ---------------------------------------------------------------- hidden values ---


def digits_from(zero: int) -> str:
    """The ten digits of a script whose digits follow each other from the code point ``zero``."""
    return "".join(chr(zero + value) for value in range(10))


def fullwidth(text: str) -> str:
    """``text`` in fullwidth forms (ASCII letters, digits and signs look alike but are other characters)."""
    return "".join(chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character for character in text)


# Digits that str.isdigit() accepts and that are not ASCII: a code written in them is not the code.
DIGIT_SCRIPTS = {
    "ascii": digits_from(0x30),
    "arabic-indic": digits_from(0x0660),
    "extended-arabic-indic": digits_from(0x06F0),
    "nko": digits_from(0x07C0),
    "devanagari": digits_from(0x0966),
    "fullwidth": digits_from(0xFF10),
    "mathematical-bold": digits_from(0x1D7CE),
    "superscript": "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",
}


@dataclass(frozen=True)
class RightAnswer:
    """The right code of the Verify event, written in some script's digits and padded."""

    script: str
    padding: str

    def concrete(self, hidden: Hidden) -> str:
        digits = str.maketrans(DIGIT_SCRIPTS["ascii"], DIGIT_SCRIPTS[self.script])
        return self.padding + hidden.code.translate(digits) + self.padding


@dataclass(frozen=True)
class FreshMetadata:
    """The challenge metadata of the code issued when the test started (an earlier round of this session)."""

    def concrete(self, hidden: Hidden) -> str:
        return hidden.issued.to_metadata()


@dataclass(frozen=True)
class IssuedAgo:
    """An ``issuedAt`` this many seconds before now."""

    seconds: int

    def concrete(self, hidden: Hidden) -> str:
        return str(int(time.time()) - self.seconds)


@dataclass(frozen=True)
class Ciphertext:
    """A ciphertext made as Cognito makes it (``source`` names which), then maybe tampered with."""

    source: str
    tamper: str
    position: int

    def concrete(self, hidden: Hidden) -> str:
        return tampered(hidden.ciphertexts[self.source], self.tamper, self.position)


Placeholder = RightAnswer | FreshMetadata | IssuedAgo | Ciphertext
# Ciphertext sources: what was encrypted, under which key, for which pool (built by the sender_handler fixture).
CIPHERTEXT_SOURCES = ("code", "password", "other-pool", "other-key", "not-text")


def b64(message: bytes) -> str:
    return base64.b64encode(message).decode("ascii")


def flip_bit(message: bytes, position: int) -> bytes:
    flipped = bytearray(message)
    flipped[position % len(message)] ^= 1 << (position % 8)
    return bytes(flipped)


def change_unused_bits(encoded: str) -> str:
    """Change the unused low bits of the last character before the padding: the same bytes, so still genuine."""
    data = encoded.rstrip("=")
    if data == encoded:
        return encoded
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return data[:-1] + alphabet[alphabet.index(data[-1]) ^ 1] + encoded[len(data) :]


TAMPERINGS: dict[str, Callable[[bytes, int], str]] = {
    "none": lambda message, _position: b64(message),
    "flip": lambda message, position: b64(flip_bit(message, position)),
    "truncate": lambda message, position: b64(message[: position % len(message)]),
    "append": lambda message, position: b64(message + bytes([position % 256])),
    "urlsafe": lambda message, _position: base64.urlsafe_b64encode(message).decode("ascii"),
    "unpadded": lambda message, _position: b64(message).rstrip("="),
    "whitespace": lambda message, position: b64(message)[: position % 64] + "\n" + b64(message)[position % 64 :],
    "trailing-bits": lambda message, _position: change_unused_bits(b64(message)),
    "doubled": lambda message, _position: b64(message) * 2,
    "oversized": lambda message, _position: b64(message) + "A" * 8192,
}
TAMPERS = tuple(TAMPERINGS)


def tampered(message: bytes, how: str, position: int) -> str:
    """``message`` base64-encoded, after the tampering ``how`` at ``position``."""
    return TAMPERINGS[how](message, position)


@dataclass
class Hidden:
    """What the test knows and the fuzzer never sees: a code issued when the test started, and real ciphertexts."""

    code: str
    issued: IssuedCode
    ciphertexts: dict[str, bytes] = field(default_factory=dict)
    # Genuine ciphertexts (as bytes): the pool each was made for and its plaintext.
    genuine: dict[bytes, tuple[str, str]] = field(default_factory=dict)

    def resolve(self, value: object) -> object:
        """``value`` with every placeholder replaced by the concrete value, as a fresh copy."""
        if isinstance(value, Placeholder):
            return value.concrete(self)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


@pytest.fixture
def hidden() -> Hidden:
    code = generate_code(OTP_LENGTH)
    return Hidden(code=code, issued=IssuedCode.issue(code, issued_at=int(time.time())))


# ---------------------------------------------------------------- mutations ---

_MISSING = object()


def _paths(node: object, prefix: Path = ()) -> Iterator[Path]:
    """Every key and index under ``node``, depth first, in a stable order."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _step(node: Any, step: str | int) -> Any:
    """The child ``step`` of ``node`` (an index counts modulo the list's length), or ``_MISSING``."""
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step, _MISSING)
    if isinstance(node, list) and isinstance(step, int) and node:
        return node[step % len(node)]
    return _MISSING


def _container(event: object, path: Path) -> tuple[Any, str | int] | None:
    """The container that holds ``path``'s last step, and that step (an index made positive), if it exists."""
    node: Any = event
    for step in path[:-1]:
        node = _step(node, step)
        if node is _MISSING:
            return None
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        return node, last
    if isinstance(node, list) and isinstance(last, int) and node:
        return node, last % len(node)
    return None


@dataclass(frozen=True)
class Delete:
    """Delete one key or list item, anywhere in the event (``selector`` picks it among all of them)."""

    selector: int

    def apply(self, event: object, resolve: Resolve) -> None:
        paths = list(_paths(event))
        if paths and (found := _container(event, paths[self.selector % len(paths)])):
            container, key = found
            del container[key]


@dataclass(frozen=True)
class Replace:
    """Replace one value, anywhere in the event, by ``value``."""

    selector: int
    value: object

    def apply(self, event: object, resolve: Resolve) -> None:
        paths = list(_paths(event))
        if paths and (found := _container(event, paths[self.selector % len(paths)])):
            container, key = found
            container[key] = resolve(self.value)


@dataclass(frozen=True)
class Assign:
    """Set the value at ``path`` (a key is added to an existing object; nothing happens if the parent is gone)."""

    path: Path
    value: object

    def apply(self, event: object, resolve: Resolve) -> None:
        if found := _container(event, self.path):
            container, key = found
            container[key] = resolve(self.value)


@dataclass(frozen=True)
class InsertEntries:
    """Insert entries into ``request.session`` at ``position``, when the session is a list."""

    position: int
    entries: tuple[object, ...]

    def apply(self, event: object, resolve: Resolve) -> None:
        session = _step(_step(event, "request"), "session")
        if isinstance(session, list):
            for entry in self.entries:
                session.insert(self.position % (len(session) + 1), resolve(entry))


Mutation = Delete | Replace | Assign | InsertEntries


@dataclass(frozen=True)
class Plan:
    """How to build one example: a sample event and its mutations, or a whole made-up event."""

    base: str | None
    mutations: tuple[Mutation, ...] = ()
    whole: object = None

    def build(self, load_event: EventLoader, hidden: Hidden, prepare: Callable[[Event, Hidden], None]) -> object:
        if self.base is None:
            return hidden.resolve(self.whole)
        event = load_event(self.base)
        prepare(event, hidden)
        for mutation in self.mutations:
            mutation.apply(event, hidden.resolve)
        return event


# ---------------------------------------------------------------- strategies ---

# "123456" in every other script.
UNICODE_DIGITS = tuple(digits[1:7] for script, digits in DIGIT_SCRIPTS.items() if script != "ascii")
ODD_STRINGS = (
    "",
    " ",
    "true",
    "false",
    "True",
    "FALSE",
    "null",
    "None",
    "0",
    "1",
    "-1",
    "NaN",
    "Infinity",
    "[]",
    "{}",
    "\x00",
    "abc\x00def",
    "\x1b[2J\x07",
    "\r\n",
    "\u202e",
    "\ufeff",
    "\ud800",
    "%s%n{0}{code}",
    "${jndi:ldap://example.invalid/a}",
    "<script>alert(1)</script>",
    "&lt;&gt;&amp;",
    "' OR '1'='1",
    "../../etc/passwd",
    "CUSTOM_CHALLENGE\x00",
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
    "request",
    "response",
    "triggerSource",
    "userPoolId",
    "userName",
    "callerContext",
    "clientId",
    "userAttributes",
    "phone_number",
    "session",
    "challengeName",
    "challengeResult",
    "challengeMetadata",
    "userNotFound",
    "privateChallengeParameters",
    "codeHash",
    "codeSalt",
    "issuedAt",
    "challengeAnswer",
    "code",
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

VALID_PHONE_NUMBERS = ("+14155550123", "+447911123456", "+12025550143", "+33612345678")
INVALID_PHONE_NUMBERS = (
    "+14155550123 ",
    " +14155550123",
    "+14155550123\n",
    "+14155550123\x00",
    "+1 415 555 0123",
    "+1 (415) 555-0123",
    "14155550123",
    "+1415555012",
    "+141555501234567890",
    "+0014155550123",
    "+1415555O123",
    "+" + "14155550123".translate(str.maketrans(DIGIT_SCRIPTS["ascii"], DIGIT_SCRIPTS["arabic-indic"])),
    fullwidth("+") + "14155550123",
    "tel:+14155550123",
    "+",
    "+44",
    "+19005550123",  # premium rate
    "+449098790000",  # premium rate
    "+448712345678",  # shared cost
)
PHONES = st.sampled_from(VALID_PHONE_NUMBERS + INVALID_PHONE_NUMBERS) | HOSTILE_SCALARS
SET_PHONE = st.builds(Assign, st.just(("request", "userAttributes", "phone_number")), PHONES)

USER_NOT_FOUND: st.SearchStrategy[object] = (
    st.sampled_from([True, False, None, "true", "false", "False", "", "0", 0, 1, -1, 0.0, 1.5, [], [False], {}]) | HOSTILE_SCALARS
)
SET_USER_NOT_FOUND = st.builds(Assign, st.just(("request", "userNotFound")), USER_NOT_FOUND)

OTHER_CHALLENGES = (
    "SRP_A",
    "PASSWORD_VERIFIER",
    "SMS_MFA",
    "SOFTWARE_TOKEN_MFA",
    "DEVICE_SRP_AUTH",
    "DEVICE_PASSWORD_VERIFIER",
    "ADMIN_NO_SRP_AUTH",
    "NEW_PASSWORD_REQUIRED",
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

ANSWERS = st.one_of(
    st.builds(
        RightAnswer, st.sampled_from(sorted(DIGIT_SCRIPTS)), st.sampled_from(["", " ", "\n", "\t", "\x00", "\u00a0", "\u3000", "0", "-"])
    ),
    st.sampled_from(["", "000000", "999999", "12345", "1234567", "123 456", "+123456", "-123456", "123456.0", "0x1E240", "1e5"]),
    HOSTILE_VALUES,
)
# Around the code's lifetime and the allowed clock skew, where an off-by-one would hide.
ISSUED_AGO = st.sampled_from(
    [0, 1, OTP_TTL_SECONDS - 1, OTP_TTL_SECONDS, OTP_TTL_SECONDS + 1, 86_400, -CLOCK_SKEW_SECONDS, -CLOCK_SKEW_SECONDS - 1]
)
PRIVATE_PARAMETER_VALUES = (
    st.builds(IssuedAgo, ISSUED_AGO | st.integers(-10, OTP_TTL_SECONDS + 10))
    | st.sampled_from(["", "=", "AAAA", "%%%", "0", "-1", "99999999999999", "١٧٦٣٧٤٠٨٠٠", "1763740800"])
    | HOSTILE_SCALARS
)

CUSTOM_SMS_SOURCES = (
    st.sampled_from(
        [*sorted(TRIGGER_SOURCES), "CustomSMSSender_Unknown", "customsmssender_signup", "CustomEmailSender_SignUp", "PreSignUp_SignUp"]
    )
    | HOSTILE_SCALARS
)
CIPHERTEXTS = st.builds(Ciphertext, st.sampled_from(CIPHERTEXT_SOURCES), st.sampled_from(TAMPERS), st.integers(0, 10_000))
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


# ---------------------------------------------------------------- oracles ---


def invoke(handler: ModuleType, event: object, context: object) -> tuple[object, BaseException | None]:
    """Run the handler; return its result, or the exception that escaped it (whatever its kind)."""
    try:
        return handler.lambda_handler(event, context), None
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - the property is about what escapes, whatever it is
        return None, error


def outcome(error: BaseException | None, detail: str = "") -> None:
    """Label the example for ``--hypothesis-show-statistics``, to see that the fuzzer reaches every path."""
    name = type(error).__name__ if error else "returned"
    if error is not None and error.__cause__ is not None:
        name += f" from {type(error.__cause__).__name__}"
    hypothesis_event(f"{name}: {detail}" if detail else name)


def assert_only_own_errors(error: BaseException | None) -> None:
    if error is not None:
        assert isinstance(error, SmsOtpError), "an error that is not the package's own escaped:\n" + "".join(
            traceback.format_exception(error)
        )


def invoke_and_check_delivery(
    handler: ModuleType, event: object, lambda_context: object, outbox: Outbox, *, may_send: bool
) -> tuple[BaseException | None, dict[str, Any] | None]:
    """Invoke a sending handler; check that only our errors escape and that it sent exactly what it may.

    Returns the error (if any) and the one message sent to the test topic (None when it may not send).
    """
    published_before = len(outbox.topic_messages())
    _, error = invoke(handler, event, lambda_context)
    assert_only_own_errors(error)
    assert outbox.sms_messages() == []
    sent = outbox.topic_messages()[published_before:]
    outcome(error, f"may send {may_send}, sent {len(sent)}")
    if not may_send:
        assert sent == []
        return error, None
    assert isinstance(event, dict)
    assert error is None
    [message] = sent
    assert message["MessageAttributes"]["recipient"]["Value"] == event["request"]["userAttributes"]["phone_number"]
    return error, message


def user_status(request: dict[str, Any]) -> str:
    """``real`` (flag absent, false or null) or ``unknown`` (anything else, a number zero included)."""
    flag = request.get("userNotFound", False)
    return "real" if flag is False or flag is None else "unknown"


def request_of(event: object) -> dict[str, Any] | None:
    request = event.get("request") if isinstance(event, dict) else None
    return request if isinstance(request, dict) else None


def session_of(request: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The session (absent means empty), or None when it is not a list of objects."""
    session = request.get("session", [])
    if isinstance(session, list) and all(isinstance(entry, dict) for entry in session):
        return session
    return None


def is_fresh(issued_at: int, now: float) -> bool:
    return issued_at + OTP_TTL_SECONDS > now and issued_at <= now + CLOCK_SKEW_SECONDS


def b64decode_strict(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def encodings(raw: bytes) -> set[str]:
    urlsafe, standard = base64.urlsafe_b64encode(raw).decode(), base64.b64encode(raw).decode()
    return {urlsafe, standard, urlsafe.rstrip("="), standard.rstrip("="), raw.hex()}


# The digits of a phone number (E.164 allows up to 15), wherever they sit in a value, even a malformed one.
PHONE_DIGITS = re.compile(r"(?<![0-9])[0-9]{7,15}(?![0-9])")


class LogSecrets:
    """What must never reach the logs: codes, hashes and salts, temporary passwords, full phone numbers."""

    def __init__(self) -> None:
        self.digit_tokens: set[str] = set()
        self.substrings: set[str] = set()

    def add_code(self, code: str) -> None:
        self.digit_tokens.add(code)

    def add_text(self, text: str) -> None:
        self.substrings.add(text)

    def add_issued(self, issued: IssuedCode | None) -> None:
        if issued is not None:
            self.substrings |= encodings(issued.salt) | encodings(issued.digest)

    def add_phone_number(self, value: object) -> None:
        if isinstance(value, str):
            self.digit_tokens.update(PHONE_DIGITS.findall(value))

    def add_event(self, node: object, key: object = None) -> None:
        """Phone numbers, private challenge parameters and challenge metadata, anywhere in the event."""
        if isinstance(node, dict):
            self.add_issued(IssuedCode.from_private_parameters(node))
            for child_key, child in node.items():
                self.add_event(child, child_key)
        elif isinstance(node, list):
            for child in node:
                self.add_event(child, key)
        elif isinstance(node, str):
            if key in ("phone_number", "userName"):
                self.add_phone_number(node)
            if issued := IssuedCode.from_metadata(node):
                self.add_issued(issued)
                self.substrings.add(node)

    def assert_absent_from(self, text: str, event: object) -> None:
        # The routing keys are logged on purpose (trigger_source, user_pool_id, client_id, an unsupported source):
        # a secret the fuzzer also wrote there is not a leak.
        logged: list[str] = []
        if isinstance(event, dict):
            caller = event.get("callerContext")
            routing = [event.get("triggerSource"), event.get("userPoolId"), caller.get("clientId") if isinstance(caller, dict) else None]
            logged = [str(value) for value in routing if value is not None]
        for token in self.digit_tokens:
            if not any(token in value for value in logged):
                assert not re.search(rf"(?<![0-9]){re.escape(token)}(?![0-9])", text), f"a secret was logged: {token!r}"
        for secret in self.substrings:
            if not any(secret in value for value in logged):
                assert secret not in text, f"a secret was logged: {secret!r}"


def secrets_of(event: object, hidden: Hidden) -> LogSecrets:
    """The secrets in the event before the handler runs, and the one the test hid."""
    secrets = LogSecrets()
    secrets.add_event(event)
    secrets.add_code(hidden.code)
    secrets.add_issued(hidden.issued)
    return secrets


def drain(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


class Outbox:
    """The test-mode topic and moto's SMS record (``sns_outbox``), with a short repr for Hypothesis' failure reports."""

    def __init__(self, sns_outbox: Any) -> None:
        self._sns_outbox = sns_outbox

    def __repr__(self) -> str:
        return "<test-mode outbox>"

    def topic_messages(self) -> list[dict[str, Any]]:
        return list(self._sns_outbox.topic_messages())

    def sms_messages(self) -> list[tuple[str, str]]:
        return list(self._sns_outbox.sms_messages())


@pytest.fixture
def outbox(sns_outbox: Any) -> Outbox:
    return Outbox(sns_outbox)


def clear_limits_table() -> None:
    """Each example starts with no send history, so a well-formed event is not refused by an earlier one's limits."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for item in dynamodb.scan(TableName=LIMITS_TABLE_NAME, ProjectionExpression="pk")["Items"]:
        dynamodb.delete_item(TableName=LIMITS_TABLE_NAME, Key={"pk": item["pk"]})


def no_preparation(event: Event, hidden: Hidden) -> None:
    """The sample event as it is."""


def refresh_session_metadata(event: Event, hidden: Hidden) -> None:
    """The samples' earlier rounds carry the hidden code's metadata, issued just now."""
    for entry in event["request"].get("session", []):
        if isinstance(entry.get("challengeMetadata"), str):
            entry["challengeMetadata"] = hidden.issued.to_metadata()


# ---------------------------------------------------------------- Define ---

DEFINE_EVENTS = (
    "define_auth_challenge_new_session",
    "define_auth_challenge_right_answer",
    "define_auth_challenge_srp",
    "define_auth_challenge_user_not_found",
    "define_auth_challenge_wrong_answer",
)
CHALLENGE = {"challengeName": CUSTOM_CHALLENGE, "issueTokens": False, "failAuthentication": False}
TOKENS = {"issueTokens": True, "failAuthentication": False}
FAIL = {"issueTokens": False, "failAuthentication": True}


@pytest.fixture
def define_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("define_auth_challenge")


@fuzz(max_examples=200)
@given(plan=plans(DEFINE_EVENTS, [SET_USER_NOT_FOUND, *SESSION_MUTATIONS]))
def test_define_issues_tokens_only_for_a_real_users_right_custom_answer(
    *,
    plan: Plan,
    define_handler: ModuleType,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a sample Define event, mutated (or a made-up one)
    event = plan.build(load_event, hidden, refresh_session_metadata)
    secrets = secrets_of(event, hidden)
    drain(capsys)

    # WHEN Define Auth Challenge runs
    _, error = invoke(define_handler, event, lambda_context)
    outcome(error, str(event.get("response")) if error is None and isinstance(event, dict) else "")

    # THEN only the package's own errors escape, and never for a well-formed session
    assert_only_own_errors(error)
    request = request_of(event)
    session = session_of(request) if request is not None else None
    if session is not None:
        assert error is None
    # AND the response is one of the three; tokens exactly when every entry is a custom challenge,
    # the last one answered exactly True, by a real user (so never with another challenge type in the session)
    if error is None:
        assert isinstance(event, dict)
        assert event["response"] in (CHALLENGE, TOKENS, FAIL)
        assert request is not None
        assert session is not None
        deserves_tokens = (
            bool(session)
            and all(entry.get("challengeName") == CUSTOM_CHALLENGE for entry in session)
            and session[-1].get("challengeResult") is True
            and user_status(request) == "real"
        )
        assert (event["response"] == TOKENS) == deserves_tokens
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


# ---------------------------------------------------------------- Verify ---


def verify_preparation(event: Event, hidden: Hidden) -> None:
    """Private parameters of the hidden code, issued just now, and its right answer: the sample is correct until mutated."""
    event["request"]["privateChallengeParameters"] = hidden.issued.to_private_parameters()
    event["request"]["challengeAnswer"] = hidden.code


def verify_deserves_correct(event: object, hidden: Hidden, now: float) -> bool:
    """Whether the answer is right: a real user, the hidden code's hash and salt, fresh, the code itself."""
    request = request_of(event)
    if request is None:
        return False
    status = user_status(request)
    issued = IssuedCode.from_private_parameters(request.get("privateChallengeParameters"))
    answer = request.get("challengeAnswer")
    return (
        status == "real"
        and issued is not None
        and (issued.salt, issued.digest) == (hidden.issued.salt, hidden.issued.digest)
        and is_fresh(issued.issued_at, now)
        and isinstance(answer, str)
        and len(answer) <= 64
        and answer.strip() == hidden.code
    )


@pytest.fixture
def verify_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("verify_auth_challenge")


@fuzz(max_examples=200)
@given(
    plan=plans(
        ("verify_auth_challenge",),
        [
            SET_USER_NOT_FOUND,
            st.builds(Assign, st.just(("request", "challengeAnswer")), ANSWERS),
            st.builds(Assign, st.just(("request", "privateChallengeParameters")), HOSTILE_VALUES),
            st.builds(Assign, st.just(("request", "privateChallengeParameters", "issuedAt")), st.builds(IssuedAgo, ISSUED_AGO)),
            st.builds(
                Assign,
                st.tuples(st.just("request"), st.just("privateChallengeParameters"), st.sampled_from(["codeHash", "codeSalt", "issuedAt"])),
                PRIVATE_PARAMETER_VALUES,
            ),
        ],
    )
)
def test_verify_is_correct_only_for_the_right_fresh_code_of_a_real_user(
    *,
    plan: Plan,
    verify_handler: ModuleType,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the Verify event for a code the fuzzer never saw, mutated (or a made-up one)
    event = plan.build(load_event, hidden, verify_preparation)
    secrets = secrets_of(event, hidden)
    drain(capsys)

    # WHEN Verify Auth Challenge Response runs
    before = time.time()
    _, error = invoke(verify_handler, event, lambda_context)
    after = time.time()
    outcome(error, str(event.get("response")) if error is None and isinstance(event, dict) else "")

    # THEN only the package's own errors escape, and nothing at all for an event that is an object:
    # a bad answer, bad parameters or a bad flag are simply wrong
    assert_only_own_errors(error)
    if isinstance(event, dict):
        assert error is None
        # AND the answer is correct exactly for the hidden code, unexpired, from a real user
        expected = verify_deserves_correct(event, hidden, before)
        # (judged only when the clock did not cross the code's expiry during the call)
        if expected == verify_deserves_correct(event, hidden, after):
            assert event["response"] == {"answerCorrect": expected}
        assert event["response"] in ({"answerCorrect": False}, {"answerCorrect": True})
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


# ---------------------------------------------------------------- Pre sign-up ---

PRE_SIGN_UP_EVENTS = ("pre_sign_up", "pre_sign_up_admin_create_user", "pre_sign_up_invalid_phone", "pre_sign_up_premium_number")
ACCEPTED = {"autoConfirmUser": True, "autoVerifyPhone": False, "autoVerifyEmail": False}


@pytest.fixture
def pre_sign_up_handler(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("pre_sign_up")


@fuzz(max_examples=200)
@given(
    plan=plans(
        PRE_SIGN_UP_EVENTS,
        [
            SET_PHONE,
            st.builds(Assign, st.just(("request", "userAttributes")), HOSTILE_VALUES),
            st.builds(
                Assign, st.just(("request", "userAttributes", "phone_number_verified")), st.sampled_from(["true", True]) | HOSTILE_SCALARS
            ),
            st.builds(
                Assign,
                st.just(("triggerSource",)),
                st.sampled_from(["PreSignUp_ExternalProvider", "PreSignUp_AdminCreateUser"]) | HOSTILE_SCALARS,
            ),
        ],
    )
)
def test_pre_sign_up_accepts_only_a_valid_phone_number_and_never_verifies_it(
    *,
    plan: Plan,
    pre_sign_up_handler: ModuleType,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a sample Pre sign-up event, mutated (or a made-up one)
    event = plan.build(load_event, hidden, no_preparation)
    secrets = secrets_of(event, hidden)
    drain(capsys)

    # WHEN Pre sign-up runs
    _, error = invoke(pre_sign_up_handler, event, lambda_context)
    outcome(error)

    # THEN only the package's own errors escape
    assert_only_own_errors(error)
    # AND a user is confirmed exactly when the phone number is valid, and the phone is never verified here
    request = request_of(event)
    attributes = request.get("userAttributes") if request is not None else None
    valid = isinstance(attributes, dict) and attributes.get("phone_number") in VALID_PHONE_NUMBERS
    assert (error is None) == valid
    if error is None:
        assert isinstance(event, dict)
        assert event["response"] == ACCEPTED
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


# ---------------------------------------------------------------- Create ---

CREATE_EVENTS = ("create_auth_challenge", "create_auth_challenge_second_round", "create_auth_challenge_user_not_found")
DESTINATION = re.compile(r"\+\*+[0-9]{4}")
SENT_CODE = re.compile(r"Your sign-in code is ([0-9]+)\.")


@pytest.fixture
def create_handler(sns_outbox: Any, load_handler: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """create_auth_challenge cold-started against moto, test mode on; the unknown-user path does not sleep."""
    module = load_handler("create_auth_challenge")
    monkeypatch.setattr(module, "LATENCY", LatencyMimic(sleep=lambda _seconds: None))
    return module


def create_may_send(event: object) -> bool:
    """Whether Create should send a code: a well-formed first round for a real user with a valid number.

    Anything else is broken, or a later round that reuses the code sent before: nothing may be sent.
    """
    request = request_of(event)
    if request is None or request.get("challengeName") != CUSTOM_CHALLENGE:
        return False
    assert isinstance(event, dict)
    session = session_of(request)
    if session is None or not isinstance(event.get("userName"), str):
        return False
    status = user_status(request)
    attributes = request.get("userAttributes") or {}
    return (
        status == "real"
        and isinstance(attributes, dict)
        and attributes.get("phone_number") in VALID_PHONE_NUMBERS
        and all(IssuedCode.from_metadata(entry.get("challengeMetadata")) is None for entry in session)
    )


@fuzz(max_examples=100)
@given(
    plan=plans(
        CREATE_EVENTS,
        [
            SET_USER_NOT_FOUND,
            SET_PHONE,
            *SESSION_MUTATIONS,
            st.builds(Assign, st.just(("request", "challengeName")), CHALLENGE_NAMES),
            st.builds(Assign, st.just(("userName",)), PHONES),
            st.builds(Assign, st.just(("request", "userAttributes")), HOSTILE_VALUES),
        ],
    )
)
def test_create_sends_nothing_for_a_broken_event_and_never_reveals_the_code(
    *,
    plan: Plan,
    create_handler: ModuleType,
    outbox: Outbox,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a sample Create event, mutated (or a made-up one), and no send history
    clear_limits_table()
    event = plan.build(load_event, hidden, refresh_session_metadata)
    secrets = secrets_of(event, hidden)
    drain(capsys)

    # WHEN Create Auth Challenge runs
    # THEN only the package's own errors escape, never test mode's direct SMS, and
    # a broken event (or a later round) sends nothing; a well-formed first round sends one code, to its number
    published_before = len(outbox.topic_messages())
    error, _message = invoke_and_check_delivery(create_handler, event, lambda_context, outbox, may_send=create_may_send(event))
    sent = outbox.topic_messages()[published_before:]
    # AND the response holds a masked destination, the hash of the code sent, and no tokens
    if error is None:
        assert isinstance(event, dict)
        response = event["response"]
        assert set(response) == {"publicChallengeParameters", "privateChallengeParameters", "challengeMetadata"}
        public = response["publicChallengeParameters"]
        assert set(public) == {"CODE_DELIVERY_DELIVERY_MEDIUM", "CODE_DELIVERY_DESTINATION"}
        assert public["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
        assert DESTINATION.fullmatch(public["CODE_DELIVERY_DESTINATION"])
        issued = IssuedCode.from_private_parameters(response["privateChallengeParameters"])
        assert issued is not None
        assert issued == IssuedCode.from_metadata(response["challengeMetadata"])
        secrets.add_issued(issued)
        for message in sent:
            match = SENT_CODE.search(message["Message"])
            assert match
            assert issued.matches(match.group(1))
            secrets.add_code(match.group(1))
    assert len(sent) <= 1
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


# ---------------------------------------------------------------- Custom SMS Sender ---

CUSTOM_SMS_EVENTS = (
    "custom_sms_sender_account_take_over_notification",
    "custom_sms_sender_admin_create_user",
    "custom_sms_sender_authentication",
    "custom_sms_sender_forgot_password",
    "custom_sms_sender_resend_code",
    "custom_sms_sender_sign_up",
    "custom_sms_sender_update_user_attribute",
    "custom_sms_sender_verify_user_attribute",
)


@pytest.fixture
def sender_handler(
    sns_outbox: Any,
    kms_key_arn: str,
    new_kms_key: Callable[[], str],
    encrypt_code: Callable[[bytes, str, str], str],
    load_handler: Callable[..., ModuleType],
    hidden: Hidden,
) -> ModuleType:
    """custom_sms_sender cold-started against a moto key, and the ciphertexts Cognito (or someone else) could send."""
    other_key_arn = new_kms_key()
    made = {
        "code": (hidden.code, kms_key_arn, POOL_ID),
        "password": (TEMPORARY_PASSWORD, kms_key_arn, POOL_ID),
        "other-pool": (hidden.code, kms_key_arn, OTHER_POOL_ID),
        "other-key": (hidden.code, other_key_arn, POOL_ID),
    }
    for source, (plaintext, key_arn, pool_id) in made.items():
        hidden.ciphertexts[source] = base64.b64decode(encrypt_code(plaintext.encode(), key_arn, pool_id))
        if key_arn == kms_key_arn:
            hidden.genuine[hidden.ciphertexts[source]] = (pool_id, plaintext)
    hidden.ciphertexts["not-text"] = base64.b64decode(encrypt_code(b"\xff\xfe\x00" + hidden.code.encode(), kms_key_arn, POOL_ID))
    return load_handler("custom_sms_sender", SMS_KEY_ARN=kms_key_arn)


def sender_preparation(event: Event, hidden: Hidden) -> None:
    """The samples' placeholder code becomes a real ciphertext: a temporary password for AdminCreateUser, a code otherwise."""
    if isinstance(event["request"].get("code"), str):
        source = "password" if event["triggerSource"] == "CustomSMSSender_AdminCreateUser" else "code"
        event["request"]["code"] = base64.b64encode(hidden.ciphertexts[source]).decode("ascii")


def sender_may_send(event: object, hidden: Hidden) -> bool:
    """A supported source, a valid number, and a genuine ciphertext for this pool (or none, for a takeover notice)."""
    request = request_of(event)
    if request is None:
        return False
    assert isinstance(event, dict)
    source, pool_id = event.get("triggerSource"), event.get("userPoolId")
    attributes = request.get("userAttributes")
    if not (
        isinstance(source, str)
        and source in TRIGGER_SOURCES
        and isinstance(pool_id, str)
        and isinstance(attributes, dict)
        and attributes.get("phone_number") in VALID_PHONE_NUMBERS
    ):
        return False
    code = request.get("code")
    if code is None or code == "":
        return source == ACCOUNT_TAKEOVER_SOURCE
    return is_genuine_for(code, pool_id, hidden)


def is_genuine_for(code: object, pool_id: str, hidden: Hidden) -> bool:
    """Whether ``code`` is, byte for byte, a ciphertext Cognito made for ``pool_id`` (nothing more, nothing less)."""
    message = b64decode_strict(code)
    if message is None or not isinstance(code, str) or len(code) > 8192:
        return False
    made_for = hidden.genuine.get(message)
    return made_for is not None and made_for[0] == pool_id


@fuzz(max_examples=100)
@given(
    plan=plans(
        CUSTOM_SMS_EVENTS,
        [
            SET_PHONE,
            st.builds(Assign, st.just(("request", "code")), CUSTOM_SMS_CODES),
            st.builds(Assign, st.just(("request", "code")), REFUSED_CIPHERTEXTS),
            st.builds(Assign, st.just(("triggerSource",)), CUSTOM_SMS_SOURCES),
            st.builds(Assign, st.just(("userPoolId",)), st.sampled_from([POOL_ID, OTHER_POOL_ID, ""]) | HOSTILE_SCALARS),
        ],
    )
)
def test_custom_sms_sender_sends_only_a_genuine_code(
    *,
    plan: Plan,
    sender_handler: ModuleType,
    outbox: Outbox,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a sample Custom SMS Sender event with a real ciphertext, mutated (or a made-up one), and no send history
    clear_limits_table()
    event = plan.build(load_event, hidden, sender_preparation)
    secrets = secrets_of(event, hidden)
    secrets.add_text(TEMPORARY_PASSWORD)
    secrets.add_text(html.unescape(TEMPORARY_PASSWORD))
    drain(capsys)

    # WHEN the Custom SMS Sender runs
    # THEN only the package's own errors escape, never test mode's direct SMS, and
    # anything but a genuine ciphertext for this pool sends nothing; a genuine one sends its code once, to its number
    _, message = invoke_and_check_delivery(sender_handler, event, lambda_context, outbox, may_send=sender_may_send(event, hidden))
    if message is not None:
        assert isinstance(event, dict)
        if event["triggerSource"] == ACCOUNT_TAKEOVER_SOURCE:
            assert message["Message"] == ACCOUNT_TAKEOVER_MESSAGE
        else:
            plaintext = hidden.genuine[base64.b64decode(event["request"]["code"])][1]
            assert (html.unescape(plaintext) if event["triggerSource"] == "CustomSMSSender_AdminCreateUser" else plaintext) in message[
                "Message"
            ]
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


# ---------------------------------------------------------------- Post authentication ---


@dataclass(frozen=True)
class FuzzPool:
    pool_id: str
    client_id: str
    username: str


@pytest.fixture
def fuzz_pool(aws: None) -> FuzzPool:
    """A moto pool with a code-only app client and a user whose phone is unverified."""
    idp = boto3.client("cognito-idp", region_name=REGION)
    pool_id = idp.create_user_pool(PoolName="sms-otp-fuzz")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="code-only", ExplicitAuthFlows=CODE_ONLY_FLOWS)[
        "UserPoolClient"
    ]["ClientId"]
    username = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": "phone_number", "Value": "+14155550123"}, {"Name": "phone_number_verified", "Value": "false"}],
        MessageAction="SUPPRESS",
    )
    return FuzzPool(pool_id, client_id, username)


@pytest.fixture
def post_auth_handler(fuzz_pool: FuzzPool, sns_outbox: Any, load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("post_authentication")


@fuzz(max_examples=50)
@given(
    plan=plans(
        ("post_authentication",),
        [
            SET_PHONE,
            st.builds(
                Assign,
                st.just(("request", "userAttributes", "phone_number_verified")),
                st.sampled_from(["true", True, "TRUE", "false"]) | HOSTILE_SCALARS,
            ),
            st.builds(Assign, st.just(("callerContext", "clientId")), HOSTILE_SCALARS),
            st.builds(Assign, st.just(("userPoolId",)), HOSTILE_SCALARS),
            st.builds(Assign, st.just(("userName",)), PHONES),
            st.builds(Assign, st.just(("request", "userAttributes")), HOSTILE_VALUES),
        ],
    )
)
def test_post_authentication_fails_only_with_its_own_errors(
    *,
    plan: Plan,
    post_auth_handler: ModuleType,
    fuzz_pool: FuzzPool,
    outbox: Outbox,
    load_event: EventLoader,
    hidden: Hidden,
    lambda_context: object,
    debug_logs: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the sample Post authentication event naming the moto pool, client and user, mutated (or a made-up one)
    def name_the_pool(event: Event, hidden: Hidden) -> None:
        event.update(userPoolId=fuzz_pool.pool_id, userName=fuzz_pool.username)
        event["callerContext"]["clientId"] = fuzz_pool.client_id

    event = plan.build(load_event, hidden, name_the_pool)
    secrets = secrets_of(event, hidden)
    published_before = len(outbox.topic_messages())
    drain(capsys)

    # WHEN Post authentication runs
    _, error = invoke(post_auth_handler, event, lambda_context)
    outcome(error)

    # THEN only the package's own errors escape, nothing is sent, and no secret was logged
    assert_only_own_errors(error)
    assert outbox.topic_messages()[published_before:] == []
    assert outbox.sms_messages() == []
    secrets.assert_absent_from(drain(capsys), event)


# ---------------------------------------------------------------- regressions the fuzzer found ---


@pytest.mark.parametrize("flag", [0, 0.0])
def test_a_numeric_zero_user_not_found_flag_is_not_a_real_user(
    define_handler: ModuleType, load_event: EventLoader, lambda_context: object, flag: float
) -> None:
    # GIVEN the sample unknown-user event (last answer right), its flag a number zero instead of a boolean
    event = load_event("define_auth_challenge_user_not_found")
    event["request"]["userNotFound"] = flag

    # WHEN Define Auth Challenge runs
    define_handler.lambda_handler(event, lambda_context)

    # THEN no tokens: a malformed flag must not open the door
    assert event["response"]["issueTokens"] is False


@pytest.mark.parametrize("appended", [b"\x00", b"more than one byte"], ids=["one byte", "several bytes"])
def test_a_genuine_ciphertext_with_bytes_appended_is_refused(
    *,
    sender_handler: ModuleType,
    outbox: Outbox,
    hidden: Hidden,
    load_event: EventLoader,
    lambda_context: object,
    logs: Any,
    appended: bytes,
) -> None:
    # GIVEN a code Cognito encrypted for this pool with the stack's key, with bytes appended to the message
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = base64.b64encode(hidden.ciphertexts["code"] + appended).decode("ascii")

    # WHEN the Custom SMS Sender runs
    sender_handler.lambda_handler(event, lambda_context)

    # THEN it refuses the code, as it refuses any other ciphertext that is not Cognito's (logged; no retry)
    assert outbox.topic_messages() == []
    assert [record["error_type"] for record in logs.records() if record["level"] == "ERROR"] == ["CodeDecryptionError"]


# ---------------------------------------------------------------- coverage of the samples ---


def test_every_sample_event_is_fuzzed() -> None:
    # GIVEN the sample events, the files `sam local invoke -e` uses
    samples = {path.stem for path in (FilePath(__file__).resolve().parents[2] / "events").glob("*.json")}

    # WHEN / THEN each one is the starting point of a fuzz test (a new sample must join its trigger's list)
    fuzzed = {*DEFINE_EVENTS, "verify_auth_challenge", *PRE_SIGN_UP_EVENTS, *CREATE_EVENTS, *CUSTOM_SMS_EVENTS, "post_authentication"}
    assert samples == fuzzed
