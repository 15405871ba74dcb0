"""Shared package of the passwordless SMS sign-in triggers (shipped as a Lambda layer).

Subpackages, by job; each imports only those below it:

- :mod:`sms_otp.sign_in` and :mod:`sms_otp.sending`: the triggers' logic (never each other).
- :mod:`sms_otp.existing_pool`: attaching the triggers to a pool the stack does not own.
- :mod:`sms_otp.limits`: send limits, lockout, the pumping guard and the stack's budget.
- :mod:`sms_otp.core`: events, settings, errors, observability, deadlines, AWS failures, phone numbers.

Modules that need an AWS SDK import it themselves, so a trigger that does not
use one (Define, Verify, Pre sign-up) never loads it.
"""

__version__ = "0.1.0"
