"""The test suite's helpers the benchmark reuses (``tests/testkit``), reached from this one module."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any

from tests.testkit.cognito_encryption import cognito_ciphertext as _cognito_ciphertext
from tests.testkit.lambda_context import FakeLambdaContext
from tests.testkit.template import create_limits_table as _create_limits_table


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


def lambda_context() -> dict[str, Any]:
    """The fake Lambda context's attributes, for a child interpreter to rebuild it."""
    context = FakeLambdaContext()
    return {**dataclasses.asdict(context), "remaining_time_in_millis": context.get_remaining_time_in_millis()}


def create_limits_table(dynamodb: Any, name: str) -> None:
    """The limits table as the template defines it."""
    _create_limits_table(dynamodb, name)


def cognito_ciphertext(code: str, key_arn: str, user_pool_id: str, aws_environment: Mapping[str, str]) -> str:
    """``code`` encrypted as Cognito hands it to a Custom SMS Sender, with the key on the server ``aws_environment`` names."""
    with environment(aws_environment):
        return _cognito_ciphertext(code, key_arn, user_pool_id)
