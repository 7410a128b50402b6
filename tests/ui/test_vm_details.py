"""The VM details screen and read-only mode, end to end on a demo cluster of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import vm_manifest
from test_lifecycle import (
    NS,
    SIZE,
    create_vm,
    list_ready,
    make_app,
    unique,
)

from screens.dialogs import ConfirmDialog
from screens.vm_details import VmDetailsScreen
from tui.cluster import kinds as K
from tui.cluster.connection import Connection

MARKUP = "[bold red]x[/]"


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


async def open_details(pilot: Any, app: Any, wait_for: Any, name: str) -> VmDetailsScreen:
    await list_ready(pilot, app, wait_for, name)
    await pilot.press("enter")
    screen = await wait_for(
        pilot, lambda: isinstance(app.screen, VmDetailsScreen) and app.screen, what="details"
    )
    await wait_for(pilot, lambda: screen.vm is not None, what="the VM in the cache")
    return screen


async def test_details_overview_yaml_and_back(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("det")
    create_vm(connection, name, run_strategy="Always")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, app, wait_for, name)
        await wait_for(pilot, lambda: "Running on node" in screen_text(app), what="explanation")
        text = screen_text(app)
        for expected in ("Run strategy", "Always", "Launcher pod", "virt-launcher-", "Ready"):
            assert expected in text, expected
        await pilot.press("y")
        await wait_for(pilot, lambda: "apiVersion: kubevirt.io/v1" in screen_text(app))
        await pilot.press("ctrl+y")  # copied through OSC 52
        assert app.clipboard.startswith("apiVersion: kubevirt.io/v1") and name in app.clipboard
        await pilot.press("3")
        await wait_for(
            pilot, lambda: "rootdisk" in screen_text(app) and "virtio" in screen_text(app)
        )
        await pilot.press("4")
        await wait_for(pilot, lambda: "masquerade" in screen_text(app), what="NICs tab")
        # Lifecycle keys work here too: stop, and the title follows.
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Stopped" in screen_text(app), what="Stopped in details")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, VmDetailsScreen))
        assert screen.is_attached is False or app.screen is not screen


async def test_untrusted_text_is_drawn_literally(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    """An annotation holding markup and an event message holding escape bytes show as text."""
    name = unique("evil")
    body = vm_manifest(name, namespace=NS)
    body["metadata"]["annotations"] = {"note": MARKUP}
    vm = connection.request("POST", K.VMS.path(NS), body=body).json()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.evil", "namespace": NS},
        "involvedObject": {
            "kind": "VirtualMachine",
            "name": name,
            "namespace": NS,
            "uid": vm["metadata"]["uid"],
            "apiVersion": "kubevirt.io/v1",
        },
        "reason": "Hostile",
        "message": "\x1b[31mred\x1b[0m bell\x07 [b]bold[/b]",
        "type": "Warning",
        "lastTimestamp": "2024-01-01T00:00:00Z",
        "firstTimestamp": "2024-01-01T00:00:00Z",
        "count": 1,
    }
    connection.request("POST", K.EVENTS.path(NS), body=event)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, app, wait_for, name)
        await wait_for(pilot, lambda: MARKUP in screen_text(app), what="the annotation, literally")
        await pilot.press("6")
        await wait_for(pilot, lambda: "Hostile" in screen_text(app), what="the event")
        text = screen_text(app)
        assert "^[[31mred^[[0m bell^G [b]bold[/b]" in text
        assert "\x1b" not in text and "\x07" not in text


async def test_read_only_session_sends_nothing_mutating(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique("ro")
    create_vm(connection, name, run_strategy="Always")
    app = make_app(connection, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await list_ready(pilot, app, wait_for, name)
        start = len(fresh_demo.requests)
        keys = ["t", "x", "r", "ctrl+k", "z", "Z", "b", "m", "M", "ctrl+d", "e"]
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, ConfirmDialog), key
        footer = screen_text(app).splitlines()[-1]
        for label in ("Start", "Stop", "Delete", "Migrate", "Edit"):
            assert label not in footer, label
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VmDetailsScreen))
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, ConfirmDialog), key
        await pilot.pause(0.5)
        sent = fresh_demo.requests[start:]
        assert sent, "the session did read"
        mutating = [(r.method, r.path, r.verb) for r in sent if r.method in MUTATING]
        # SelfSubjectAccessReviews are questions, not changes.
        mutating = [m for m in mutating if "selfsubjectaccessreviews" not in m[1]]
        assert mutating == []
        assert not any(r.verb in ("create", "update", "patch", "delete") for r in sent)
