"""Serial consoles on a libvirt host: a libvirt console stream, or the guest's unix socket.

Two `ConsoleTransport`s for the node view (and the demo's real guests), reporting states the
way `KubevirtConsole` does (CONNECTING → CONNECTED → DISCONNECTED with a reason → ... →
CLOSED after `close()`), and using the same `TAKEN_OVER` / `VM_STOPPED` words so the console
screen reacts to them alike.

Constructors (the node view wires them):

    LibvirtStreamConsole(uri, domain, *, connection=None, device=None, force=False,
                         log=None, retry_interval=1.0, backoff=(1.0, 30.0),
                         takeover_check=1.5)
        `uri`: a libvirt URI (opened and closed by the transport), or None when
        `connection` (an open `libvirt.virConnect`, left open) is given.
        `domain`: the domain's name or UUID string. `device`: the console alias (None: the
        first console). `force`: take the console over from whoever holds it.

    UnixSocketConsole(path, *, log=None, retry_interval=1.0, backoff=(1.0, 30.0),
                      wait_timeout=None, connect_timeout=5.0, gone_check=2.0)
        `path`: a KubeVirt-style serial socket as this process sees it, e.g.
        `/proc/<launcher-pid>/root/run/kubevirt-private/<vmi-uid>/virt-serial0`.
        `wait_timeout`: stop waiting for a missing socket after this many seconds (None:
        keep waiting until closed).

Both also offer `reconnect()` (try again now; the stream console forces, so use it only
after the user confirmed a takeover), `join(timeout)` and a `state` attribute.

**`LibvirtStreamConsole`** is `virsh console`: `virDomainOpenConsole` into a
`VIR_STREAM_NONBLOCK` stream driven by libvirt's event loop (`tui.libvirt_loop`; without it a
non-blocking stream on a remote URI reads nothing). It works for `<serial type='pty'>`
domains. libvirt allows one console session per domain: opening without `force` while
someone holds it is refused (reported as `HELD_BY_ANOTHER`, no automatic retry, and
`reconnect()` forces); a session we hold that ends while the domain still runs was taken
over (`TAKEN_OVER`, no automatic retry either: two viewers reconnecting automatically cut
each other off forever). A domain that stops is waited for; a lost connection to the daemon
is retried with backoff.

libvirt 9.0 refuses the console of KubeVirt's domains (`<serial type='unix'>`, `<console
type='pty'>` aliased to it) with "character device console0 is not using a PTY": the message
then names the serial socket to use with `UnixSocketConsole`.

**`UnixSocketConsole`** is what virt-handler does for `virtctl console`: connect to the unix
socket QEMU listens on (`<serial type='unix'><source mode='bind' .../>`) and move raw bytes.
asyncio on its own thread. A missing socket is waited for (the VM is not running yet); a
socket that ends is reported with why (the file is gone: the VM stopped) and dialled again.
QEMU serves one client at a time: a second client's connect succeeds but sees nothing until
the first leaves, and nothing on the socket says so.

Recording: `log=PATH` appends the guest's output (never what is typed) to a 0600 file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from tui.console.base import ConsoleState
from tui.console.kubevirt import TAKEN_OVER, VM_STOPPED
from tui.console.threaded import AsyncioConsole, ThreadedConsole

__all__ = [
    "HELD_BY_ANOTHER",
    "TAKEN_OVER",
    "VM_STOPPED",
    "LibvirtStreamConsole",
    "UnixSocketConsole",
    "serial_socket_paths",
]

log = logging.getLogger(__name__)

HELD_BY_ANOTHER = "another viewer holds this console (virsh console, another kvtui)"
"""The DISCONNECTED reason when opening was refused because someone else holds the console;
`reconnect()` takes it over (ask the user first)."""

_READ_SIZE = 65536
_SUN_PATH_MAX = 107  # sizeof(sun_path) - 1 on Linux


def serial_socket_paths(domain_xml: str) -> list[str]:
    """The unix socket paths of a domain's `<serial type='unix'>` devices, in order."""
    try:
        root = ET.fromstring(domain_xml)
    except ET.ParseError:
        return []
    paths = []
    for serial in root.iterfind("./devices/serial"):
        if serial.get("type") != "unix":
            continue
        source = serial.find("source")
        if source is not None and source.get("path"):
            paths.append(source.get("path", ""))
    return paths


# =============================================================================================
# libvirt console stream
# =============================================================================================


class LibvirtStreamConsole(ThreadedConsole):
    """A domain's console through `virDomainOpenConsole` (see the module docstring)."""

    name = "libvirt stream"

    def __init__(
        self,
        uri: str | None,
        domain: str,
        *,
        connection: Any = None,
        device: str | None = None,
        force: bool = False,
        log: str | os.PathLike[str] | None = None,
        retry_interval: float = 1.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        takeover_check: float = 1.5,
    ) -> None:
        if uri is None and connection is None:
            raise ValueError("LibvirtStreamConsole needs a URI or an open connection")
        super().__init__(log, retry_interval=retry_interval, backoff=backoff)
        self.uri = uri
        self.domain = domain
        self.device = device
        self.force = force
        self.takeover_check = takeover_check
        self._given_conn = connection
        self._conn: Any = None
        self._conn_dead = False
        self._stream: Any = None
        self._session = 0  # bumped per stream: callbacks of an old stream are ignored
        self._cond = threading.Condition()
        self._kick = False
        self._ended: str | None = None  # why the current stream ended ("eof", "error: ...")
        self._pending = bytearray()
        self._wlock = threading.Lock()
        self._want_write = False

    def __repr__(self) -> str:
        return (
            f"LibvirtStreamConsole({self.uri or 'connection'}, {self.domain}, {self.state.value})"
        )

    @property
    def where(self) -> str:
        return f"domain {self.domain}" + (f" on {self.uri}" if self.uri else "")

    # ---- the ConsoleTransport interface --------------------------------------------------

    def _thread_name(self) -> str:
        return f"libvirt console {self.domain}"

    def write(self, data: bytes) -> None:
        if not data or self.state is not ConsoleState.CONNECTED:
            return
        with self._wlock:
            self._pending += data
            self._flush_locked()

    def close(self) -> None:
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
        if self._thread is None:
            self._close_unopened()

    def reconnect(self) -> None:
        """Open the console again now, taking it over from whoever holds it."""
        with self._cond:
            if self._closing:
                return
            self._kick = True
            self._cond.notify_all()

    # ---- waiting ---------------------------------------------------------------------------

    def _wait(self, timeout: float | None, *, for_end: bool = False) -> str:
        """Sleep until close ("close"), reconnect() ("kick"), the stream's end ("ended",
        with `for_end`) or the timeout ("timeout")."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closing:
                    return "close"
                if self._kick:
                    self._kick = False
                    return "kick"
                if for_end and self._ended is not None:
                    return "ended"
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return "timeout"
                self._cond.wait(left)

    # ---- the worker thread ------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            self._main()
        except Exception:  # noqa: BLE001 - a bug here must still end in CLOSED
            log.exception("libvirt console thread failed")
        finally:
            self._teardown_stream()
            self._drop_connection()
            self._finish()

    def _main(self) -> None:
        from tui.libvirt_loop import LibvirtMissing, ensure_event_loop, quiet_errors

        try:
            libvirt = ensure_event_loop()
            quiet_errors()
        except LibvirtMissing as exc:
            self._emit(ConsoleState.DISCONNECTED, str(exc))
            self._wait(None)
            return
        self._libvirt = libvirt
        force = self.force
        delay = self.backoff[0]
        reconnecting = False
        while True:
            self._emit(ConsoleState.CONNECTING, "reconnecting" if reconnecting else "connecting")
            reconnecting = True
            kind, reason = self._attempt(force)
            force = False
            if kind == "session":
                delay = self.backoff[0]
                kind, reason = self._session_end()
            if kind == "close":
                return
            if kind == "kick":
                force = True
                continue
            if kind in ("final", "held", "takeover"):
                # Wait for the user: reconnect() forces (they were warned).
                self._emit(ConsoleState.DISCONNECTED, reason)
                outcome = self._wait(None)
                if outcome == "close":
                    return
                force = True
                continue
            if kind == "stopped":
                self._emit(ConsoleState.DISCONNECTED, reason, retry_in=self.retry_interval)
                if self._wait(self.retry_interval) == "close":
                    return
                if self._wait_until_running() == "close":
                    return
                continue
            # network: retry with backoff
            self._emit(ConsoleState.DISCONNECTED, reason, retry_in=delay)
            outcome = self._wait(delay)
            if outcome == "close":
                return
            force = outcome == "kick"
            delay = self._next_delay(delay, force)

    def _connection(self) -> Any:
        if self._given_conn is not None:
            return self._given_conn
        if self._conn is not None and not self._conn_dead:
            return self._conn
        self._drop_connection()
        conn = self._libvirt.open(self.uri)
        self._conn_dead = False
        with contextlib.suppress(self._libvirt.libvirtError):
            # Notice a daemon that dies or hangs (keepalive needs the event loop: it runs).
            conn.setKeepAlive(5, 3)
        with contextlib.suppress(self._libvirt.libvirtError):
            conn.registerCloseCallback(self._on_conn_closed, None)
        self._conn = conn
        return conn

    def _on_conn_closed(self, _conn: Any, reason: int, _opaque: Any) -> None:
        self._conn_dead = True
        with self._cond:
            if self._ended is None and self._stream is not None:
                self._ended = f"connection closed (reason {reason})"
            self._cond.notify_all()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            conn.unregisterCloseCallback()
        with contextlib.suppress(Exception):
            conn.close()

    def _lookup(self, conn: Any) -> Any:
        libvirt = self._libvirt
        try:
            return conn.lookupByName(self.domain)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
            try:
                uuid.UUID(self.domain)
            except ValueError:
                raise exc from None
        return conn.lookupByUUIDString(self.domain)

    def _describe_error(self, exc: Any) -> str:
        text = (exc.get_error_message() or str(exc)).strip()
        return " ".join(text.split())[:300]

    def _is_connection_error(self, exc: Any) -> bool:
        libvirt = self._libvirt
        code = exc.get_error_code()
        return self._conn_dead or code in (
            libvirt.VIR_ERR_SYSTEM_ERROR,
            libvirt.VIR_ERR_RPC,
            libvirt.VIR_ERR_NO_CONNECT,
            libvirt.VIR_ERR_INVALID_CONN,
            libvirt.VIR_ERR_AUTH_FAILED,
        )

    def _attempt(self, force: bool) -> tuple[str, str]:
        """Open the console once: ("session", "") or (kind, reason) of the failure."""
        libvirt = self._libvirt
        try:
            conn = self._connection()
        except libvirt.libvirtError as exc:
            return "network", f"cannot connect to {self.uri}: {self._describe_error(exc)}"
        try:
            dom = self._lookup(conn)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return "final", f"no domain {self.domain!r} on {self.uri or 'this connection'}"
            if self._is_connection_error(exc):
                self._conn_dead = True
                return "network", f"libvirt: {self._describe_error(exc)}"
            return "final", f"libvirt: {self._describe_error(exc)}"
        try:
            if not dom.isActive():
                return "stopped", f"{VM_STOPPED}: {self.where} is not running"
            stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0
            with self._cond:
                self._ended = None
            dom.openConsole(self.device, stream, flags)
        except libvirt.libvirtError as exc:
            return self._judge_open_error(exc, dom)
        session = self._session = self._session + 1
        self._stream = stream
        try:
            stream.eventAddCallback(
                libvirt.VIR_STREAM_EVENT_READABLE
                | libvirt.VIR_STREAM_EVENT_ERROR
                | libvirt.VIR_STREAM_EVENT_HANGUP,
                self._on_stream_event,
                session,
            )
        except libvirt.libvirtError as exc:
            self._teardown_stream()
            return "network", f"libvirt: {self._describe_error(exc)}"
        self._want_write = False
        with self._wlock:
            self._pending.clear()  # keys typed before a drop are stale now
        self.connections += 1
        return "session", ""

    def _judge_open_error(self, exc: Any, dom: Any) -> tuple[str, str]:
        libvirt = self._libvirt
        message = self._describe_error(exc)
        lowered = message.lower()
        if "active console session" in lowered:
            return "held", HELD_BY_ANOTHER
        if "not using a pty" in lowered:
            sockets: list[str] = []
            with contextlib.suppress(libvirt.libvirtError):
                sockets = serial_socket_paths(dom.XMLDesc(0))
            where = f" at {sockets[0]}" if sockets else ""
            return "final", (
                f"libvirt cannot open this console ({message}): the serial port is a unix "
                f"socket (KubeVirt's layout); connect to the socket{where} directly instead"
            )
        if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return "final", f"this libvirt driver has no consoles: {message}"
        if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID and "not running" in lowered:
            return "stopped", f"{VM_STOPPED}: {self.where} is not running"
        if self._is_connection_error(exc):
            self._conn_dead = True
            return "network", f"libvirt: {message}"
        return "final", f"cannot open the console of {self.where}: {message}"

    def _session_end(self) -> tuple[str, str]:
        """Connected: wait until the stream ends, close or reconnect(); classify the end."""
        self._emit(ConsoleState.CONNECTED, "connected")
        outcome = self._wait(None, for_end=True)
        ended = self._ended
        self._teardown_stream()
        if outcome in ("close", "kick"):
            return outcome, ""
        return self._classify_drop(ended or "")

    def _classify_drop(self, ended: str) -> tuple[str, str]:
        libvirt = self._libvirt
        if self._conn_dead:
            return "network", f"libvirt connection lost: {ended or 'closed'}"
        try:
            conn = self._connection()
            dom = self._lookup(conn)
            active = bool(dom.isActive())
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return "stopped", f"{VM_STOPPED}: {self.where} is gone"
            self._conn_dead = True
            return "network", f"libvirt: {self._describe_error(exc)}"
        # A domain being destroyed ends the stream a moment before it stops being active:
        # look again for a while before calling the end a takeover.
        deadline = time.monotonic() + self.takeover_check
        while active and time.monotonic() < deadline:
            outcome = self._wait(0.1)
            if outcome != "timeout":
                return outcome, ""
            try:
                active = bool(dom.isActive())
            except libvirt.libvirtError:
                active = False
        if not active:
            return "stopped", VM_STOPPED
        # The domain runs and our stream ended: libvirt aborts the old stream when another
        # client opens the console with force.
        return "takeover", TAKEN_OVER

    def _wait_until_running(self) -> str:
        """Poll the domain until it runs again (WAITING with the reason), or close/kick."""
        libvirt = self._libvirt
        while True:
            try:
                conn = self._connection()
                if self._lookup(conn).isActive():
                    return "running"
                reason = f"waiting for {self.where} to run"
            except libvirt.libvirtError as exc:
                reason = f"waiting for {self.where}: {self._describe_error(exc)}"
                if self._is_connection_error(exc):
                    self._conn_dead = True
            if self.state is not ConsoleState.WAITING or (
                self.last_change is not None and self.last_change.reason != reason
            ):
                self._emit(ConsoleState.WAITING, reason, retry_in=self.retry_interval)
            outcome = self._wait(self.retry_interval)
            if outcome != "timeout":
                return outcome

    # ---- the stream (callbacks on libvirt's event-loop thread) --------------------------

    def _on_stream_event(self, stream: Any, events: int, session: int) -> None:
        libvirt = self._libvirt
        if session != self._session or stream is not self._stream:
            return
        if events & libvirt.VIR_STREAM_EVENT_WRITABLE:
            with self._wlock:
                self._flush_locked()
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            while True:
                try:
                    data = stream.recv(_READ_SIZE)
                except libvirt.libvirtError as exc:
                    self._stream_ended(f"error: {self._describe_error(exc)}")
                    return
                if data == -2:  # would block: all read for now
                    break
                if not data:
                    self._stream_ended("eof")
                    return
                self._deliver(data)
        if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
            self._stream_ended(
                "error: stream error" if events & libvirt.VIR_STREAM_EVENT_ERROR else "eof"
            )

    def _stream_ended(self, why: str) -> None:
        with self._cond:
            if self._ended is None:
                self._ended = why
            self._cond.notify_all()

    def _flush_locked(self) -> None:
        """Send what is pending (caller holds _wlock); wait for WRITABLE when it would block."""
        stream = self._stream
        libvirt = getattr(self, "_libvirt", None)
        if stream is None or libvirt is None:
            return
        while self._pending:
            try:
                sent = stream.send(bytes(self._pending[:_READ_SIZE]))
            except libvirt.libvirtError as exc:
                self._pending.clear()
                self._stream_ended(f"error: {self._describe_error(exc)}")
                return
            if sent == -2:
                break
            if sent <= 0:
                self._pending.clear()
                return
            del self._pending[:sent]
        want = bool(self._pending)
        if want != self._want_write:
            self._want_write = want
            events = (
                libvirt.VIR_STREAM_EVENT_READABLE
                | libvirt.VIR_STREAM_EVENT_ERROR
                | libvirt.VIR_STREAM_EVENT_HANGUP
            )
            if want:
                events |= libvirt.VIR_STREAM_EVENT_WRITABLE
            with contextlib.suppress(libvirt.libvirtError):
                stream.eventUpdateCallback(events)

    def _teardown_stream(self) -> None:
        stream = self._stream
        libvirt = getattr(self, "_libvirt", None)
        if stream is None or libvirt is None:
            return
        self._session += 1  # late callbacks of this stream are ignored from now on
        with self._wlock:
            self._stream = None
            self._pending.clear()
        with contextlib.suppress(libvirt.libvirtError):
            stream.eventRemoveCallback()
        with contextlib.suppress(libvirt.libvirtError):
            stream.abort()


# =============================================================================================
# unix socket (KubeVirt's virt-serial0)
# =============================================================================================


def _connect_unix(path: str, timeout: float) -> socket.socket:
    """A connected, non-blocking unix stream socket; paths longer than sun_path go through
    an O_PATH descriptor of their directory (e.g. deep /proc/<pid>/root/... paths)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    dir_fd = -1
    try:
        sock.settimeout(timeout)
        target = path
        if len(os.fsencode(path)) > _SUN_PATH_MAX:
            dir_fd = os.open(os.path.dirname(path) or ".", os.O_PATH | os.O_DIRECTORY)
            target = f"/proc/self/fd/{dir_fd}/{os.path.basename(path)}"
        sock.connect(target)
        sock.setblocking(False)
        return sock
    except BaseException:
        sock.close()
        raise
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)


class UnixSocketConsole(AsyncioConsole):
    """A serial console through QEMU's unix socket (see the module docstring)."""

    name = "unix socket"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        log: str | os.PathLike[str] | None = None,
        retry_interval: float = 1.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        wait_timeout: float | None = None,
        connect_timeout: float = 5.0,
        gone_check: float = 2.0,
    ) -> None:
        super().__init__(log, retry_interval=retry_interval, backoff=backoff)
        self.path = os.fspath(path)
        self.gone_check = gone_check
        self.wait_timeout = wait_timeout
        self.connect_timeout = connect_timeout
        self._writer: asyncio.StreamWriter | None = None

    def __repr__(self) -> str:
        return f"UnixSocketConsole({self.path}, {self.state.value})"

    # ---- the ConsoleTransport interface (the rest is AsyncioConsole's) --------------------

    def _thread_name(self) -> str:
        return f"unix console {self.path}"

    def write(self, data: bytes) -> None:
        self._call_in_loop(self._write_now, data)

    def _write_now(self, data: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.write(data)

    async def _main(self) -> None:
        assert self._kick is not None
        delay = self.backoff[0]
        wait_started: float | None = None
        reconnecting = False
        gone_at: str | None = None
        while True:
            if self.state is not ConsoleState.WAITING:
                self._emit(
                    ConsoleState.CONNECTING, "reconnecting" if reconnecting else "connecting"
                )
            reconnecting = True
            try:
                sock = await asyncio.to_thread(_connect_unix, self.path, self.connect_timeout)
            except (FileNotFoundError, NotADirectoryError):
                # Not there (yet): the VM is not running; wait for the socket to appear.
                now = time.monotonic()
                if wait_started is None:
                    wait_started = now
                waited = now - wait_started
                if self.wait_timeout is not None and waited >= self.wait_timeout:
                    self._emit(
                        ConsoleState.DISCONNECTED,
                        f"gave up after {self.wait_timeout:g} s: no serial socket at {self.path}",
                    )
                    await self._wait_for_kick()
                    wait_started = None
                    continue
                prefix = f"{VM_STOPPED} at {gone_at}; " if gone_at else ""
                self._emit(
                    ConsoleState.WAITING,
                    f"{prefix}waiting for the serial socket {self.path} to appear",
                    retry_in=self.retry_interval,
                )
                if await self._sleep(self.retry_interval):
                    wait_started = None
                continue
            except PermissionError as exc:
                self._emit(
                    ConsoleState.DISCONNECTED,
                    f"permission denied on {self.path}: {exc.strerror} (another user's VM "
                    "socket: run kvtui as root)",
                )
                await self._wait_for_kick()
                continue
            except (OSError, TimeoutError) as exc:
                delay, _ = await self._retry_after(_socket_error(self.path, exc), delay)
                continue
            wait_started, delay, gone_at = None, self.backoff[0], None
            kind, reason = await self._session(sock)
            if kind == "user":
                continue
            if kind == "gone":
                gone_at = time.strftime("%H:%M:%S")
                self._emit(ConsoleState.DISCONNECTED, reason, retry_in=self.retry_interval)
                if await self._sleep(self.retry_interval):
                    gone_at = None
                continue
            delay, _ = await self._retry_after(reason, delay)

    async def _session(self, sock: socket.socket) -> tuple[str, str]:
        """Move bytes until the socket ends or reconnect(); (kind, reason) of the end."""
        assert self._kick is not None
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=_READ_SIZE)
        self._writer = writer
        self.connections += 1
        self._kick.clear()
        self._emit(ConsoleState.CONNECTED, "connected")
        kick_task = asyncio.ensure_future(self._kick.wait())
        error: BaseException | None = None
        user = False
        try:
            while True:
                read_task = asyncio.ensure_future(reader.read(_READ_SIZE))
                done, _ = await asyncio.wait(
                    {read_task, kick_task}, return_when=asyncio.FIRST_COMPLETED
                )
                if kick_task in done:
                    read_task.cancel()
                    self._kick.clear()
                    user = True
                    break
                try:
                    data = read_task.result()
                except (OSError, ConnectionError) as exc:
                    error = exc
                    break
                if not data:
                    break
                self._deliver(data)
        finally:
            kick_task.cancel()
            self._writer = None
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
        if user:
            return "user", "reconnecting"
        # QEMU's end closes the connection a moment before libvirt removes the socket file.
        deadline = time.monotonic() + self.gone_check
        while os.path.exists(self.path) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not os.path.exists(self.path):
            return "gone", f"{VM_STOPPED}: the serial socket {self.path} went away"
        if error is not None:
            return "network", _socket_error(self.path, error)
        return "network", f"the serial socket {self.path} closed the connection"


def _socket_error(path: str, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or getattr(exc, "errno", None) == errno.ETIMEDOUT:
        return f"timed out connecting to {path}"
    if isinstance(exc, ConnectionRefusedError):
        return f"nobody is listening on {path} (QEMU not running?)"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{path}: {text}"
