"""`kvtui node` end to end, as root, against two fake KubeVirt virt-launchers (a libvirtd each
in its own mount namespace, one real TCG guest each in KubeVirt's serial layout; see
tests/launchers.py and conftest.py).

First the launchers themselves through plain libvirt-python and direct socket reads, then
kvtui's discovery, model and console transports against them, then the app in Pilot: both
domains listed by discovery, a console running a command in the guest, the serial log, a
launcher killed under it, a launcher appearing and going away, a plain pty domain's console,
the details of a live domain (XML, QEMU monitor), a confirmed suspend/resume and lifecycle
events from changes made behind kvtui's back. The first launcher is root's, the second
non-root (uid 107, `qemu:///session`) as KubeVirt runs them by default.

The tests share the module's two launchers; one that kills a launcher gets it back rebooted
for the next test that asks (`launchers` fixture), so order only costs time, not results."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kvtest import pilot_wait_for, wait_for
from kvtest import screen_text as _screen_text
from launchers import Launcher, SerialClient

from tui.console.base import ConsoleState, StateChange

pytestmark = pytest.mark.timeout(300)


def _host_ns() -> str:
    return os.readlink("/proc/self/ns/mnt")


def test_each_launcher_has_its_own_mount_namespace_and_private_run(
    launchers: list[Launcher],
) -> None:
    namespaces = {launcher.mount_ns for launcher in launchers}
    assert len(namespaces) == len(launchers)
    assert _host_ns() not in namespaces
    for launcher in launchers:
        assert os.path.exists(launcher.socket), launcher.socket
        # The daemon's /run is its own: its socket and the VMI's private dir are not ours.
        assert not os.path.exists(f"/run/kubevirt-private/{launcher.vmi_uid}")
        assert os.path.exists(launcher.host_path(f"/run/kubevirt-private/{launcher.vmi_uid}"))
        qemu = launcher.qemu_pids()
        assert len(qemu) == 1, f"one QEMU per launcher, got {qemu}"


def test_domains_have_kubevirts_name_metadata_and_serial_layout(
    launchers: list[Launcher],
) -> None:
    import libvirt

    for launcher in launchers:
        conn = libvirt.open(launcher.uri)
        try:
            domains = conn.listAllDomains()
            assert [d.name() for d in domains] == [f"{launcher.namespace}_{launcher.vm}"]
            dom = domains[0]
            assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
            meta = ET.fromstring(
                dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://kubevirt.io")
            )
            assert meta.findtext("uid") == launcher.vmi_uid
            root = ET.fromstring(dom.XMLDesc(0))
            assert root.get("type") == "qemu"
            kv = "{http://kubevirt.io}"
            assert root.findtext(f"./metadata/{kv}kubevirt/{kv}uid") == launcher.vmi_uid
            serial = root.find("./devices/serial")
            assert serial is not None and serial.get("type") == "unix"
            source = serial.find("source")
            assert source is not None
            assert source.get("mode") == "bind"
            assert (
                source.get("path") == f"/var/run/kubevirt-private/{launcher.vmi_uid}/virt-serial0"
            )
            log = serial.find("log")
            assert log is not None and log.get("file", "").endswith("/virt-serial0-log")
            console = root.find("./devices/console")
            assert console is not None
            target = console.find("target")
            assert target is not None and target.get("type") == "serial"
        finally:
            conn.close()


def test_serial_socket_round_trip(launchers: list[Launcher]) -> None:
    launcher = launchers[0]
    guest = launcher.guests[0]
    client = SerialClient(launcher.serial_socket())
    try:
        mark = client.mark()
        client.send(b"\n")
        client.wait_for(guest.prompt, 20, mark)
        mark = client.mark()
        started = time.monotonic()
        client.send(b"echo hello-$((6*7))\n")
        # The output, not the echo of what was typed: proves the guest's shell ran it.
        client.wait_for(b"hello-42\r\n", 20, mark)
        assert time.monotonic() - started < 20
    finally:
        client.close()
    log = open(launcher.serial_log(), "rb").read()
    assert b"hello-42" in log, "KubeVirt's serial log records the guest's output"


def test_discovery_finds_both_launchers_through_proc(launchers: list[Launcher]) -> None:
    import libvirt

    from tui.node.discovery import discover

    found = {launcher.pid: launcher for launcher in discover().launchers}
    for launcher in launchers:
        assert launcher.pid in found, f"libvirtd {launcher.pid} not discovered: {found}"
        seen = found[launcher.pid]
        assert seen.comm == "libvirtd"
        # root launcher: ///system; non-root (uid 107, KubeVirt's default): ///session
        assert seen.uid == (launcher.user or 0)
        assert seen.uri.startswith(
            "qemu+unix:///system?" if launcher.user is None else "qemu+unix:///session?"
        )
        assert not seen.host
        assert seen.mount_ns == launcher.mount_ns
        assert seen.socket.startswith(f"/proc/{launcher.pid}/root/run/libvirt/")
        conn = libvirt.open(seen.uri)
        try:
            assert [d.name() for d in conn.listAllDomains()] == [launcher.domain_name]
        finally:
            conn.close()


class _Collector:
    def __init__(self) -> None:
        self.data = bytearray()
        self.states: list[StateChange] = []
        self.lock = threading.Lock()

    def on_data(self, data: bytes) -> None:
        with self.lock:
            self.data += data

    def on_state(self, change: StateChange) -> None:
        self.states.append(change)

    def seen(self, needle: bytes, start: int = 0) -> bool:
        with self.lock:
            return self.data.find(needle, start) >= 0

    def mark(self) -> int:
        with self.lock:
            return len(self.data)


def test_unix_socket_console_runs_a_command_in_the_guest(launchers: list[Launcher]) -> None:
    from tui.console.libvirt import UnixSocketConsole

    launcher = launchers[1]
    guest = launcher.guests[0]
    console = UnixSocketConsole(launcher.serial_socket())
    got = _Collector()
    console.open(got.on_data, got.on_state)
    try:
        wait_for(lambda: console.state is ConsoleState.CONNECTED, 10, what="connected")
        console.write(b"\n")
        wait_for(lambda: got.seen(guest.prompt), 20, what="the prompt")
        mark = got.mark()
        console.write(b"echo hello-$((6*7))\n")
        wait_for(lambda: got.seen(b"hello-42\r\n", mark), 20, what="hello-42 from the guest")
    finally:
        console.close()
        assert console.join(5)
    assert got.states[-1].state is ConsoleState.CLOSED


def test_libvirt_console_of_a_kubevirt_domain_points_at_the_serial_socket(
    launchers: list[Launcher],
) -> None:
    """libvirt 9 refuses openConsole on KubeVirt's layout: the transport says which socket
    to use instead."""
    from tui.console.libvirt import LibvirtStreamConsole

    launcher = launchers[0]
    console = LibvirtStreamConsole(launcher.uri, launcher.domain_name)
    got = _Collector()
    console.open(got.on_data, got.on_state)
    try:
        change = wait_for(
            lambda: next((c for c in got.states if c.state is ConsoleState.DISCONNECTED), None),
            20,
            what="the refusal",
        )
    finally:
        console.close()
        assert console.join(10)
    assert "virt-serial0" in change.reason, change.reason


def test_node_model_follows_both_launchers_by_discovery(launchers: list[Launcher]) -> None:
    """kvtui node's model, by discovery alone: both domains with namespace, VM, VMI uid,
    launcher pid and live stats (the Pilot test below kills a launcher)."""
    from tui.node.model import NodeModel

    pids = {launcher.pid for launcher in launchers}
    model = NodeModel(discover_launchers=True, interval=0.5, rediscover_every=0.5)

    def ours() -> dict:
        return {row.name: row for row in model.rows() if row.launcher_pid in pids}

    model.start()
    try:
        rows = wait_for(lambda: len(ours()) == 2 and ours(), 30, what="both domains")
        for launcher in launchers:
            row = rows[launcher.domain_name]
            assert (row.namespace, row.vm) == (launcher.namespace, launcher.vm)
            assert row.launcher_pid == launcher.pid
            assert row.vmi_uid == launcher.vmi_uid
            assert row.state == 1 and not row.stale
            assert row.vcpus == 1
            assert row.max_memory_kib == 128 * 1024
        for launcher in launchers:
            wait_for(
                lambda name=launcher.domain_name: ours()[name].cpu is not None,
                15,
                what=f"a CPU rate for {launcher.domain_name}",
            )
    finally:
        model.stop()


# ---- kvtui node in Pilot ----------------------------------------------------------------------

SIZE = (180, 40)
EXIT = "ctrl+right_square_bracket"


async def _until(
    pilot: Any, predicate: Callable[[], Any], timeout: float = 30, what: str = ""
) -> Any:
    return await pilot_wait_for(pilot, predicate, timeout=timeout, what=what)


async def _type(pilot: Any, text: str) -> None:
    """One key press per character, as a user types (Pilot names some characters)."""
    names = {" ": "space", "$": "dollar_sign", "(": "left_parenthesis", ")": "right_parenthesis"}
    names.update({"*": "asterisk", "-": "minus", "/": "slash", ".": "full_stop", "_": "underscore"})
    await pilot.press(*(names.get(ch, ch) for ch in text))


def _row(screen: Any, launcher: Launcher, name: str = "") -> Any:
    """The list's row of `launcher`'s domain `name` (default: its KubeVirt domain), or None.

    By launcher pid too: another test run on the same machine may have the same names."""
    name = name or launcher.domain_name
    return next(
        (
            row
            for row in screen._rows.values()
            if row.name == name and row.launcher_pid == launcher.pid
        ),
        None,
    )


async def _select(pilot: Any, screen: Any, launcher: Launcher, name: str = "") -> Any:
    """Filter the list down to one domain (/ VM enter), as a user would; its row."""
    wanted = _row(screen, launcher, name)
    assert wanted is not None, f"{name or launcher.domain_name} is not listed"
    await pilot.press("slash")
    await _type(pilot, wanted.vm)
    await pilot.press("enter")
    return await _until(
        pilot,
        lambda: (row := screen.selected()) is not None and row.key == wanted.key and row,
        10,
        f"{wanted.name} under the cursor",
    )


async def _run_in_console(pilot: Any, app: Any, prompt: str) -> Any:
    """In the console screen: a prompt, then `echo hello-$((6*7))` answered by the guest."""
    from screens.console import ConsoleScreen

    screen = await _until(
        pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen, 10, "the console"
    )
    await _until(pilot, lambda: screen.state is ConsoleState.CONNECTED, 20, "the console connected")
    await pilot.press("enter")
    await _until(
        pilot, lambda: prompt.strip() in screen.terminal.screen_text(), 20, "the guest's prompt"
    )
    await _type(pilot, "echo hello-$((6*7))")
    await pilot.press("enter")
    # The output line, not the typed command: the guest's shell ran it.
    await _until(
        pilot,
        lambda: "\nhello-42" in screen.terminal.screen_text(),
        20,
        "hello-42 from the guest",
    )
    assert "hello-42" in _screen_text(app)
    return screen


def _close_consoles(app: Any) -> None:
    for screen in app.consoles.screens:
        screen.transport.close()
        assert screen.transport.join(10), f"{screen.transport!r} did not stop"


async def test_kvtui_node_plain_libvirt_domain_console_through_a_libvirt_stream(
    launchers: list[Launcher], guest_image: Any
) -> None:
    """A plain libvirt guest (pty serial, no KubeVirt name) on the same namespaced daemon: the
    same `s` opens virDomainOpenConsole through LibvirtStreamConsole."""
    from screens.node_app import run_node_app
    from screens.node_list import NodeListScreen
    from tui.console.libvirt import LibvirtStreamConsole

    launcher = launchers[0]
    guest = launcher.define_guest(guest_image, name="plain-guest", serial="pty")
    app = run_node_app(discover=True, interval=1.0)
    try:
        launcher.wait_for_banner(guest)
        async with app.run_test(size=SIZE) as pilot:
            screen = await _until(
                pilot, lambda: isinstance(app.screen, NodeListScreen) and app.screen, 10
            )
            row = await _until(
                pilot, lambda: _row(screen, launcher, "plain-guest"), 30, "plain-guest in the list"
            )
            assert screen.table.cell(row.key, "NAMESPACE") == "-"
            assert screen.table.cell(row.key, "VM") == "plain-guest"
            await _select(pilot, screen, launcher, "plain-guest")
            await pilot.press("s")
            console = await _run_in_console(pilot, app, guest.prompt.decode())
            assert isinstance(console.transport, LibvirtStreamConsole)
            await pilot.press(EXIT, "q")
    finally:
        _close_consoles(app)
        launcher.remove_guest(guest)


async def test_kvtui_node_picks_up_a_launcher_started_while_it_runs_and_forgets_a_stopped_one(
    guest_image: Any, launcher_base: Path
) -> None:
    """A VM scheduled on the node while kvtui runs: its launcher is discovered and listed; its
    pod deleted: the row greys, and ctrl+x forgets it."""
    from screens.node_list import NodeListScreen
    from tui.app import node_app

    late = Launcher(launcher_base, namespace="late", vm="vm-gamma")
    app = node_app([], discover=True, interval=0.5, rediscover_every=0.5)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await _until(
                pilot, lambda: isinstance(app.screen, NodeListScreen) and app.screen, 10
            )
            await pilot.pause(0.5)
            assert _row(screen, late) is None
            late.start()  # here: a launcher lives as long as the thread that started it
            await asyncio.to_thread(late.define_guest, guest_image)
            row = await _until(pilot, lambda: _row(screen, late), 20, "the new launcher's domain")
            assert screen.table.cell(row.key, "NAMESPACE") == "late"
            assert screen.table.cell(row.key, "VM") == "vm-gamma"
            assert screen.table.cell(row.key, "PID") == str(late.pid)
            await asyncio.to_thread(late.stop)
            await _until(
                pilot,
                lambda: (row := _row(screen, late)) is None or row.stale,
                20,
                "the stopped launcher's domain greyed",
            )
            # ctrl+x forgets launchers that are gone from /proc, not ones still retrying.
            await _until(
                pilot, lambda: "launcher gone" in _screen_text(app), 10, "'launcher gone' shown"
            )
            await pilot.press("ctrl+x")
            await _until(pilot, lambda: _row(screen, late) is None, 10, "the launcher forgotten")
    finally:
        late.stop()


async def test_kvtui_node_details_of_a_live_qemu_domain(launchers: list[Launcher]) -> None:
    """enter on a domain: what the test driver cannot show, from a real QEMU: the live XML with
    KubeVirt's serial socket, and the read-only monitor queries behind m."""
    from screens.node_details import NodeDetailsScreen
    from screens.node_list import NodeListScreen
    from tui.app import node_app

    launcher = launchers[0]
    app = node_app([], discover=True, interval=1.0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _until(
            pilot, lambda: isinstance(app.screen, NodeListScreen) and app.screen, 10
        )
        await _until(pilot, lambda: _row(screen, launcher), 30, "the domain listed")
        await _select(pilot, screen, launcher)
        await pilot.press("enter")
        details = await _until(
            pilot, lambda: isinstance(app.screen, NodeDetailsScreen) and app.screen, 10
        )
        await _until(
            pilot,
            lambda: (
                f"/var/run/kubevirt-private/{launcher.vmi_uid}/virt-serial0"
                in details.tab_text["xml"]
            ),
            20,
            "the live XML with the serial socket",
        )
        assert launcher.vmi_uid in details.tab_text["overview"]
        await pilot.press("m")
        await _until(
            pilot,
            lambda: (
                '"running"' in details.tab_text["monitor"]
                and "charserial0" in details.tab_text["monitor"]
            ),
            20,
            "query-status and info chardev from QEMU's monitor",
        )
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is screen, 10, "back to the domain list")


async def test_kvtui_node_suspends_and_resumes_a_live_domain_after_confirmation(
    launchers: list[Launcher],
) -> None:
    """z / Z on a KubeVirt domain: a confirmation with KubeVirt's warning, then libvirt does it;
    and a pause/resume made behind kvtui's back reaches the row as the daemon's lifecycle
    event (through the /proc socket, on libvirt's event loop)."""
    import libvirt

    from screens.dialogs import ConfirmDialog
    from screens.node_list import NodeListScreen
    from tui.app import node_app

    launcher = launchers[0]
    dom = launcher.connection().lookupByName(launcher.domain_name)
    # Stats once a minute: changes made behind kvtui's back can only arrive as events.
    app = node_app([], discover=True, interval=60.0)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await _until(
                pilot, lambda: isinstance(app.screen, NodeListScreen) and app.screen, 10
            )
            await _until(pilot, lambda: _row(screen, launcher), 30, "the domain listed")
            row = await _select(pilot, screen, launcher)
            await pilot.press("z")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 10, "the question")
            assert "KubeVirt owns these domains" in _screen_text(app)
            assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING, "nothing before the answer"
            await pilot.press("y")
            await _until(
                pilot,
                lambda: screen.table.cell(row.key, "STATE").startswith("paused"),
                15,
                "the row paused",
            )
            assert dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED
            await pilot.press("Z")
            await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 10, "the question")
            await pilot.press("y")
            await _until(
                pilot,
                lambda: screen.table.cell(row.key, "STATE").startswith("running"),
                15,
                "the row running again",
            )
            assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING

            # Someone else (virsh, KubeVirt) pauses it: the lifecycle event shows it.
            dom.suspend()
            await _until(
                pilot,
                lambda: screen.table.cell(row.key, "STATE").startswith("paused"),
                10,
                "the row paused by the daemon's event",
            )
            dom.resume()
            await _until(
                pilot,
                lambda: screen.table.cell(row.key, "STATE").startswith("running"),
                10,
                "the row running again by the daemon's event",
            )
    finally:
        if dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()


async def test_kvtui_node_lists_both_launchers_runs_a_command_in_a_console_and_survives_a_killed_launcher(
    launchers: list[Launcher],
) -> None:
    from textual.widgets import Log

    from screens.console import ConsoleScreen
    from screens.node_details import SerialLogScreen
    from screens.node_list import NodeListScreen
    from tui.app import node_app
    from tui.console.libvirt import UnixSocketConsole

    keep, victim = launchers
    # What `kvtui node` runs (tui/cli.py): discovery only, no --uri.
    app = node_app([], discover=True, interval=0.5, rediscover_every=1.0)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await _until(
                pilot, lambda: isinstance(app.screen, NodeListScreen) and app.screen, 10
            )
            await _until(
                pilot,
                lambda: all(_row(screen, x) for x in launchers),
                30,
                "both launchers' domains in the list",
            )
            table = screen.table
            for launcher in launchers:
                row = _row(screen, launcher)
                assert table.cell(row.key, "NAMESPACE") == launcher.namespace
                assert table.cell(row.key, "VM") == launcher.vm
                assert table.cell(row.key, "PID") == str(launcher.pid)
                assert table.cell(row.key, "VMI UID") == launcher.vmi_uid
                assert table.cell(row.key, "STATE").startswith("running")
                assert str(launcher.pid) in table.cell(row.key, "SOURCE")
                # Found through /proc/<pid>/root, not given with --uri.
                assert row.uri == launcher.uri.replace("virtqemud-sock", "libvirt-sock")
            text = _screen_text(app)
            for launcher in launchers:
                assert launcher.namespace in text and launcher.vm in text

            # The console of one VM: KubeVirt's serial socket inside the launcher's namespace.
            await _select(pilot, screen, keep)
            await pilot.press("s")
            console = await _run_in_console(pilot, app, keep.guests[0].prompt.decode())
            assert isinstance(console.transport, UnixSocketConsole)
            assert console.transport.path == keep.serial_socket()
            await pilot.press(EXIT, "q")
            await _until(pilot, lambda: app.screen is screen, 10, "back to the domain list")

            # l: KubeVirt's serial log, read through /proc/<pid>/root: the boot and the command.
            await pilot.press("l")
            log_screen = await _until(
                pilot, lambda: isinstance(app.screen, SerialLogScreen) and app.screen, 10
            )
            assert log_screen.path == keep.serial_log()
            banner = keep.guests[0].banner.decode()
            await _until(
                pilot,
                lambda: (
                    banner in "\n".join(log_screen.query_one(Log).lines)
                    and "hello-42" in "\n".join(log_screen.query_one(Log).lines)
                ),
                10,
                "the boot banner and hello-42 in the serial log",
            )
            await pilot.press("escape")
            await _until(pilot, lambda: app.screen is screen, 10, "back to the domain list")
            await pilot.press("escape")  # the filter off: both rows again
            await _until(pilot, lambda: table.row_count >= 2, 10, "both rows shown")

            # The other launcher's pod goes away: libvirtd and QEMU killed.
            victim_key = _row(screen, victim).key
            victim.kill()
            await _until(
                pilot,
                lambda: (row := _row(screen, victim)) is not None and row.stale,
                30,
                f"{victim.domain_name} greyed out",
            )
            await _until(
                pilot,
                lambda: table.cell(victim_key, "STATE").endswith("(stale)"),
                10,
                "the stale row's state",
            )
            await _until(
                pilot,
                lambda: "vanished" in _screen_text(app) and str(victim.pid) in _screen_text(app),
                10,
                "the vanished-daemon banner",
            )
            assert "(stale)" in _screen_text(app)
            # The survivor keeps updating.
            kept = _row(screen, keep)
            assert not kept.stale
            samples = len(kept.cpu_history)
            await _until(
                pilot,
                lambda: len(_row(screen, keep).cpu_history) > samples,
                15,
                "the surviving domain's stats refreshing",
            )
            # And the app still works: the console of the survivor, reopened, still answers.
            await _select(pilot, screen, keep)
            await pilot.press("s")
            again = await _until(
                pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen, 10
            )
            assert again is console, "the same console screen comes back"
            await _type(pilot, "echo again-$((6*7))")
            await pilot.press("enter")
            await _until(
                pilot, lambda: "\nagain-42" in again.terminal.screen_text(), 20, "again-42"
            )
            await pilot.press(EXIT, "q")
            await _until(pilot, lambda: app.screen is screen, 10, "back to the domain list")
            # The stale domain's console is refused with words, not a crash.
            await pilot.press("escape")
            await _select(pilot, screen, victim)
            await pilot.press("s")
            await _until(
                pilot,
                lambda: "out of reach" in _screen_text(app),
                10,
                "why the stale domain's console cannot open",
            )
            assert app.screen is screen
    finally:
        _close_consoles(app)
