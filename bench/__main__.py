"""``make bench``: ``python -m bench [--quick] [--no-e2e] [--sections ...]``.

The Makefile puts ``layers/sms_otp`` (the layer's source), ``src`` (the sandbox
client) and the repository root (this package) on PYTHONPATH.
"""

from bench.main import main

raise SystemExit(main())
