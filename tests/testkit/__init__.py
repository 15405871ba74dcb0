"""Test helpers shared by the test tiers and the benchmark, importable as plain modules.

- :mod:`testkit.lambda_context`: :class:`~testkit.lambda_context.FakeLambdaContext`, what a handler gets as its context.
- :mod:`testkit.cognito_encryption`: :func:`~testkit.cognito_encryption.cognito_ciphertext`, a Custom SMS
  Sender code encrypted exactly as Cognito encrypts one.
- :mod:`testkit.template`: template.yaml as data, and the resources tests build from it.

The pytest fixtures that wrap them live in the ``conftest.py`` files. ``tests/`` is the import root
(pytest puts it on the path for the root ``conftest.py``; the benchmark imports ``tests.testkit``).
"""
