"""The test-mode inbox: an SQS queue subscribed to the stack's test topic.

In test mode every text is published to the topic with the message attributes
``recipient`` (the E.164 number) and ``trigger_source``. The inbox subscribes a
queue with raw delivery and a filter policy on ``recipient``, so it holds only
the messages meant for one phone number; or, to follow every text the stack
sends (``sms-otp inbox``, the web example's phone panel), no filter policy.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CODE_PATTERN = re.compile(r"\b([0-9]{6,10})\b")


class InboxTimeoutError(Exception):
    """No message arrived in time."""


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One text as the phone would have received it."""

    text: str
    recipient: str
    trigger_source: str
    # When the topic delivered it to the queue (SQS's SentTimestamp), in seconds since the epoch.
    sent_at: float = 0.0

    @property
    def code(self) -> str:
        """The one-time code in the text."""
        match = CODE_PATTERN.search(self.text)
        if match is None:
            raise ValueError("the message holds no code")
        return match.group(1)

    def as_dict(self) -> dict[str, str | float]:
        """The message as the web example's phone panel reads it."""
        return {"text": self.text, "recipient": self.recipient, "triggerSource": self.trigger_source, "sentAt": self.sent_at}


def format_message(message: InboxMessage) -> str:
    """Two lines for a terminal: when (local time), to whom, by which trigger source; then the text.

    The recipient is printed in full: in test mode it is a tester's own number, the
    one they typed, and with several testers on one topic it is how each finds
    their texts. The text itself carries the code, which is the secret here.
    """
    when = datetime.fromtimestamp(message.sent_at).astimezone().strftime("%H:%M:%S")
    return f"{when}  to {message.recipient or '(no recipient)'}  {message.trigger_source or '(no trigger source)'}\n  {message.text}"


class TestModeInbox:
    """A queue that receives the test topic's messages for one recipient."""

    __test__ = False  # not a pytest test class

    def __init__(self, sqs: Any, sns: Any, queue_url: str, subscription_arn: str, recipient: str | None) -> None:
        self._sqs = sqs
        self._sns = sns
        self.queue_url = queue_url
        self.subscription_arn = subscription_arn
        self.recipient = recipient

    @classmethod
    def create(cls, *, sqs: Any, sns: Any, topic_arn: str, recipient: str | None) -> TestModeInbox:
        """Create a queue, allow the topic to send to it and subscribe it for ``recipient`` (``None``: every recipient)."""
        name = f"sms-otp-inbox-{uuid.uuid4().hex[:12]}"
        queue_url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "900"})["QueueUrl"]
        try:
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                    }
                ],
            }
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
            attributes = {"RawMessageDelivery": "true"}
            if recipient is not None:
                attributes["FilterPolicy"] = json.dumps({"recipient": [recipient]})
            subscription_arn = sns.subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes, ReturnSubscriptionArn=True
            )["SubscriptionArn"]
        except BaseException:
            # Leave nothing behind in a real account when a step is refused (a missing permission, say).
            sqs.delete_queue(QueueUrl=queue_url)
            raise
        return cls(sqs, sns, queue_url, subscription_arn, recipient)

    def wait_for_message(self, *, trigger_source: str | None = None, timeout_seconds: float = 20.0) -> InboxMessage:
        """The next message for this inbox's recipient (and trigger source, if given); deleted once read."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            wait = max(1, min(5, int(deadline - time.monotonic())))
            for message in self.receive(wait_seconds=wait):
                if self.recipient in (None, message.recipient) and trigger_source in (None, message.trigger_source):
                    return message
        raise InboxTimeoutError(f"No message for {self.recipient or 'any recipient'} arrived within {timeout_seconds:.0f} seconds")

    def receive(self, *, wait_seconds: int = 5) -> list[InboxMessage]:
        """The messages that arrive within ``wait_seconds`` (SQS long polling), oldest first; each is deleted once read."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
            AttributeNames=["SentTimestamp"],
        )
        messages = []
        for raw in response.get("Messages", []):
            messages.append(_parse(raw))
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=raw["ReceiptHandle"])
        return sorted(messages, key=lambda message: message.sent_at)

    def follow(self, *, wait_seconds: int = 5) -> Iterator[InboxMessage]:
        """Every message as it arrives, until the caller stops iterating (or Ctrl-C)."""
        while True:
            yield from self.receive(wait_seconds=wait_seconds)

    def drain(self) -> list[InboxMessage]:
        """Every message waiting now (without long polling); each is deleted once read."""
        messages: list[InboxMessage] = []
        while True:
            response = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["SentTimestamp"]
            )
            batch = response.get("Messages", [])
            if not batch:
                return messages
            for raw in batch:
                messages.append(_parse(raw))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=raw["ReceiptHandle"])

    def delete(self) -> None:
        """Unsubscribe and delete the queue."""
        self._sns.unsubscribe(SubscriptionArn=self.subscription_arn)
        self._sqs.delete_queue(QueueUrl=self.queue_url)


def _parse(raw: dict[str, Any]) -> InboxMessage:
    attributes = raw.get("MessageAttributes", {})

    def attribute(name: str) -> str:
        return str(attributes.get(name, {}).get("StringValue", ""))

    sent_timestamp = raw.get("Attributes", {}).get("SentTimestamp")
    return InboxMessage(
        text=raw["Body"],
        recipient=attribute("recipient"),
        trigger_source=attribute("trigger_source"),
        sent_at=int(sent_timestamp) / 1000 if sent_timestamp else time.time(),
    )
