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
from sms_otp_client.inbox import InboxMessage, InboxTimeoutError
from sms_otp_client.sandbox import sandbox_parameter_overrides

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
    # GIVEN six sign-ins of eight planned, in the order they ended: three completed (person 0 twice), one whose
    # code never came, one whose InitiateAuth failed, one whose tokens came after the deadline
    timings = [
        SignInTiming(0, completed=True, first_answer_seconds=1.0, total_seconds=2.0),
        SignInTiming(1, completed=True, first_answer_seconds=3.0, total_seconds=4.0),
        SignInTiming(2, completed=False, first_answer_seconds=20.0, total_seconds=None, error="InboxTimeoutError"),
        SignInTiming(3, completed=False, first_answer_seconds=None, total_seconds=None, error="SignInError"),
        SignInTiming(4, completed=False, first_answer_seconds=2.0, total_seconds=31.0, error="late", stale_codes=1),
        SignInTiming(0, completed=True, first_answer_seconds=9.0, total_seconds=10.0),
    ]
    # WHEN summarized
    summary = summarize(timings, planned=8)
    # THEN it counts what was planned, started and completed
    assert (summary["planned"], summary["started"], summary["completed"]) == (8, 6, 3)
    # AND the first answers include the failed sign-ins' ones; the whole sign-ins only the completed ones
    assert summary["first_answer"] == {"p50": 3.0, "p90": 20.0, "max": 20.0}
    assert summary["sign_in"] == {"p50": 4.0, "p90": 10.0, "max": 10.0}
    # AND the first wave is each person's first sign-in only (person 0's 1.0 s, not their later 9.0 s)
    assert summary["first_wave"] == {"p50": 2.0, "max": 20.0}
    # AND each kind of failure and the stale codes are counted
    assert summary["errors"] == {"InboxTimeoutError": 1, "SignInError": 1, "late": 1}
    assert summary["stale_codes"] == 1


def test_summary_of_no_sign_ins_has_no_percentiles() -> None:
    # GIVEN a phase in which nobody got to start, WHEN summarized
    summary = summarize([], planned=80)
    # THEN nothing completed and no percentile is made up
    assert summary["completed"] == 0
    assert summary["first_answer"] == {"p50": None, "p90": None, "max": None}


class _FakeClient:
    """Gives tokens for the code ``right`` (any code when None), another challenge for any other."""

    def __init__(self, *, fails: bool = False, right: str | None = None) -> None:
        self.fails = fails
        self.right = right
        self.answered: list[str] = []

    def start(self, _number: str) -> Challenge:
        if self.fails:
            raise SignInError("Too many requests for now: wait a little and try again.")
        return Challenge(session="session", destination="+*******0100", delivery_medium="SMS")

    def answer(self, _number: str, challenge: Challenge, code: str) -> Tokens | Challenge:
        self.answered.append(code)
        if self.right not in (None, code):
            return challenge
        return Tokens(id_token="id", access_token="access", refresh_token=None, expires_in=3600)


class _FakeInbox:
    """Holds texts with ``codes``, read one by one (the last one again when they run out); a late one may be waiting."""

    def __init__(self, codes: tuple[str, ...] = ("123456",), waiting: tuple[str, ...] = ()) -> None:
        self.codes = list(codes)
        self.waiting = list(waiting)

    def drain(self) -> list[InboxMessage]:
        drained, self.waiting = self.waiting, []
        return [InboxMessage(text=f"Your code is {code}", recipient="+12025550100", trigger_source="") for code in drained]

    def wait_for_message(self, *, trigger_source: str | None = None, timeout_seconds: float = 20.0) -> InboxMessage:
        assert timeout_seconds > 0
        code = (self.waiting or self.codes).pop(0) if len(self.waiting) + len(self.codes) > 1 else (self.waiting or self.codes)[0]
        return InboxMessage(text=f"Your code is {code}", recipient="+12025550100", trigger_source=trigger_source or "")


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


def test_a_sign_in_empties_the_inbox_first_so_a_text_an_earlier_sign_in_gave_up_on_is_not_taken_for_its_own() -> None:
    # GIVEN an earlier sign-in's text waiting in the inbox, and this sign-in's own code coming next
    client = _FakeClient(right="222222")
    inbox = _FakeInbox(codes=("222222",), waiting=("111111",))
    # WHEN one sign-in runs
    timing = sign_in(client, inbox, "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN it answered with its own code only
    assert client.answered == ["222222"]
    assert (timing.completed, timing.stale_codes) == (True, 0)


def test_a_sign_in_that_reads_an_earlier_code_arriving_late_answers_with_the_next_text() -> None:
    # GIVEN an earlier sign-in's code delivered after the inbox was emptied, then this sign-in's own
    client = _FakeClient(right="222222")
    inbox = _FakeInbox(codes=("111111", "222222"))
    # WHEN one sign-in runs
    timing = sign_in(client, inbox, "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN the wrong code was followed by the next one, which completed it, and the stale one is counted
    assert client.answered == ["111111", "222222"]
    assert (timing.completed, timing.stale_codes) == (True, 1)


class _SilentInbox(_FakeInbox):
    def wait_for_message(self, *, trigger_source: str | None = None, timeout_seconds: float = 20.0) -> InboxMessage:
        raise InboxTimeoutError(f"No message for +12025550100 arrived within {timeout_seconds:.0f} seconds")


def test_a_sign_in_whose_text_never_comes_says_so_without_the_number() -> None:
    # GIVEN an inbox where no text arrives, WHEN one sign-in runs
    timing = sign_in(_FakeClient(), _SilentInbox(), "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN it did not complete, and the reason recorded does not hold the phone number
    assert (timing.completed, timing.error) == (False, "no text in time")


def test_a_sign_in_whose_initiate_auth_fails_is_not_completed_and_says_why() -> None:
    # GIVEN a client whose InitiateAuth is refused, WHEN one sign-in runs
    timing = sign_in(_FakeClient(fails=True), _FakeInbox(), "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN it did not complete, got no first answer, and the error is named with its sentence
    assert (timing.completed, timing.first_answer_seconds) == (False, None)
    assert timing.error == "SignInError: Too many requests for now: wait a little and try again."


class _Clock:
    """Stands in for the module's ``time``: it moves only when a fake call says it took ``seconds``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class _SlowClient(_FakeClient):
    def __init__(self, clock: _Clock, *, start_seconds: float, answer_seconds: float) -> None:
        super().__init__()
        self.clock, self.start_seconds, self.answer_seconds = clock, start_seconds, answer_seconds

    def start(self, number: str) -> Challenge:
        self.clock.now += self.start_seconds
        return super().start(number)

    def answer(self, number: str, challenge: Challenge, code: str) -> Tokens | Challenge:
        self.clock.now += self.answer_seconds
        return super().answer(number, challenge, code)


def test_a_sign_in_whose_tokens_come_after_the_deadline_is_not_completed(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an InitiateAuth answered in 10 s and an answer that takes 25 s more (past the 30 s deadline)
    clock = _Clock()
    monkeypatch.setattr("bench.sandbox_load.time", clock)
    client = _SlowClient(clock, start_seconds=10.0, answer_seconds=25.0)
    # WHEN one sign-in runs
    timing = sign_in(client, _FakeInbox(), "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN its tokens came, but late: not completed
    assert (timing.completed, timing.error, timing.first_answer_seconds, timing.total_seconds) == (False, "late", 10.0, 35.0)


def test_a_sign_in_whose_first_answer_comes_after_the_deadline_gives_up_without_reading_a_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an InitiateAuth answered in 31 s
    clock = _Clock()
    monkeypatch.setattr("bench.sandbox_load.time", clock)
    client = _SlowClient(clock, start_seconds=31.0, answer_seconds=0.0)
    # WHEN one sign-in runs
    timing = sign_in(client, _FakeInbox(), "+12025550100", person=0)  # type: ignore[arg-type]
    # THEN it gave up, said why, and answered nothing
    assert (timing.completed, timing.error, timing.first_answer_seconds) == (False, "late first answer", 31.0)
    assert client.answered == []


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


def test_the_benchmarks_stack_lifts_the_sandboxs_interval_and_budget_and_keeps_the_rest_of_samconfig() -> None:
    # GIVEN samconfig.toml's [sandbox] parameters, WHEN the load's overrides go on top
    overrides = sandbox_parameter_overrides("x86_64", LOAD_OVERRIDES)
    # THEN no interval between texts and a budget for far more than 80 texts, each passed once, test mode still on
    assert "MinSecondsBetweenMessages=0" in overrides
    assert "StackMessagesPerHour=100000" in overrides
    names = [item.split("=", 1)[0] for item in overrides]
    assert len(names) == len(set(names))
    assert "TestMode=true" in overrides
