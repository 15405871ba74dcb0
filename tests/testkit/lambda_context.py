"""A stand-in for the Lambda context object a handler receives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FakeLambdaContext:
    """The attributes Powertools' ``inject_lambda_context`` reads from a real context."""

    function_name: str = "sms-otp-test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sms-otp-test-function"
    aws_request_id: str = "5f1e0c2a-aaaa-bbbb-cccc-deadbeefcafe"

    def get_remaining_time_in_millis(self) -> int:
        return 5_000
