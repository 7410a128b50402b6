"""The fake virt-launchers themselves, through plain libvirt-python and direct socket reads,
and kvtui's node discovery and console transports against them (no UI)."""

from __future__ import annotations

import os
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from kvtest import wait_for
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
        assert seen.uid == 0
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


def test_plain_libvirt_domain_console_through_a_libvirt_stream(
    launchers: list[Launcher], guest_image
) -> None:
    """A plain libvirt guest (pty serial, no KubeVirt name) in the same namespaced daemon:
    the console is virDomainOpenConsole through kvtui's LibvirtStreamConsole."""
    from tui.console.libvirt import LibvirtStreamConsole

    launcher = launchers[0]
    guest = launcher.define_guest(guest_image, name="plain-guest", serial="pty")
    console = LibvirtStreamConsole(launcher.uri, guest.name)
    got = _Collector()
    try:
        console.open(got.on_data, got.on_state)
        wait_for(lambda: console.state is ConsoleState.CONNECTED, 20, what="connected")
        launcher.wait_for_banner(guest)
        console.write(b"\n")
        wait_for(lambda: got.seen(guest.prompt), 20, what="the prompt")
        mark = got.mark()
        console.write(b"echo hello-$((6*7))\n")
        wait_for(lambda: got.seen(b"hello-42\r\n", mark), 20, what="hello-42 from the guest")
    finally:
        console.close()
        console.join(10)
        launcher.remove_guest(guest)


def test_node_model_follows_both_launchers_and_greys_a_killed_one(
    launchers: list[Launcher],
) -> None:
    """kvtui node's model, by discovery alone: both domains with namespace, VM, VMI uid and
    launcher pid; live stats; a launcher killed (libvirtd and QEMU, as when its pod is
    deleted) leaves its domain stale while the other keeps updating."""
    from tui.node.model import NodeModel

    keep, victim = launchers
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
        wait_for(
            lambda: ours()[keep.domain_name].cpu is not None, 15, what="a CPU rate for the guest"
        )

        victim.kill()
        wait_for(
            lambda: ours()[victim.domain_name].stale, 30, what=f"{victim.domain_name} greyed out"
        )
        row = ours()[keep.domain_name]
        assert not row.stale
        samples = len(row.cpu_history)
        wait_for(
            lambda: len(ours()[keep.domain_name].cpu_history) > samples,
            15,
            what="the surviving launcher's domain still refreshing",
        )
        assert ours()[victim.domain_name].cpu is None
    finally:
        model.stop()
