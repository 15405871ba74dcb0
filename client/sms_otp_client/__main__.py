"""Entry point: ``python -m sms_otp_client``."""

from __future__ import annotations

import sys

from sms_otp_client.cli import main

sys.exit(main())
