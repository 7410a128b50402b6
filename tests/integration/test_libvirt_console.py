"""The libvirt console transports against a real session libvirtd and a real tiny QEMU guest.

One daemon for the module, one guest per serial layout: KubeVirt's (`<serial type='unix'>`,
reached through `UnixSocketConsole`) and plain libvirt's (`<serial type='pty'>`, reached
through `virDomainOpenConsole` by `LibvirtStreamConsole`). Skips without libvirtd, QEMU,
busybox-static or a guest kernel, except in CI, where it fails instead.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kvtest import skip_unless

from tui.console.base import ConsoleState, ConsoleTransport, StateChange
from tui.console.libvirt import (
    HELD_BY_ANOTHER,
    TAKEN_OVER,
    VM_STOPPED,
    LibvirtStreamConsole,
    UnixSocketConsole,
)

BOOT_TIMEOUT = 90.0  # TCG on a busy 2-core CI machine; ~2-5 s is usual
# TCG boots under the host's load: more room than pytest's default timeout (120 s).
pytestmark = pytest.mark.timeout(300)


class Recorder:
    """What a transport reported: every byte and every state change, waitable."""

    def __init__(self, transport: ConsoleTransport) -> None:
        self.transport = transport
        self.data = bytearray()
        self.states: list[StateChange] = []
        self.cond = threading.Condition()
        transport.open(self._on_data, self._on_state)

    def _on_data(self, data: bytes) -> None:
        with self.cond:
            self.data += data
            self.cond.notify_all()

    def _on_state(self, change: StateChange) -> None:
        with self.cond:
            self.states.append(change)
            self.cond.notify_all()

    def _wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                pytest.fail(
                    f"timed out after {timeout}s waiting for {what}; states: "
                    f"{[(s.state.value, s.reason) for s in self.states]}; output tail: "
                    f"{bytes(self.data[-600:])!r}"
                )
            return predicate()

    def expect(self, needle: bytes, *, start: int = 0, timeout: float = 30.0) -> None:
        self._wait(lambda: needle in self.data[start:], timeout, repr(needle))

    def state(self, state: ConsoleState, *, after: int = 0, timeout: float = 30.0) -> StateChange:
        def found() -> StateChange | None:
            return next((s for s in self.states[after:] if s.state is state), None)

        return self._wait(found, timeout, f"state {state.value} (after #{after})")

    def run(self, command: bytes, needle: bytes, timeout: float = 30.0) -> None:
        mark = len(self.data)
        self.transport.write(command)
        self.expect(needle, start=mark, timeout=timeout)

    def close(self) -> None:
        self.transport.close()
        assert self.transport.join(10), "transport thread did not end"  # type: ignore[attr-defined]
        assert self.states[-1].state is ConsoleState.CLOSED


@pytest.fixture(scope="module")
def daemon() -> Iterator[Any]:
    from tui.demo.guest_image import find_guest
    from tui.libvirt_loop import LibvirtMissing, libvirt_module

    try:
        libvirt_module()
        has_libvirt = True
    except LibvirtMissing:
        has_libvirt = False
    skip_unless(has_libvirt, "libvirt-python is not installed (pip install -e '.[node]')")
    guest = find_guest()
    skip_unless(bool(guest), f"no tiny guest on this machine: {guest}")
    from tui.demo.libvirtd import SessionDaemon

    session = SessionDaemon().start()
    session.guest = session.guest_copy(guest)
    yield session
    session.stop()


def start_guest(daemon: Any, *, unix: bool) -> tuple[Any, str, Any]:
    """(domain, name, serial socket path or None), booting now."""
    from tui.demo.libvirtd import domain_xml

    uid = str(uuid.uuid4())
    name = f"default_{'kv' if unix else 'pty'}-{uid[:8]}"
    sock = log = None
    if unix:
        folder = daemon.vmi_dir(uid)
        sock, log = folder / "virt-serial0", folder / "virt-serial0-log"
    xml = domain_xml(name, daemon.guest, sock, serial_log=log, uid=uid)
    return daemon.connect().createXML(xml, 0), name, sock


def destroy(dom: Any) -> None:
    try:
        dom.destroy()
    except Exception:  # noqa: BLE001 - already gone
        pass


@pytest.fixture(scope="module")
def kubevirt_guest(daemon: Any) -> Iterator[tuple[Any, str, Any, Recorder]]:
    """A guest in KubeVirt's layout with a UnixSocketConsole that saw it boot."""
    uid = str(uuid.uuid4())
    sock = daemon.vmi_dir(uid) / "virt-serial0"
    # Dialled before the domain exists: it waits for the socket, then sees the whole boot.
    console = Recorder(UnixSocketConsole(sock, retry_interval=0.05))
    console.state(ConsoleState.WAITING)
    from tui.demo.libvirtd import domain_xml

    name = f"default_kv-{uid[:8]}"
    xml = domain_xml(name, daemon.guest, sock, serial_log=sock.with_name("log"), uid=uid)
    started = time.monotonic()
    dom = daemon.connect().createXML(xml, 0)
    console.expect(daemon.guest.banner.encode(), timeout=BOOT_TIMEOUT)
    console.boot_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    console.expect(daemon.guest.prompt.encode())
    yield dom, name, sock, console
    console.close()
    destroy(dom)


@pytest.fixture(scope="module")
def pty_guest(daemon: Any) -> Iterator[tuple[Any, str]]:
    dom, name, _ = start_guest(daemon, unix=False)
    yield dom, name
    destroy(dom)


# ---- the unix socket (KubeVirt's layout) -------------------------------------------------------


def test_unix_socket_console_sees_the_boot_and_runs_a_command(kubevirt_guest) -> None:
    _, _, sock, console = kubevirt_guest
    assert b"=== KVTUI GUEST READY === kernel=" in console.data
    assert console.transport.state is ConsoleState.CONNECTED
    assert console.transport.name == "unix socket"
    console.run(b"echo hello-$((6*7))\n", b"hello-42")
    # The output, not the echo of what was typed, proves the guest's shell ran it.
    assert b"hello-$((6*7))" in console.data


def test_libvirt_refuses_the_stream_on_kubevirts_layout_and_says_use_the_socket(
    daemon, kubevirt_guest
) -> None:
    _, name, sock, _ = kubevirt_guest
    console = Recorder(LibvirtStreamConsole(daemon.uri, name))
    change = console.state(ConsoleState.DISCONNECTED)
    assert "not using a PTY" in change.reason
    assert f"connect to the socket at {sock} directly" in change.reason
    console.close()


def test_unix_socket_vanishing_is_a_stop_with_a_reason_then_a_wait(daemon) -> None:
    dom, _, sock = start_guest(daemon, unix=True)
    console = Recorder(UnixSocketConsole(sock, retry_interval=0.1))
    try:
        console.state(ConsoleState.CONNECTED)
        after = len(console.states)
        dom.destroy()
        change = console.state(ConsoleState.DISCONNECTED, after=after)
        assert change.reason == f"{VM_STOPPED}: the serial socket {sock} went away"
        waiting = console.state(ConsoleState.WAITING, after=after)
        assert "waiting for the serial socket" in waiting.reason and str(sock) in waiting.reason
        assert not sock.exists()
    finally:
        console.close()
        destroy(dom)


def test_unix_socket_console_reports_a_missing_socket_and_gives_up_when_told(
    tmp_path,
) -> None:
    console = Recorder(
        UnixSocketConsole(tmp_path / "nothing", retry_interval=0.05, wait_timeout=0.3)
    )
    change = console.state(ConsoleState.DISCONNECTED)
    assert change.reason == f"gave up after 0.3 s: no serial socket at {tmp_path / 'nothing'}"
    console.close()


# ---- the libvirt stream (pty layout) ---------------------------------------------------------------


def test_stream_console_runs_a_command_and_one_viewer_at_a_time(daemon, pty_guest) -> None:
    dom, name = pty_guest
    first = Recorder(LibvirtStreamConsole(daemon.uri, name))
    first.state(ConsoleState.CONNECTED)
    assert first.transport.name == "libvirt stream"
    # QEMU drops pty output nobody reads; whoever connects early enough sees the banner.
    first.expect(daemon.guest.banner.encode(), timeout=BOOT_TIMEOUT)
    first.transport.write(b"\n")
    first.expect(daemon.guest.prompt.encode())
    first.run(b"echo hello-$((6*7))\n", b"hello-42")

    # A second viewer without force is refused, and says why; nothing retries by itself.
    second = Recorder(LibvirtStreamConsole(daemon.uri, name))
    refused = second.state(ConsoleState.DISCONNECTED)
    assert refused.reason == HELD_BY_ANOTHER
    time.sleep(0.5)
    assert second.states[-1].reason == HELD_BY_ANOTHER
    assert first.transport.state is ConsoleState.CONNECTED

    # reconnect() (after the user agreed) takes it over; the first learns why it dropped.
    after = len(first.states)
    second.transport.reconnect()  # type: ignore[attr-defined]
    second.state(ConsoleState.CONNECTED)
    dropped = first.state(ConsoleState.DISCONNECTED, after=after)
    assert dropped.reason == TAKEN_OVER
    second.run(b"echo second-$((40+2))\n", b"second-42")

    # force=True takes over at once.
    third = Recorder(LibvirtStreamConsole(None, name, connection=daemon.connect(), force=True))
    third.state(ConsoleState.CONNECTED)
    assert second.state(ConsoleState.DISCONNECTED, after=2).reason == TAKEN_OVER
    third.run(b"echo third-$((40+2))\n", b"third-42")
    time.sleep(0.5)
    assert first.transport.state is ConsoleState.DISCONNECTED, "no automatic fight back"
    for console in (first, second, third):
        console.close()


def test_stream_console_of_a_domain_that_stops(daemon) -> None:
    dom, name, _ = start_guest(daemon, unix=False)
    console = Recorder(LibvirtStreamConsole(daemon.uri, name, retry_interval=0.1))
    try:
        console.state(ConsoleState.CONNECTED)
        after = len(console.states)
        dom.destroy()
        change = console.state(ConsoleState.DISCONNECTED, after=after)
        assert change.reason.startswith(VM_STOPPED)
        console.state(ConsoleState.WAITING, after=after)
    finally:
        console.close()
        destroy(dom)


def test_stream_console_of_an_unknown_domain_or_daemon(daemon, tmp_path) -> None:
    console = Recorder(LibvirtStreamConsole(daemon.uri, "no-such-domain"))
    assert console.state(ConsoleState.DISCONNECTED).reason == (
        f"no domain 'no-such-domain' on {daemon.uri}"
    )
    console.close()
    uri = f"qemu+unix:///session?socket={tmp_path}/no-sock"
    gone = Recorder(LibvirtStreamConsole(uri, "x", backoff=(5.0, 5.0)))
    change = gone.state(ConsoleState.DISCONNECTED)
    assert change.reason.startswith(f"cannot connect to {uri}: ") and change.retry_in == 5.0
    gone.close()


def test_stream_console_survives_its_daemon_dying_and_says_so() -> None:
    """A daemon that goes away mid-session (the node view's launcher killed): a network drop
    with the reason, retried with backoff, never a crash."""
    from tui.demo.libvirtd import SessionDaemon

    own = SessionDaemon().start()
    try:
        from tui.demo.guest_image import find_guest

        own.guest = own.guest_copy(find_guest())
        _, name, _ = start_guest(own, unix=False)
        console = Recorder(LibvirtStreamConsole(own.uri, name, backoff=(0.2, 0.2)))
        console.state(ConsoleState.CONNECTED)
        after = len(console.states)
        assert own.process is not None
        own.process.kill()
        change = console.state(ConsoleState.DISCONNECTED, after=after)
        assert change.reason.startswith("libvirt connection lost"), change.reason
        assert change.retry_in == 0.2
        retried = console.state(ConsoleState.DISCONNECTED, after=after + 2)
        assert retried.reason.startswith(f"cannot connect to {own.uri}: ")
        console.close()
    finally:
        own.stop()


def test_unix_socket_console_reaches_paths_longer_than_sun_path(tmp_path) -> None:
    """/proc/<pid>/root/run/kubevirt-private/<uid>/virt-serial0 can pass the 107 bytes a unix
    socket address holds: the console goes through a descriptor of the directory."""
    import os
    import socket

    folder = tmp_path / ("d" * 60) / ("e" * 60)
    folder.mkdir(parents=True)
    path = folder / "virt-serial0"
    assert len(os.fsencode(path)) > 107
    dir_fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(f"/proc/self/fd/{dir_fd}/virt-serial0")
        server.listen(1)
        console = Recorder(UnixSocketConsole(path, gone_check=0.2))
        peer, _ = server.accept()
        console.state(ConsoleState.CONNECTED)
        peer.sendall(b"login: ")
        console.expect(b"login: ")
        console.transport.write(b"root\r")
        assert peer.recv(100) == b"root\r"
        peer.close()  # the guest's side ends while the socket file stays
        change = console.state(ConsoleState.DISCONNECTED)
        assert change.reason == f"the serial socket {path} closed the connection"
        console.close()
    finally:
        server.close()
        os.close(dir_fd)
