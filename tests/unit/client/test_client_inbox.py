"""``sms-otp inbox``: the texts of a test-mode stack, parsed from the queue and printed as they arrive."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from sms_otp_client import cli
from sms_otp_client.inbox import InboxMessage, _parse, format_message
from sms_otp_client.stack import StackOutputs

pytestmark = pytest.mark.unit

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sms-otp-test-mode"
SIGN_IN_TEXT = "Your sign-in code is 424242. It expires in 3 minutes. Do not share it with anyone."
SENT_AT = datetime(2026, 12, 6, 14, 5, 9).astimezone().timestamp()


def raw_message(text: str, recipient: str, trigger_source: str, sent_at: float = SENT_AT, handle: str = "h") -> dict[str, Any]:
    """A message as SQS returns it from a raw-delivery subscription to the test topic."""
    return {
        "Body": text,
        "ReceiptHandle": handle,
        "Attributes": {"SentTimestamp": str(int(sent_at * 1000))},
        "MessageAttributes": {
            "recipient": {"DataType": "String", "StringValue": recipient},
            "trigger_source": {"DataType": "String", "StringValue": trigger_source},
        },
    }


def test_a_queued_text_is_read_with_its_recipient_trigger_source_and_time():
    # GIVEN a text as the queue holds it
    raw = raw_message(SIGN_IN_TEXT, "+12025550143", "CreateAuthChallenge_Authentication")

    # WHEN it is parsed
    message = _parse(raw)

    # THEN every part is kept, the time in seconds, and the code is found
    assert message == InboxMessage(
        text=SIGN_IN_TEXT, recipient="+12025550143", trigger_source="CreateAuthChallenge_Authentication", sent_at=SENT_AT // 1
    )
    assert message.code == "424242"


def test_a_text_is_printed_with_its_time_full_recipient_and_trigger_source():
    # GIVEN a text to a tester's number
    message = InboxMessage(SIGN_IN_TEXT, "+12025550143", "CreateAuthChallenge_Authentication", SENT_AT)

    # WHEN it is printed / THEN the first line says when, to whom (in full) and why, and the second is the text
    assert format_message(message) == f"14:05:09  to +12025550143  CreateAuthChallenge_Authentication\n  {SIGN_IN_TEXT}"


def test_the_phone_panel_reads_a_text_by_the_same_names():
    message = InboxMessage(SIGN_IN_TEXT, "+12025550143", "CreateAuthChallenge_Authentication", SENT_AT)
    assert message.as_dict() == {
        "text": SIGN_IN_TEXT,
        "recipient": "+12025550143",
        "triggerSource": "CreateAuthChallenge_Authentication",
        "sentAt": SENT_AT,
    }


class FakeTopicAndQueue:
    """SNS and SQS as the inbox uses them: batches of messages to hand out, then Ctrl-C."""

    def __init__(self, *batches: list[dict[str, Any]]) -> None:
        self.batches = list(batches)
        self.subscriptions: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.queues_deleted: list[str] = []
        self.unsubscribed: list[str] = []

    def create_queue(self, QueueName: str, **_: Any) -> dict[str, str]:  # noqa: N803 - boto3's names
        return {"QueueUrl": f"http://queue/{QueueName}"}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:inbox"}}

    def set_queue_attributes(self, **_: Any) -> None:
        pass

    def subscribe(self, **kwargs: Any) -> dict[str, str]:
        self.subscriptions.append(kwargs)
        return {"SubscriptionArn": f"{TOPIC_ARN}:subscription"}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        if not self.batches:
            raise KeyboardInterrupt
        return {"Messages": self.batches.pop(0)}

    def delete_message(self, ReceiptHandle: str, **_: Any) -> None:  # noqa: N803
        self.deleted.append(ReceiptHandle)

    def unsubscribe(self, SubscriptionArn: str) -> None:  # noqa: N803
        self.unsubscribed.append(SubscriptionArn)

    def delete_queue(self, QueueUrl: str) -> None:  # noqa: N803
        self.queues_deleted.append(QueueUrl)


def stack(*, test_mode: bool) -> StackOutputs:
    return StackOutputs(
        user_pool_id="us-east-1_pool",
        user_pool_arn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pool",
        user_pool_client_id="client",
        custom_sms_sender_function_name="sender",
        sms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
        test_mode_topic_arn=TOPIC_ARN if test_mode else None,
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> FakeTopicAndQueue:
    fake = FakeTopicAndQueue(
        [raw_message(SIGN_IN_TEXT, "+12025550143", "CreateAuthChallenge_Authentication", handle="1")],
        [],
        [
            raw_message("Your verification code is 111111. Do not share it with anyone.", "+12025550188", "CustomSMSSender_SignUp",
                        SENT_AT + 2, "3"),
            raw_message("Your sign-in code is 222222.", "+12025550188", "CreateAuthChallenge_Authentication", SENT_AT + 1, "2"),
        ],
    )  # fmt: skip
    monkeypatch.setattr(cli, "_client_factory", lambda _arguments: lambda _service: fake)
    monkeypatch.setattr(cli.StackOutputs, "load", lambda *_: stack(test_mode=True))
    return fake


def test_the_inbox_prints_each_text_as_it_arrives_oldest_first_until_ctrl_c(aws: FakeTopicAndQueue, capsys: pytest.CaptureFixture[str]):
    # GIVEN a test-mode stack whose topic receives three texts for two numbers, the last two in one batch
    # WHEN the inbox follows it until Ctrl-C
    status = cli.main(["inbox", "--stack", "s", "--region", "us-east-1"])

    # THEN it subscribed a queue to the topic for every number, printed each text in the order it was sent,
    # exits 0, and leaves no queue or subscription behind
    assert status == 0
    assert aws.subscriptions[0]["TopicArn"] == TOPIC_ARN
    assert "FilterPolicy" not in aws.subscriptions[0]["Attributes"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Following the test topic {TOPIC_ARN} (texts to every number); each text appears as it arrives. Ctrl-C stops."
    assert [line.split("  ", 1)[1] for line in lines[2:8:2]] == [
        "to +12025550143  CreateAuthChallenge_Authentication",
        "to +12025550188  CreateAuthChallenge_Authentication",
        "to +12025550188  CustomSMSSender_SignUp",
    ]
    assert lines[3] == f"  {SIGN_IN_TEXT}"
    assert sorted(aws.deleted) == ["1", "2", "3"]
    assert aws.unsubscribed == [f"{TOPIC_ARN}:subscription"]
    assert len(aws.queues_deleted) == 1


def test_the_inbox_for_one_number_filters_on_it_and_stops_after_count(aws: FakeTopicAndQueue, capsys: pytest.CaptureFixture[str]):
    # GIVEN a test-mode stack / WHEN the inbox follows one number, written with spaces, for one text
    status = cli.main(["inbox", "--stack", "s", "--region", "us-east-1", "--phone", "+1 202 555 0143", "--count", "1"])

    # THEN the subscription's filter holds that number in E.164, one text is printed, and the queue is removed
    assert status == 0
    assert json.loads(aws.subscriptions[0]["Attributes"]["FilterPolicy"]) == {"recipient": ["+12025550143"]}
    assert capsys.readouterr().out.count("CreateAuthChallenge_Authentication") == 1
    assert len(aws.queues_deleted) == 1


def test_the_inbox_of_a_stack_not_in_test_mode_is_one_sentence(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    # GIVEN a stack that sends real SMS
    monkeypatch.setattr(cli, "_client_factory", lambda _arguments: lambda _service: FakeTopicAndQueue())
    monkeypatch.setattr(cli.StackOutputs, "load", lambda *_: stack(test_mode=False))

    # WHEN the inbox is asked to follow it / THEN it refuses in one sentence, having created nothing
    with pytest.raises(SystemExit) as exit_:
        cli.main(["inbox", "--stack", "s", "--region", "us-east-1"])
    assert exit_.value.code == 1
    error = capsys.readouterr().err
    assert error == "error: This stack is not in test mode: its texts go to phones, so there is no test topic to follow.\n"
