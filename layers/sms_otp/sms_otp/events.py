"""Reading Cognito trigger events: the shape checks every trigger shares.

The triggers read events as plain dicts rather than through Powertools' event
data classes: importing one of those runs ``data_classes/__init__``, which loads
some forty event modules and added about 60 % to the cold start of Define,
Verify and Pre sign-up (see the README's performance section). Every read here
checks the type it expects and raises :class:`~sms_otp.errors.MalformedEventError`
otherwise, so a malformed event never reaches the logic as a bare ``KeyError``.
"""

from __future__ import annotations

from typing import Any

from sms_otp.errors import MalformedEventError

CognitoEvent = dict[str, Any]
"""A trigger event as Cognito sends it (the shapes are in ../shared/COGNITO-FACTS.md)."""


def request_of(event: CognitoEvent) -> dict[str, Any]:
    """``event["request"]``, which must be an object."""
    request = event.get("request")
    if not isinstance(request, dict):
        raise MalformedEventError("the event has no request object")
    return request


def user_attributes_of(event: CognitoEvent) -> dict[str, Any]:
    """``event["request"]["userAttributes"]``, which must be an object."""
    attributes = request_of(event).get("userAttributes")
    if not isinstance(attributes, dict):
        raise MalformedEventError("request.userAttributes must be an object")
    return attributes


def string_field(event: CognitoEvent, name: str) -> str:
    """A top-level string field such as ``userName`` or ``userPoolId``."""
    value = event.get(name)
    if not isinstance(value, str):
        raise MalformedEventError(f"the event's {name} must be a string")
    return value
