"""The outputs of a deployed stack, which is all a client needs to know about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class StackNotFoundError(Exception):
    """The stack does not exist, or lacks the outputs this package's template defines."""


@dataclass(frozen=True, slots=True)
class StackOutputs:
    """The template's outputs (names fixed by the template).

    ``user_pool_client_id`` is empty for a stack that attached only the Custom SMS
    Sender to an existing pool: it creates no app client. Two of the stack's
    parameters come along, for a client that checks a typed code's length and
    offers a new code only after the interval between codes: ``None`` when the
    stack does not say.
    """

    user_pool_id: str
    user_pool_arn: str
    user_pool_client_id: str
    custom_sms_sender_function_name: str
    sms_key_arn: str
    test_mode_topic_arn: str | None
    limits_table_name: str | None = None
    otp_length: int | None = None
    min_seconds_between_messages: int | None = None

    @classmethod
    def load(cls, cloudformation: Any, stack_name: str) -> StackOutputs:
        """Read the outputs of ``stack_name`` with a CloudFormation client."""
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except cloudformation.exceptions.ClientError as error:
            raise StackNotFoundError(f"Stack {stack_name!r} was not found: {error.response['Error'].get('Message', '')}") from None
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stacks[0].get("Parameters", [])}
        required = ("UserPoolId", "UserPoolArn", "CustomSmsSenderFunctionName", "SmsKeyArn")
        missing = [name for name in required if name not in outputs]
        if missing:
            raise StackNotFoundError(f"Stack {stack_name!r} has no output {', '.join(missing)}: is it this package's template?")
        return cls(
            user_pool_id=outputs["UserPoolId"],
            user_pool_arn=outputs["UserPoolArn"],
            user_pool_client_id=outputs.get("UserPoolClientId", ""),
            custom_sms_sender_function_name=outputs["CustomSmsSenderFunctionName"],
            sms_key_arn=outputs["SmsKeyArn"],
            test_mode_topic_arn=outputs.get("TestModeTopicArn"),
            limits_table_name=outputs.get("LimitsTableName"),
            otp_length=_whole_number(parameters.get("OtpLength")),
            min_seconds_between_messages=_whole_number(parameters.get("MinSecondsBetweenMessages")),
        )


def _whole_number(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None
