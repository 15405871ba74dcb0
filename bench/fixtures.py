"""The test suite's fixtures the benchmark reuses, reached from this one module.

The Lambda context comes from ``tests/conftest.py``; the limits table and the Cognito-style
encryption from ``tests/unit/conftest.py``, which sets the unit tier's environment when it is
imported: that environment is put back at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
from collections.abc import Iterator, Mapping
from functools import cache
from types import ModuleType
from typing import Any


@contextlib.contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """This process's environment is exactly ``variables`` for the duration."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@cache
def _unit_fixtures() -> ModuleType:
    with environment(dict(os.environ)):
        return importlib.import_module("tests.unit.conftest")


def lambda_context() -> dict[str, Any]:
    """The fake Lambda context's attributes, for a child interpreter to rebuild it."""
    context = importlib.import_module("tests.conftest").FakeLambdaContext()
    return {**dataclasses.asdict(context), "remaining_time_in_millis": context.get_remaining_time_in_millis()}


def create_limits_table(dynamodb: Any, name: str) -> None:
    """The limits table as the template defines it."""
    _unit_fixtures().create_limits_table(dynamodb, name)


def cognito_ciphertext(code: str, key_arn: str, user_pool_id: str, aws_environment: Mapping[str, str]) -> str:
    """``code`` encrypted as Cognito hands it to a Custom SMS Sender, with the key on the server ``aws_environment`` names."""
    with environment(aws_environment):
        ciphertext: str = _unit_fixtures().cognito_ciphertext(code.encode(), key_arn, user_pool_id)
    return ciphertext
