"""Fuzz the Custom SMS Sender: only a genuine code for this pool (or a takeover notice) is ever sent, once, to its number."""

from __future__ import annotations

import base64
import html
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_otp.sending.custom_sms import ACCOUNT_TAKEOVER_MESSAGE, ACCOUNT_TAKEOVER_SOURCE
from tests.testkit.cognito_encryption import ENCRYPTION_SDK_NOISE

from .conftest import TEMPORARY_PASSWORD
from .mutations import Assign, Event, EventLoader, Hidden, Plan
from .oracles import Outbox, clear_limits_table, drain, invoke_and_check_delivery, secrets_of, sender_may_send
from .strategies import (
    CUSTOM_SMS_CODES,
    CUSTOM_SMS_SOURCES,
    HOSTILE_SCALARS,
    OTHER_POOL_ID,
    POOL_ID,
    REFUSED_CIPHERTEXTS,
    SET_PHONE,
    fuzz,
    plans,
)

pytestmark = [
    pytest.mark.unit,
    ENCRYPTION_SDK_NOISE,
]

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


def sender_preparation(event: Event, hidden: Hidden) -> None:
    """The samples' placeholder code becomes a real ciphertext: a temporary password for AdminCreateUser, a code otherwise."""
    if isinstance(event["request"].get("code"), str):
        source = "password" if event["triggerSource"] == "CustomSMSSender_AdminCreateUser" else "code"
        event["request"]["code"] = base64.b64encode(hidden.ciphertexts[source]).decode("ascii")


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
    clear_limits_table(sender_handler)
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
            # Cognito HTML-escapes temporary passwords; the person reads them unescaped.
            shown = html.unescape(plaintext) if event["triggerSource"] == "CustomSMSSender_AdminCreateUser" else plaintext
            assert shown in message["Message"]
    # AND no secret was logged
    secrets.assert_absent_from(drain(capsys), event)


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
    # GIVEN a code Cognito encrypted for this pool with the stack's key, with bytes appended (found by this fuzzer)
    event = load_event("custom_sms_sender_authentication")
    event["request"]["code"] = base64.b64encode(hidden.ciphertexts["code"] + appended).decode("ascii")

    # WHEN the Custom SMS Sender runs
    sender_handler.lambda_handler(event, lambda_context)

    # THEN it refuses the code, as it refuses any other ciphertext that is not Cognito's (logged; no retry)
    assert outbox.topic_messages() == []
    assert [record["error_type"] for record in logs.records() if record["level"] == "ERROR"] == ["CodeDecryptionError"]
