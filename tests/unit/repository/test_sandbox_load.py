"""The sandbox load benchmark's arithmetic and report: percentiles, the summary of sign-ins, the table, its options.

The timings themselves are the benchmark's (``python -m bench --sections sandbox``), never a test's.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.__main__ import parse_arguments
from bench.sandbox_load import (
    LOAD_OVERRIDES,
    SignInTiming,
    percentile,
    render_sandbox_load,
    sign_in,
    summarize,
)
from sms_otp_client.auth import Challenge, SignInError, Tokens
from sms_otp_client.inbox import InboxMessage

pytestmark = pytest.mark.unit


def test_percentile_is_the_nearest_rank_of_the_sorted_values() -> None:
    # GIVEN ten values out of order
    values = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]
    # WHEN / THEN the median is the fifth smallest, p90 the ninth, the maximum the largest
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 1.0) == 10.0
    # AND a single value is every percentile of itself
    assert percentile([4.0], 0.5) == 4.0


def test_percentile_of_nothing_is_none_and_a_fraction_outside_zero_to_one_is_refused() -> None:
    # GIVEN no values, WHEN asked for a percentile, THEN there is none
    assert percentile([], 0.5) is None
    # AND a fraction of 0 or over 1 is a mistake
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 0.0)
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 1.5)


def test_summary_counts_completed_sign_ins_against_the_planned_ones_and_keeps_first_answers_of_failed_ones() -> None:
    # GIVEN three sign-ins: two completed, one whose code never came, one whose InitiateAuth failed, of six planned
    timings = [
        SignInTiming(0, completed=True, first_answer_seconds=1.0, total_seconds=2.0),
        SignInTiming(1, completed=True, first_answer_seconds=3.0, total_seconds=4.0),
        SignInTiming(2, completed=False, first_answer_seconds=20.0, total_seconds=None, error="InboxTimeoutError"),
        SignInTiming(3, completed=False, first_answer_seconds=None, total_seconds=None, error="SignInError"),
    ]
    # WHEN summarized
    summary = summarize(timings, planned=6)
    # THEN it counts what was planned, started and completed
    assert (summary["planned"], summary["started"], summary["completed"]) == (6, 4, 2)
    # AND the first answers include the failed sign-in's slow one; the whole sign-ins only the completed ones
    assert summary["first_answer"] == {"p50": 3.0, "p90": 20.0, "max": 20.0}
    assert summary["sign_in"] == {"p50": 2.0, "p90": 4.0, "max": 4.0}
    # AND each kind of failure is counted
    assert summary["errors"] == {"InboxTimeoutError": 1, "SignInError": 1}


def test_summary_of_no_sign_ins_has_no_percentiles() -> None:
    # GIVEN a phase in which nobody got to start, WHEN summarized
    summary = summarize([], planned=80)
    # THEN nothing completed and no percentile is made up
    assert summary["completed"] == 0
    assert summary["first_answer"] == {"p50": None, "p90": None, "max": None}


class _FakeClient:
    def __init__(self, *, fails: bool = False) -> None:
        self.fails = fails
        self.answered: list[str] = []

    def start(self, _number: str) -> Challenge:
        if self.fails:
            raise SignInError("Too many requests for now: wait a little and try again.")
        return Challenge(session="session", destination="+*******0100", delivery_medium="SMS")

    def answer(self, _number: str, _challenge: Challenge, code: str) -> Tokens:
        self.answered.append(code)
        return Tokens(id_token="id", access_token="access", refresh_token=None, expires_in=3600)


class _FakeInbox:
    def drain(self) -> list[InboxMessage]:
        return []

    def wait_for_message(self, *, trigger_source: str | None = None, timeout_seconds: float = 20.0) -> InboxMessage:
        assert timeout_seconds > 0
        return InboxMessage(text="Your code is 123456", recipient="+12025550100", trigger_source=trigger_source or "")


def test_a_sign_in_answers_with_the_code_from_the_inbox_and_completes_with_tokens() -> None:
    # GIVEN a client that gives tokens for any answer and an inbox holding a code
    client = _FakeClient()
    # WHEN one sign-in runs
    timing = sign_in(client, _FakeInbox(), "+12025550100", person=3)  # type: ignore[arg-type]
    # THEN it answered with the inbox's code and completed, with both answers timed
    assert client.answered == ["123456"]
    assert (timing.person, timing.completed, timing.error) == (3, True, None)
    assert timing.first_answer_seconds is not None
    assert timing.total_seconds is not None


def test_a_sign_in_whose_initiate_auth_fails_is_not_completed_and_says_why() -> None:
    # GIVEN a client whose InitiateAuth is refused, WHEN one sign-in runs
    timing = sign_in(_FakeClient(fails=True), _FakeInbox(), "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN it did not complete, got no first answer, and the error is named with its sentence
    assert (timing.completed, timing.first_answer_seconds) == (False, None)
    assert timing.error == "SignInError: Too many requests for now: wait a little and try again."


def _run(variant: str, completed: int) -> dict[str, Any]:
    seconds = {"p50": 1.0, "p90": 2.0, "max": 3.0}
    return {
        "variant": variant,
        "repeat": 1,
        "layer": {"unzipped_bytes": 27 * 2**20},
        "deploy_seconds": 5.0,
        "first": {"completed": True, "total_seconds": 3.0},
        "concurrent": {"completed": completed, "planned": 80, "first_answer": seconds, "first_wave": seconds, "sign_in": seconds},
        "load_before": "1.00 1.00 1.00",
        "load_after": "2.00 1.50 1.20",
    }


def test_the_report_shows_each_run_completed_of_planned_the_load_and_the_overrides_it_deployed_with() -> None:
    # GIVEN a lean and a full run
    data = {"overrides": LOAD_OVERRIDES, "deadline_seconds": 30.0, "runs": [_run("lean", 80), _run("full", 12)]}
    # WHEN rendered
    text = render_sandbox_load(data)
    # THEN each run's completed sign-ins and load show, and the overrides are said
    assert "80/80" in text
    assert "12/80" in text
    assert "1.00 1.00 1.00 -> 2.00 1.50 1.20" in text
    assert "StackMessagesPerHour=100000" in text
    assert "MinSecondsBetweenMessages=0" in text


def test_the_sandbox_section_runs_only_when_named_and_takes_only_known_variants() -> None:
    # GIVEN no sections named, THEN the sandbox (minutes of deploys) is not among them
    assert "sandbox" not in parse_arguments([]).sections
    # AND named, it runs with its defaults: 16 people, 5 sign-ins each, both variants
    arguments = parse_arguments(["--sections", "sandbox"])
    assert (arguments.sections, arguments.people, arguments.sign_ins, arguments.variants) == (["sandbox"], 16, 5, ["lean", "full"])
    # AND an unknown variant is refused
    with pytest.raises(SystemExit):
        parse_arguments(["--sections", "sandbox", "--variants", "lean,huge"])
