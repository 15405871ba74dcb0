"""One text per Custom SMS Sender event, whatever fails after SNS may have taken it.

Cognito invokes the sender asynchronously, and Lambda retries an invocation that
raised, with the same event and the same request id (``context.aws_request_id``).
A publish whose answer was lost (a read timeout) raises a retryable error, and the
retry a minute later would send the same code again.

So each publish is claimed first: a conditional write of ``delivery#<request id>``
to the limits table, which succeeds only if no earlier attempt of the same
invocation claimed it. The claim goes out beside the admission's own writes (it
is the admission's :class:`~sms_otp.limits.record.Alongside`: one round trip for
both), and is undone with the rest of the reservation: a message the limits
refuse, whose code cannot be decrypted, or whose publish certainly did not reach
SNS marks its claim *unsent*, so Lambda's retry claims it again and sends, as
before. A publish that may have reached SNS leaves the claim standing, and the
retry ends quietly with :class:`AlreadySentError` (and gives back what its own
admission took): nothing goes out twice. An attempt that dies mid-publish (a
timeout of the function itself), or whose unsent mark fails, also leaves its
claim: at most one text, never two. Claims expire with the table's TTL, after
Lambda has stopped retrying (six hours at most).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import DeliveryError, aws_error_code
from sms_otp.core.observability import count, count_for_alarm, logger
from sms_otp.limits.table import dynamodb_client

if TYPE_CHECKING:
    from sms_otp.core.time_budget import Deadline

DELIVERY_KEY_PREFIX = "delivery#"
CLAIM_SECONDS = 7 * 3600
"""How long a claim is kept: past Lambda's longest retry window for an asynchronous event (six hours)."""
CLAIMED = "claimed"
UNSENT = "unsent"


class AlreadySentError(DeliveryError):
    """Lambda retried an invocation whose message SNS may already have taken: it is not sent again."""

    def __init__(self) -> None:
        super().__init__("The message of this request was sent already.", retryable=False, may_have_been_sent=False)


def delivery_key(request_id: str) -> str:
    """The table key of one invocation's message (Lambda keeps the request id across its retries)."""
    return DELIVERY_KEY_PREFIX + request_id


@dataclass
class DeliveryLedger:
    """Claims each invocation's publish in the limits table, so Lambda's retries never send twice."""

    table_name: str
    client: Any = field(default=None)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = dynamodb_client()

    def claim_of(self, request_id: str) -> Claim:
        """The claim of ``request_id``'s publish, to write beside the admission of its message."""
        return Claim(self, request_id)

    def claim(self, request_id: str) -> None:
        """Claim the publish of ``request_id``; raise :class:`AlreadySentError` if an earlier attempt may have sent it.

        A table that cannot be reached raises a retryable :class:`DeliveryError`
        before anything is sent (fail closed; Lambda retries).
        """
        now = int(self.clock())
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": delivery_key(request_id)},
                    "delivery_state": {"S": CLAIMED},
                    "expires_at": {"N": str(now + CLAIM_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk) OR delivery_state = :unsent",
                ExpressionAttributeValues={":unsent": {"S": UNSENT}},
            )
        except ClientError as error:
            if aws_error_code(error) == "ConditionalCheckFailedException":
                logger.warning("Lambda retried a message that may have been sent already; it is not sent again")
                count("DuplicateSendsPrevented")
                raise AlreadySentError() from None
            self._unavailable(error)
        except BotoCoreError as error:
            self._unavailable(error)

    def release(self, request_id: str) -> None:
        """Mark the claim of ``request_id`` unsent, so Lambda's retry sends (best effort: else the retry sends nothing)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": delivery_key(request_id)}},
                UpdateExpression="SET delivery_state = :unsent",
                ExpressionAttributeValues={":unsent": {"S": UNSENT}},
            )
        except (ClientError, BotoCoreError) as error:
            logger.error("Could not mark the message unsent; a retry will not send it", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")

    @staticmethod
    def _unavailable(error: BaseException) -> None:
        logger.error("Could not claim the message before sending it; nothing is sent", extra={"error_code": aws_error_code(error)})
        count_for_alarm("LimitStoreFailures")
        raise DeliveryError(retryable=True, may_have_been_sent=False) from None


@dataclass(frozen=True, slots=True)
class Claim:
    """One invocation's claim, as the admission writes and undoes it (:class:`~sms_otp.limits.record.Alongside`)."""

    ledger: DeliveryLedger
    request_id: str

    def write(self, deadline: Deadline) -> None:  # noqa: ARG002 - the sender has no deadline but its Lambda timeout
        self.ledger.claim(self.request_id)

    def undo(self, deadline: Deadline) -> None:  # noqa: ARG002
        self.ledger.release(self.request_id)
