"""A stand-in for the Lambda context object a handler receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FakeLambdaContext:
    """The attributes Powertools' ``inject_lambda_context`` reads from a real context."""

    function_name: str = "sms-otp-test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sms-otp-test-function"
    # A new id per context, as Lambda gives each invocation; a retry of one invocation reuses its context.
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 5_000
