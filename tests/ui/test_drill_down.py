"""`enter` and `y` on the lists of the other kinds, on the seeded demo cluster.

enter on a VMI, DataVolume, snapshot, migration or VM event opens that VM's details; on a
node, the VMs on that node (a filter on the VM list of all namespaces); on anything that
names no VM (an instancetype, a node event), its YAML. `y` shows any object's YAML (k9s).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_navigation_keys import SIZE, command, make_app, move_to, table

from screens.resource_list import ResourceListScreen
from screens.vm_details import VmDetailsScreen
from screens.vm_list import VmListScreen
from screens.yaml_view import YamlViewScreen

Pick = Callable[[dict[str, Any]], bool]


def named(name: str) -> Pick:
    return lambda obj: (obj.get("metadata") or {}).get("name") == name


def about_vm(obj: dict[str, Any]) -> bool:
    involved = obj.get("involvedObject") or {}
    return involved.get("kind") == "VirtualMachine" and involved.get("namespace") == "vm-prod"


async def cursor_on(pilot: Any, app: Any, wait_for: Any, pick: Pick) -> dict[str, Any]:
    """Wait for an object `pick` accepts in the list on screen, put the cursor on its row."""
    screen = app.screen
    assert isinstance(screen, ResourceListScreen)

    def found() -> Any:
        for ident, obj in screen._objects.items():  # noqa: SLF001 - the list's own model
            if pick(obj) and ident in screen._row_keys:  # noqa: SLF001
                return ident, obj
        return None

    ident, obj = await wait_for(pilot, found, what="the object in the list")
    move_to(table(app), screen._row_keys[ident])  # noqa: SLF001
    await pilot.pause()
    return obj


@pytest.mark.parametrize(
    ("line", "pick", "vm"),
    [
        ("vmi vm-prod", named("web-01"), "web-01"),
        ("dv vm-prod", named("db-01-rootdisk"), "db-01"),
        ("snap vm-prod", named("db-01-nightly"), "db-01"),
        ("ev vm-prod", about_vm, None),
    ],
    ids=["vmi", "dv", "snap", "ev"],
)
async def test_enter_opens_the_vm_it_is_about(
    kubeconfig: Path, line: str, pick: Pick, vm: str | None, screen_text: Any, wait_for: Any
) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, line)
        obj = await cursor_on(pilot, app, wait_for, pick)
        vm = vm or obj["involvedObject"]["name"]
        await pilot.press("enter")
        details = await wait_for(
            pilot, lambda: isinstance(app.screen, VmDetailsScreen) and app.screen, what="details"
        )
        assert (details.namespace, details.vm_name) == ("vm-prod", vm)
        await wait_for(pilot, lambda: f"vm-prod/{vm}" in screen_text(app), what="the title")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen), what="back")
        assert app.screen.view.name == line.split()[0]


async def test_enter_on_a_migration_opens_its_vm(kubeconfig: Path, wait_for: Any) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "vmim vm-prod")
        await cursor_on(pilot, app, wait_for, lambda o: o["spec"].get("vmiName") == "web-02")
        await pilot.press("enter")
        details = await wait_for(
            pilot, lambda: isinstance(app.screen, VmDetailsScreen) and app.screen, what="details"
        )
        assert details.vm_name == "web-02"


async def test_enter_on_a_node_lists_its_vms(kubeconfig: Path, screen_text: Any, wait_for: Any):
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "node")
        await cursor_on(pilot, app, wait_for, named("node-01"))
        await pilot.press("enter")
        vms = await wait_for(
            pilot, lambda: isinstance(app.screen, VmListScreen) and app.screen, what="VM list"
        )
        assert vms.namespace is None, "every namespace's VMs on that node"
        t = vms.query_one(type(table(app)))
        await wait_for(pilot, lambda: t.row_count > 0, what="VMs on node-01")
        await pilot.pause(0.5)
        columns = [str(c.label) for c in t.ordered_columns]
        nodes = {dict(zip(columns, t.row_text(k), strict=True))["NODE"] for k in t.visible_keys()}
        assert nodes == {"node-01"}
        assert "node-01" in screen_text(app), "the title shows the filter"
        await pilot.press("escape")  # clears the filter first, as on any filtered list
        await wait_for(pilot, lambda: not vms._filter.source, what="filter cleared")  # noqa: SLF001
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen), what="back")
        assert app.screen.view.name == "node"


async def test_enter_on_an_instancetype_and_y_anywhere_show_yaml(
    kubeconfig: Path, screen_text: Any, wait_for: Any
) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "it")
        await cursor_on(pilot, app, wait_for, named("u1.small"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, YamlViewScreen), what="YAML view")
        await wait_for(pilot, lambda: "u1.small" in screen_text(app))
        assert "kind: VirtualMachineClusterInstancetype" in screen_text(app)
        await pilot.press("ctrl+y")
        assert "kind: VirtualMachineClusterInstancetype" in app.clipboard  # OSC 52
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen), what="back")

        await command(pilot, "dv vm-prod")
        await cursor_on(pilot, app, wait_for, named("db-01-rootdisk"))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, YamlViewScreen), what="YAML view")
        await wait_for(pilot, lambda: "kind: DataVolume" in screen_text(app))
        assert "managedFields" not in screen_text(app)
