"""`o` on a VM in the cluster views: its libvirt domain on this machine, in the node view.

The demo cluster runs a VM; a session libvirtd (tests/libvirt_session.py) serves a copy of
the project's KubeVirt-style fixture whose `prod_web-01` domain is renamed `<ns>_<vm>` and
carries that VMI's uid in its KubeVirt metadata. Discovery finds the daemon through a fake
/proc whose process root holds its socket (so no root is needed), the way it finds a
virt-launcher's. The key is offered for that VM only, opens the node details of its domain
with the cluster's word on the VMI, and the node model stops when the screen is left.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import skip_unless
from libvirt_session import SessionDaemon, session_daemon
from test_lifecycle import NS, SIZE, create_vm, list_ready, make_app, move_cursor_to, unique

from screens.help import HelpScreen
from screens.on_node import use_links
from screens.on_node_details import OnNodeDetailsScreen
from screens.resource_list import VmiListScreen
from screens.vm_details import VmDetailsScreen
from screens.vm_list import VmListScreen
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.errors import ClusterError
from tui.node.discovery import Launcher
from tui.node.links import NodeLinks
from tui.node.model import SourceState
from widgets.resource_table import ResourceTable

try:
    import libvirt
except ImportError:
    libvirt = None

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "node" / "kubevirt-node.xml"
WEB_UID = "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01"


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    skip_unless(libvirt is not None, "libvirt-python is not installed (pip install '.[node]')")
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


def daemon_uri(launcher: Launcher) -> str:
    """The fixture through the daemon's test driver, over the socket discovery found."""
    root = os.path.realpath(launcher.socket.split("/root/", 1)[0] + "/root")
    return f"test+unix://{root}/node.xml?socket={launcher.socket}"


def fake_proc(base: Path, pid: int, root: Path) -> Path:
    proc = base / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "ns" / "mnt").symlink_to("mnt:[1]")
    (proc / str(pid) / "ns").mkdir(parents=True)
    (proc / str(pid) / "ns" / "mnt").symlink_to(f"mnt:[{pid}]")
    (proc / str(pid) / "comm").write_text("virtqemud\n")
    (proc / str(pid) / "status").write_text("Uid:\t107\t107\t107\t107\n")
    (proc / str(pid) / "root").symlink_to(root)
    return proc


def vmi_of(connection: Connection, name: str) -> dict[str, Any] | None:
    try:
        response = connection.request("GET", f"{K.VMIS.path(NS)}/{name}")
    except ClusterError:
        return None  # not created yet
    return response.json() if response.status == 200 else None


@pytest.fixture
def running_vm(connection: Connection) -> tuple[str, dict[str, Any]]:
    from kvtest import wait_for

    name = unique("onnode")
    create_vm(connection, name, run_strategy="Always")
    vmi = wait_for(lambda: vmi_of(connection, name), what=f"the VMI of {name}")
    return name, vmi


@pytest.fixture
def launcher(
    running_vm: tuple[str, dict[str, Any]], tmp_path: Path
) -> Iterator[tuple[SessionDaemon, Path]]:
    name, vmi = running_vm
    xml = FIXTURE.read_text().replace("prod_web-01", f"{NS}_{name}")
    xml = xml.replace(WEB_UID, vmi["metadata"]["uid"])
    fixture = tmp_path / "node.xml"
    fixture.write_text(xml)
    with session_daemon(fixture) as daemon:
        yield daemon, fake_proc(tmp_path, 4242, daemon.base)


def footer_keys(app: Any) -> str:
    return " ".join(b.binding.description for b in app.active_bindings.values() if b.enabled)


async def test_on_node_opens_the_domain_and_only_for_the_vm_found_here(
    connection: Connection,
    running_vm: tuple[str, dict[str, Any]],
    launcher: tuple[SessionDaemon, Path],
    wait_for: Any,
    screen_text: Any,
) -> None:
    name, vmi = running_vm
    uid = vmi["metadata"]["uid"]
    other = unique("elsewhere")
    create_vm(connection, other, run_strategy="Always")  # its VMI's domain is not here
    _daemon, proc = launcher
    app = make_app(connection)
    links = NodeLinks(proc, uri_of=daemon_uri, node_name="not-this-one")
    use_links(app, links)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name, other)
        assert isinstance(app.screen, VmListScreen)
        await wait_for(pilot, lambda: links.scanned, what="the scan of this machine")
        # The other VM: no key (not in the footer, not in help, pressing it does nothing).
        # Once it has a VMI (the demo makes it a moment after the VM): before, help would
        # rightly say "no VMI" instead.
        screen = app.screen
        await wait_for(pilot, lambda: screen._vmis.get((NS, other)), what="its VMI")
        await move_cursor_to(pilot, app, wait_for, other)
        await wait_for(pilot, lambda: app.screen.check_action("show_on_node", ()) is False)
        assert "On node" not in footer_keys(app)
        await pilot.press("question_mark")
        help_screen = await wait_for(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen
        )
        assert "On node" not in help_screen.text()
        assert "its VMI's domain is not on this machine (looked in 1 launcher)" in (
            help_screen.text()
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await pilot.press("o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, VmListScreen)
        # Its own VM: the key, and the node view of its domain.
        await move_cursor_to(pilot, app, wait_for, name)
        await wait_for(pilot, lambda: "On node" in footer_keys(app), what="the key in the footer")
        await pilot.press("question_mark")
        help_screen = await wait_for(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen
        )
        assert "On node" in help_screen.text() and "Not offered here" not in help_screen.text()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await pilot.press("o")
        details = await wait_for(
            pilot,
            lambda: isinstance(app.screen, OnNodeDetailsScreen) and app.screen,
            what="the node details",
        )
        await wait_for(pilot, lambda: "overview" in details.loaded, what="the overview")
        await wait_for(
            pilot,
            lambda: f"VMI  {NS}/{name}" in details.tab_text["overview"],
            what="the cluster section",
            timeout=20,
        )
        overview = details.tab_text["overview"]
        assert uid in overview and f"VM  {name}" in overview
        await wait_for(pilot, lambda: f"{NS}/{name}" in screen_text(app), what="the title")
        assert "launcher 4242" in screen_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: f"<name>{NS}_{name}</name>" in screen_text(app), what="XML")
        model = details.model
        # Leaving stops the node model (its threads, its connection).
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen), what="back")
        source = model.source(details.model.domain.uri)
        assert source is not None
        await wait_for(
            pilot, lambda: source.state is SourceState.STOPPED, what="the node model stopped"
        )
        # The VM details offer it too.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VmDetailsScreen), what="VM details")
        await wait_for(pilot, lambda: "On node" in footer_keys(app), what="the key on details")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OnNodeDetailsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VmDetailsScreen))
        # And the VMI list: `o` on the VMI found here, not on the other one.
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        app.navigator.run("vmi")
        vmis = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, VmiListScreen)
                and app.screen.query(ResourceTable)
                and app.screen
            ),
        )
        table = vmis.query_one(ResourceTable)
        for wanted, offered in ((other, False), (name, True)):
            await wait_for(
                pilot,
                lambda w=wanted: table.move_cursor_to_key(
                    next((k for k in table.keys() if table.row_text(k)[0] == w), "")
                ),
                what=f"the cursor on {wanted}",
            )
            await wait_for(
                pilot,
                lambda o=offered: ("On node" in footer_keys(app)) == o,
                what=f"o {'offered' if offered else 'absent'} on {wanted}",
            )
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OnNodeDetailsScreen))
        await wait_for(pilot, lambda: f"{NS}/{name}" in screen_text(app), what="its domain")


async def test_key_absent_when_this_machine_cannot_be_looked_at(
    connection: Connection, running_vm: tuple[str, dict[str, Any]], wait_for: Any
) -> None:
    name, _vmi = running_vm
    app = make_app(connection)
    links = NodeLinks("/proc", euid=1000)  # not root: nothing is scanned
    use_links(app, links)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        await move_cursor_to(pilot, app, wait_for, name)
        assert app.screen.check_action("show_on_node", ()) is False
        assert "On node" not in footer_keys(app)
        assert "not running as root" in app.screen.why_not_on_node()
        assert not links.scanned
