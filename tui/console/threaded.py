"""What the network consoles share: a worker thread, state reports, the output log, backoff.

`ThreadedConsole` is the part of `KubevirtConsole`, `LibvirtStreamConsole` and
`UnixSocketConsole` that is the same for all three: `open()` starts one daemon thread
(`_thread_main`), `_emit()` reports a state change (at most one `CLOSED`), `_deliver()` counts
the guest's output, appends it to the `log=PATH` recording and hands it on, `join()` waits for
the thread. `AsyncioConsole` adds the asyncio loop that thread runs (`_main()` as its one
task), `close()` by cancelling that task, and `reconnect()` / `_sleep()` through an
`asyncio.Event` "kick".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from tui.console.base import ConsoleState, ConsoleTransport, StateChange

log = logging.getLogger(__name__)


class ConsoleLog:
    """The optional recording of the guest's output (`cat` replays it)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self.fd: int | None = None
        if self.path is not None:
            # Opened now so a bad path fails where the caller can report it. 0600: a
            # console transcript can hold anything the guest printed.
            self.fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
            )

    def write(self, data: bytes) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, data)
        except OSError:
            log.exception("cannot write the console log %s; logging stops", self.path)
            self.close()

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class ThreadedConsole(ConsoleTransport):
    """A console whose I/O runs on one daemon thread of its own (see the module docstring).

    Subclasses provide `_thread_main()` (ending with `_finish()`), `_thread_name()`,
    `write()`, `close()` and `reconnect()`.
    """

    def __init__(
        self,
        log: str | os.PathLike[str] | None,
        *,
        retry_interval: float,
        backoff: tuple[float, float],
    ) -> None:
        self.retry_interval = retry_interval
        self.backoff = backoff
        self._log = ConsoleLog(log)
        self._on_data: Callable[[bytes], None] | None = None
        self._on_state: Callable[[StateChange], None] | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._lock = threading.Lock()
        self._closed_reported = False
        self._report_lock = threading.Lock()
        self.state = ConsoleState.CONNECTING
        self.last_change: StateChange | None = None
        self.bytes_received = 0
        self.connections = 0
        """How many sessions were established (tests, diagnostics)."""

    @property
    def log_path(self) -> Path | None:
        """Where the guest's output is recorded (None: nowhere)."""
        return self._log.path

    def _thread_name(self) -> str:
        raise NotImplementedError

    def _thread_main(self) -> None:
        raise NotImplementedError

    def open(
        self, on_data: Callable[[bytes], None], on_state: Callable[[StateChange], None]
    ) -> None:
        """Start connecting on a daemon thread; returns at once."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"{type(self).__name__}.open() called twice")
            self._on_data, self._on_state = on_data, on_state
            self._thread = threading.Thread(
                target=self._thread_main, name=self._thread_name(), daemon=True
            )
            self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end after `close()`; True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _close_unopened(self) -> None:
        """`close()` before `open()`: nothing runs; let go of the log and say CLOSED."""
        self._log.close()
        self._emit(ConsoleState.CLOSED, "closed")

    def _finish(self) -> None:
        """The last thing the thread does."""
        self._log.close()
        self._emit(ConsoleState.CLOSED, "closed")

    def _next_delay(self, delay: float, kicked: bool) -> float:
        """The backoff after a wait: the first delay again after reconnect(), else doubled."""
        return self.backoff[0] if kicked else min(delay * 2, self.backoff[1])

    def _emit(self, state: ConsoleState, reason: str = "", retry_in: float | None = None) -> None:
        with self._report_lock:
            if self._closed_reported:
                return
            if state is ConsoleState.CLOSED:
                self._closed_reported = True
            change = StateChange(state, reason, retry_in=retry_in)
            self.state = state
            self.last_change = change
        callback = self._on_state
        if callback is None:
            return
        try:
            callback(change)
        except Exception:  # noqa: BLE001 - a UI bug must not kill the connection
            log.exception("console on_state callback failed")

    def _deliver(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self._log.write(data)
        callback = self._on_data
        if callback is None:
            return
        try:
            callback(data)
        except Exception:  # noqa: BLE001
            log.exception("console on_data callback failed")


class AsyncioConsole(ThreadedConsole):
    """A `ThreadedConsole` whose thread runs an asyncio loop with `_main()` as its task."""

    def __init__(
        self,
        log: str | os.PathLike[str] | None,
        *,
        retry_interval: float,
        backoff: tuple[float, float],
    ) -> None:
        super().__init__(log, retry_interval=retry_interval, backoff=backoff)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._kick: asyncio.Event | None = None

    async def _main(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop for good (idempotent, returns at once; CLOSED is reported when done)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            thread = self._thread
        if thread is None:
            self._close_unopened()
            return
        loop, task = self._loop, self._main_task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)

    def reconnect(self) -> None:
        """Connect again now (resets the waiting and the backoff). No-op once closed."""
        loop, kick = self._loop, self._kick
        if self._closing or loop is None or kick is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(kick.set)

    def _call_in_loop(self, callback: Callable[[bytes], None], data: bytes) -> None:
        """`write()`'s hop to the loop: `callback(data)` there, when connected."""
        loop = self._loop
        if not data or loop is None or self.state is not ConsoleState.CONNECTED:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, bytes(data))

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            self._kick = asyncio.Event()
            self._main_task = loop.create_task(self._main())
            self._loop = loop
            if self._closing:  # close() ran before the loop existed
                self._main_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._main_task)
        except Exception:  # noqa: BLE001 - a bug here must still end in CLOSED
            log.exception("%s thread failed", self._thread_name())
        finally:
            self._loop = None
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
            self._finish()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, or return early (True) when the user asked to reconnect."""
        assert self._kick is not None
        if seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._kick.wait(), seconds)
        kicked = self._kick.is_set()
        self._kick.clear()
        return kicked

    async def _retry_after(self, reason: str, delay: float) -> tuple[float, bool]:
        """Report DISCONNECTED, sleep `delay` or until reconnect(): (next delay, kicked)."""
        self._emit(ConsoleState.DISCONNECTED, reason, retry_in=delay)
        kicked = await self._sleep(delay)
        return self._next_delay(delay, kicked), kicked

    async def _wait_for_kick(self) -> None:
        """Until reconnect() (or close(), which cancels us)."""
        assert self._kick is not None
        await self._kick.wait()
        self._kick.clear()
