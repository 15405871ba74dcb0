"""The rules each example is judged by, in their own words; and running a handler to judge it.

The rules are stated as a reader of Cognito's documentation would state them,
not copied from the code under test: Cognito's flags and results are JSON
``true``/``false`` (so a rule compares the JSON it would serialise to), a code
is fresh from its issue (give or take the allowed clock skew) until its
lifetime has passed, and so on. The numbers come from the code that defines
them (codes, custom_sms, the handler's settings).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import traceback
from types import ModuleType
from typing import Any

import pytest
from hypothesis import event as hypothesis_event

from sms_otp.core.errors import SmsOtpError
from sms_otp.sending.custom_sms import ACCOUNT_TAKEOVER_SOURCE, MAX_CIPHERTEXT_CHARACTERS, TRIGGER_SOURCES
from sms_otp.sign_in.codes import CLOCK_SKEW_SECONDS, MAX_ANSWER_CHARACTERS, IssuedCode
from sms_otp.sign_in.custom_auth import CUSTOM_CHALLENGE

from .mutations import Hidden
from .strategies import VALID_PHONE_NUMBERS

# ---------------------------------------------------------------- reading what the fuzzer left ---


def is_json(value: object, literal: str) -> bool:
    """Whether ``value`` is, as JSON, exactly ``literal`` (``true`` is not ``1``, ``"true"`` or ``[true]``)."""
    try:
        return json.dumps(value) == literal
    except (TypeError, ValueError):
        return False


def request_if_object(event: object) -> dict[str, Any] | None:
    """The event's ``request`` when both are JSON objects; ``None`` for anything else."""
    request = event.get("request") if isinstance(event, dict) else None
    return request if isinstance(request, dict) else None


def well_formed_session(request: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The session as a list of objects (no session at all is an empty one), or ``None`` when it is anything else."""
    session = request.get("session", [])
    if isinstance(session, list) and all(isinstance(entry, dict) for entry in session):
        return session
    return None


# ---------------------------------------------------------------- the rules ---


def is_real_user(request: dict[str, Any]) -> bool:
    """Cognito marks an unknown user with ``userNotFound: true``; only ``false``, ``null`` or no flag is a real user."""
    flag = request.get("userNotFound")
    return is_json(flag, "false") or is_json(flag, "null")


def is_fresh(issued_at: int, now: float, ttl_seconds: int) -> bool:
    """A code lives ``ttl_seconds`` from its issue; an issue up to the clock skew in the future is still "now"."""
    age = now - issued_at
    return -CLOCK_SKEW_SECONDS <= age < ttl_seconds


def deserves_tokens(request: dict[str, Any]) -> bool:
    """Tokens end a session that is all custom challenges, whose last answer Cognito judged ``true``, of a real user."""
    session = well_formed_session(request)
    if not session:
        return False
    all_ours = all(is_json(entry.get("challengeName"), json.dumps(CUSTOM_CHALLENGE)) for entry in session)
    return all_ours and is_json(session[-1].get("challengeResult"), "true") and is_real_user(request)


def answer_is_right(event: object, hidden: Hidden, now: float, ttl_seconds: int) -> bool:
    """Right: a real user's answer that is the hidden code (white space around it forgiven, within a sane length),
    against the hidden code's own salt and hash, while the code is fresh."""
    request = request_if_object(event)
    if request is None or not is_real_user(request):
        return False
    issued = IssuedCode.from_private_parameters(request.get("privateChallengeParameters"))
    answer = request.get("challengeAnswer")
    return (
        issued is not None
        and (issued.salt, issued.digest) == (hidden.issued.salt, hidden.issued.digest)
        and is_fresh(issued.issued_at, now, ttl_seconds)
        and isinstance(answer, str)
        and len(answer) <= MAX_ANSWER_CHARACTERS
        and re.fullmatch(rf"\s*{hidden.code}\s*", answer) is not None
    )


def create_may_send(event: object) -> bool:
    """A code goes out only for a well-formed first round (no earlier code in the session) of a real user with a valid number.

    Anything else is broken, or a later round that reuses the code sent before: nothing may be sent.
    """
    request = request_if_object(event)
    if request is None or not is_json(request.get("challengeName"), json.dumps(CUSTOM_CHALLENGE)):
        return False
    assert isinstance(event, dict)
    session = well_formed_session(request)
    attributes = request.get("userAttributes")
    return (
        session is not None
        and isinstance(event.get("userName"), str)
        and is_real_user(request)
        and isinstance(attributes, dict)
        and attributes.get("phone_number") in VALID_PHONE_NUMBERS
        and not any(IssuedCode.from_metadata(entry.get("challengeMetadata")) for entry in session)
    )


def sender_may_send(event: object, hidden: Hidden) -> bool:
    """A supported source, a valid number, and a genuine ciphertext for this pool (or none, for a takeover notice)."""
    request = request_if_object(event)
    if request is None:
        return False
    assert isinstance(event, dict)
    source, pool_id = event.get("triggerSource"), event.get("userPoolId")
    attributes = request.get("userAttributes")
    if not (
        source in TRIGGER_SOURCES
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
    if not isinstance(code, str) or len(code) > MAX_CIPHERTEXT_CHARACTERS:
        return False
    try:
        message = base64.b64decode(code, validate=True)
    except (binascii.Error, ValueError):
        return False
    made_for = hidden.genuine.get(message)
    return made_for is not None and made_for[0] == pool_id


# ---------------------------------------------------------------- running a handler ---


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


def clear_limits_table(handler: ModuleType) -> None:
    """Each example starts with no send history, so a well-formed event is not refused by an earlier one's limits."""
    store = handler.LIMITS
    for item in store.client.scan(TableName=store.table_name, ProjectionExpression="pk")["Items"]:
        store.client.delete_item(TableName=store.table_name, Key={"pk": item["pk"]})


# ---------------------------------------------------------------- secrets in the logs ---


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
                self.digit_tokens.update(PHONE_DIGITS.findall(node))
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
