"""Fixtures shared by every test tier: the sample events and a Lambda context.

The events are the files in ``events/``, the same ones ``sam local invoke -e``
uses, so a test and a local invocation always start from the same input.
Unit-tier set-up (fake credentials, moto, no network) lives in
``tests/unit/conftest.py`` so it never leaks into the e2e tier.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest

from tests.testkit.events import Event, EventLoader
from tests.testkit.lambda_context import FakeLambdaContext

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


@cache
def _read_event(name: str) -> Event:
    event: Event = json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return event


@pytest.fixture
def load_event() -> EventLoader:
    """``load_event("pre_sign_up")`` returns a fresh deep copy of ``events/pre_sign_up.json``."""

    def load(name: str) -> Event:
        return copy.deepcopy(_read_event(name.removesuffix(".json")))

    return load


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
