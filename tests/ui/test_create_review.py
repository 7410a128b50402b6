"""The create review step (screens/create_review.py) end to end on a demo cluster of its own.

The dry run must really reach the server, a 422 must come back with its field causes, a
failed create must leave nothing half-created, and a create must create.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import vm_manifest
from test_lifecycle import NS, SIZE, make_app, unique

from screens.create_review import Back, Created, CreateReviewScreen, EditYaml
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.kubevirt.builder import BootSource, VmForm, build_vm, equivalent_commands

IMAGE = "quay.io/containerdisks/fedora:41"


def form(name: str, **kwargs: Any) -> VmForm:
    return VmForm(
        name=name, namespace=NS, memory="1Gi", boot=BootSource("container", image=IMAGE), **kwargs
    )


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


def vm_posts(demo: Any, name: str | None = None, *, dry: bool) -> list[Any]:
    """POSTs of VMs the demo received, dry runs or real ones."""
    return [
        r
        for r in demo.requests
        if r.method == "POST"
        and r.path.endswith("/virtualmachines")
        and ("dryRun=All" in r.query) == dry
    ]


def exists(connection: Connection, kind: K.Kind, name: str) -> bool:
    from tui.cluster.errors import ClusterError
    from tui.cluster.operations import Operations

    try:
        Operations(connection).get(kind, NS, name)
    except ClusterError as err:
        if err.is_not_found:
            return False
        raise
    return True


async def open_review(pilot: Any, app: Any, wait_for: Any, screen: CreateReviewScreen) -> list:
    results: list[Any] = []
    await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
    app.push_screen(screen, results.append)
    await wait_for(pilot, lambda: app.screen is screen, what="the review screen")
    await wait_for(pilot, lambda: screen.dry_runs > 0, what="the dry run")
    await pilot.pause()  # let the result be drawn
    return results


async def test_dry_run_reaches_server_then_create(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique("rev")
    vm = build_vm(form(name))
    app = make_app(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = CreateReviewScreen(vm, origin="the form", commands=equivalent_commands(vm))
        results = await open_review(pilot, app, wait_for, screen)
        assert screen.state == "ok", screen.error
        dry = vm_posts(fresh_demo, dry=True)
        assert len(dry) == 1 and "fieldValidation=Strict" in dry[0].query
        assert not vm_posts(fresh_demo, dry=False)
        assert not exists(connection, K.VMS, name)
        text = screen_text(app)
        assert "server accepts" in text and "kind: VirtualMachine" in text
        await pilot.press("c")
        await wait_for(pilot, lambda: f"virtctl create vm --name {name}" in screen_text(app))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: results, what="the screen to dismiss")
        assert isinstance(results[0], Created)
        assert results[0].vm["metadata"]["name"] == name
        assert len(vm_posts(fresh_demo, dry=False)) == 1
        assert exists(connection, K.VMS, name)


async def test_server_422_causes_listed_and_back_carries_them(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("rev")
    vm = build_vm(form(name))
    # Two devices with boot order 1: KubeVirt's admission refuses with a field cause.
    vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["bootOrder"] = 1
    app = make_app(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = CreateReviewScreen(vm, origin="YAML")
        results = await open_review(pilot, app, wait_for, screen)
        assert screen.state == "failed"
        assert screen.error is not None and screen.error.status == 422
        text = " ".join(screen_text(app).split())
        assert "Dry run failed" in text
        assert "bootOrder" in text and "already set for a different device" in text, text
        # ctrl+s after a failed dry run still tries (the server decides) and fails the same.
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.state == "create-failed", what="create failed")
        assert not exists(connection, K.VMS, name)
        await pilot.press("escape")
        await wait_for(pilot, lambda: results)
        back = results[0]
        assert isinstance(back, Back) and back.error is not None
        assert any("bootOrder" in c.field for c in back.error.causes)


async def test_failed_create_deletes_what_it_created(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique("rev")
    vm = vm_manifest(name, namespace=NS)
    dv = {
        "apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume",
        "metadata": {"name": f"{name}-data", "namespace": NS},
        "spec": {
            "source": {"blank": {}},
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
        },
    }
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = CreateReviewScreen(vm, origin="a template", extra=[dv])
        results = await open_review(pilot, app, wait_for, screen)
        assert screen.state == "ok", screen.error
        # Someone takes the VM's name between the dry run and the create.
        connection.request("POST", K.VMS.path(NS), body=vm_manifest(name, namespace=NS))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.state == "create-failed", what="create failed")
        assert "deleted again" in screen_text(app)
        assert not exists(connection, K.DATAVOLUMES, f"{name}-data")
        assert not results


async def test_start_after_and_edit_yaml(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    name = unique("rev")
    vm = build_vm(form(name, run_strategy="Manual"))
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = CreateReviewScreen(vm, origin="the form", start_after=False)
        results = await open_review(pilot, app, wait_for, screen)
        await pilot.press("e")
        await wait_for(pilot, lambda: results)
        assert isinstance(results[0], EditYaml) and results[0].manifest == vm

        screen = CreateReviewScreen(vm, origin="the form", start_after=False)
        results = await open_review(pilot, app, wait_for, screen)
        await pilot.press("t")
        assert screen.start_after
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: results)
        assert isinstance(results[0], Created) and results[0].started
        assert any(
            r.method == "PUT" and r.path.endswith(f"/{name}/start") for r in fresh_demo.requests
        )
