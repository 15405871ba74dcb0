"""The CUSTOM_AUTH flow: Define, Create and Verify Auth Challenge.

Each function takes the trigger's event (a dict), fills in its response and
returns nothing; what talks to AWS (sending a text) is passed in, so Define and
Verify import no AWS SDK and every function can be tested on its own.

Unknown users (``userNotFound``, set when the app client prevents user-existence
errors) see the same sequence as real ones: a challenge with a masked
destination, the same parameter keys, wrong answers, no tokens, and about the
same latency, but no message is sent.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from sms_otp.core.errors import DeadlineExceededError, DeliveryError, MalformedEventError
from sms_otp.core.events import (
    ChallengeResult,
    CognitoEvent,
    challenge_answer_of,
    challenge_name_of,
    optional_phone_number_of,
    phone_number_verified,
    private_challenge_parameters_of,
    session_of,
    string_field,
    user_not_found,
)
from sms_otp.core.observability import count, count_refusal, logger
from sms_otp.core.phone_numbers import mask_phone_number, number_prefix, stand_in_destination, validate_destination
from sms_otp.limits.keys import unknown_user_subject
from sms_otp.sign_in.codes import IssuedCode, generate_code, verify_answer

if TYPE_CHECKING:
    from sms_otp.core.settings import Settings
    from sms_otp.core.time_budget import Deadline
    from sms_otp.limits.protocol import LimitStore

CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"
DELIVERY_MEDIUM = "SMS"
PUBLIC_DELIVERY_MEDIUM = "CODE_DELIVERY_DELIVERY_MEDIUM"
PUBLIC_DESTINATION = "CODE_DELIVERY_DESTINATION"

SendText = Callable[[str, str], object]
"""Sends a text (second argument) to an E.164 number (first argument); raises on failure."""


# ---------------------------------------------------------------- Define ---


def _issue_tokens(event: CognitoEvent) -> None:
    event["response"] = {"issueTokens": True, "failAuthentication": False}


def _fail(event: CognitoEvent) -> None:
    event["response"] = {"issueTokens": False, "failAuthentication": True}


def _custom_challenge(event: CognitoEvent) -> None:
    event["response"] = {"challengeName": CUSTOM_CHALLENGE, "issueTokens": False, "failAuthentication": False}


def define_auth_challenge(
    event: CognitoEvent,
    *,
    settings: Settings,
    clock: Callable[[], float] = time.time,
) -> None:
    """Decide the next step of a sign-in from the session so far.

    Empty session: a custom challenge. Any entry that is not ours (SRP_A,
    PASSWORD_VERIFIER, ...): fail. Last answer right: tokens (never for an
    unknown user). Otherwise another challenge while fewer than
    ``max_attempts`` answers were given and the code has not expired (a
    later round reuses the code, so answering on would be pointless), then fail.
    """
    session = session_of(event)
    if not session:
        count("SignInsStarted")
        _custom_challenge(event)
        return
    if any(entry.challenge_name != CUSTOM_CHALLENGE for entry in session):
        logger.warning("Sign-in refused: the session holds a challenge that is not ours")
        count("SignInsFailed")
        _fail(event)
        return
    if session[-1].challenge_result is True and not user_not_found(event):
        count("TokensIssued")
        _issue_tokens(event)
        return
    issued = _previous_code(session)
    if len(session) >= settings.max_attempts or (issued is not None and issued.is_expired(clock(), settings.otp_ttl_seconds)):
        logger.info("Sign-in failed: no attempts left or the code expired", extra={"attempts": len(session)})
        count("SignInsFailed")
        _fail(event)
        return
    _custom_challenge(event)


# ---------------------------------------------------------------- Create ---


class LatencyMimic:
    """Makes the unknown-user path take about as long as a real send.

    It remembers how long recent real admissions and sends took in this container
    and, for an unknown user, sleeps for what is left of a duration drawn around
    their median once its own (lighter) admission is done.
    """

    def __init__(self, default_seconds: float = 0.12, window: int = 32, sleep: Callable[[float], None] = time.sleep) -> None:
        # Imported here: only Create Auth Challenge builds one, and Define and Verify, which share
        # this module, then never load statistics (and fractions, decimal) at their cold start.
        import statistics  # noqa: PLC0415

        self._median = statistics.median
        self._durations: deque[float] = deque([default_seconds], maxlen=window)
        self._sleep = sleep
        self._random = random.SystemRandom()

    def record(self, seconds: float) -> None:
        self._durations.append(min(seconds, 2.0))

    def imitate(self, at_most_seconds: float | None = None, *, elapsed_seconds: float = 0.0) -> None:
        """Sleep about as long as a real admission and send take, less ``elapsed_seconds`` spent already, never past ``at_most_seconds``."""
        median = self._median(self._durations)
        duration = max(0.0, median * self._random.uniform(0.8, 1.2) - elapsed_seconds)
        self._sleep(duration if at_most_seconds is None else max(0.0, min(duration, at_most_seconds)))


def _previous_code(session: list[ChallengeResult]) -> IssuedCode | None:
    for entry in reversed(session):
        issued = IssuedCode.from_metadata(entry.challenge_metadata)
        if issued is not None:
            return issued
    return None


def _may_have_been_sent(error: DeliveryError | DeadlineExceededError) -> bool:
    """Whether a failed publish may still have sent its code (SNS's answer lost, or the call left running at the deadline)."""
    if isinstance(error, DeadlineExceededError):
        return error.abandoned
    return error.may_have_been_sent


def sign_in_message(code: str, ttl_seconds: int) -> str:
    """The text of a sign-in code message."""
    minutes, seconds = divmod(ttl_seconds, 60)
    lifetime = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds == 0 else f"{ttl_seconds} seconds"
    return f"Your sign-in code is {code}. It expires in {lifetime}. Do not share it with anyone."


def create_auth_challenge(
    event: CognitoEvent,
    *,
    settings: Settings,
    send_text: SendText,
    latency: LatencyMimic,
    limits: LimitStore,
    clock: Callable[[], float] = time.time,
    deadline: Deadline | None = None,
) -> None:
    """Issue a code for the first round of a session and reuse it in later rounds.

    The code is sent only in the first round; the response holds the masked
    destination (public), the salted hash and issue time (private and in the
    challenge metadata), and never the code. Every round is admitted by the
    limits first (lockout; and for the first round the per-number send limits
    and the stack's budget), for an unknown user under the name given, so the
    limits behave the same for both.

    Every AWS call answers by ``deadline`` (the handler's: the Lambda context's
    remaining time less a margin), or the challenge is refused with
    :class:`~sms_otp.core.errors.DeadlineExceededError`, before Cognito gives up.
    """
    try:
        _create(event, settings=settings, send_text=send_text, latency=latency, limits=limits, clock=clock, deadline=deadline)
    except DeadlineExceededError:
        count_refusal("deadline")
        raise


def _create(
    event: CognitoEvent,
    *,
    settings: Settings,
    send_text: SendText,
    latency: LatencyMimic,
    limits: LimitStore,
    clock: Callable[[], float],
    deadline: Deadline | None,
) -> None:
    if challenge_name_of(event) != CUSTOM_CHALLENGE:
        raise MalformedEventError("request.challengeName must be CUSTOM_CHALLENGE")
    session = session_of(event)
    username = string_field(event, "userName")
    unknown_user = user_not_found(event)
    if unknown_user:
        # Limits count per phone number; for an unknown user, per the name given (usually a phone number too), under
        # a key of its own: rounds for a number nobody has signed up with yet never lock out its future owner.
        subject = unknown_user_subject(username)
        phone_number = username if username.startswith("+") else None
        destination = stand_in_destination(username, string_field(event, "userPoolId"))
    else:
        phone_number = optional_phone_number_of(event)
        if phone_number is None:
            logger.error("The user has no phone number to send a code to")
            raise DeliveryError()
        subject = phone_number
        destination = mask_phone_number(phone_number)
    number_range = None
    if phone_number is not None:
        # The number must be one this deployment may send to, whether or not the user exists.
        number_range = number_prefix(validate_destination(phone_number, settings.allowed_country_codes))
    issued = _previous_code(session)
    started = time.perf_counter()
    # The send is recorded before the code is published, and given back if it certainly did not go out.
    # An unknown user meets the pumping guard and the budget as a real one would, but never counts in them.
    reservation = limits.admit(
        subject,
        new_round=True,
        send=issued is None,
        number_range=number_range,
        anonymous=unknown_user,
        deadline=deadline,
        phone_number=phone_number,
        verified=settings.trust_phone_number_verified and not unknown_user and phone_number_verified(event),
    )
    if issued is not None:
        logger.info("Reusing the code issued earlier in this session", extra={"round": len(session) + 1})
    else:
        code = generate_code(settings.otp_length)
        issued = IssuedCode.issue(code, issued_at=int(clock()))
        if unknown_user:
            # Nothing is sent: the code exists only so the response has the same shape. The wait makes up for
            # the writes and the send a real user's admission makes, measured from the same point.
            latency.imitate(deadline.remaining() if deadline is not None else None, elapsed_seconds=time.perf_counter() - started)
            count("UnknownUserChallenges")
        else:
            try:
                send_text(subject, sign_in_message(code, settings.otp_ttl_seconds))
            except (DeliveryError, DeadlineExceededError) as error:
                if not _may_have_been_sent(error):
                    # No code reached the person: their retry must not meet the interval, nor this round the lockout.
                    limits.release(reservation, deadline=deadline.with_grace() if deadline is not None else None)
                raise
            latency.record(time.perf_counter() - started)
            count("CodesSent")

    event["response"] = {
        "publicChallengeParameters": {PUBLIC_DELIVERY_MEDIUM: DELIVERY_MEDIUM, PUBLIC_DESTINATION: destination},
        "privateChallengeParameters": issued.to_private_parameters(),
        "challengeMetadata": issued.to_metadata(),
    }


# ---------------------------------------------------------------- Verify ---


def verify_auth_challenge(
    event: CognitoEvent,
    *,
    settings: Settings,
    clock: Callable[[], float] = time.time,
) -> None:
    """Set ``answerCorrect``: true only for the right, unexpired code of a real user.

    Never raises on a bad answer: a malformed or missing answer, missing private
    parameters or an expired code are all simply wrong.
    """
    correct = False
    if not user_not_found(event):
        issued = IssuedCode.from_private_parameters(private_challenge_parameters_of(event))
        if issued is not None:
            correct = verify_answer(
                issued,
                challenge_answer_of(event),
                length=settings.otp_length,
                now=clock(),
                ttl_seconds=settings.otp_ttl_seconds,
            )
    # Only wrong answers: the right ones are TokensIssued already (one metric less).
    if not correct:
        count("AnswersWrong")
    event["response"] = {"answerCorrect": correct}
