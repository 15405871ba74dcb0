"""Test helpers shared by the test tiers and the benchmark, importable as plain modules.

- ``tests.testkit.lambda_context``: ``FakeLambdaContext``, what a handler gets as its context.
- ``tests.testkit.cognito_encryption``: ``cognito_ciphertext``, a Custom SMS Sender code encrypted
  exactly as Cognito encrypts one, with a moto key or an emulator's.
- ``tests.testkit.template``: template.yaml as data, and the limits table built from it.
- ``tests.testkit.stalled_endpoint``: ``StalledEndpoint``, a loopback HTTP endpoint that never answers.
- ``tests.testkit.metrics``: ``metric_dimensions``, the metrics a function wrote, with their dimensions.
- ``tests.testkit.docs``: README.md and the pages of docs/, which the tests hold to the code.

They are imported from the repository's root (``python -m pytest``, ``python -m bench``); the pytest
fixtures that wrap them live in the ``conftest.py`` files.
"""
