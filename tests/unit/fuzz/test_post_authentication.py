"""Fuzz Post Authentication: only the package's own errors, nothing ever sent, no secret logged."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FuzzPool
from .mutations import Assign, Event, EventLoader, Hidden, Plan
from .oracles import Outbox, assert_only_own_errors, drain, invoke, outcome, secrets_of
from .strategies import HOSTILE_SCALARS, HOSTILE_VALUES, PHONES, SET_PHONE, fuzz, plans

pytestmark = pytest.mark.unit


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
