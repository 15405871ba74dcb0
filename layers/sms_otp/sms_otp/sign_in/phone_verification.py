"""Post Authentication: end any lockout, count the sign-in for the pumping guard, and mark the phone verified.

A successful sign-in resets the number's count of sign-in rounds without success
(see :mod:`sms_otp.limits`), so its owner is never locked out by the rounds
that led to it, and counts as a completed sign-in in its number range (see
:mod:`sms_otp.limits.pumping`) when a sign-in code was sent to it.

A correct one-time code proves the person holds the phone, so a sign-in by code
sets ``phone_number_verified=true``. The Post Authentication event does not say
how the person signed in, so the app client's allowed flows decide: if the client
allows only the custom flow (which Define Auth Challenge restricts to our SMS
challenge) and refresh tokens, every sign-in through it was by code. A client
that also allows a password flow cannot prove the phone this way, and the
attribute is left alone (the user can verify it through Cognito's own code).
Nor is a number the code did not go to: the user's number must be the one Create
Auth Challenge recorded when it sent the code (:mod:`sms_otp.sign_in.code_destinations`).

A failure of the Cognito API or of the limits table here is logged and counted
but does not fail the sign-in: the code was right, and the next sign-in tries again.

Two round trips: the app client's flows (once per container), the code's
destination and the limits' reset side by side, then the attribute update beside
the limits' known record and completion.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import InvalidPhoneNumberError, aws_error_code
from sms_otp.core.events import client_id_of, optional_phone_number_of, phone_number_verified, string_field
from sms_otp.core.observability import count, logger
from sms_otp.core.phone_numbers import number_prefix
from sms_otp.core.time_budget import COGNITO_CONFIG, Deadline, together
from sms_otp.sign_in.code_destinations import user_of

if TYPE_CHECKING:
    from sms_otp.core.events import CognitoEvent
    from sms_otp.limits.protocol import LimitStore
    from sms_otp.sign_in.code_destinations import CodeReceipts

# Flows under which every sign-in that reaches Post Authentication was one by code.
CODE_ONLY_FLOWS = frozenset({"ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "CUSTOM_AUTH_FLOW_ONLY"})
# One worker per container: the phone's verification runs beside the limits' reset (see post_authentication).
_VERIFYING = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-phone")


@functools.cache
def cognito_client() -> Any:
    """The container's Cognito (user pools) client, built on first use."""
    return boto3.client("cognito-idp", config=COGNITO_CONFIG)


class ClientFlows:
    """Caches which app clients of a pool allow only sign-in by code."""

    def __init__(self, cognito_client: Any) -> None:
        self._cognito = cognito_client
        self._code_only: dict[tuple[str, str], bool] = {}

    def code_only(self, user_pool_id: str, client_id: str) -> bool:
        """Whether the app client allows sign-in by code and refresh tokens only (asked once per client and container)."""
        key = (user_pool_id, client_id)
        if key not in self._code_only:
            response = self._cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)
            flows = set(response["UserPoolClient"].get("ExplicitAuthFlows") or ())
            self._code_only[key] = bool(flows) and flows <= CODE_ONLY_FLOWS and bool(flows & {"ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"})
        return self._code_only[key]


def mark_phone_verified(event: CognitoEvent, *, cognito_client: Any, client_flows: ClientFlows, code_destinations: CodeReceipts) -> bool:
    """Set ``phone_number_verified=true`` when the sign-in was by a code sent to the user's number; return whether it did."""
    user_pool_id, username, client_id = string_field(event, "userPoolId"), string_field(event, "userName"), client_id_of(event)
    phone_number = optional_phone_number_of(event)
    if phone_number is None or phone_number_verified(event):
        # Only a user with a phone number can have signed in by code.
        return False
    # The client's flows (asked once per container) and the code's destination, side by side.
    flows, received = together(
        [
            lambda: client_flows.code_only(user_pool_id, client_id),
            lambda: code_destinations.received_code(user_pool_id, user_of(event), phone_number),
        ],
        Deadline.unbounded(),
    )
    try:
        if flows.error is not None:
            raise flows.error
        if not flows.value:
            logger.info("Phone left unverified: this app client also allows sign-in without a code")
            return False
        if not received.value:
            logger.warning("Phone left unverified: the sign-in code did not go to the user's number now")
            count("PhoneVerificationsRefused")
            return False
        cognito_client.admin_update_user_attributes(
            UserPoolId=user_pool_id,
            Username=username,
            UserAttributes=[{"Name": "phone_number_verified", "Value": "true"}],
        )
    except (ClientError, BotoCoreError) as error:
        logger.error("Could not mark the phone verified; the sign-in goes on", extra={"error_code": aws_error_code(error)})
        count("PhoneVerificationFailures")
        return False
    logger.info("Phone marked verified after a sign-in by code")
    return True


def post_authentication(
    event: CognitoEvent,
    *,
    cognito_client: Any,
    client_flows: ClientFlows,
    limits: LimitStore,
    code_destinations: CodeReceipts,
    trust_phone_number_verified: bool = False,
) -> None:
    """After a successful sign-in: mark the phone verified if the sign-in proved it, and end any lockout of the number.

    A user with no phone number (in a pool the stack does not own, someone who signs in
    by email and password through another app client) has neither: the sign-in goes on.
    """
    phone_number = optional_phone_number_of(event)
    if phone_number is None:
        logger.info("No phone number: nothing to verify and no lockout to end")
        return
    # Read before marking: a number verified by this sign-in is known through the code it was sent.
    verified = trust_phone_number_verified and phone_number_verified(event)
    # Every field the verification reads, read before anything is written: a malformed event changes nothing.
    client_id_of(event), string_field(event, "userPoolId"), string_field(event, "userName")
    marking = _VERIFYING.submit(
        contextvars.copy_context().run,
        functools.partial(
            mark_phone_verified, event, cognito_client=cognito_client, client_flows=client_flows, code_destinations=code_destinations
        ),
    )
    try:
        limits.reset_failures(phone_number, number_range=_number_range(phone_number), verified=verified)
    finally:
        marking.result()


def _number_range(phone_number: str) -> str | None:
    """The number's range for the pumping guard; ``None`` for a number that is not valid E.164 (nothing to count)."""
    try:
        return number_prefix(phone_number)
    except InvalidPhoneNumberError:
        return None
