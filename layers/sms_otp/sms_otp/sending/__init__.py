"""Sending texts: by SNS, and the Custom SMS Sender that words Cognito's own codes.

- ``delivery``: send a text by SNS, to a phone or (test mode) to the test topic.
- ``custom_sms``: decrypting and wording Cognito's own codes (Custom SMS Sender).
- ``exactly_once``: one text per Custom SMS Sender event, across Lambda's retries.

Stands on :mod:`sms_otp.core` and :mod:`sms_otp.limits`; never imports :mod:`sms_otp.sign_in`.
"""
