"""Serve the web example (``web/``) on 127.0.0.1, configured for a deployed stack.

The page reads its configuration from ``config.json`` beside it: the user pool,
the app client, and for the emulator its endpoint. This server answers that
file from memory (so two sandboxes never share one) and serves the page and its
bundle; nothing else in ``web/`` is reachable.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sms_otp_client.emulator import LOOPBACK
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxError
from sms_otp_client.stack import StackOutputs

WEB_DIR = PROJECT_ROOT / "web"
BUNDLE = Path("dist") / "main.js"
_SERVED_PATHS = ("/index.html", f"/{BUNDLE.as_posix()}", f"/{BUNDLE.as_posix()}.map")


class WebExampleNotBuiltError(SandboxError):
    """The page's bundle is missing."""


def page_config(outputs: StackOutputs, endpoint_url: str | None = None) -> dict[str, str]:
    """The page's config.json: Amplify's ``Auth.Cognito`` settings for the stack (and the emulator's endpoint)."""
    config = {"userPoolId": outputs.user_pool_id, "userPoolClientId": outputs.user_pool_client_id}
    if endpoint_url:
        config["userPoolEndpoint"] = endpoint_url
    return config


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, config: bytes, **kwargs: Any) -> None:
        self._config = config
        super().__init__(*args, directory=str(WEB_DIR), **kwargs)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self._config)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(self._config)
        elif path == "/" or path in _SERVED_PATHS:
            super().do_GET()
        else:
            self.send_error(404)

    def do_HEAD(self) -> None:
        self.send_error(405)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the sandbox prints its own progress."""


class WebExampleServer:
    """An HTTP server for the page on a free loopback port, in a background thread."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address while the server runs."""
        if self._server is None:
            raise RuntimeError("the web example's server is not running")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}/"

    @staticmethod
    def check_built() -> None:
        """Raise :class:`WebExampleNotBuiltError` unless the page's bundle exists."""
        if not (WEB_DIR / BUNDLE).is_file():
            raise WebExampleNotBuiltError(f"The web example is not built ({WEB_DIR / BUNDLE} is missing): run `make web`")

    def start(self, config: dict[str, str]) -> None:
        """Serve the page, with ``config`` as its config.json."""
        self.check_built()
        handler = partial(_Handler, config=json.dumps(config).encode())
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="web-example", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (nothing to do if it never started)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
