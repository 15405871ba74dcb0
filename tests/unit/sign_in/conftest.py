"""Fixtures of the sign-in by code tests: the outbox, the fake sleep, the latency mimic and the clock."""

from __future__ import annotations

import pytest

from sms_otp.sign_in.custom_auth import LatencyMimic
from tests.unit.sign_in.custom_auth_kit import (
    NOW,
    FakeClock,
    FakeSleep,
    TextOutbox,
)


@pytest.fixture
def outbox() -> TextOutbox:
    return TextOutbox()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def latency(sleep: FakeSleep) -> LatencyMimic:
    return LatencyMimic(default_seconds=0.12, sleep=sleep)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)
