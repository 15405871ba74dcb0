"""Which number a user's sign-in code went to, so Post Authentication verifies that number and no other.

Post Authentication receives the user's attributes as they are when the sign-in
ends, not the session. On a pool that does not require verification before an
attribute update, a user can change ``phone_number`` while a sign-in is under way
(with a token from another session) and answer with the code sent to the old
number: marking the attribute verified then would verify a number nobody proved.

So Create Auth Challenge records, once the code is sent, a fingerprint of the
number it went to under the user (the pool and the user's ``sub``, which never
changes; the user name where an event has no ``sub``), for as long as the code
lives; Post Authentication marks the phone verified only if the user's number now
is that number. The record is a SHA-256 of the number (the table holds no number
in clear), its key a SHA-256 of the pool and the user.

Recording is best effort: the code is already on its way, so a failure is logged
and counted, the sign-in goes on, and the phone is left unverified (the safe side).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import DeadlineExceededError, aws_error_code
from sms_otp.core.events import string_field, user_attributes_of
from sms_otp.core.observability import count, logger
from sms_otp.core.time_budget import Deadline
from sms_otp.limits.table import dynamodb_client

if TYPE_CHECKING:
    from sms_otp.core.events import CognitoEvent

DESTINATION_KEY_PREFIX = "code-destination#"
Sent = TypeVar("Sent")


class CodeReceipts(Protocol):
    """What Post Authentication asks: did the user's sign-in code go to this number?"""

    def received_code(self, user_pool_id: str, user: str, phone_number: str) -> bool:
        """Whether the user's last sign-in code, still alive, went to ``phone_number``."""
        ...


def user_of(event: CognitoEvent) -> str:
    """Who the event is about: the user's ``sub`` (the same in every trigger, whatever name they signed in with), else the user name."""
    sub = user_attributes_of(event).get("sub")
    return sub if isinstance(sub, str) and sub else string_field(event, "userName")


def destination_key(user_pool_id: str, user: str) -> str:
    """The table key of a user's last sign-in code destination."""
    return DESTINATION_KEY_PREFIX + hashlib.sha256(f"{user_pool_id}/{user}".encode()).hexdigest()


def number_fingerprint(phone_number: str) -> str:
    return hashlib.sha256(phone_number.encode("utf-8")).hexdigest()


@dataclass
class CodeDestinations:
    """Records where each sign-in code went (Create) and answers whether it went to a number (Post Authentication)."""

    table_name: str
    code_lifetime_seconds: int
    client: Any = field(default=None)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = dynamodb_client()

    def recording(self, event: CognitoEvent, send_text: Callable[..., Sent], deadline: Deadline | None = None) -> Callable[..., Sent]:
        """``send_text(phone_number, text)`` that, once the text is sent, records ``phone_number`` for the event's user."""
        user_pool_id, user = string_field(event, "userPoolId"), user_of(event)

        def send_and_record(phone_number: str, *args: Any, **kwargs: Any) -> Sent:
            sent = send_text(phone_number, *args, **kwargs)
            self.record(user_pool_id, user, phone_number, deadline)
            return sent

        return send_and_record

    def record(self, user_pool_id: str, user: str, phone_number: str, deadline: Deadline | None = None) -> None:
        """Record that the user's current sign-in code went to ``phone_number`` (best effort)."""
        now = int(self.clock())
        try:
            (deadline or Deadline.unbounded()).call(
                self.client.put_item,
                TableName=self.table_name,
                Item={
                    "pk": {"S": destination_key(user_pool_id, user)},
                    "number": {"S": number_fingerprint(phone_number)},
                    "expires_at": {"N": str(now + self.code_lifetime_seconds)},
                },
            )
        except (ClientError, BotoCoreError, DeadlineExceededError) as error:
            logger.error("Could not record where the code went; the phone stays unverified", extra={"error_code": aws_error_code(error)})
            count("CodeDestinationFailures")

    def received_code(self, user_pool_id: str, user: str, phone_number: str) -> bool:
        """Whether the user's last sign-in code, still alive, went to ``phone_number``; False if unknown or unreadable."""
        try:
            response = self.client.get_item(
                TableName=self.table_name, Key={"pk": {"S": destination_key(user_pool_id, user)}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            logger.error("Could not read where the code went; the phone stays unverified", extra={"error_code": aws_error_code(error)})
            count("CodeDestinationFailures")
            return False
        item = response.get("Item")
        if item is None or int(item["expires_at"]["N"]) < int(self.clock()):
            return False
        return hmac.compare_digest(item["number"]["S"], number_fingerprint(phone_number))
