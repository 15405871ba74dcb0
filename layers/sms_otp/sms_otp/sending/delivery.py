"""Sending a text to a phone number through Amazon SNS.

Normal mode publishes straight to the phone (``Publish`` with ``PhoneNumber``),
as a Transactional SMS with the configured Sender ID and origination number.
Test mode never reaches a phone: every text is published to the test topic,
with the intended recipient and the trigger source as message attributes so
testers can route numbers to different inboxes with subscription filter policies.

A failed publish raises :class:`~sms_otp.core.errors.DeliveryError`: nothing is
silently lost. The error says whether a retry may help (SNS throttled, failing
or out of reach) and whether SNS may have taken the message anyway (an answer
lost to a read timeout, on any attempt), so the caller knows whether the
message's allowance may be given back.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sms_otp.core.aws_failures import CallRecorder, is_transient, may_have_reached_the_service
from sms_otp.core.errors import DeadlineExceededError, DeliveryError, aws_error_code
from sms_otp.core.observability import count, logger
from sms_otp.core.phone_numbers import mask_phone_number, validate_destination
from sms_otp.core.time_budget import SNS_CONFIG, Deadline

if TYPE_CHECKING:
    from sms_otp.core.settings import Settings


@functools.cache
def sns_client() -> Any:
    """The container's SNS client, built on first use."""
    return boto3.client("sns", config=SNS_CONFIG)


def _string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


class SmsPublisher:
    """Sends texts as the settings say: to phones, or in test mode to the test topic."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self._settings = settings
        self._publishes = CallRecorder("sns", "Publish")
        self._client = None
        if client is not None:
            self._use(client)

    def _use(self, client: Any) -> None:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None:
            self._publishes.attach(events)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._use(sns_client())
        return self._client

    def send(self, phone_number: str, text: str, *, trigger_source: str, deadline: Deadline | None = None) -> str:
        """Send ``text`` to ``phone_number`` (E.164) and return SNS's message id.

        Raises :class:`~sms_otp.core.errors.InvalidPhoneNumberError` for a number that
        is not valid E.164, :class:`~sms_otp.core.errors.PhoneNumberNotAllowedError`
        for one this deployment refuses (country, premium rate),
        :class:`~sms_otp.core.errors.DeliveryError` when SNS does not take the message,
        and :class:`~sms_otp.core.errors.DeadlineExceededError` when SNS has not
        answered by ``deadline`` (``abandoned``: the publish may still go out).
        """
        recipient = validate_destination(phone_number, self._settings.allowed_country_codes)
        if self._settings.test_mode:
            request = self._test_mode_request(recipient, text, trigger_source)
        else:
            request = self._sms_request(recipient, text)
        client = self.client
        try:
            response = (deadline or Deadline.unbounded()).call(self._publish, client, request, recipient)
        except DeadlineExceededError as error:
            logger.error(
                "SNS did not answer in time",
                extra={"recipient": mask_phone_number(recipient), "may_have_been_sent": error.abandoned},
            )
            count("DeliveryFailures")
            raise
        # Counted by the caller, by source (CodesSent, CodesDelivered, NotificationsDelivered): one metric less.
        message_id = str(response.get("MessageId", ""))
        logger.info(
            "Message sent",
            extra={"recipient": mask_phone_number(recipient), "test_mode": self._settings.test_mode, "message_id": message_id},
        )
        return message_id

    def _publish(self, client: Any, request: dict[str, Any], recipient: str) -> dict[str, Any]:
        """Publish, or raise :class:`~sms_otp.core.errors.DeliveryError`; run in the calling thread (the recorder is per thread)."""
        self._publishes.clear()
        try:
            response: dict[str, Any] = client.publish(**request)
        except (ClientError, BotoCoreError) as error:
            retryable = is_transient(error)
            may_have_been_sent = may_have_reached_the_service(error) or self._publishes.reached
            logger.error(
                "SNS did not take the message",
                extra={
                    "error_code": aws_error_code(error),
                    "recipient": mask_phone_number(recipient),
                    "retryable": retryable,
                    "may_have_been_sent": may_have_been_sent,
                },
            )
            count("DeliveryFailures")
            raise DeliveryError(retryable=retryable, may_have_been_sent=may_have_been_sent) from None
        return response

    def _sms_request(self, recipient: str, text: str) -> dict[str, Any]:
        attributes = {"AWS.SNS.SMS.SMSType": _string_attribute("Transactional")}
        if self._settings.sms_sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = _string_attribute(self._settings.sms_sender_id)
        if self._settings.sms_origination_number:
            attributes["AWS.MM.SMS.OriginationNumber"] = _string_attribute(self._settings.sms_origination_number)
        return {"PhoneNumber": recipient, "Message": text, "MessageAttributes": attributes}

    def _test_mode_request(self, recipient: str, text: str, trigger_source: str) -> dict[str, Any]:
        return {
            "TopicArn": self._settings.test_mode_topic_arn,
            "Subject": f"Test-mode SMS to {mask_phone_number(recipient)}",
            "Message": text,
            "MessageAttributes": {
                "recipient": _string_attribute(recipient),
                "trigger_source": _string_attribute(trigger_source),
            },
        }
