"""Shared package of the passwordless SMS sign-in triggers (shipped as a Lambda layer).

Modules, one concern each:

- ``settings``: the frozen settings object read once from the environment, and the table of its defaults and ranges.
- ``errors``: user-facing errors and the internal ones.
- ``events``: reading Cognito's trigger events; the only code that knows their shape.
- ``time_budget``: the timeouts and retries of every AWS client, against Cognito's 5-second wait.
- ``aws_failures``: which failed AWS calls a retry may mend, and which may still have done their work.
- ``codes``: one-time codes: draw, hash with salt, verify in constant time, expiry.
- ``phone_numbers``: parse, validate and mask phone numbers.
- ``limits``: send limits per number, lockout and the stack's budget, in DynamoDB.
- ``pumping``: the pumping guard's rule per number range: its window, its cap and its cool-off.
- ``delivery``: send a text by SNS, to a phone or (test mode) to the test topic.
- ``sign_up``: the Pre sign-up decision.
- ``custom_auth``: the Define / Create / Verify Auth Challenge logic.
- ``phone_verification``: Post Authentication: the lockout reset, and marking the phone verified after a sign-in by code.
- ``custom_sms``: decrypting and wording Cognito's own codes (Custom SMS Sender).
- ``observability``: Powertools logger, metrics and the trigger wrapper.

Attaching the triggers to a user pool the stack does not own (the custom resource):

- ``user_pool_settings``: which settings ``UpdateUserPool`` takes, and a request that keeps them all.
- ``trigger_attachment``: merging the pool's ``LambdaConfig`` with the stack's triggers, and giving it back.
- ``existing_user_pool``: the custom resource's steps against Cognito and the record of the original.
- ``cfn_custom_resource``: crhelper, answering a local emulator's plain-HTTP response URL too.

Modules that need an AWS SDK import it themselves, so a trigger that does not
use one (Define, Verify, Pre sign-up) never loads it.
"""

__version__ = "0.1.0"
