"""A console transport that runs a local program in a pseudo-terminal.

Used by the fidelity tests (real `vi`, `less`, `top` drawn by the widget) and usable for a
local shell or a simulated guest. Unlike a serial line, a pty can be told its size
(`resize()` → TIOCSWINSZ → SIGWINCH to the program), so full-screen programs redraw at once.

One I/O thread owns the master side: it reads output (→ `on_data`), writes queued input when
the pty can take it (so a big paste to a program that isn't reading never blocks the
caller), and notices the program's exit (EIO on the master once every slave fd is closed).
A self-pipe wakes it for new input and for `close()`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
from collections.abc import Callable, Mapping, Sequence

from tui.console.base import ConsoleState, ConsoleTransport, StateChange

_READ_SIZE = 65536


def _set_controlling_tty() -> None:
    """In the child, after setsid(): make the pty (its stdin) the controlling terminal, so
    Ctrl+C reaches the foreground job and programs can open /dev/tty (less, vi do)."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _exit_reason(status: int) -> str:
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"program killed by {name}"
    return f"program exited with status {status}"


class PtyTransport(ConsoleTransport):
    """Run `argv` in a new pseudo-terminal of `rows`×`cols`.

    Args:
        argv: the program and its arguments.
        env: its environment (default: ours); TERM defaults to xterm-256color, which the
            emulator speaks.
        cwd: its working directory.
        rows, cols: initial terminal size.
    """

    name = "pty"

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        rows: int = 24,
        cols: int = 80,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("TERM", "xterm-256color")
        self.cwd = cwd
        self.rows = rows
        self.cols = cols
        self.process: subprocess.Popen[bytes] | None = None
        self.state = ConsoleState.CLOSED
        self._master: int | None = None
        self._wake_r, self._wake_w = -1, -1
        self._out = bytearray()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._closed = False
        self._on_data: Callable[[bytes], None] = lambda data: None
        self._on_state: Callable[[StateChange], None] = lambda change: None

    # --- ConsoleTransport ---------------------------------------------------------------

    def open(
        self, on_data: Callable[[bytes], None], on_state: Callable[[StateChange], None]
    ) -> None:
        """Start the program and the I/O thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError("PtyTransport.open() called twice")
        self._on_data = on_data
        self._on_state = on_state
        self._thread = threading.Thread(target=self._run, name=f"pty {self.argv[0]}", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        """Queue `data` for the program; dropped when it isn't running."""
        if not data:
            return
        with self._lock:
            if self.state is not ConsoleState.CONNECTED:
                return
            self._out += data
        self._wake()

    def close(self) -> None:
        """Hang up the program (SIGHUP, then SIGKILL if it lingers) and end the thread."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        if thread is None:
            self._set_state(ConsoleState.CLOSED, "closed")

    # --- size ---------------------------------------------------------------------------

    def resize(self, rows: int, cols: int) -> None:
        """Tell the pty (and so the program, by SIGWINCH) its new size."""
        self.rows, self.cols = rows, cols
        master = self._master
        if master is not None:
            try:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            except OSError:
                pass  # the program is gone: nothing to tell

    # --- the I/O thread -----------------------------------------------------------------

    def _set_state(self, state: ConsoleState, reason: str = "") -> None:
        with self._lock:
            if self._closed:
                return
            self.state = state
            if state is ConsoleState.CLOSED:
                self._closed = True
        try:
            self._on_state(StateChange(state, reason))
        except Exception:
            pass  # a failing viewer must not kill the I/O thread before it cleans up

    def _wake(self) -> None:
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    def _spawn(self) -> int:
        master, slave = os.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
            self.process = subprocess.Popen(
                self.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_set_controlling_tty,
                close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            # Our copy of the slave must go, or reading the master never reports EIO when
            # the program exits.
            os.close(slave)
        os.set_blocking(master, False)
        return master

    def _run(self) -> None:
        self._set_state(ConsoleState.CONNECTING, f"starting {self.argv[0]}")
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        try:
            try:
                master = self._master = self._spawn()
            except OSError as error:
                self._set_state(ConsoleState.DISCONNECTED, f"cannot start {self.argv[0]}: {error}")
                return
            self._set_state(ConsoleState.CONNECTED)
            self._pump(master)
            if not self._closing.is_set():  # the program ended by itself
                self._set_state(ConsoleState.DISCONNECTED, _exit_reason(self._reap()))
        finally:
            self._cleanup()
            self._set_state(ConsoleState.CLOSED, "closed")

    def _pump(self, master: int) -> None:
        """Move bytes until the program's side closes or close() is called."""
        while not self._closing.is_set():
            with self._lock:
                pending = bool(self._out)
            readable, writable, _ = select.select(
                [master, self._wake_r], [master] if pending else [], [], 1.0
            )
            if self._wake_r in readable:
                try:
                    os.read(self._wake_r, 4096)
                except BlockingIOError:
                    pass
            if master in writable:
                with self._lock:
                    chunk = bytes(self._out[:_READ_SIZE])
                try:
                    written = os.write(master, chunk)
                except BlockingIOError:
                    written = 0
                except OSError:
                    return
                with self._lock:
                    del self._out[:written]
            if master in readable:
                try:
                    data = os.read(master, _READ_SIZE)
                except BlockingIOError:
                    continue
                except OSError as error:
                    if error.errno == errno.EIO:  # every slave fd closed: the program ended
                        return
                    raise
                if not data:
                    return
                try:
                    self._on_data(data)
                except Exception:
                    # The viewer is gone (e.g. the app closed under us): stop feeding it.
                    self._closing.set()
                    return

    def _reap(self) -> int:
        process = self.process
        if process is None:
            return 0
        try:
            return process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # Output ended but the program lives on (it closed its tty): hang it up.
            process.kill()
            return process.wait()

    def _cleanup(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            # Closing the master hangs up the session (SIGHUP); make sure it ends.
            try:
                os.killpg(process.pid, signal.SIGHUP)
            except OSError:
                pass
            try:
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
                process.wait()
        for fd in (self._master, self._wake_r, self._wake_w):
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = None
        self._wake_r = self._wake_w = -1
