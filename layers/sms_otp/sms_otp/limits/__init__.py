"""Abuse limits: send limits per phone number, lockout across sessions, and a budget for the stack.

State lives in one DynamoDB table, and no item of it is written by every send:

- Each phone number (for an unknown user, the name given at sign-in; for the
  Custom SMS Sender, the number and the trigger source) has one item holding the
  times of its recent messages, its count of sign-in rounds since the last
  successful sign-in, and the end of its lockout. A change is a conditional
  write on the item's version, so concurrent invocations can never exceed a
  limit: the loser of a race reads again and re-decides.
- The stack's hourly budget is split over :data:`BUDGET_SHARDS` counters, whose
  caps add up to the budget. A send adds one to a shard with room (the number's
  own first, by its hash) with a conditional update capped at that shard's
  share, so the budget holds exactly, and sends to different numbers rarely
  touch the same counter and never wait on each other: concurrent updates of one
  item are applied one after another, never refused as a transaction would be.
- The pumping guard counts sign-in codes per number range (:mod:`sms_otp.limits.pumping`).

Counting rounds rather than wrong answers: Verify, which sees the answer,
carries no AWS SDK (it must start fast), so each challenge round counts as a
failed attempt when it is issued, and a successful sign-in (Post
Authentication) resets the count. An unanswered round therefore counts as a
wrong answer, which errs on the side of the account owner.

If the table cannot be reached, nothing is sent (fail closed).

A message is reserved before it is sent, and the reservation is given back
(:meth:`~sms_otp.limits.protocol.LimitStore.release`) when the message certainly did not go out.
Counting a message only once it was accepted would let concurrent invocations
all pass the check before any of them is counted, so a cap would hold only on
average; a reservation is a cap that concurrent sends can never exceed. Its
price: while a send that will fail is in flight, its reservation may refuse
another.

The package, one job a module, each importing only those above it in this list:

- ``errors``: the refusals and the sentences a person reads.
- ``record``: what the table holds for one number, and what one admission took.
- ``policy``: the pure rules (per-number limits, lockout, what a release gives back, the guessing bound).
- ``keys``: the key scheme and the budget's sharding.
- ``pumping``: the pumping guard's rule per number range.
- ``table``: the DynamoDB primitives (reads, conditional writes, capped counters).
- ``range_guard``: the pumping guard against the table.
- ``admission``: one message's admission: one read, then every write side by side, and what is given back when some fail.
- ``sign_in_reset``: after a sign-in, the reset, the known record and the range's completion, in two round trips.
- ``store``: :class:`~sms_otp.limits.store.DynamoDbLimitStore`, which admits, releases and resets.
- ``protocol``: :class:`~sms_otp.limits.protocol.LimitStore`, what the triggers (and the tests' fakes) rely on.

Nothing is imported here, so importing one module loads only what it needs.
"""
