"""Fuzz Create Auth Challenge: nothing sent for a broken event or a later round; never the code in the response or the logs."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_otp.sign_in.codes import IssuedCode

from .mutations import Assign, EventLoader, Hidden, Plan, refresh_session_metadata
from .oracles import Outbox, clear_limits_table, create_may_send, drain, invoke_and_check_delivery, secrets_of
from .strategies import CHALLENGE_NAMES, HOSTILE_VALUES, PHONES, SESSION_MUTATIONS, SET_PHONE, SET_USER_NOT_FOUND, fuzz, plans

pytestmark = pytest.mark.unit

CREATE_EVENTS = ("create_auth_challenge", "create_auth_challenge_second_round", "create_auth_challenge_user_not_found")
DESTINATION = re.compile(r"\+\*+[0-9]{4}")
SENT_CODE = re.compile(r"Your sign-in code is ([0-9]+)\.")


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
    clear_limits_table(create_handler)
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
