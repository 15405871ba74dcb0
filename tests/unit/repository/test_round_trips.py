"""The AWS calls each trigger makes, and their critical path: a change that adds a round trip fails here.

EXPECTED is the one table to update when the calls change on purpose (``make bench`` prints them).
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.round_trips import Call, critical_path_depth, run

pytestmark = pytest.mark.unit

# (phase, scenario, "module:event"): (AWS calls, depth of the critical path). Define, Verify and Pre sign-up call nothing.
EXPECTED = {
    ("cold", "new user", "create_auth_challenge:create_auth_challenge"): (7, 3),
    ("cold", "new user", "post_authentication:post_authentication"): (7, 2),
    ("warm", "new user", "create_auth_challenge:create_auth_challenge"): (7, 3),
    ("warm", "new user", "post_authentication:post_authentication"): (6, 2),
    ("warm", "returning user", "create_auth_challenge:create_auth_challenge"): (7, 3),
    ("warm", "returning user", "post_authentication:post_authentication"): (4, 2),
    ("warm", "sender code", "custom_sms_sender:custom_sms_sender_sign_up"): (8, 3),
}


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    # A longer network latency than the benchmark's: calls asked for side by side overlap even on a loaded machine.
    return run(latency_seconds=0.05)


def test_each_trigger_makes_the_calls_in_the_table_and_no_more_round_trips(measured: dict[str, Any]) -> None:
    # GIVEN every trigger of a new user's and a returning user's sign-in and a sender code, run through the real handlers
    counted = {
        (phase, scenario, step): (len(entry["calls"]), entry["depth"])
        for phase, scenarios in measured.items()
        for scenario, steps in scenarios.items()
        for step, entry in steps.items()
        if entry["calls"]
    }

    # THEN the calls and their critical path are those of the table (cold returning-user and cold sender rows aside)
    assert {key: value for key, value in counted.items() if key in EXPECTED or key[0] == "warm"} == EXPECTED


def test_calls_that_overlap_count_once_in_the_depth() -> None:
    # GIVEN a KMS call beside a read, then a write after both
    calls = [Call("kms:Decrypt", 1, 0.0, 3.0), Call("dynamodb:GetItem", 2, 1.0, 2.0), Call("dynamodb:PutItem", 2, 3.5, 4.0)]

    # WHEN / THEN the depth is two round trips, and three one after another are three
    assert critical_path_depth(calls) == 2
    assert critical_path_depth([Call("a", 1, 0, 1), Call("b", 1, 1, 2), Call("c", 1, 2, 3)]) == 3


def test_the_calls_section_counts_as_many_repeats_as_make_bench_asks_without_running_out_of_budget() -> None:
    # GIVEN the repeats make bench runs (a fresh number per scenario and repeat, more than the default budget's slice)
    # WHEN counted, THEN no text is refused and every warm repeat is counted
    measured = run(repeats=5)
    assert measured["warm"]["sender code"]["custom_sms_sender:custom_sms_sender_sign_up"]["calls"]
