"""How far a new VM has come: its DataVolumes' import/clone, then Starting, then Running.

Pure functions over the VM, its VMI and the namespace's DataVolumes (untrusted: any field
may be missing or of the wrong type). The VM details screen draws the steps as progress
bars while a VM is being provisioned or started, and after kvtui created it.

CDI reports `status.progress` as "N/A" or "45.23%" (brief §8); phases Pending,
ImportScheduled, ImportInProgress, CloneInProgress, ..., Succeeded, Failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tui.kubevirt.untrusted import as_dict, as_list, as_str

DONE, ACTIVE, WAITING, FAILED = "done", "active", "waiting", "failed"
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_WANTS_RUN = ("Always", "RerunOnFailure", "Once")
_FAILED_DV = ("Failed",)
_CLONE_PHASES = (
    "CloneScheduled",
    "CloneInProgress",
    "CSICloneInProgress",
    "SnapshotForSmartCloneInProgress",
    "CloneFromSnapshotSourceInProgress",
    "PrepClaimInProgress",
    "RebindInProgress",
)


@dataclass(frozen=True)
class Step:
    """One step: `label` ("Import rootdisk-dv", "Starting", "Running"), `state` (done,
    active, waiting, failed), `fraction` 0..1 when known, `detail` the phase or reason."""

    label: str
    state: str
    fraction: float | None = None
    detail: str = ""


def parse_progress(value: Any) -> float | None:
    """ "45.23%" -> 0.4523; "N/A", "", junk -> None. Clamped to 0..1."""
    match = _PERCENT.match(as_str(value))
    if not match:
        return None
    return max(0.0, min(1.0, float(match.group(1)) / 100))


def vm_datavolume_names(vm: dict[str, Any]) -> list[str]:
    """The DataVolumes the VM uses, in order: its templates, then dataVolume volumes."""
    names: list[str] = []
    spec = as_dict(vm.get("spec"))
    for dvt in as_list(spec.get("dataVolumeTemplates")):
        name = as_str(as_dict(as_dict(dvt).get("metadata")).get("name"))
        if name and name not in names:
            names.append(name)
    tspec = as_dict(as_dict(spec.get("template")).get("spec"))
    for volume in as_list(tspec.get("volumes")):
        name = as_str(as_dict(as_dict(volume).get("dataVolume")).get("name"))
        if name and name not in names:
            names.append(name)
    return names


def _dv_step(name: str, dv: dict[str, Any] | None, template: dict[str, Any] | None) -> Step:
    source = as_dict(as_dict(dv).get("spec")) or as_dict(as_dict(template).get("spec"))
    verb = "Disk"
    if as_dict(source.get("source")).get("http") or as_dict(source.get("source")).get("registry"):
        verb = "Import"
    elif as_dict(source.get("source")).get("pvc") or source.get("sourceRef"):
        verb = "Clone"
    elif "blank" in as_dict(source.get("source")):
        verb = "Blank disk"
    label = f"{verb} {name}"
    if dv is None:
        return Step(label, WAITING, None, "DataVolume not created yet")
    status = as_dict(dv.get("status"))
    phase = as_str(status.get("phase")) or "Pending"
    fraction = parse_progress(status.get("progress"))
    if phase == "Succeeded":
        return Step(label, DONE, 1.0, phase)
    if phase in _FAILED_DV:
        why = ""
        for cond in as_list(status.get("conditions")):
            cond = as_dict(cond)
            if as_str(cond.get("message")) and as_str(cond.get("status")) != "True":
                why = as_str(cond.get("message"))
                break
        return Step(label, FAILED, fraction, f"{phase}: {why}" if why else phase)
    restarts = status.get("restartCount")
    detail = phase
    if isinstance(restarts, int) and not isinstance(restarts, bool) and restarts > 0:
        detail += f" (restarted {restarts}×)"
    state = ACTIVE if phase not in ("Pending", "") else WAITING
    return Step(label, state, fraction, detail)


def creation_steps(
    vm: dict[str, Any] | None, vmi: dict[str, Any] | None, dvs: list[dict[str, Any]]
) -> list[Step]:
    """The steps from "disks populated" to "Running" for `vm` (empty without a VM).

    Starting and Running appear when the VM is meant to run: a run strategy that starts
    it, or a VMI already there.
    """
    if not isinstance(vm, dict):
        return []
    spec = as_dict(vm.get("spec"))
    by_name = {
        as_str(as_dict(d.get("metadata")).get("name")): d for d in dvs if isinstance(d, dict)
    }
    templates = {
        as_str(as_dict(as_dict(t).get("metadata")).get("name")): as_dict(t)
        for t in as_list(spec.get("dataVolumeTemplates"))
    }
    steps = [_dv_step(n, by_name.get(n), templates.get(n)) for n in vm_datavolume_names(vm)]
    status = as_str(as_dict(vm.get("status")).get("printableStatus"))
    strategy = as_str(spec.get("runStrategy")) or ("Always" if spec.get("running") is True else "")
    wants_run = strategy in _WANTS_RUN or isinstance(vmi, dict) or status in ("Starting", "Running")
    if not wants_run:
        return steps
    vmi_status = as_dict(as_dict(vmi).get("status"))
    phase = as_str(vmi_status.get("phase"))
    ready = any(
        as_str(as_dict(c).get("type")) == "Ready" and as_str(as_dict(c).get("status")) == "True"
        for c in as_list(vmi_status.get("conditions"))
    )
    running = phase == "Running" or status == "Running"
    if running:
        steps.append(Step("Starting", DONE, 1.0, "VMI scheduled and started"))
        steps.append(
            Step(
                "Running",
                DONE if ready or status == "Running" else ACTIVE,
                None,
                as_str(vmi_status.get("nodeName")) and f"on {as_str(vmi_status.get('nodeName'))}",
            )
        )
    elif phase == "Failed" or status in (
        "CrashLoopBackOff",
        "ErrorUnschedulable",
        "ErrImagePull",
        "ImagePullBackOff",
    ):
        steps.append(Step("Starting", FAILED, None, status or phase))
        steps.append(Step("Running", WAITING))
    elif isinstance(vmi, dict) or status == "Starting":
        steps.append(Step("Starting", ACTIVE, None, f"VMI {phase or 'Pending'}"))
        steps.append(Step("Running", WAITING))
    else:
        blocked = any(s.state != DONE for s in steps)
        steps.append(Step("Starting", WAITING, None, "after the disks" if blocked else status))
        steps.append(Step("Running", WAITING))
    return steps


def in_progress(steps: list[Step]) -> bool:
    """True while some step is still to come (the details screen then shows the steps)."""
    return any(s.state in (ACTIVE, WAITING) for s in steps)
