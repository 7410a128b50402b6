"""SVG snapshots of the VM details screen at 80x24 and 160x48.

The screen is fed a fixed recording of the demo's `vm-prod/db-01` (Paused, two disks on
DataVolumes, a pod NIC and a bridge NIC, a snapshot, events), taken from the demo server
once and stored in tests/fixtures/details/db-01.json with its timestamps moved before a
frozen clock. Static informers hand those objects to the screen, so the pictures change only
when the screen's drawing does. Regenerate with `pytest --snapshot-update` after looking at
the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

import tui.kubevirt.vm as vm_module
from screens.vm_details import VmDetailsScreen
from tui.cluster.informer import InformerEvent, InformerState
from tui.cluster.kinds import Kind

FIXTURE = Path(__file__).parent.parent / "fixtures" / "details" / "db-01.json"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
RECORDED: dict[str, list[dict[str, Any]]] = json.loads(FIXTURE.read_text())


class FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:  # type: ignore[override]
        return NOW  # type: ignore[return-value]


class StaticInformer:
    """An informer over recorded objects: lists them once, then stays quiet."""

    def __init__(self, api_client: Any, kind: Kind, namespace: str | None = None, **_: Any):
        self.objects = RECORDED.get(kind.plural, [])
        self.listeners: list[Callable[[list[InformerEvent]], None]] = []

    def add_listener(self, fn: Callable[[list[InformerEvent]], None]) -> Callable[[], None]:
        self.listeners.append(fn)
        return lambda: None

    def start(self) -> None:
        events = [InformerEvent("ADDED", o, InformerState.SYNCED, None) for o in self.objects]
        events.append(InformerEvent("SYNCED", None, InformerState.SYNCED, None))
        for fn in self.listeners:
            fn(events)

    def stop(self) -> None:
        pass

    def items(self) -> list[dict[str, Any]]:
        return list(self.objects)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        for obj in self.objects:
            meta = obj["metadata"]
            if meta.get("namespace") == namespace and meta.get("name") == name:
                return obj
        return None


class DetailsApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(
            VmDetailsScreen(object(), "vm-prod", "db-01", informer_factory=StaticInformer)
        )


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vm_module, "datetime", FrozenDatetime)


def press(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_details_overview_snapshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(DetailsApp(), terminal_size=size, run_before=press())


@pytest.mark.parametrize(
    ("tab", "size"),
    [("3", (80, 24)), ("4", (160, 48)), ("6", (160, 48)), ("6", (80, 24))],
    ids=["disks-80x24", "nics-160x48", "events-160x48", "events-80x24"],
)
def test_details_tab_snapshot(snap_compare: Any, tab: str, size: tuple[int, int]) -> None:
    assert snap_compare(DetailsApp(), terminal_size=size, run_before=press(tab))


async def test_recording_is_what_the_screen_shows(screen_text: Any, wait_for: Any) -> None:
    """The snapshots are only worth something if the recording reaches the screen."""
    app = DetailsApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "Status: Paused" in screen_text(app), what="overview")
        text = screen_text(app)
        assert "vm-prod/db-01" in text
        assert "PostgreSQL 16 primary" in text


class SilentInformer(StaticInformer):
    """An informer whose list has not come back yet."""

    def start(self) -> None:
        pass

    def items(self) -> list[dict[str, Any]]:
        return []

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None


async def test_opened_from_the_list_it_draws_the_list_s_vm_at_once(
    screen_text: Any, wait_for: Any
) -> None:
    """No "loading…" while the screen's own informers list: the VM list's objects are drawn."""
    vm = RECORDED["virtualmachines"][0]
    vmi = RECORDED["virtualmachineinstances"][0]

    class OpenedApp(App[None]):
        def on_mount(self) -> None:
            self.push_screen(
                VmDetailsScreen(
                    object(), "vm-prod", "db-01", informer_factory=SilentInformer, vm=vm, vmi=vmi
                )
            )

    app = OpenedApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: "Status: Paused" in screen_text(app), what="the overview")
        assert "loading" not in screen_text(app)
        assert "node-03" in screen_text(app), "the VMI's node, from the list's VMI"
