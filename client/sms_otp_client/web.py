"""Serve the web example (``web/``) on 127.0.0.1, configured for a deployed stack.

The page reads its configuration from ``config.json`` beside it: the user pool,
the app client, the code's length and the interval between codes, and for the
emulator its endpoint. This server answers that file from memory (so two
sandboxes never share one) and serves the page and its bundle; nothing else in
``web/`` is reachable.

With a :class:`PhonePanel` it also answers ``texts.json``: every text the stack
sent since the server started (test mode), which the page shows beside itself
as a phone would. The server listens on 127.0.0.1 only and sends no CORS
header, so no page of another origin can read those texts.
"""

from __future__ import annotations

import contextlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from sms_otp_client.emulator import LOOPBACK
from sms_otp_client.inbox import InboxMessage, TestModeInbox
from sms_otp_client.sandbox import PROJECT_ROOT, SandboxDeployment, SandboxError
from sms_otp_client.stack import StackOutputs

WEB_DIR = PROJECT_ROOT / "web"
BUNDLE = Path("dist") / "main.js"
_SERVED_PATHS = ("/index.html", f"/{BUNDLE.as_posix()}", f"/{BUNDLE.as_posix()}.map")
TEXTS_PATH = "texts.json"


class WebExampleNotBuiltError(SandboxError):
    """The page's bundle is missing."""


def page_config(outputs: StackOutputs, endpoint_url: str | None = None) -> dict[str, str | int]:
    """The page's config.json: Amplify's ``Auth.Cognito`` settings for the stack (and the emulator's endpoint).

    With them, two of the stack's parameters: the code's length (the page refuses a
    code of another length before it spends an attempt) and the interval between
    codes (the page offers a new code only once it has passed).
    """
    config: dict[str, str | int] = {"userPoolId": outputs.user_pool_id, "userPoolClientId": outputs.user_pool_client_id}
    if outputs.otp_length is not None:
        config["otpLength"] = outputs.otp_length
    if outputs.min_seconds_between_messages is not None:
        config["minSecondsBetweenMessages"] = outputs.min_seconds_between_messages
    if endpoint_url:
        config["userPoolEndpoint"] = endpoint_url
    return config


class PhonePanel:
    """Every text a test-mode stack sends, followed on a thread into memory, for the page's phone panel."""

    def __init__(self, inbox: TestModeInbox) -> None:
        self._inbox = inbox
        self._texts: list[InboxMessage] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="phone-panel", daemon=True)

    @classmethod
    def follow(cls, deployment: SandboxDeployment) -> PhonePanel:
        """Subscribe a queue to the deployment's test topic (every recipient) and start following it."""
        if deployment.outputs.test_mode_topic_arn is None:
            raise SandboxError("The stack is not in test mode: there are no texts for a phone panel to show.")
        inbox = TestModeInbox.create(
            sqs=deployment.client("sqs"), sns=deployment.client("sns"), topic_arn=deployment.outputs.test_mode_topic_arn, recipient=None
        )
        panel = cls(inbox)
        panel._thread.start()
        return panel

    def texts(self) -> list[dict[str, str | float]]:
        """The texts received so far, oldest first."""
        with self._lock:
            return [message.as_dict() for message in self._texts]

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                received = self._inbox.receive(wait_seconds=1)
            except (ClientError, BotoCoreError):
                # The emulator is stopping, or it hiccuped: try again unless told to stop.
                self._stopping.wait(1)
                continue
            with self._lock:
                self._texts.extend(received)

    def stop(self) -> None:
        """Stop following and remove the queue (quietly: the emulator may be gone already)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with contextlib.suppress(ClientError, BotoCoreError):
            self._inbox.delete()


def _json_body(value: object) -> bytes:
    return json.dumps(value).encode()


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, config: bytes, phone: PhonePanel | None, **kwargs: Any) -> None:
        self._config = config
        self._phone = phone
        super().__init__(*args, directory=str(WEB_DIR), **kwargs)

    def _send_json(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/config.json":
            self._send_json(self._config)
        elif path == f"/{TEXTS_PATH}" and self._phone is not None:
            self._send_json(_json_body(self._phone.texts()))
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
        self._phone: PhonePanel | None = None

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

    def start(self, config: dict[str, str | int], phone: PhonePanel | None = None) -> None:
        """Serve the page, with ``config`` as its config.json; with ``phone``, its texts too (which the server then stops)."""
        self.check_built()
        self._phone = phone
        if phone is not None:
            config = {**config, "phoneTexts": TEXTS_PATH}
        handler = partial(_Handler, config=_json_body(config), phone=phone)
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="web-example", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket, and the phone panel (nothing to do if it never started)."""
        phone, self._phone = self._phone, None
        if phone is not None:
            phone.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
