"""The limits' one interface: the DynamoDB store and the tests' fake implement ``LimitStore`` with its signatures."""

from __future__ import annotations

import inspect

import pytest

from sms_otp.limits.protocol import LimitStore
from sms_otp.limits.store import DynamoDbLimitStore
from tests.testkit.fake_limits import FakeLimits

pytestmark = pytest.mark.unit

METHODS = ("admit", "release", "reset_failures")


def parameters(function: object) -> list[tuple[str, object, bool]]:
    """Each parameter's name, kind and whether it has a default: what a caller relies on (annotations aside)."""
    return [
        (parameter.name, parameter.kind, parameter.default is not inspect.Parameter.empty)
        for parameter in inspect.signature(function).parameters.values()
    ]  # type: ignore[arg-type]


@pytest.mark.parametrize("implementation", [DynamoDbLimitStore, FakeLimits], ids=["the DynamoDB store", "the tests' fake"])
@pytest.mark.parametrize("method", METHODS)
def test_each_implementation_takes_exactly_the_protocols_arguments(implementation: type, method: str) -> None:
    # GIVEN a method of the protocol / WHEN the implementation's is read / THEN a caller may call both alike
    assert parameters(getattr(implementation, method)) == parameters(getattr(LimitStore, method))


def test_the_fake_is_a_limit_store_by_name() -> None:
    # GIVEN the tests' stand-in / THEN it declares the protocol, so a method the protocol adds is one it must have
    assert LimitStore in FakeLimits.__mro__
    assert all(method in vars(FakeLimits) for method in METHODS)
