"""The shared ground every other subpackage stands on, importing none of them.

- ``errors``: user-facing errors and the internal ones.
- ``events``: reading Cognito's trigger events; the only code that knows their shape.
- ``settings``: the frozen settings object read once from the environment, and the table of its defaults and ranges.
- ``observability``: Powertools logger, metrics and the trigger wrapper.
- ``time_budget``: deadlines, and the timeouts and retries of every AWS client, against Cognito's 5-second wait.
- ``aws_failures``: which failed AWS calls a retry may mend, and which may still have done their work.
- ``phone_numbers``: parse, validate and mask phone numbers.
"""
