"""The VM list screen, end to end on the demo cluster, and against scripted informers.

The demo tests go the whole way a user's session goes: kubeconfig -> Connection -> app ->
informers over HTTP -> screen. The scripted ones feed the screen exact informer events to pin
down behaviour that is awkward to provoke on a server (hostile text, banners).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

from screens.vm_list import VmListScreen
from tui.cli import Settings
from tui.cluster.connection import Connection
from tui.cluster.informer import InformerEvent, InformerState
from tui.cluster.kinds import Kind
from widgets.resource_table import ResourceTable

SIZE = (160, 48)
MARKUP = "[bold red]x[/]"


# ---- scripted informers ------------------------------------------------------------


class ScriptedInformer:
    """Stands in for tui.cluster.informer.Informer; the test decides what it reports."""

    instances: list[ScriptedInformer] = []

    def __init__(self, api_client: Any, kind: Kind, namespace: str | None = None, **_: Any) -> None:
        self.kind = kind
        self.namespace = namespace
        self.listeners: list[Callable[[list[InformerEvent]], None]] = []
        self.started = False
        self.stopped = False
        ScriptedInformer.instances.append(self)

    def add_listener(self, fn: Callable[[list[InformerEvent]], None]) -> Callable[[], None]:
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn) if fn in self.listeners else None

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def items(self) -> list[dict[str, Any]]:
        return []

    def send(self, *events: InformerEvent) -> None:
        """Deliver a batch from another thread, as the real informer does."""

        def deliver() -> None:
            for fn in list(self.listeners):
                fn(list(events))

        thread = threading.Thread(target=deliver)
        thread.start()
        thread.join()


def informer_for(plural: str) -> ScriptedInformer:
    return next(i for i in ScriptedInformer.instances if i.kind.plural == plural)


def vm(
    name: str, namespace: str = "ns1", status: str = "Stopped", uid: str | None = None, **meta: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{namespace}-{name}",
            "creationTimestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **meta,
        },
        "spec": {"runStrategy": "Halted"},
        "status": {
            "printableStatus": status,
            "conditions": [{"type": "Ready", "status": "True" if status == "Running" else "False"}],
        },
    }


def vmi(
    name: str, namespace: str = "ns1", ip: str = "10.0.0.5", node: str = "node-01"
) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": name, "namespace": namespace, "uid": f"vmi-{name}"},
        "status": {
            "phase": "Running",
            "nodeName": node,
            "interfaces": [{"name": "default", "ipAddress": ip}],
        },
    }


def ev(
    type_: str,
    obj: dict[str, Any] | None = None,
    state: InformerState = InformerState.SYNCED,
    error: Any = None,
) -> InformerEvent:
    return InformerEvent(type_, obj, state, error)


class ScreenApp(App[None]):
    """Just the screen, with scripted informers."""

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__()
        self.namespace = namespace

    def on_mount(self) -> None:
        self.push_screen(VmListScreen(object(), self.namespace, informer_factory=ScriptedInformer))


@pytest.fixture
def scripted() -> Iterator[None]:
    ScriptedInformer.instances.clear()
    yield
    ScriptedInformer.instances.clear()


def table_of(app: App[Any]) -> ResourceTable:
    return app.screen.query_one(ResourceTable)


def row_by_name(table: ResourceTable, name: str) -> dict[str, str] | None:
    columns = [str(c.label) for c in table.ordered_columns]
    for key in table.keys():
        cells = table.row_text(key)
        if cells[0] == name:
            return dict(zip(columns, cells, strict=True))
    return None


async def test_scripted_rows_join_vm_and_vmi(scripted: None, screen_text, wait_for) -> None:
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vms, vmis = informer_for("virtualmachines"), informer_for("virtualmachineinstances")
        assert vms.started and vmis.started and vms.namespace is None
        assert "loading" in screen_text(app)
        vms.send(ev("ADDED", vm("web", status="Running")), ev("ADDED", vm("db")), ev("SYNCED"))
        vmis.send(ev("ADDED", vmi("web")), ev("SYNCED"))
        table = table_of(app)
        await wait_for(pilot, lambda: (row_by_name(table, "web") or {}).get("IP") == "10.0.0.5")
        web = row_by_name(table, "web")
        assert web == {
            "NAME": "web",
            "NAMESPACE": "ns1",
            "STATUS": "Running",
            "⟳": "",
            "READY": "True",
            "RUN STRATEGY": "Halted",
            "VCPU": "1",
            "MEM": "",
            "IP": "10.0.0.5",
            "NODE": "node-01",
            "AGE": web["AGE"],
        }
        assert web["AGE"].endswith("s")
        assert row_by_name(table, "db")["STATUS"] == "Stopped"
        text = screen_text(app)
        assert "VMs in all namespaces [2]" in text and "1 running" in text and "1 stopped" in text

        # The VMI goes away: IP and node go with it; the VM is deleted: its row goes.
        vmis.send(ev("DELETED", vmi("web")))
        await wait_for(pilot, lambda: row_by_name(table, "web")["IP"] == "")
        vms.send(ev("DELETED", vm("web")))
        await wait_for(pilot, lambda: row_by_name(table, "web") is None)
        assert list(table.keys()) == ["uid-ns1-db"]

        # Deleted and created again under the same name: one row, the new uid.
        vms.send(ev("MODIFIED", vm("db", uid="second-uid")))
        await wait_for(pilot, lambda: list(table.keys()) == ["second-uid"])
    assert vms.stopped and vmis.stopped, "informers stop with the screen"


async def test_single_namespace_has_no_namespace_column(
    scripted: None, screen_text, wait_for
) -> None:
    app = ScreenApp(namespace="ns1")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert informer_for("virtualmachines").namespace == "ns1"
        informer_for("virtualmachines").send(ev("ADDED", vm("web")), ev("SYNCED"))
        table = table_of(app)
        await wait_for(pilot, lambda: row_by_name(table, "web"))
        assert [str(c.label) for c in table.ordered_columns] == [
            "NAME",
            "STATUS",
            "⟳",
            "READY",
            "RUN STRATEGY",
            "VCPU",
            "MEM",
            "IP",
            "NODE",
            "AGE",
        ]
        assert "VMs in namespace ns1 [1]" in screen_text(app)


async def test_scripted_hostile_text_shows_literally(scripted: None, screen_text, wait_for) -> None:
    """Names cannot hold brackets on a real server, but status, node and IP come from
    objects anyone with write access can fill in: none of it may become markup or escapes."""
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        informer_for("virtualmachines").send(ev("ADDED", vm("evil", status=MARKUP)), ev("SYNCED"))
        informer_for("virtualmachineinstances").send(
            ev("ADDED", vmi("evil", ip="\x1b[2J\x1b]0;owned\x07", node="[link=http://x]n[/link]")),
            ev("SYNCED"),
        )
        table = table_of(app)
        await wait_for(pilot, lambda: (row_by_name(table, "evil") or {}).get("NODE"))
        text = screen_text(app)
        assert MARKUP in text
        assert "[link=http://x]n[/link]" in text
        assert "^[[2J^[]0;owned^G" in text
        assert "\x1b" not in text


async def test_scripted_banner_comes_and_goes(scripted: None, screen_text, wait_for) -> None:
    from tui.cluster.errors import ClusterError

    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vms = informer_for("virtualmachines")
        vms.send(ev("ADDED", vm("web")), ev("SYNCED"))
        await wait_for(pilot, lambda: "web" in screen_text(app))
        assert "Disconnected" not in screen_text(app)
        error = ClusterError(
            "Cannot reach the cluster",
            summary="Cannot reach the cluster at http://x: connection refused",
            transport=True,
        )
        vms.send(ev("STATE", None, InformerState.DISCONNECTED, error))
        await wait_for(pilot, lambda: "Disconnected from the cluster" in screen_text(app))
        assert "connection refused" in screen_text(app)
        assert "web" in screen_text(app), "the last known list stays visible"
        vms.send(ev("STATE", None, InformerState.SYNCED))
        await wait_for(pilot, lambda: "Disconnected" not in screen_text(app))

        forbidden = ClusterError(
            "Forbidden", summary="you may not list virtualmachines in all namespaces", status=403
        )
        vms.send(ev("STATE", None, InformerState.ERROR, forbidden))
        await wait_for(pilot, lambda: "Cannot watch VirtualMachines" in screen_text(app))
        assert "you may not list" in screen_text(app)


async def test_scripted_forbidden_from_the_start_shows_no_count(
    scripted: None, screen_text, wait_for
) -> None:
    """A user who may not list VMs cluster-wide sees why, not "0 VMs"."""
    from tui.cluster.errors import ClusterError

    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        forbidden = ClusterError(
            "Forbidden", summary="you may not list virtualmachines in all namespaces", status=403
        )
        informer_for("virtualmachines").send(ev("STATE", None, InformerState.ERROR, forbidden))
        await wait_for(pilot, lambda: "Cannot watch VirtualMachines" in screen_text(app))
        text = screen_text(app)
        assert "0 VMs" not in text and "loading" not in text


# ---- the demo cluster, the whole way ------------------------------------------------


def connect(kubeconfig: Path | str, context: str | None = None) -> Connection:
    return Connection.from_kubeconfig(str(kubeconfig), context)


def kvtui_app(connection: Connection, **settings: Any) -> Any:
    from tui.app import KvtuiApp

    settings.setdefault("namespace", None)
    return KvtuiApp(
        connection, Settings(**settings), kubevirt_version=connection.kubevirt_version()
    )


def list_vms(connection: Connection, namespace: str | None = None) -> list[dict[str, Any]]:
    from tui.cluster.kinds import VMS

    return connection.request("GET", VMS.path(namespace)).json()["items"]


async def test_demo_shows_seeded_vms_of_all_namespaces(
    kubeconfig: Path, screen_text, wait_for
) -> None:
    connection = connect(kubeconfig)
    expected = {(v["metadata"]["namespace"], v["metadata"]["name"]) for v in list_vms(connection)}
    assert len(expected) >= 5, "the demo seeds VMs"
    app = kvtui_app(connection, demo=True)
    async with app.run_test(size=SIZE) as pilot:
        table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
        await wait_for(pilot, lambda: table.row_count >= len(expected), what="all seeded VMs")
        shown = {(table.row_text(k)[1], table.row_text(k)[0]) for k in table.keys()}
        assert expected <= shown
        columns = [str(c.label) for c in table.ordered_columns]
        assert columns == [
            "NAME",
            "NAMESPACE",
            "STATUS",
            "⟳",
            "READY",
            "RUN STRATEGY",
            "VCPU",
            "MEM",
            "IP",
            "NODE",
            "AGE",
        ]
        statuses = {table.cell(k, "STATUS") for k in table.keys()}
        assert "Running" in statuses and "" not in statuses
        # A running VM has an IP and a node from its VMI.
        running = await wait_for(
            pilot,
            lambda: [
                k
                for k in table.keys()
                if table.cell(k, "STATUS") == "Running" and table.cell(k, "IP")
            ],
        )
        assert table.cell(running[0], "NODE")
        text = screen_text(app)
        assert "kvtui-demo" in text and "ns all" in text
        assert "VMs in all namespaces [" in text
        assert "READ-ONLY" not in text
    connection.close()


def vm_manifest(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"test": "kvtui"},
            "annotations": {"description": f"{MARKUP} \x1b[31mred"},
        },
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": [{"name": "containerdisk", "disk": {"bus": "virtio"}}],
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                        "memory": {"guest": "256Mi"},
                        "resources": {"requests": {"memory": "256Mi"}},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "volumes": [
                        {
                            "name": "containerdisk",
                            "containerDisk": {
                                "image": "quay.io/kubevirt/cirros-container-disk-demo"
                            },
                        }
                    ],
                },
            },
        },
    }


async def test_demo_vm_started_while_watching_becomes_running(
    kubeconfig: Path, screen_text, wait_for
) -> None:
    from tui.cluster.kinds import VMS

    connection = connect(kubeconfig)
    namespace = "default"
    name = f"ui-{uuid.uuid4().hex[:8]}"
    app = kvtui_app(connection, demo=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
            await wait_for(pilot, lambda: table.row_count > 0)
            connection.request("POST", VMS.path(namespace), body=vm_manifest(name, namespace))
            await wait_for(
                pilot,
                lambda: (row_by_name(table, name) or {}).get("STATUS") == "Stopped",
                what=f"{name} Stopped",
            )
            connection.request(
                "PUT",
                f"/apis/subresources.kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}/start",
                body={},
            )
            await wait_for(
                pilot,
                lambda: row_by_name(table, name)["STATUS"] == "Running",
                what=f"{name} Running",
                timeout=30,
            )
            await wait_for(
                pilot,
                lambda: row_by_name(table, name)["IP"] and row_by_name(table, name)["NODE"],
                what="IP and node",
            )
            await wait_for(pilot, lambda: row_by_name(table, name)["READY"] == "True", what="Ready")
    finally:
        try:
            connection.request("DELETE", VMS.path(namespace, name))
        finally:
            connection.close()


async def test_demo_stopped_vm_shows_its_instancetypes_vcpus_and_memory(
    kubeconfig: Path, wait_for
) -> None:
    """A VM sized by an instancetype has no CPU or memory of its own: while stopped (no VMI
    to read them from) the list reads the instancetype, and follows it when it changes."""
    from tui.cluster.kinds import CLUSTER_INSTANCETYPES, INSTANCETYPES, VMS

    connection = connect(kubeconfig)
    namespace = "default"
    name = f"ui-{uuid.uuid4().hex[:8]}"
    instancetype = {
        "apiVersion": "instancetype.kubevirt.io/v1beta1",
        "kind": "VirtualMachineInstancetype",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"cpu": {"guest": 3}, "memory": {"guest": "3Gi"}},
    }
    manifest = vm_manifest(name, namespace)
    domain = manifest["spec"]["template"]["spec"]["domain"]
    del domain["memory"], domain["resources"]
    manifest["spec"]["instancetype"] = {"kind": "VirtualMachineInstancetype", "name": name}
    cluster_vm = vm_manifest(f"{name}-c", namespace)
    domain = cluster_vm["spec"]["template"]["spec"]["domain"]
    del domain["memory"], domain["resources"]
    cluster_name = connection.request("GET", CLUSTER_INSTANCETYPES.path()).json()["items"][0]
    cluster_spec = cluster_name["spec"]
    cluster_vm["spec"]["instancetype"] = {"name": cluster_name["metadata"]["name"]}
    app = kvtui_app(connection, namespace=namespace)
    try:
        connection.request("POST", INSTANCETYPES.path(namespace), body=instancetype)
        async with app.run_test(size=SIZE) as pilot:
            table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
            connection.request("POST", VMS.path(namespace), body=manifest)
            connection.request("POST", VMS.path(namespace), body=cluster_vm)

            def sizes(vm: str) -> tuple[str, str] | None:
                row = row_by_name(table, vm)
                return (row["VCPU"], row["MEM"]) if row else None

            await wait_for(pilot, lambda: sizes(name) == ("3", "3Gi"), what="instancetype's")
            cluster = (str(cluster_spec["cpu"]["guest"]), cluster_spec["memory"]["guest"])
            await wait_for(pilot, lambda: sizes(f"{name}-c") == cluster, what="cluster kind's")
            connection.request(
                "PATCH",
                INSTANCETYPES.path(namespace, name),
                body={"spec": {"memory": {"guest": "5Gi"}}},
                content_type="application/merge-patch+json",
            )
            await wait_for(pilot, lambda: sizes(name) == ("3", "5Gi"), what="the new memory")
            assert not app.screen.query_one("#vm-banner").display
            # Gone: the name is all there is to show.
            connection.request("DELETE", INSTANCETYPES.path(namespace, name))
            await wait_for(pilot, lambda: sizes(name) == (name, name), what="the name again")
    finally:
        for path in (
            VMS.path(namespace, name),
            VMS.path(namespace, f"{name}-c"),
            INSTANCETYPES.path(namespace, name),
        ):
            try:
                connection.request("DELETE", path)
            except Exception:  # noqa: BLE001 - already gone
                pass
        connection.close()


async def test_demo_readonly_badge_and_viewer_context(
    kubeconfig: Path, screen_text, wait_for
) -> None:
    connection = connect(kubeconfig, "kvtui-demo-viewer")
    app = kvtui_app(connection, readonly=True, namespace="vm-dev")
    async with app.run_test(size=SIZE) as pilot:
        table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
        await wait_for(pilot, lambda: table.row_count > 0, what="vm-dev VMs")
        text = screen_text(app)
        assert "READ-ONLY" in text and "kvtui-demo-viewer" in text and "ns vm-dev" in text
        assert [str(c.label) for c in table.ordered_columns][1] == "STATUS"
    connection.close()


async def test_demo_going_away_shows_disconnected_banner(
    fresh_demo: Any, tmp_path: Path, screen_text, wait_for
) -> None:
    kubeconfig = fresh_demo.write_kubeconfig(tmp_path / "config")
    connection = connect(kubeconfig)
    connection.request(
        "POST",
        "/apis/kubevirt.io/v1/namespaces/default/virtualmachines",
        body=vm_manifest("lonely", "default"),
    )
    app = kvtui_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
        await wait_for(pilot, lambda: row_by_name(table, "lonely"))
        assert "Disconnected" not in screen_text(app)
        fresh_demo.stop()
        await wait_for(
            pilot, lambda: "Disconnected from the cluster" in screen_text(app), timeout=30
        )
        assert row_by_name(table, "lonely"), "the last known list stays"
    connection.close()


async def test_demo_hostile_text_from_the_cluster_shows_literally(
    kubeconfig: Path, screen_text, wait_for
) -> None:
    """A VMI's status is writable by anyone who may update VMIs (the kind has no status
    subresource), so its node name is text anyone with that right chooses; the VM itself
    carries markup and escapes in an annotation. All of it must stay inert on screen."""
    from tui.cluster.kinds import VMIS, VMS

    connection = connect(kubeconfig)
    namespace = "default"
    name = f"ui-{uuid.uuid4().hex[:8]}"
    hostile = f"{MARKUP}\x1b]0;owned\x07\x9b2J"
    manifest = vm_manifest(name, namespace)
    manifest["spec"]["runStrategy"] = "Always"
    app = kvtui_app(connection, demo=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
            connection.request("POST", VMS.path(namespace), body=manifest)
            await wait_for(
                pilot,
                # Booted and ready: the demo's controller fails a VMI whose node vanishes
                # while it boots, and the hostile name below names no node.
                lambda: (row_by_name(table, name) or {}).get("READY") == "True",
                what="the VM running on a node",
                timeout=30,
            )
            connection.request(
                "PATCH",
                VMIS.path(namespace, name),
                body={"status": {"nodeName": hostile}},
                content_type="application/merge-patch+json",
            )
            await wait_for(
                pilot, lambda: MARKUP in row_by_name(table, name)["NODE"], what="hostile node"
            )
            text = screen_text(app)
            assert f"{MARKUP}^[]0;owned^G\ufffd2J" in text
            assert "\x1b" not in text and "\x9b" not in text
            assert app.is_running, "nothing crashed on the way"
    finally:
        try:
            connection.request("DELETE", VMS.path(namespace, name))
        finally:
            connection.close()
