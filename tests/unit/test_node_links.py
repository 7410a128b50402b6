"""Which VMIs run on this machine (tui/node/links.py): a fake /proc, real libvirt.

The launcher is found the way `kvtui node` finds one (a libvirt socket inside a process's
root, tests/unit/test_node_discovery.py builds the same kind of tree), and asked for its
domains over that very socket: a session libvirtd (tests/libvirt_session.py) serving the
project's KubeVirt-style fixture through its test driver. Only KubeVirt metadata counts:
a plain libvirt domain, or a VMI whose uid no domain carries, is not "on this node".
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kvtest import skip_unless, wait_for
from libvirt_session import SessionDaemon, session_daemon

from tui.node.discovery import Launcher
from tui.node.links import NodeLinks, kubevirt_uid, scan, unavailable_reason

try:
    import libvirt
except ImportError:
    libvirt = None

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "node" / "kubevirt-node.xml"
WEB_UID = "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01"
DB_UID = "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e02"
BUILD_UID = "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e03"
MIGRATION_UID = "5b0c7d1e-0000-4000-8000-00000000d001"  # inside <migration>: not the VMI's


@pytest.fixture
def needs_libvirt() -> None:
    skip_unless(libvirt is not None, "libvirt-python is not installed (pip install '.[node]')")


def fake_proc(base: Path, launchers: dict[int, Path]) -> Path:
    """/proc with one process per launcher, its root a link to the daemon's state directory
    (which holds run/libvirt/libvirt-sock, where a launcher's daemon keeps its socket)."""
    proc = base / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "ns" / "mnt").symlink_to("mnt:[1]")
    for pid, root in launchers.items():
        (proc / str(pid) / "ns").mkdir(parents=True)
        (proc / str(pid) / "ns" / "mnt").symlink_to(f"mnt:[{1000 + pid}]")
        (proc / str(pid) / "comm").write_text("libvirtd\n")
        (proc / str(pid) / "status").write_text("Uid:\t107\t107\t107\t107\n")
        (proc / str(pid) / "root").symlink_to(root)
    return proc


def daemon_uri(launcher: Launcher) -> str:
    """The session daemon serves the fixture through its test driver, over the found socket.

    (A real launcher is asked with launcher.uri, `qemu+unix:///session?socket=...`.)"""
    root = launcher.socket.split("/root/", 1)[0] + "/root"
    return f"test+unix://{os.path.realpath(root)}/node.xml?socket={launcher.socket}"


@pytest.fixture
def daemon(needs_libvirt: None) -> Iterator[SessionDaemon]:
    with session_daemon(FIXTURE) as running:
        yield running


def test_kubevirt_uid_reads_the_vmi_uid_not_the_migrations() -> None:
    xml = (
        '<kubevirt xmlns="http://kubevirt.io"><migration><uid>m</uid></migration>'
        "<uid> vmi-uid </uid></kubevirt>"
    )
    assert kubevirt_uid(xml) == "vmi-uid"
    assert kubevirt_uid("<kubevirt><graceperiod/></kubevirt>") == ""
    assert kubevirt_uid("not xml <") == ""


def test_scan_maps_vmi_uids_to_domains_through_the_found_socket(
    daemon: SessionDaemon, tmp_path: Path
) -> None:
    proc = fake_proc(tmp_path, {4242: daemon.base})
    found = scan(proc, uri_of=daemon_uri)
    assert found.launchers == 1 and found.errors == []
    assert set(found.domains) == {WEB_UID, DB_UID, BUILD_UID}  # not plain-libvirt-guest
    assert MIGRATION_UID not in found.domains
    web = found.domains[WEB_UID]
    assert web.name == "prod_web-01"
    assert web.uuid == "8f3c1c52-5d0e-4a8e-9b6b-6b1f0a2c7e01"
    assert web.active and web.launcher.pid == 4242
    assert f"socket={proc}/4242/root/run/libvirt/libvirt-sock" in web.uri
    assert web.key == f"{web.uri}\n{web.uuid}"  # the node model's row key


def test_a_dead_daemon_is_an_error_line_not_a_crash(daemon: SessionDaemon, tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {4242: daemon.base})
    daemon.kill()
    os.mknod(daemon.socket, 0o600 | stat.S_IFSOCK)  # the socket file stays, nobody listens
    found = scan(proc, uri_of=daemon_uri)
    assert found.domains == {}
    assert len(found.errors) == 1 and found.errors[0].startswith("launcher 4242: ")


def test_nothing_found_without_launchers(needs_libvirt: None, tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {})
    found = scan(proc)
    assert (found.launchers, found.domains, found.errors) == (0, {}, [])


def test_not_root_on_the_real_proc_does_not_scan(needs_libvirt: None, tmp_path: Path) -> None:
    assert "not running as root" in unavailable_reason("/proc", euid=1000)
    assert unavailable_reason("/proc", euid=0) == ""
    assert unavailable_reason(tmp_path, euid=1000) == ""  # a given tree: readable or not
    links = NodeLinks("/proc", euid=1000)
    calls: list[int] = []
    stop = links.subscribe(lambda: calls.append(1))
    time.sleep(0.2)
    stop()
    assert links.reason and not links.scanned and calls == []


def test_without_libvirt_python_nothing_is_scanned(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "libvirt", None)  # `import libvirt` fails, as uninstalled
    links = NodeLinks(tmp_path, euid=0)
    assert "libvirt-python is not installed" in links.reason
    stop = links.subscribe(lambda: None)
    stop()
    assert links._thread is None and not links.scanned


def test_links_scan_when_listened_to_and_a_hint_brings_the_next_scan_forward(
    daemon: SessionDaemon, tmp_path: Path
) -> None:
    proc = fake_proc(tmp_path, {})  # nothing yet: the launcher starts later
    links = NodeLinks(proc, uri_of=daemon_uri, node_name="node-7", rescan_every=3600, hint_gap=0.2)
    news: list[float] = []
    stop = links.subscribe(lambda: news.append(time.time()))
    try:
        wait_for(lambda: links.scanned, what="the first scan")
        assert links.find(WEB_UID) is None and news
        # The launcher appears; the VMI names this node: scan again (not an hour later).
        (proc / "77" / "ns").mkdir(parents=True)
        (proc / "77" / "ns" / "mnt").symlink_to("mnt:[77]")
        (proc / "77" / "comm").write_text("virtqemud\n")
        (proc / "77" / "root").symlink_to(daemon.base)
        links.hint(WEB_UID, "elsewhere")  # another node: no scan
        time.sleep(0.5)
        assert links.scans == 1
        links.hint(WEB_UID, "node-7.example.com")
        wait_for(lambda: links.find(WEB_UID) is not None, what="found after the hint")
        assert links.find(WEB_UID).name == "prod_web-01"  # type: ignore[union-attr]
        assert len(news) == 2
        scans = links.scans
        links.hint(WEB_UID, "node-7")  # known now: no scan
        links.hint("no-such-uid", "node-7")  # unknown: one scan, not one per call
        links.hint("no-such-uid", "node-7")
        wait_for(lambda: links.scans == scans + 1, what="one scan for the new uid")
        time.sleep(0.5)
        assert links.scans == scans + 1
    finally:
        stop()
    wait_for(lambda: links._thread is None, what="the scan thread ends with its last listener")
