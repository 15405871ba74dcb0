"""sms_otp.core.aws_failures: which AWS failures a retry may mend, and which calls may still have done their work."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from sms_otp.core.aws_failures import CallRecorder, is_transient, may_have_reached_the_service

pytestmark = pytest.mark.unit

URL = "https://sns.us-east-1.amazonaws.com/"


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Publish")


@pytest.mark.parametrize(
    ("error", "transient", "reached"),
    [
        pytest.param(client_error("ThrottlingException", 400), True, False, id="throttled (400)"),
        pytest.param(client_error("Throttling", 400), True, False, id="SNS throttled"),
        pytest.param(client_error("KMSInternalException", 500), True, False, id="KMS internal"),
        pytest.param(client_error("SomethingNew", 502), True, False, id="any 5xx"),
        pytest.param(client_error("InvalidParameter", 400), False, False, id="invalid parameter"),
        pytest.param(client_error("AccessDeniedException", 400), False, False, id="access denied"),
        pytest.param(ReadTimeoutError(endpoint_url=URL), True, True, id="read timeout: may have been received"),
        pytest.param(ConnectionClosedError(endpoint_url=URL), True, True, id="closed mid-answer: may have been received"),
        pytest.param(ConnectTimeoutError(endpoint_url=URL), True, False, id="connect timeout: never sent"),
        pytest.param(EndpointConnectionError(endpoint_url=URL), True, False, id="no connection: never sent"),
        pytest.param(NoCredentialsError(), False, False, id="no credentials"),
        pytest.param(ParamValidationError(report="bad"), False, False, id="invalid request"),
        pytest.param(ValueError("not AWS"), False, False, id="not an AWS error"),
    ],
)
def test_each_failure_is_read_as_aws_documents_it(error: Exception, transient: bool, reached: bool) -> None:
    assert (is_transient(error), may_have_reached_the_service(error)) == (transient, reached)


def test_an_error_raised_from_an_aws_error_is_read_through_it() -> None:
    # GIVEN a library's own error, raised from (or while handling) a throttled call
    def wrapped(*, explicit: bool) -> Exception:
        try:
            raise client_error("ThrottlingException", 400)
        except ClientError as inner:
            error = RuntimeError("wrapped")
            try:
                if explicit:
                    raise error from inner
                raise error
            except RuntimeError as outer:
                return outer

    # WHEN / THEN the AWS error behind it decides
    assert is_transient(wrapped(explicit=True)) is True
    assert is_transient(wrapped(explicit=False)) is True


def test_the_recorder_keeps_a_failure_the_caller_never_sees() -> None:
    # GIVEN a recorder on a client whose call fails, and a caller that swallows the error
    client = boto3.client("kms", region_name="us-east-1")
    recorder = CallRecorder("kms", "Decrypt")
    recorder.attach(client.meta.events)
    recorder.clear()
    with Stubber(client) as stub:
        stub.add_client_error("decrypt", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(ClientError):
            client.decrypt(CiphertextBlob=b"x")

    # WHEN / THEN the recorder holds it, and reads as transient; another thread sees nothing of it
    assert recorder.failure is not None
    assert is_transient(recorder.failure)
    seen: list[Any] = []
    thread = threading.Thread(target=lambda: seen.append(recorder.failure))
    thread.start()
    thread.join()
    assert seen == [None]

    # AND clearing forgets it
    recorder.clear()
    assert (recorder.failure, recorder.reached) == (None, False)


def test_the_recorder_notes_an_attempt_that_may_have_been_received_even_when_a_later_one_fails_otherwise() -> None:
    # GIVEN a first attempt whose answer is lost, and a second refused with an error answer
    client = boto3.client("sns", region_name="us-east-1", config=Config(retries={"total_max_attempts": 2, "mode": "standard"}))
    recorder = CallRecorder("sns", "Publish")
    recorder.attach(client.meta.events)
    recorder.attach(client.meta.events)  # attaching twice records once
    attempts: list[int] = []

    def send(**_kwargs: object) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ReadTimeoutError(endpoint_url=URL)
        raise EndpointConnectionError(endpoint_url=URL)

    client.meta.events.register("before-send.sns.Publish", send)
    recorder.clear()

    # WHEN the call fails for good
    with pytest.raises(EndpointConnectionError) as raised:
        client.publish(PhoneNumber="+14155550123", Message="m")

    # THEN the final error alone says "never sent", but the recorder knows the first may have been received
    assert len(attempts) == 2
    assert may_have_reached_the_service(raised.value) is False
    assert recorder.reached is True
