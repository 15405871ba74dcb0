"""Shared package of the passwordless SMS sign-in triggers (shipped as a Lambda layer).

Modules, one concern each:

- ``settings``: the frozen settings object read once from the environment.
- ``errors``: user-facing errors and the internal ones.
- ``codes``: one-time codes: draw, hash with salt, verify in constant time, expiry.
- ``phone_numbers``: parse, validate and mask phone numbers.
- ``delivery``: send a text by SNS, to a phone or (test mode) to the test topic.
- ``custom_auth``: the Define / Create / Verify Auth Challenge logic.
- ``custom_sms``: decrypting and wording Cognito's own codes (Custom SMS Sender).
- ``phone_verification``: marking the phone verified after a sign-in by code.
- ``observability``: Powertools logger, metrics and the trigger wrapper.

Modules that need an AWS SDK import it themselves, so a trigger that does not
use one (Define, Verify, Pre sign-up) never loads it.
"""

__version__ = "0.1.0"
