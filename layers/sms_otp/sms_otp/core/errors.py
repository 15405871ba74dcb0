"""Two tiers of errors.

A :class:`UserFacingError` carries text that may reach the person signing in:
Cognito shows a trigger's error text to the caller as
``<Trigger> failed with error <text>``. Every other error is logged with its
stack and replaced by :class:`InternalError`, whose text is generic.
"""

from __future__ import annotations


class SmsOtpError(Exception):
    """Base class of every error this package raises on purpose."""

    # Whether trying the same thing again later may succeed (Lambda retries asynchronous triggers).
    retryable = False


class UserFacingError(SmsOtpError):
    """An error whose message is safe and useful to show to the caller."""


class InvalidPhoneNumberError(UserFacingError):
    """The phone number is not a valid number in E.164 form."""


class PhoneNumberNotAllowedError(UserFacingError):
    """A valid number this deployment refuses: a country not allowed, or premium-rate / shared-cost."""


class DeliveryError(UserFacingError):
    """A message could not be sent.

    ``retryable`` says whether trying again later may succeed (SNS throttled or
    unreachable, rather than refusing the message); ``may_have_been_sent``,
    whether SNS may have taken the message although no answer came back (a read
    timeout), so that its allowance must stay spent.
    """

    def __init__(
        self,
        message: str = "We could not send the code. Please try again later.",
        *,
        retryable: bool = True,
        may_have_been_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.may_have_been_sent = may_have_been_sent


class DeadlineExceededError(UserFacingError):
    """The trigger's time ran out before an AWS call answered.

    ``abandoned`` says whether the call had started: it then goes on in the
    background and may still do its work (a publish may still send its message).
    """

    retryable = True

    def __init__(self, *, abandoned: bool) -> None:
        super().__init__("We could not send a code in time. Please try again in a moment.")
        self.abandoned = abandoned


class InternalError(SmsOtpError):
    """Generic stand-in for an unexpected error, whose details stay in the logs."""

    def __init__(self, message: str = "Something went wrong on our side. Please try again later.") -> None:
        super().__init__(message)


class ConfigurationError(SmsOtpError):
    """The function's environment is missing or has an invalid setting."""


class MalformedEventError(SmsOtpError):
    """The trigger event does not have the shape Cognito sends."""


class CodeDecryptionError(SmsOtpError):
    """A Custom SMS Sender code could not be decrypted, or was not meant for this pool; trying again cannot help."""


class KeyServiceUnavailableError(SmsOtpError):
    """KMS could not decrypt a code for now (throttled, failing, or out of reach); a later try may succeed."""

    retryable = True


def aws_error_code(error: BaseException) -> str:
    """The AWS error code of an SDK error (``Throttling``...), or its class name; safe to log.

    AWS error messages can echo request parameters such as phone numbers, so
    only the code is logged.
    """
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code) if code else type(error).__name__


def certainly_not_sent(error: BaseException) -> bool:
    """Whether a send that failed with ``error`` certainly did not reach SNS (so what it took may be given back)."""
    if isinstance(error, DeliveryError):
        return not error.may_have_been_sent
    if isinstance(error, DeadlineExceededError):
        return not error.abandoned
    # The package's refusals (a number not allowed) come before any request; anything else is unknown.
    return isinstance(error, SmsOtpError)
