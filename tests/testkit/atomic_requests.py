"""A DynamoDB client whose requests are each atomic, as DynamoDB's are, for tests that race threads."""

from __future__ import annotations

import threading
from typing import Any


class AtomicRequests:
    """Makes each request atomic, as DynamoDB does; moto's backend is not thread-safe on its own.

    Threads still interleave between requests (between a read and the conditional
    write that follows it), which is the race the limits and the guard must survive.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call
