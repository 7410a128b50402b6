"""SVG snapshots of the VM list at 80x24 and 160x48, on scripted rows with fixed ages.

The demo's live ages and random uids would make the pictures change on every run, so the
screen gets exact informer events (the scripted informers of test_vm_list) and a frozen
clock. Regenerate with `pytest --snapshot-update` only after looking at the report.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from test_vm_list import ScreenApp, ev, informer_for, vm, vmi
from test_vm_list import scripted as scripted  # noqa: F401 - the fixture, used by name

import screens.vm_list as vm_list

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


class FrozenDatetime(datetime):
    """datetime with a `now` that never moves (ages in the list are computed from it)."""

    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:  # type: ignore[override]
        return NOW  # type: ignore[return-value]


def scripted_vm(
    name: str, namespace: str, status: str, age: timedelta, *, restart: bool = False, **spec: Any
) -> dict[str, Any]:
    obj = vm(name, namespace=namespace, status=status)
    obj["metadata"]["creationTimestamp"] = (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj["spec"].update(spec)
    if restart:
        obj["status"]["conditions"].append({"type": "RestartRequired", "status": "True"})
    return obj


VMS = [
    scripted_vm("web-01", "vm-prod", "Running", timedelta(days=12), runStrategy="Always"),
    scripted_vm(
        "web-02", "vm-prod", "Running", timedelta(days=12), runStrategy="Always", restart=True
    ),
    scripted_vm("db-primary", "vm-prod", "Running", timedelta(days=40), runStrategy="Always"),
    scripted_vm("db-replica", "vm-prod", "ErrorUnschedulable", timedelta(hours=3)),
    scripted_vm("batch-7", "vm-dev", "Stopped", timedelta(minutes=7)),
    scripted_vm("batch-10", "vm-dev", "Starting", timedelta(seconds=45), runStrategy="Always"),
    scripted_vm("[bold red]x[/]", "vm-dev", "Stopped", timedelta(days=400)),
    scripted_vm("cache", "default", "Paused", timedelta(hours=30), runStrategy="Manual"),
]
VMIS = [
    vmi("web-01", "vm-prod", ip="10.244.1.17", node="node-01"),
    vmi("web-02", "vm-prod", ip="10.244.2.9", node="node-02"),
    vmi("db-primary", "vm-prod", ip="10.244.1.100", node="node-01"),
    vmi("batch-10", "vm-dev", ip="", node="node-03"),
    vmi("cache", "default", ip="10.244.3.4", node="node-03"),
]


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("scripted")  # fresh scripted informers for each test
    monkeypatch.setattr(vm_list, "datetime", FrozenDatetime)


async def fill(pilot: Any) -> None:
    await pilot.pause()
    informer_for("virtualmachines").send(*(ev("ADDED", o) for o in VMS), ev("SYNCED"))
    informer_for("virtualmachineinstances").send(*(ev("ADDED", o) for o in VMIS), ev("SYNCED"))
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_vm_list_snapshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(ScreenApp(), terminal_size=size, run_before=fill)


def test_vm_list_snapshot_filtered_and_sorted(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await fill(pilot)
        await pilot.press("A", "slash", *"prod", "enter", "space")
        await pilot.pause(0.2)

    assert snap_compare(ScreenApp(), terminal_size=(80, 24), run_before=run_before)
