"""How an example is built: a sample event and its mutations, and the values only the test knows.

The fuzzer never sees the code issued when a test starts, nor the real
ciphertexts: it writes placeholders (:class:`RightAnswer`, :class:`FreshMetadata`,
:class:`IssuedAgo`, :class:`Ciphertext`) that :class:`Hidden` resolves when the
example is built.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sms_otp.sign_in.codes import IssuedCode
from tests.testkit.events import Event, EventLoader

Path = tuple[str | int, ...]
Resolve = Callable[[object], object]


# ---------------------------------------------------------------- digits of every script ---


def digits_from(zero: int) -> str:
    """The ten digits of a script whose digits follow each other from the code point ``zero``."""
    return "".join(chr(zero + value) for value in range(10))


def fullwidth(text: str) -> str:
    """``text`` in fullwidth forms (ASCII letters, digits and signs look alike but are other characters)."""
    return "".join(chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character for character in text)


# Digits that str.isdigit() accepts and that are not ASCII: a code written in them is not the code.
DIGIT_SCRIPTS = {
    "ascii": digits_from(0x30),
    "arabic-indic": digits_from(0x0660),
    "extended-arabic-indic": digits_from(0x06F0),
    "nko": digits_from(0x07C0),
    "devanagari": digits_from(0x0966),
    "fullwidth": digits_from(0xFF10),
    "mathematical-bold": digits_from(0x1D7CE),
    "superscript": "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079",
}


# ---------------------------------------------------------------- tampering with a ciphertext ---


def b64(message: bytes) -> str:
    return base64.b64encode(message).decode("ascii")


def flip_bit(message: bytes, position: int) -> bytes:
    flipped = bytearray(message)
    flipped[position % len(message)] ^= 1 << (position % 8)
    return bytes(flipped)


def change_unused_bits(encoded: str) -> str:
    """Change the unused low bits of the last character before the padding: the same bytes, so still genuine."""
    data = encoded.rstrip("=")
    if data == encoded:
        return encoded
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return data[:-1] + alphabet[alphabet.index(data[-1]) ^ 1] + encoded[len(data) :]


TAMPERINGS: dict[str, Callable[[bytes, int], str]] = {
    "none": lambda message, _position: b64(message),
    "flip": lambda message, position: b64(flip_bit(message, position)),
    "truncate": lambda message, position: b64(message[: position % len(message)]),
    "append": lambda message, position: b64(message + bytes([position % 256])),
    "urlsafe": lambda message, _position: base64.urlsafe_b64encode(message).decode("ascii"),
    "unpadded": lambda message, _position: b64(message).rstrip("="),
    "whitespace": lambda message, position: b64(message)[: position % 64] + "\n" + b64(message)[position % 64 :],
    "trailing-bits": lambda message, _position: change_unused_bits(b64(message)),
    "doubled": lambda message, _position: b64(message) * 2,
    "oversized": lambda message, _position: b64(message) + "A" * 8192,
}
# Ciphertext sources: what was encrypted, under which key, for which pool (built by the sender_handler fixture).
CIPHERTEXT_SOURCES = ("code", "password", "other-pool", "other-key", "not-text")


# ---------------------------------------------------------------- placeholders ---


@dataclass(frozen=True)
class RightAnswer:
    """The right code of the Verify event, written in some script's digits and padded."""

    script: str
    padding: str

    def concrete(self, hidden: Hidden) -> str:
        digits = str.maketrans(DIGIT_SCRIPTS["ascii"], DIGIT_SCRIPTS[self.script])
        return self.padding + hidden.code.translate(digits) + self.padding


@dataclass(frozen=True)
class FreshMetadata:
    """The challenge metadata of the code issued when the test started (an earlier round of this session)."""

    def concrete(self, hidden: Hidden) -> str:
        return hidden.issued.to_metadata()


@dataclass(frozen=True)
class IssuedAgo:
    """An ``issuedAt`` this many seconds before now."""

    seconds: int

    def concrete(self, hidden: Hidden) -> str:
        return str(int(time.time()) - self.seconds)


@dataclass(frozen=True)
class Ciphertext:
    """A ciphertext made as Cognito makes it (``source`` names which), then maybe tampered with."""

    source: str
    tamper: str
    position: int

    def concrete(self, hidden: Hidden) -> str:
        return TAMPERINGS[self.tamper](hidden.ciphertexts[self.source], self.position)


Placeholder = RightAnswer | FreshMetadata | IssuedAgo | Ciphertext


@dataclass
class Hidden:
    """What the test knows and the fuzzer never sees: a code issued when the test started, and real ciphertexts."""

    code: str
    issued: IssuedCode
    ciphertexts: dict[str, bytes] = field(default_factory=dict)
    # Genuine ciphertexts (as bytes): the pool each was made for and its plaintext.
    genuine: dict[bytes, tuple[str, str]] = field(default_factory=dict)

    def resolve(self, value: object) -> object:
        """``value`` with every placeholder replaced by the concrete value, as a fresh copy."""
        if isinstance(value, Placeholder):
            return value.concrete(self)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


# ---------------------------------------------------------------- mutations ---

_MISSING = object()


def _paths(node: object, prefix: Path = ()) -> Iterator[Path]:
    """Every key and index under ``node``, depth first, in a stable order."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _step(node: Any, step: str | int) -> Any:
    """The child ``step`` of ``node`` (an index counts modulo the list's length), or ``_MISSING``."""
    if isinstance(node, dict) and isinstance(step, str):
        return node.get(step, _MISSING)
    if isinstance(node, list) and isinstance(step, int) and node:
        return node[step % len(node)]
    return _MISSING


def _container(event: object, path: Path) -> tuple[Any, str | int] | None:
    """The container that holds ``path``'s last step, and that step (an index made positive), if it exists."""
    node: Any = event
    for step in path[:-1]:
        node = _step(node, step)
        if node is _MISSING:
            return None
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        return node, last
    if isinstance(node, list) and isinstance(last, int) and node:
        return node, last % len(node)
    return None


@dataclass(frozen=True)
class Delete:
    """Delete one key or list item, anywhere in the event (``selector`` picks it among all of them)."""

    selector: int

    def apply(self, event: object, resolve: Resolve) -> None:
        paths = list(_paths(event))
        if paths and (found := _container(event, paths[self.selector % len(paths)])):
            container, key = found
            del container[key]


@dataclass(frozen=True)
class Replace:
    """Replace one value, anywhere in the event, by ``value``."""

    selector: int
    value: object

    def apply(self, event: object, resolve: Resolve) -> None:
        paths = list(_paths(event))
        if paths and (found := _container(event, paths[self.selector % len(paths)])):
            container, key = found
            container[key] = resolve(self.value)


@dataclass(frozen=True)
class Assign:
    """Set the value at ``path`` (a key is added to an existing object; nothing happens if the parent is gone)."""

    path: Path
    value: object

    def apply(self, event: object, resolve: Resolve) -> None:
        if found := _container(event, self.path):
            container, key = found
            container[key] = resolve(self.value)


@dataclass(frozen=True)
class InsertEntries:
    """Insert entries into ``request.session`` at ``position``, when the session is a list."""

    position: int
    entries: tuple[object, ...]

    def apply(self, event: object, resolve: Resolve) -> None:
        session = _step(_step(event, "request"), "session")
        if isinstance(session, list):
            for entry in self.entries:
                session.insert(self.position % (len(session) + 1), resolve(entry))


Mutation = Delete | Replace | Assign | InsertEntries


@dataclass(frozen=True)
class Plan:
    """How to build one example: a sample event and its mutations, or a whole made-up event."""

    base: str | None
    mutations: tuple[Mutation, ...] = ()
    whole: object = None

    def build(self, load_event: EventLoader, hidden: Hidden, prepare: Callable[[Event, Hidden], None]) -> object:
        if self.base is None:
            return hidden.resolve(self.whole)
        event = load_event(self.base)
        prepare(event, hidden)
        for mutation in self.mutations:
            mutation.apply(event, hidden.resolve)
        return event


def no_preparation(event: Event, hidden: Hidden) -> None:
    """The sample event as it is."""


def refresh_session_metadata(event: Event, hidden: Hidden) -> None:
    """The samples' earlier rounds carry the hidden code's metadata, issued just now."""
    for entry in event["request"].get("session", []):
        if isinstance(entry.get("challengeMetadata"), str):
            entry["challengeMetadata"] = hidden.issued.to_metadata()
