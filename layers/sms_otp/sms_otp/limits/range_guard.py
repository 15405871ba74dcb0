"""The pumping guard against the table: refuse, count and stop sends per number range (rule: :mod:`sms_otp.limits.pumping`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sms_otp.core.errors import aws_error_code
from sms_otp.core.observability import count, count_range_stopped, logger
from sms_otp.limits import pumping
from sms_otp.limits.errors import RangeStoppedError
from sms_otp.limits.record import DAY_SECONDS

if TYPE_CHECKING:
    from sms_otp.core.settings import LimitPolicy
    from sms_otp.core.time_budget import Deadline
    from sms_otp.limits.table import LimitTable


@dataclass(frozen=True, slots=True)
class RangeGuard:
    """The pumping guard's reads and writes for one stack's policy."""

    table: LimitTable
    policy: LimitPolicy

    def guarded(self, number_range: str | None) -> str | None:
        """The range the guard watches for this send (``None`` when there is none, or the guard is off)."""
        return number_range if self.policy.pumping_min_conversion_percent > 0 else None

    def check(self, window: pumping.RangeWindow, now: int, *, may_stop: bool, deadline: Deadline) -> None:
        """Refuse a send to a stopped range, or one the rule refuses (stopping the range, unless ``may_stop`` is false)."""
        wait = pumping.stopped_for(window, now)
        if wait:
            raise RangeStoppedError(wait)
        cap = pumping.send_cap(self.policy, window)
        if cap is not None and window.sent_now >= cap:
            if may_stop:
                raise RangeStoppedError(self.stop(window, now, deadline))
            # The wait a real user would be told at this moment, without stopping anything.
            raise RangeStoppedError(pumping.next_stop(self.policy, window, now)[0] - now)

    def count_send(self, window: pumping.RangeWindow, now: int, deadline: Deadline) -> str:
        """Add this send to the range's current bucket, if the rule still allows it there; return the bucket's key."""
        key = pumping.bucket_key(window.prefix, window.bucket)
        cap = pumping.send_cap(self.policy, window)
        if cap is None:  # a range has a window only while the guard is on
            raise ValueError("the pumping guard is off: there is no range to count in")
        expires_at = (window.bucket + pumping.WINDOW_BUCKETS + 1) * pumping.BUCKET_SECONDS
        if not self.table.count_under_cap(key, cap, expires_at, deadline):
            raise RangeStoppedError(self.stop(window, now, deadline))
        return key

    def stop(self, window: pumping.RangeWindow, now: int, deadline: Deadline) -> int:
        """Stop the range for its next cool-off (once, however many invocations trip at once); return the wait."""
        stopped_until, stops = pumping.next_stop(self.policy, window, now)
        try:
            deadline.call(
                self.table.client.update_item,
                TableName=self.table.name,
                Key={"pk": {"S": pumping.stop_key(window.prefix)}},
                UpdateExpression="SET stopped_until = :until, stops = :stops, expires_at = :expires_at",
                ConditionExpression="attribute_not_exists(stopped_until) OR stopped_until <= :now",
                ExpressionAttributeValues={
                    ":until": {"N": str(stopped_until)},
                    ":stops": {"N": str(stops)},
                    ":now": {"N": str(now)},
                    ":expires_at": {"N": str(stopped_until + DAY_SECONDS)},
                },
            )
        except ClientError as error:
            if aws_error_code(error) != "ConditionalCheckFailedException":
                raise
            return stopped_until - now  # another invocation stopped it a moment ago
        logger.warning(
            "The pumping guard stopped sending to a number range",
            extra={
                "number_range": window.prefix,
                "sent": window.sent_before + window.sent_now,
                "completed": window.completed,
                "cool_off_seconds": stopped_until - now,
                "stops_in_a_row": stops,
            },
        )
        count_range_stopped(window.prefix)
        return stopped_until - now

    def count_completion(self, number_range: str, now: int) -> None:
        """A completed sign-in by code in ``number_range``: the conversion the rule weighs sends against."""
        bucket = pumping.bucket_of(now)
        update: dict[str, Any] = {
            "TableName": self.table.name,
            "Key": {"pk": {"S": pumping.bucket_key(number_range, bucket)}},
            "UpdateExpression": "ADD completed :one SET expires_at = :expires_at",
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":expires_at": {"N": str((bucket + pumping.WINDOW_BUCKETS + 1) * pumping.BUCKET_SECONDS)},
            },
        }
        self.table.client.update_item(**update)
        count("RangeCompletions")
