"""The types the tests use for Cognito's trigger events and for the ``load_event`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
EventLoader = Callable[[str], Event]
