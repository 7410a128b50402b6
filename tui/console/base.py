"""The console transport interface: bytes in, bytes out, and state changes.

A console is a byte pipe to a guest's serial line (a KubeVirt websocket, a libvirt stream,
a unix socket, a local pty). The UI knows only this interface: it hands `open()` two
callbacks, writes the bytes the user types, and shows the state changes with their reasons.
Implementations run their I/O on their own thread, so the callbacks arrive on that thread:
the UI must hop to its own loop (Textual: `App.call_from_thread`) before touching widgets.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


class ConsoleState(enum.Enum):
    """Where a console connection is in its life."""

    CONNECTING = "connecting"
    """Dialling: TCP/TLS/websocket handshake, or spawning the program."""
    WAITING = "waiting"
    """Reachable but not usable yet (e.g. the VMI is not Running); a retry is scheduled."""
    CONNECTED = "connected"
    """Bytes flow both ways."""
    DISCONNECTED = "disconnected"
    """The connection dropped (the reason says why); the transport may reconnect."""
    CLOSED = "closed"
    """`close()` was called, or the transport gave up for good: no more callbacks follow."""


@dataclass(frozen=True)
class StateChange:
    """One state transition, with the words to show the user."""

    state: ConsoleState
    reason: str = ""
    """Human words: "taken over by another viewer", "VM stopped", "network: ...",
    "waiting for the VM to run (retry in 3 s)"."""
    at: datetime = field(default_factory=lambda: datetime.now())
    retry_in: float | None = None
    """Seconds until the transport tries again by itself, when it will."""


class ConsoleTransport(abc.ABC):
    """A bidirectional byte stream to a guest console.

    Contract for implementations:
    - `open()` returns at once; the work happens on a thread the transport owns.
    - `on_data` gets raw bytes exactly as received (no decoding: UTF-8 sequences may be split
      across calls; the terminal emulator reassembles them).
    - `on_state` gets every transition, ending with `CLOSED` after `close()`.
    - `write()` never blocks the caller for long and never raises because the peer is gone.
    """

    name: str
    """Shown in the console header: "KubeVirt websocket", "pty", "libvirt stream", "unix socket"."""

    @abc.abstractmethod
    def open(
        self, on_data: Callable[[bytes], None], on_state: Callable[[StateChange], None]
    ) -> None:
        """Start in the background (own thread) and return at once; callbacks come from that thread."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Thread-safe; dropped with no error when not connected."""

    @abc.abstractmethod
    def close(self) -> None:
        """Idempotent; ends the background thread promptly."""
