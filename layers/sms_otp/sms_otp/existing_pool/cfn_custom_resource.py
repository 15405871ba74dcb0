"""crhelper's custom resource helper, answering a local emulator's plain-HTTP response URL too.

CloudFormation hands a custom resource an S3 presigned ``https://`` URL to answer on,
and crhelper PUTs the answer with ``http.client.HTTPSConnection`` whatever the URL's
scheme. A local emulator (the sandbox's) hands an ``http://`` URL on the loopback
interface, which crhelper cannot reach: the stack would wait for the resource's
ServiceTimeout. Only that case is answered here, with plain HTTP; every other URL
goes to crhelper's own sender, so an answer never leaves the machine unencrypted.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from crhelper import CfnResource
from crhelper.utils import _send_response as send_over_https  # type: ignore[attr-defined]

from sms_otp.core.errors import SmsOtpError
from sms_otp.core.observability import logger

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_RESPONSE_TIMEOUT_SECONDS = 10


class CloudFormationFailureError(Exception):
    """A failure whose message is the one sentence CloudFormation shows as the resource's status reason."""


def put_response(response_url: str, response_body: Any, ssl_verify: Any = None) -> None:
    """PUT the answer to ``response_url``: plain HTTP to a loopback host, crhelper's HTTPS sender otherwise."""
    parts = urllib.parse.urlsplit(response_url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        send_over_https(response_url, response_body, ssl_verify)
        return
    body = json.dumps(response_body)
    connection = http.client.HTTPConnection(parts.netloc, timeout=_RESPONSE_TIMEOUT_SECONDS)
    try:
        target = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
        connection.request("PUT", target, body=body, headers={"content-type": "", "content-length": str(len(body))})
        logger.info("CloudFormation answer sent", extra={"status_code": connection.getresponse().status})
    finally:
        connection.close()


class CustomResource(CfnResource):
    """crhelper's ``CfnResource`` (timeouts, errors, physical IDs) with :func:`put_response` as its sender."""

    # crhelper passes no sender of its own to _send: its default is the only one there is to replace.
    def _send(self, status: str | None = None, reason: str = "", send_response: Callable[..., None] | None = None) -> None:  # noqa: ARG002
        super()._send(status, reason, send_response=put_response)  # type: ignore[misc]


def run_for_cloudformation[Result](action: Callable[[], Result], *, describe_failure: Callable[[Exception], str]) -> Result:
    """Run ``action``; turn any failure into :class:`CloudFormationFailureError` with ``describe_failure``'s sentence.

    crhelper answers FAILED with the text of whatever the handler raises; this makes
    that text a deliberate sentence, and logs the failure (with its stack when it was
    not a deliberate refusal) without the event, which holds the response URL.
    """
    try:
        return action()
    except Exception as error:
        reason = describe_failure(error)
        if isinstance(error, SmsOtpError):
            logger.warning("Refused", extra={"reason": reason})
        else:
            logger.exception("Failed", extra={"reason": reason})
        raise CloudFormationFailureError(reason) from error
