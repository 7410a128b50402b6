"""Lifecycle keys end to end on a demo cluster of the test's own (fresh_demo).

Each test creates its own VMs through the API, drives the app with keys as a user would
(cursor or marks, the key, the confirm dialog) and checks what the list then shows, what
the notifications say, and what the demo server received.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import vm_manifest

from screens.dialogs import ConfirmDialog
from tui.cli import Settings
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from widgets.resource_table import ResourceTable

SIZE = (160, 48)
NS = "default"
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}/{sub}"


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    config = fresh_demo.write_kubeconfig(tmp_path / "config")
    conn = Connection.from_kubeconfig(str(config))
    yield conn
    conn.close()


def make_app(connection: Connection, **settings: Any) -> Any:
    from tui.app import KvtuiApp

    settings.setdefault("namespace", NS)
    settings.setdefault("demo", True)
    return KvtuiApp(connection, Settings(**settings))


def create_vm(connection: Connection, name: str, **kwargs: Any) -> dict[str, Any]:
    body = vm_manifest(name, namespace=NS, **kwargs)
    return connection.request("POST", K.VMS.path(NS), body=body).json()


def put_sub(connection: Connection, name: str, sub: str) -> None:
    connection.request("PUT", SUB.format(ns=NS, name=name, sub=sub), body={})


def unique(prefix: str = "lc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def table_of(app: Any) -> ResourceTable:
    return app.screen.query_one(ResourceTable)


def status_of(app: Any, name: str) -> str | None:
    table = table_of(app)
    columns = [str(getattr(c, "label", c)) for c in getattr(table, "ordered_columns", [])]
    for key in table.keys():
        cells = table.row_text(key)
        if cells and cells[0] == name:
            if columns:
                return dict(zip(columns, cells, strict=False)).get("STATUS")
            return table.cell(key, "STATUS")
    return None


async def list_ready(pilot: Any, app: Any, wait_for: Any, *names: str) -> None:
    await wait_for(pilot, lambda: app.screen.query(ResourceTable), what="the VM list")
    for name in names:
        await wait_for(pilot, lambda n=name: status_of(app, n), what=f"row {name}")


async def move_cursor_to(pilot: Any, app: Any, wait_for: Any, name: str) -> None:
    table = table_of(app)
    for _ in range(table.row_count + 1):
        key = table.cursor_key
        if key is not None and table.row_text(key)[0] == name:
            return
        await pilot.press("down")
    pytest.fail(f"no row {name}")


async def confirm(pilot: Any, app: Any, wait_for: Any, key: str = "y") -> ConfirmDialog:
    dialog = await wait_for(
        pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="dialog"
    )
    await pilot.press(key)
    return dialog


def notifications(app: Any) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)  # noqa: SLF001


async def test_start_stop_restart_pause_unpause(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique()
    create_vm(connection, name)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        assert status_of(app, name) == "Stopped"

        await pilot.press("t")
        dialog = await confirm(pilot, app, wait_for, "c")
        await wait_for(pilot, lambda: f"virtctl start {name} -n {NS}" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert dialog.targets == [f"{NS}/{name}"]
        await wait_for(pilot, lambda: status_of(app, name) == "Running", what="Running")

        await pilot.press("z")
        await confirm(pilot, app, wait_for)
        await wait_for(pilot, lambda: status_of(app, name) == "Paused", what="Paused")
        await pilot.press("Z")
        await confirm(pilot, app, wait_for)
        await wait_for(pilot, lambda: status_of(app, name) == "Running", what="unpaused")

        before = len(fresh_demo.requests)
        await pilot.press("r")
        await confirm(pilot, app, wait_for)
        await wait_for(
            pilot,
            lambda: any(r.path.endswith(f"/{name}/restart") for r in fresh_demo.requests[before:]),
            what="restart request",
        )
        await wait_for(pilot, lambda: status_of(app, name) == "Running", what="Running again")

        await pilot.press("x")
        await confirm(pilot, app, wait_for)
        await wait_for(pilot, lambda: status_of(app, name) == "Stopped", what="Stopped")
        assert "Stop: stop requested" in notifications(app)


async def test_migrate_then_cancel_and_force_stop(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    name = unique()
    create_vm(connection, name, run_strategy="Always")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        await wait_for(pilot, lambda: status_of(app, name) == "Running", what="Running")
        # Running comes before the VMI reports LiveMigratable; until then `m` rightly does nothing.
        await wait_for(
            pilot,
            lambda: app.screen.check_action("lifecycle", ("migrate",)) is True,
            what="migrate to apply",
        )
        await pilot.press("m")
        await confirm(pilot, app, wait_for)
        await wait_for(
            pilot,
            lambda: any(r.path.endswith(f"/{name}/migrate") for r in fresh_demo.requests),
            what="migrate request",
        )
        await wait_for(pilot, lambda: status_of(app, name) == "Running", what="back to Running")

        await pilot.press("ctrl+k")
        dialog = await confirm(pilot, app, wait_for)
        assert dialog.dangerous
        await wait_for(pilot, lambda: status_of(app, name) == "Stopped", what="force-stopped")
        stops = [r for r in fresh_demo.requests if r.path.endswith(f"/{name}/stop")]
        assert stops, "force stop goes through the stop subresource"


async def test_cancel_migration_aborts_it_and_the_vm_settles_back(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    """M on a migrating VM: the VirtualMachineInstanceMigration is deleted (virtctl
    migrate-cancel), the demo aborts it, and the VM reads Running on its old node again."""
    name = unique("mig")
    body = vm_manifest(name, namespace=NS, run_strategy="Always")
    # A migration that would take ten minutes: it is still running when we cancel it.
    body["metadata"]["annotations"] = {"demo.kvtui.io/migration-seconds": "600"}
    connection.request("POST", K.VMS.path(NS), body=body)

    def migrations() -> list[dict[str, Any]]:
        path = K.VMIMS.path(NS)
        items = connection.request("GET", path).json()["items"]
        return [m for m in items if (m.get("spec") or {}).get("vmiName") == name]

    def node() -> str:
        vmi = connection.request("GET", K.VMIS.path(NS, name)).json()
        return str((vmi.get("status") or {}).get("nodeName") or "")

    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        await wait_for(
            pilot,
            lambda: app.screen.check_action("lifecycle", ("migrate",)) is True,
            what="migrate to apply",
        )
        source = node()
        assert app.screen.check_action("lifecycle", ("cancel_migration",)) is None
        await pilot.press("m")
        await confirm(pilot, app, wait_for)
        await wait_for(pilot, lambda: status_of(app, name) == "Migrating", what="Migrating")
        assert len(migrations()) == 1

        await pilot.press("M")
        dialog = await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="dialog"
        )
        await pilot.press("c")
        assert f"virtctl migrate-cancel {name} -n {NS}" in "\n".join(dialog.command_lines())
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(
                r.method == "DELETE" and "/virtualmachineinstancemigrations/" in r.path
                for r in fresh_demo.requests
            ),
            what="the migration deleted",
        )
        await wait_for(pilot, lambda: status_of(app, name) == "Running", what="Running again")
        await wait_for(pilot, lambda: not migrations(), what="the migration gone")
        assert node() == source, "an aborted migration leaves the VM where it was"
        assert "Cancel migration: cancelled" in notifications(app)
        # Nothing left to cancel: the key is inert again.
        assert app.screen.check_action("lifecycle", ("cancel_migration",)) is None


async def test_refused_action_quotes_the_api(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    """Someone else starts the VM while the dialog is open: virt-api's 409 is quoted."""
    name = unique()
    create_vm(connection, name)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        put_sub(connection, name, "start")  # the race: started behind our back
        await pilot.press("y")
        await wait_for(
            pilot, lambda: "VM is already running" in notifications(app), what="the API's reason"
        )
        text = notifications(app)
        assert f"Start {NS}/{name} failed" in text
        assert f"Conflict: cannot start {name}: VM is already running" in text


async def test_delete_keeps_or_deletes_datavolumes(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    keep, drop = unique("keep"), unique("drop")
    for name in (keep, drop):
        body = vm_manifest(name, namespace=NS)
        body["spec"]["dataVolumeTemplates"] = [
            {
                "metadata": {"name": f"{name}-root"},
                "spec": {
                    "source": {"blank": {}},
                    "storage": {"resources": {"requests": {"storage": "1Gi"}}},
                },
            }
        ]
        body["spec"]["template"]["spec"]["volumes"] = [
            {"name": "rootdisk", "dataVolume": {"name": f"{name}-root"}}
        ]
        connection.request("POST", K.VMS.path(NS), body=body)

    def dv_exists(name: str) -> bool:
        items = connection.request("GET", K.DATAVOLUMES.path(NS)).json()["items"]
        return any(d["metadata"]["name"] == f"{name}-root" for d in items)

    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, keep, drop)
        await wait_for(pilot, lambda: dv_exists(keep) and dv_exists(drop), what="DataVolumes")

        # Keep: untick "also delete the DataVolumes" (space on the focused checkbox).
        await move_cursor_to(pilot, app, wait_for, keep)
        await pilot.press("ctrl+d")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen)
        assert dialog.option is True, "like the OpenShift console, disks go by default"
        await pilot.press("space")
        assert dialog.option is False
        await pilot.press("c")
        assert any("kubectl patch datavolume" in line for line in dialog.command_lines())
        await pilot.press("y")
        await wait_for(pilot, lambda: status_of(app, keep) is None, what=f"{keep} gone")
        await pilot.pause(0.5)
        assert dv_exists(keep), "the kept DataVolume survives"

        await move_cursor_to(pilot, app, wait_for, drop)
        await pilot.press("ctrl+d")
        await confirm(pilot, app, wait_for)
        await wait_for(pilot, lambda: status_of(app, drop) is None, what=f"{drop} gone")
        await wait_for(pilot, lambda: not dv_exists(drop), what="its DataVolume deleted")


async def test_delete_protection_is_respected(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    name = unique("prot")
    create_vm(connection, name, labels={"kubevirt.io/vm-delete-protection": "True"})
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        before = len(fresh_demo.requests)
        await pilot.press("ctrl+d")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmDialog)
        assert not [r for r in fresh_demo.requests[before:] if r.method == "DELETE"]
        assert status_of(app, name) == "Stopped"


async def test_more_than_five_marked_asks_for_the_count(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    names = sorted(unique("bulk") for _ in range(6))
    for name in names:
        create_vm(connection, name)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, *names)
        table = table_of(app)
        if not hasattr(table, "marked_keys"):
            pytest.skip("the table has no marks yet")
        await pilot.press("home")
        for _ in names:
            await pilot.press("space")
        assert len(table.marked_keys) == 6
        await pilot.press("t")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen)
        assert dialog.typed_count and len(dialog.targets) == 6
        await pilot.press("y")  # typed into the count box, not a confirmation
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmDialog), "a wrong count does not confirm"
        await pilot.press("6", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        for name in names:
            await wait_for(pilot, lambda n=name: status_of(app, n) == "Running", what=name)


async def test_builtin_editor_saves_and_refuses_on_conflict(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any, monkeypatch: Any
) -> None:
    from textual.widgets import TextArea

    from screens.yaml_edit import YamlEditScreen

    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("KUBE_EDITOR", raising=False)
    name = unique("edit")
    create_vm(connection, name)
    app = make_app(connection)

    def labels() -> dict[str, str]:
        vm = connection.request("GET", K.VMS.path(NS, name)).json()
        return vm["metadata"].get("labels") or {}

    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        await pilot.press("e")
        editor = await wait_for(
            pilot, lambda: isinstance(app.screen, YamlEditScreen) and app.screen
        )
        area = editor.query_one(TextArea)
        # A YAML error is reported with its line and column, nothing is sent.
        area.text = "metadata: [unclosed\n"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "YAML error at line" in screen_text(app))

        # A good edit saves (after a dry run).
        area.text = editor.original.replace(f"app: {name}", f"app: {name}\n    edited: one", 1)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, YamlEditScreen), what="saved")
        assert labels().get("edited") == "one"

        # Someone else changes the VM while we edit: 409, shown, not overwritten.
        await pilot.press("e")
        editor = await wait_for(
            pilot, lambda: isinstance(app.screen, YamlEditScreen) and app.screen
        )
        connection.request(
            "PATCH",
            K.VMS.path(NS, name),
            body={"metadata": {"labels": {"edited": "by-someone-else"}}},
            content_type="application/merge-patch+json",
        )
        area = editor.query_one(TextArea)
        area.text = editor.original.replace("edited: one", "edited: two", 1)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Not saved" in screen_text(app), what="the conflict")
        assert "resourceVersion" in screen_text(app)
        assert isinstance(app.screen, YamlEditScreen), "the edit stays on screen"
        assert labels().get("edited") == "by-someone-else"


async def test_a_key_that_does_not_apply_says_why(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    """Textual runs no action for a disabled key; the user still learns why nothing happened."""
    name = unique()
    create_vm(connection, name)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        before = len(fresh_demo.requests)
        for key in ("m", "x", "Z"):
            await pilot.press(key)
            assert not isinstance(app.screen, ConfirmDialog), key
        await wait_for(pilot, lambda: "Cannot migrate" in notifications(app), what="migrate")
        text = notifications(app)
        assert f"Cannot migrate: {NS}/{name}: VM is not running" in text
        assert f"Cannot stop: {NS}/{name}" in text
        assert f"Cannot unpause: {NS}/{name}: VMI is not paused" in text
        assert not [r for r in fresh_demo.requests[before:] if r.method != "GET"]
        # Typing the same letters into the filter is just typing.
        app.clear_notifications()
        await pilot.press("slash", "m", "x", "Z")
        await pilot.pause(0.2)
        assert notifications(app) == ""

    ro = make_app(connection, readonly=True)
    async with ro.run_test(size=SIZE) as pilot:
        await list_ready(pilot, ro, wait_for, name)
        await pilot.press("t")
        await wait_for(pilot, lambda: "read-only" in notifications(ro), what="read-only note")
