"""Fuzz: every trigger handler driven by malformed and hostile events.

Each test starts from the sample events in ``events/`` (the files ``sam local
invoke -e`` uses) and mutates them: keys deleted at any depth; values replaced
by hostile ones (None, numbers, booleans, lists, objects, strings of up to
100,000 characters, digits of other scripts, NUL and control characters,
"true"/"false" where booleans belong); sessions padded with entries of other
challenge types; odd ``userNotFound`` flags; null, forged or tampered codes;
hostile answers. Some events are made up whole, and some are not objects at all.

Every handler runs as Lambda runs it (moto behind the ones that call AWS, test
mode on, the logger at DEBUG), and for every example:

1. only the package's own errors (:class:`~sms_otp.core.errors.SmsOtpError`) escape;
2. Define issues tokens only after a real user's right answer to a session that
   is all ours, and Verify answers correct only for the right, fresh code of a
   real user (the fuzzer never knows the code: it is drawn when the test starts);
3. nothing is sent for a broken event (Create, Custom SMS Sender), and nothing
   ever straight to a phone in test mode;
4. no code, code hash or salt, temporary password or full phone number is logged.

The modules: :mod:`.mutations` (how an event is spoiled, and the values only the
test knows), :mod:`.strategies` (what Hypothesis draws), :mod:`.oracles` (the rules
each response is judged by, stated in their own words rather than copied from the
code under test), and one test module per trigger.

The seed is fixed (``derandomize``) and the budgets small, so CI is reproducible and fast.
``pytest --hypothesis-show-statistics`` shows how the examples ended (returned,
refused, failed), to check that the fuzzer still reaches every path.
"""
