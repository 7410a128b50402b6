"""`o` (show on node) in the cluster app, as root, against real fake virt-launchers.

Two launchers (tests/launchers.py: a libvirtd each in its own mount namespace, one root
`qemu:///system`, one non-root `qemu:///session` as KubeVirt runs them) each hold a domain
defined (not started: no guest boot needed) with KubeVirt's name and metadata for a VMI of
the demo cluster. kvtui looks at the real /proc, as on a node: discovery finds both
daemons, the VMI uids in their domains' metadata offer `o` on exactly those two VMs, and `o`
opens the node details of the right domain through the right launcher.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from kvtest import pilot_wait_for, screen_text, skip_unless, vm_manifest, wait_for
from launchers import DOMAIN_XML, SERIAL_KUBEVIRT, Launcher, LauncherError, environment_problem

from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.errors import ClusterError

pytestmark = pytest.mark.timeout(300)

NS = "default"
SIZE = (160, 48)


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    problem = environment_problem()
    skip_unless(problem is None, str(problem))
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


def _vmi(connection: Connection, name: str) -> dict[str, Any] | None:
    try:
        return connection.request("GET", f"{K.VMIS.path(NS)}/{name}").json()
    except ClusterError:
        return None


def _define(launcher: Launcher, vmi_uid: str) -> None:
    """KubeVirt's domain for the VMI, defined only (its kernel is never read)."""
    private = f"/var/run/kubevirt-private/{vmi_uid}"
    xml = DOMAIN_XML.format(
        name=escape(launcher.domain_name),
        domain_uuid=uuidlib.uuid4(),
        vmi_uid=escape(vmi_uid),
        memory_mib=128,
        vcpus=1,
        kernel="/nonexistent/vmlinuz",
        initrd="/nonexistent/initrd",
        cmdline="console=ttyS0",
        serial=SERIAL_KUBEVIRT.format(
            sock=escape(f"{private}/virt-serial0"), log=escape(f"{private}/virt-serial0-log")
        ),
    )
    launcher.connection().defineXML(xml)


@pytest.fixture
def vms_on_launchers(
    connection: Connection, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[tuple[str, str, Launcher]]]:
    """[(VM name, VMI uid, its launcher)] for a root and a non-root launcher."""
    from tui.libvirt_loop import ensure_event_loop, quiet_errors

    ensure_event_loop()
    quiet_errors()
    base = tmp_path_factory.mktemp("onnode-launchers")
    started: list[Launcher] = []
    out = []
    try:
        for user in (None, 107):
            name = unique("onnode")
            create_vm(connection, name, run_strategy="Always")
            vmi = wait_for(lambda n=name: _vmi(connection, n), what=f"the VMI of {name}")
            uid = vmi["metadata"]["uid"]
            launcher = Launcher(base, namespace=NS, vm=name, vmi_uid=uid, user=user)
            started.append(launcher)
            launcher.start()
            _define(launcher, uid)
            out.append((name, uid, launcher))
        yield out
    finally:
        errors = []
        for launcher in started:
            try:
                launcher.stop()
            except LauncherError as exc:
                errors.append(str(exc))
        if errors:
            pytest.fail("launcher teardown: " + "; ".join(errors))


async def until(pilot: Any, predicate: Any, *, what: str = "", timeout: float = 15.0) -> Any:
    return await pilot_wait_for(pilot, predicate, timeout=timeout, what=what)


def create_vm(connection: Connection, name: str, **kwargs: Any) -> None:
    connection.request("POST", K.VMS.path(NS), body=vm_manifest(name, namespace=NS, **kwargs))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuidlib.uuid4().hex[:6]}"


def make_app(connection: Connection) -> Any:
    from tui.app import KvtuiApp
    from tui.cli import Settings

    return KvtuiApp(connection, Settings(namespace=NS, demo=True))


def _row_names(app: Any) -> dict[str, str]:
    """Row key -> VM name of the list on screen."""
    from widgets.resource_table import ResourceTable

    table = app.screen.query_one(ResourceTable)
    return {key: table.row_text(key)[0] for key in table.keys()}


async def list_ready(pilot: Any, app: Any, *names: str) -> None:
    from screens.vm_list import VmListScreen

    await until(pilot, lambda: isinstance(app.screen, VmListScreen), what="the VM list")
    for name in names:
        await until(pilot, lambda n=name: n in _row_names(app).values(), what=f"row {name}")


async def move_cursor_to(pilot: Any, app: Any, name: str) -> None:
    from widgets.resource_table import ResourceTable

    table = app.screen.query_one(ResourceTable)
    await pilot.press("g")  # from the top
    for _ in range(table.row_count + 1):
        key = table.cursor_key
        if key is not None and table.row_text(key)[0] == name:
            return
        await pilot.press("down")
    pytest.fail(f"no row {name}")


def _footer(app: Any) -> str:
    return " ".join(b.binding.description for b in app.active_bindings.values() if b.enabled)


async def test_o_opens_the_domain_in_its_launcher_found_on_the_real_proc(
    connection: Connection,
    vms_on_launchers: list[tuple[str, str, Launcher]],
) -> None:
    from screens.on_node import use_links
    from screens.on_node_details import OnNodeDetailsScreen
    from screens.vm_list import VmListScreen
    from tui.node.links import NodeLinks

    other = unique("notours")
    create_vm(connection, other, run_strategy="Always")
    app = make_app(connection)
    links = NodeLinks()  # the real /proc, as root: what `kvtui` does on a node
    use_links(app, links)
    names = [name for name, _uid, _launcher in vms_on_launchers]
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, other, *names)
        await until(pilot, lambda: links.scanned, what="the scan of /proc", timeout=30)
        assert links.last is not None and links.last.launchers >= 2, links.last
        await move_cursor_to(pilot, app, other)
        await until(pilot, lambda: app.screen.check_action("show_on_node", ()) is False)
        for name, uid, launcher in vms_on_launchers:
            await move_cursor_to(pilot, app, name)
            await until(pilot, lambda: "On node" in _footer(app), what=f"o on {name}")
            await pilot.press("o")
            details = await until(
                pilot,
                lambda: isinstance(app.screen, OnNodeDetailsScreen) and app.screen,
                what="the node details",
            )
            await until(
                pilot,
                lambda d=details, n=name: f"VMI  {NS}/{n}" in d.tab_text["overview"],
                what="the overview with the cluster section",
                timeout=30,
            )
            overview = details.tab_text["overview"]
            assert uid in overview and "shut off" in overview
            assert f"launcher {launcher.pid}" in screen_text(app)
            mode = "system" if launcher.user is None else "session"
            assert details.model.domain.uri.startswith(f"qemu+unix:///{mode}?socket=/proc/")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, VmListScreen), what="back")
