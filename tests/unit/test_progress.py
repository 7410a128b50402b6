"""tui/kubevirt/progress.py: the steps a new VM goes through, from untrusted objects."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tui.kubevirt.progress import (
    ACTIVE,
    DONE,
    FAILED,
    WAITING,
    creation_steps,
    in_progress,
    parse_progress,
    vm_datavolume_names,
)


def vm(strategy: str = "Always", status: str = "", dv: str | None = "web") -> dict[str, Any]:
    spec: dict[str, Any] = {"runStrategy": strategy, "template": {"spec": {"volumes": []}}}
    if dv:
        spec["dataVolumeTemplates"] = [
            {"metadata": {"name": dv}, "spec": {"source": {"http": {"url": "http://x/d.qcow2"}}}}
        ]
        spec["template"]["spec"]["volumes"] = [{"name": "rootdisk", "dataVolume": {"name": dv}}]
    return {"metadata": {"name": "web"}, "spec": spec, "status": {"printableStatus": status}}


def dv(name: str, phase: str, progress: str = "N/A") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"phase": phase, "progress": progress}}


def test_parse_progress() -> None:
    assert parse_progress("45.23%") == 0.4523
    assert parse_progress("100.0%") == 1.0
    assert parse_progress("N/A") is None
    assert parse_progress(None) is None
    assert parse_progress("250%") == 1.0


@given(st.one_of(st.none(), st.integers(), st.text(), st.floats(allow_nan=True)))
def test_parse_progress_never_raises(value: Any) -> None:
    result = parse_progress(value)
    assert result is None or 0.0 <= result <= 1.0


def test_import_in_progress_then_starting_then_running() -> None:
    steps = creation_steps(
        vm(status="Provisioning"), None, [dv("web", "ImportInProgress", "45.23%")]
    )
    assert [(s.label, s.state) for s in steps] == [
        ("Import web", ACTIVE),
        ("Starting", WAITING),
        ("Running", WAITING),
    ]
    assert steps[0].fraction == 0.4523 and in_progress(steps)

    vmi = {"status": {"phase": "Scheduling"}}
    steps = creation_steps(vm(status="Starting"), vmi, [dv("web", "Succeeded", "100.0%")])
    assert [(s.label, s.state) for s in steps] == [
        ("Import web", DONE),
        ("Starting", ACTIVE),
        ("Running", WAITING),
    ]

    vmi = {
        "status": {
            "phase": "Running",
            "nodeName": "node-01",
            "conditions": [{"type": "Ready", "status": "True"}],
        }
    }
    steps = creation_steps(vm(status="Running"), vmi, [dv("web", "Succeeded", "100.0%")])
    assert [s.state for s in steps] == [DONE, DONE, DONE]
    assert steps[-1].detail == "on node-01" and not in_progress(steps)


def test_halted_vm_has_disk_steps_only() -> None:
    steps = creation_steps(vm("Halted", "Provisioning"), None, [])
    assert [(s.label, s.state) for s in steps] == [("Import web", WAITING)]


def test_pxe_vm_without_disks_goes_straight_to_starting() -> None:
    steps = creation_steps(vm(status="Starting", dv=None), {"status": {}}, [])
    assert [(s.label, s.state) for s in steps] == [("Starting", ACTIVE), ("Running", WAITING)]


def test_failed_import_says_why() -> None:
    failed = dv("web", "Failed")
    failed["status"]["conditions"] = [
        {"type": "Running", "status": "False", "message": "Unable to connect to http data source"}
    ]
    steps = creation_steps(vm(status="DataVolumeError"), None, [failed])
    assert steps[0].state == FAILED
    assert "Unable to connect" in steps[0].detail


def test_names_in_order_and_untrusted_shapes() -> None:
    v = vm()
    v["spec"]["template"]["spec"]["volumes"].append({"name": "data", "dataVolume": {"name": "d2"}})
    assert vm_datavolume_names(v) == ["web", "d2"]
    assert creation_steps(None, None, []) == []
    junk = {"spec": {"dataVolumeTemplates": "nope", "template": 3}, "status": []}
    assert creation_steps(junk, "x", [1, None]) == []  # type: ignore[arg-type]
