"""Which number a user's sign-in code went to, so Post Authentication verifies that number and no other.

Post Authentication receives the user's attributes as they are when the sign-in
ends, not the session. On a pool that does not require verification before an
attribute update, a user can change ``phone_number`` while a sign-in is under way
(with a token from another session) and answer with the code sent to the old
number: marking the attribute verified then would verify a number nobody proved.

So Create Auth Challenge records, as the code is sent, a fingerprint of the
number it goes to under the user (the pool and the user's ``sub``, which never
changes; the user name where an event has no ``sub``), for as long as the code
lives; Post Authentication marks the phone verified only if the user's number now
is that number. The record is a SHA-256 of the number (the table holds no number
in clear), its key a SHA-256 of the pool and the user.

The record is written beside the publish (one round trip for both). A publish
that certainly did not go out puts back the record it replaced (or removes its
own), unless another sign-in recorded a code since: so a record names a number a
code went to. A publish that may have gone out (SNS's answer lost, or left
running at the deadline) keeps it, as it would a publish that succeeded.

Recording is best effort: the code is on its way, so a failure is logged and
counted, the sign-in goes on, and the phone is left unverified (the safe side).
So is putting a record back: if that fails, the phone may be verified by a code
of an earlier session that went to the same number, never to another.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import DeadlineExceededError, aws_error_code, certainly_not_sent
from sms_otp.core.events import string_field, user_attributes_of
from sms_otp.core.observability import count, logger
from sms_otp.core.time_budget import Deadline, together
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


@dataclass(frozen=True, slots=True)
class _Recorded:
    """A record written, and the one it replaced (``None``: there was none)."""

    item: dict[str, Any]
    replaced: dict[str, Any] | None


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
        """``send_text(phone_number, text)`` that records ``phone_number`` for the event's user beside the send."""
        user_pool_id, user = string_field(event, "userPoolId"), user_of(event)
        bounded = deadline or Deadline.unbounded()

        def send_and_record(phone_number: str, *args: Any, **kwargs: Any) -> Sent:
            tasks: list[Callable[[], Any]] = [
                lambda: send_text(phone_number, *args, **kwargs),
                lambda: self.record(user_pool_id, user, phone_number, bounded.inline()),
            ]
            sent, recorded = together(tasks, bounded)
            if not sent.finished:
                raise DeadlineExceededError(abandoned=sent.abandoned)
            if sent.error is not None:
                if isinstance(recorded.value, _Recorded) and certainly_not_sent(sent.error):
                    self._put_back(user_pool_id, user, recorded.value, bounded.with_grace())
                raise sent.error
            return cast("Sent", sent.value)  # finished without an error: what the send returned

        return send_and_record

    def record(self, user_pool_id: str, user: str, phone_number: str, deadline: Deadline | None = None) -> _Recorded | None:
        """Record that the user's current sign-in code went to ``phone_number`` (best effort); return what it replaced."""
        now = int(self.clock())
        item = {
            "pk": {"S": destination_key(user_pool_id, user)},
            "number": {"S": number_fingerprint(phone_number)},
            "expires_at": {"N": str(now + self.code_lifetime_seconds)},
        }
        try:
            response = (deadline or Deadline.unbounded()).call(
                self.client.put_item, TableName=self.table_name, Item=item, ReturnValues="ALL_OLD"
            )
        except (ClientError, BotoCoreError, DeadlineExceededError) as error:
            logger.error("Could not record where the code went; the phone stays unverified", extra={"error_code": aws_error_code(error)})
            count("CodeDestinationFailures")
            return None
        return _Recorded(item, response.get("Attributes"))

    def _put_back(self, user_pool_id: str, user: str, recorded: _Recorded, deadline: Deadline) -> None:
        """Put back the record ``recorded`` replaced (or remove it), unless another sign-in recorded a code since (best effort)."""
        ours = {
            "ConditionExpression": "#number = :number AND expires_at = :expires_at",
            "ExpressionAttributeNames": {"#number": "number"},
            "ExpressionAttributeValues": {":number": recorded.item["number"], ":expires_at": recorded.item["expires_at"]},
        }
        try:
            if recorded.replaced is not None:
                deadline.call(self.client.put_item, TableName=self.table_name, Item=recorded.replaced, **ours)
            else:
                key = {"pk": {"S": destination_key(user_pool_id, user)}}
                deadline.call(self.client.delete_item, TableName=self.table_name, Key=key, **ours)
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                logger.error("Could not put back where the last code went", extra={"error_code": aws_error_code(error)})
                count("CodeDestinationFailures")
        except (BotoCoreError, DeadlineExceededError) as error:
            logger.error("Could not put back where the last code went", extra={"error_code": aws_error_code(error)})
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
