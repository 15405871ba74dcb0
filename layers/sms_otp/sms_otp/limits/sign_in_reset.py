"""After a successful sign-in: end the number's lockout, record it as known, count the range's completion; two round trips.

Wave 1, side by side: the reset of the number's item (whose old value says whether
a sign-in code was awaited) and a consistent read of whether the number is known.
Wave 2, side by side, only for a sign-in that proved the number: the number
recorded as known (whose old value says whether it was known already) and, if the
read found it fresh, the completion counted in its range.

A completion counts once per number that becomes known, as when the two writes
ran one after the other: if the known record's old value shows another sign-in
made the number known between the read and the write, this one's completion is
taken back; if it shows the number fresh where the read found it known (the
record expired meanwhile), the completion is counted then. If the known record
fails, the completion is taken back (the next sign-in counts it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.errors import aws_error_code
from sms_otp.core.observability import count_for_alarm, logger
from sms_otp.core.time_budget import Deadline, together
from sms_otp.limits import pumping
from sms_otp.limits.keys import known_key, subject_key
from sms_otp.limits.shares import KNOWN_FOR_SECONDS, Shares

if TYPE_CHECKING:
    from sms_otp.limits.range_guard import RangeGuard
    from sms_otp.limits.table import LimitTable


@dataclass(frozen=True, slots=True)
class SignInReset:
    """One sign-in's reset at ``now`` (see the module's docstring)."""

    table: LimitTable
    ranges: RangeGuard
    now: int

    def reset(self, subject: str, *, number_range: str | None, verified: bool) -> bool:
        """Reset ``subject``'s rounds and lockout, record a proven number as known; return whether there was anything to reset."""
        try:
            return self._reset(subject, number_range=number_range, verified=verified)
        except (ClientError, BotoCoreError) as error:
            logger.error("Could not reset the failed sign-in rounds", extra={"error_code": aws_error_code(error)})
            count_for_alarm("LimitStoreFailures")
            return False

    def _reset(self, subject: str, *, number_range: str | None, verified: bool) -> bool:
        unbounded = Deadline.unbounded()
        first: list[Callable[[], Any]] = [lambda: self._reset_item(subject)]
        if number_range is not None:
            first.append(lambda: self._known_until(subject))
        reset_outcome, *read = together(first, unbounded)
        for outcome in (reset_outcome, *read):
            if outcome.error is not None:
                raise outcome.error
        reset, awaited = reset_outcome.value or (False, 0)
        if not (awaited > 0 or verified):
            return reset
        fresh_by_read = bool(read) and (read[0].value or 0) <= self.now
        second: list[Callable[[], Any]] = [lambda: self._mark_known(subject)]
        if number_range is not None and fresh_by_read:
            second.append(lambda: self.ranges.count_completion(number_range, self.now))
        marked, *completion = together(second, unbounded)
        counted = bool(completion) and completion[0].succeeded
        if marked.error is not None:
            if counted and number_range is not None:
                self._take_completion_back(number_range)
            raise marked.error
        for outcome in completion:
            if outcome.error is not None:
                raise outcome.error
        was_known = bool(marked.value)
        if number_range is not None and counted and was_known:
            self._take_completion_back(number_range)  # another sign-in made it known between the read and the write
        elif number_range is not None and not counted and not was_known:
            self.ranges.count_completion(number_range, self.now)  # the known record expired between the read and the write
        return reset

    def _reset_item(self, subject: str) -> tuple[bool, int]:
        """Reset the number's rounds and lockout; return whether it had an item, and the sign-in codes it awaited."""
        try:
            response = self.table.client.update_item(
                TableName=self.table.name,
                Key={"pk": {"S": subject_key(subject)}},
                UpdateExpression="SET failed_rounds = :zero, locked_until = :zero, awaiting_sign_in = :zero ADD version :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            return False, 0  # nothing recorded for this subject: nothing to reset
        return True, int(response.get("Attributes", {}).get("awaiting_sign_in", {}).get("N", "0"))

    def _known_until(self, phone_number: str) -> int:
        """Until when the number is known, as read now (0: fresh)."""
        return Shares.known_until(self.table.get(known_key(phone_number), Deadline.unbounded()))

    def _mark_known(self, phone_number: str) -> bool:
        """Record the number as known from now on; return whether it was known already."""
        response = self.table.client.update_item(
            TableName=self.table.name,
            Key={"pk": {"S": known_key(phone_number)}},
            UpdateExpression="SET known_until = :until, expires_at = :until",
            ExpressionAttributeValues={":until": {"N": str(self.now + KNOWN_FOR_SECONDS)}},
            ReturnValues="UPDATED_OLD",
        )
        return int(response.get("Attributes", {}).get("known_until", {}).get("N", "0")) > self.now

    def _take_completion_back(self, number_range: str) -> None:
        """One completion less in the range's current bucket, never below zero."""
        request: dict[str, Any] = {
            "TableName": self.table.name,
            "Key": {"pk": {"S": pumping.bucket_key(number_range, pumping.bucket_of(self.now))}},
            "UpdateExpression": "ADD completed :minus_one",
            "ConditionExpression": "completed > :zero",
            "ExpressionAttributeValues": {":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
        }
        try:
            self.table.client.update_item(**request)
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
