"""Reading Cognito trigger events: the only module that knows where a field sits.

The triggers read events as plain dicts rather than through Powertools' event
data classes: importing one of those runs ``data_classes/__init__``, which loads
some forty event modules, and would add about 60 % to the cold start of Define,
Verify and Pre sign-up.

Each accessor checks the type it expects and raises
:class:`~sms_otp.core.errors.MalformedEventError` otherwise, so a malformed event
never reaches the logic as a bare ``KeyError``, and each refusal is worded here
once. The few readers that must never raise say so (Verify judges any answer
wrong rather than failing; the logger reads the routing keys of anything).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sms_otp.core.errors import MalformedEventError

CognitoEvent = dict[str, Any]
"""A trigger event as Cognito sends it: ``version``, ``triggerSource``, ``userPoolId``, ``userName``,
``callerContext``, ``request`` and ``response``."""

# Longest routing value written to the logs: Cognito's ids are far shorter; anything longer is not Cognito's.
_MAX_LOGGED_CHARACTERS = 128


def request_of(event: CognitoEvent) -> dict[str, Any]:
    """``event["request"]``, which must be an object."""
    request = event.get("request")
    if not isinstance(request, dict):
        raise MalformedEventError("the event has no request object")
    return request


def string_field(event: CognitoEvent, name: str) -> str:
    """A top-level string field such as ``userName`` or ``userPoolId``."""
    value = event.get(name)
    if not isinstance(value, str):
        raise MalformedEventError(f"the event's {name} must be a string")
    return value


def trigger_source_of(event: CognitoEvent, allowed: Collection[str]) -> str:
    """``triggerSource``, which must be one of ``allowed``."""
    source = event.get("triggerSource")
    if not isinstance(source, str) or source not in allowed:
        raise MalformedEventError(f"unsupported trigger source {str(source)[:64]!r}")
    return source


def client_id_of(event: CognitoEvent) -> str:
    """``callerContext.clientId``: the app client the person signs in through."""
    caller = event.get("callerContext")
    client_id = caller.get("clientId") if isinstance(caller, dict) else None
    if not isinstance(client_id, str):
        raise MalformedEventError("the event needs callerContext.clientId")
    return client_id


# ---------------------------------------------------------------- user attributes ---


def user_attributes_of(event: CognitoEvent) -> dict[str, Any]:
    """``request.userAttributes``, which must be an object."""
    attributes = request_of(event).get("userAttributes")
    if not isinstance(attributes, dict):
        raise MalformedEventError("request.userAttributes must be an object")
    return attributes


def optional_phone_number_of(event: CognitoEvent) -> str | None:
    """The user's ``phone_number`` attribute as given (not yet validated), or ``None`` when the user has none."""
    phone_number = user_attributes_of(event).get("phone_number")
    return phone_number if isinstance(phone_number, str) and phone_number else None


def phone_number_of(event: CognitoEvent) -> str:
    """The user's ``phone_number`` attribute as given (not yet validated), which must be there."""
    phone_number = optional_phone_number_of(event)
    if phone_number is None:
        raise MalformedEventError("request.userAttributes.phone_number is missing")
    return phone_number


def phone_number_verified(event: CognitoEvent) -> bool:
    """Whether Cognito holds the phone as verified: the attribute is the string ``"true"``, never a boolean."""
    return user_attributes_of(event).get("phone_number_verified") == "true"


# ---------------------------------------------------------------- custom authentication ---


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    """One entry of ``request.session``: a challenge of this sign-in and how it went, as given (values unchecked)."""

    challenge_name: object
    challenge_result: object
    challenge_metadata: object


def session_of(event: CognitoEvent) -> list[ChallengeResult]:
    """``request.session`` (absent means empty), which must be a list of objects."""
    session = request_of(event).get("session", [])
    if not isinstance(session, list) or not all(isinstance(entry, dict) for entry in session):
        raise MalformedEventError("request.session must be a list of challenge results")
    return [
        ChallengeResult(
            challenge_name=entry.get("challengeName"),
            challenge_result=entry.get("challengeResult"),
            challenge_metadata=entry.get("challengeMetadata"),
        )
        for entry in session
    ]


def challenge_name_of(event: CognitoEvent) -> object:
    """``request.challengeName`` as given (Create Auth Challenge)."""
    return request_of(event).get("challengeName")


def user_not_found(event: CognitoEvent) -> bool:
    """Whether the person may not be a real user; never raises.

    Only Cognito's boolean ``false`` (or no flag, or null) means a real user.
    Anything else counts as "not found", including a numeric 0 (which equals
    ``False`` in Python) and an event without a request object: a malformed
    flag must not open a door.
    """
    request = event.get("request")
    if not isinstance(request, dict):
        return True
    flag = request.get("userNotFound", False)
    return flag is not False and flag is not None


def private_challenge_parameters_of(event: CognitoEvent) -> object:
    """``request.privateChallengeParameters`` as given, or ``None``; never raises (Verify)."""
    request = event.get("request")
    return request.get("privateChallengeParameters") if isinstance(request, dict) else None


def challenge_answer_of(event: CognitoEvent) -> object:
    """``request.challengeAnswer`` as given, or ``None``; never raises (Verify judges it, never refuses it)."""
    request = event.get("request")
    return request.get("challengeAnswer") if isinstance(request, dict) else None


# ---------------------------------------------------------------- Custom SMS Sender ---


def code_of(event: CognitoEvent) -> str | None:
    """``request.code``: the encrypted code, or ``None`` when there is none (null, empty or absent)."""
    code = request_of(event).get("code")
    if code is not None and not isinstance(code, str):
        raise MalformedEventError("request.code must be a string or null")
    return code or None


# ---------------------------------------------------------------- logs ---


def routing_keys(event: object) -> dict[str, str]:
    """The event's routing fields under their log keys, each only when it is a short string; never raises.

    ``trigger_source`` (``triggerSource``), ``user_pool_id`` (``userPoolId``)
    and ``client_id`` (``callerContext.clientId``). Read before the event is
    known to be an object at all.
    """
    if not isinstance(event, dict):
        return {}
    caller = event.get("callerContext")
    values = {
        "trigger_source": event.get("triggerSource"),
        "user_pool_id": event.get("userPoolId"),
        "client_id": caller.get("clientId") if isinstance(caller, dict) else None,
    }
    return {key: value for key, value in values.items() if isinstance(value, str) and len(value) <= _MAX_LOGGED_CHARACTERS}
