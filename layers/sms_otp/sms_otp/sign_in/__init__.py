"""Sign-in by code: the custom authentication flow and the triggers around it.

- ``codes``: one-time codes: draw, hash with salt, verify in constant time, expiry.
- ``custom_auth``: the Define / Create / Verify Auth Challenge logic.
- ``code_destinations``: which number each sign-in code went to, for Post Authentication.
- ``phone_verification``: Post Authentication: the lockout reset, and marking the phone verified after a sign-in by code.
- ``sign_up``: the Pre sign-up decision.

Stands on :mod:`sms_otp.core` and :mod:`sms_otp.limits`; never imports :mod:`sms_otp.sending`
(the Create handler hands it the send function).
"""
