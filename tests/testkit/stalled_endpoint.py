"""An HTTP endpoint on 127.0.0.1 that accepts connections, reads the requests and never answers."""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType


class StalledEndpoint:
    """``with StalledEndpoint() as endpoint:`` serves ``endpoint.url`` until the block ends, answering nothing.

    ``requests_started`` counts the connections that sent at least one byte.
    Leaving the block closes every connection, so a client still waiting fails at once.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.0)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="stalled-endpoint", daemon=True)
        self._request_seen = threading.Condition()
        self._started: set[int] = set()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def requests_started(self) -> int:
        with self._request_seen:
            return len(self._started)

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` connections have sent something; return whether they did within ``timeout`` seconds."""
        with self._request_seen:
            return self._request_seen.wait_for(lambda: len(self._started) >= count, timeout)

    def __enter__(self) -> StalledEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and close every connection (a client still waiting fails at once); safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join()
        for connection in self._connections:
            connection.close()
        self._selector.close()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            for key, _events in self._selector.select(timeout=0.05):
                if key.fileobj is self._listener:
                    connection, _address = self._listener.accept()
                    connection.settimeout(0.0)
                    self._connections.append(connection)
                    self._selector.register(connection, selectors.EVENT_READ)
                else:
                    connection = key.fileobj  # type: ignore[assignment]
                    if connection.recv(65536):
                        with self._request_seen:
                            self._started.add(connection.fileno())
                            self._request_seen.notify_all()
                    else:
                        self._selector.unregister(connection)
