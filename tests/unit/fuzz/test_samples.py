"""Every sample event is the starting point of a fuzz test."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_create import CREATE_EVENTS
from .test_custom_sms_sender import CUSTOM_SMS_EVENTS
from .test_define import DEFINE_EVENTS
from .test_pre_sign_up import PRE_SIGN_UP_EVENTS

pytestmark = pytest.mark.unit


def test_every_sample_event_is_fuzzed() -> None:
    # GIVEN the sample events, the files `sam local invoke -e` uses
    samples = {path.stem for path in (Path(__file__).resolve().parents[3] / "events").glob("*.json")}

    # WHEN / THEN each one is the starting point of a fuzz test (a new sample must join its trigger's list)
    fuzzed = {*DEFINE_EVENTS, "verify_auth_challenge", *PRE_SIGN_UP_EVENTS, *CREATE_EVENTS, *CUSTOM_SMS_EVENTS, "post_authentication"}
    assert samples == fuzzed
