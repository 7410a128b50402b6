"""Read model of one VM in depth: what the details screen's tabs show.

Pure functions over plain dict manifests (no I/O, no Textual). Every value comes out as a
string; the screen draws it as inert text. The status explanation says in words why a VM
is not running, from the places KubeVirt puts the reason: the VMI's PodScheduled condition
(ErrorUnschedulable), the DataVolumes' phase and progress (Provisioning), the Failure and
Synchronized conditions (image pulls, missing PVCs), and so on.
"""

from __future__ import annotations

from typing import Any

from tui.kubevirt.untrusted import as_dict as _dict
from tui.kubevirt.untrusted import as_list as _list
from tui.kubevirt.untrusted import as_str as _str
from tui.kubevirt.vm import condition_status, humanize_age, parse_timestamp, run_strategy

__all__ = [
    "disks",
    "events_for",
    "explain_status",
    "launcher_pod",
    "nics",
    "overview",
    "snapshots_for",
]


def launcher_pod(vmi: dict[str, Any] | None, pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The virt-launcher pod of `vmi`: owned by it, the newest one (a migration has two)."""
    uid = _str(_dict(_dict(vmi).get("metadata")).get("uid"))
    if not uid:
        return None
    owned = [
        p
        for p in pods
        if any(
            _dict(r).get("uid") == uid
            for r in _list(_dict(p.get("metadata")).get("ownerReferences"))
        )
    ]
    node = _str(_dict(_dict(vmi).get("status")).get("nodeName"))
    # The pod on the VMI's node is the one serving it (a migration target is elsewhere).
    owned.sort(
        key=lambda p: (
            _str(_dict(p.get("spec")).get("nodeName")) == node,
            _str(_dict(p.get("metadata")).get("creationTimestamp")),
        )
    )
    return owned[-1] if owned else None


def _conditions(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [_dict(c) for c in _list(_dict(_dict(obj).get("status")).get("conditions")) if _dict(c)]


def _condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for c in _conditions(obj):
        if c.get("type") == type_:
            return c
    return {}


def _vm_datavolumes(vm: dict[str, Any], dvs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The DataVolumes the VM's volumes name (templates or plain dataVolume volumes)."""
    names = set()
    for t in _list(_dict(vm.get("spec")).get("dataVolumeTemplates")):
        names.add(_str(_dict(_dict(t).get("metadata")).get("name")))
    for vol in _list(_template_spec(vm).get("volumes")):
        name = _str(_dict(_dict(vol).get("dataVolume")).get("name"))
        if name:
            names.add(name)
    return [d for d in dvs if _str(_dict(d.get("metadata")).get("name")) in names]


def explain_status(
    vm: dict[str, Any], vmi: dict[str, Any] | None, dvs: list[dict[str, Any]]
) -> list[str]:
    """Sentences saying what the printable status means for this VM, and why."""
    status = _str(_dict(vm.get("status")).get("printableStatus")) or "Unknown"
    strategy = run_strategy(_dict(vm.get("spec")))
    vmi_status = _dict(_dict(vmi).get("status"))
    lines: list[str] = []
    if status == "Running":
        node = _str(vmi_status.get("nodeName"))
        lines.append(f"Running on node {node}." if node else "Running.")
    elif status == "Stopped":
        lines.append(
            f"Stopped: run strategy {strategy or 'unset'} does not keep it running; "
            "start it with t."
            if strategy in ("Halted", "Manual", "")
            else f"Stopped (run strategy {strategy})."
        )
    elif status == "Paused":
        lines.append("Paused: the guest's vCPUs are stopped; unpause it with Z.")
    elif status == "Migrating":
        mig = _dict(vmi_status.get("migrationState"))
        src, dst = _str(mig.get("sourceNode")), _str(mig.get("targetNode"))
        lines.append(
            f"Live-migrating from {src or '?'} to {dst or '(not scheduled yet)'}."
            if mig
            else "Live-migrating."
        )
    elif status == "Starting":
        phase = _str(vmi_status.get("phase")) or "Pending"
        lines.append(f"Starting: the VMI is {phase}.")
    elif status == "ErrorUnschedulable":
        cond = _condition(vmi, "PodScheduled") or _condition(vm, "PodScheduled")
        why = _str(cond.get("message")) or _str(cond.get("reason"))
        lines.append(
            "The scheduler cannot place its pod"
            + (f": {why}" if why else " (no PodScheduled message yet).")
        )
    elif status == "Provisioning":
        lines.append("Waiting for its DataVolumes to be populated:")
        for dv in _vm_datavolumes(vm, dvs):
            dv_status = _dict(dv.get("status"))
            name = _str(_dict(dv.get("metadata")).get("name"))
            phase = _str(dv_status.get("phase")) or "Pending"
            progress = _str(dv_status.get("progress"))
            lines.append(f"  {name}: {phase}" + (f" {progress}" if progress else ""))
    elif status in ("DataVolumeError", "ErrorDataVolumeNotFound", "ErrorPvcNotFound"):
        lines.append("A disk's DataVolume or PVC is missing or failed:")
        for dv in _vm_datavolumes(vm, dvs):
            for c in _conditions(dv):
                if c.get("message") and c.get("status") != "True":
                    name = _str(_dict(dv.get("metadata")).get("name"))
                    lines.append(f"  {name}: {_str(c.get('message'))}")
    elif status == "Stopping":
        lines.append("Stopping: waiting for the guest to shut down (ctrl+k forces it).")
    elif status == "Terminating":
        lines.append("Being deleted.")
    # Whatever the status, a Failure or a false Synchronized/Ready condition says why.
    for obj in (vm, vmi):
        for c in _conditions(obj):
            message = _str(c.get("message"))
            if not message:
                continue
            bad = (c.get("type") == "Failure" and c.get("status") == "True") or (
                c.get("type") == "Synchronized" and c.get("status") == "False"
            )
            line = f"{c.get('type')}: {message}"
            if bad and line not in lines:
                lines.append(line)
    if condition_status(_dict(vm.get("status")), "RestartRequired") == "True":
        lines.append("A change to the spec takes effect only after a restart (RestartRequired).")
    if not lines:
        lines.append(f"Status {status}.")
    return lines


def overview(
    vm: dict[str, Any],
    vmi: dict[str, Any] | None,
    pod: dict[str, Any] | None,
    dvs: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything the Overview tab shows: status, explanation, facts, conditions, metadata."""
    meta = _dict(vm.get("metadata"))
    spec = _dict(vm.get("spec"))
    vmi_status = _dict(_dict(vmi).get("status"))
    facts: list[tuple[str, str]] = []
    facts.append(("Run strategy", run_strategy(spec) or "-"))
    facts.append(("Node", _str(vmi_status.get("nodeName")) or "-"))
    ips = []
    for iface in _list(vmi_status.get("interfaces")):
        iface = _dict(iface)
        addresses = [_str(a) for a in _list(iface.get("ipAddresses"))] or (
            [_str(iface.get("ipAddress"))] if iface.get("ipAddress") else []
        )
        if addresses:
            ips.append(f"{_str(iface.get('name')) or '?'}: {', '.join(addresses)}")
    facts.append(("IP addresses", "; ".join(ips) or "-"))
    guest = _dict(vmi_status.get("guestOSInfo"))
    if guest:
        os_name = _str(guest.get("prettyName")) or " ".join(
            x for x in (_str(guest.get("name")), _str(guest.get("version"))) if x
        )
        kernel = _str(guest.get("kernelRelease"))
        facts.append(("Guest OS", os_name + (f" (kernel {kernel})" if kernel else "")))
    else:
        agent = condition_status(vmi_status, "AgentConnected") == "True"
        facts.append(("Guest OS", "guest agent connected" if agent else "- (no guest agent)"))
    for label, key in (("Instancetype", "instancetype"), ("Preference", "preference")):
        ref = _dict(spec.get(key))
        if ref.get("name"):
            kind = _str(ref.get("kind")) or f"VirtualMachineCluster{label}"
            facts.append((label, f"{_str(ref.get('name'))} ({kind})"))
    if pod is not None:
        pod_meta, pod_status = _dict(pod.get("metadata")), _dict(pod.get("status"))
        facts.append(
            (
                "Launcher pod",
                f"{_str(pod_meta.get('name'))} ({_str(pod_status.get('phase')) or 'Unknown'})",
            )
        )
    else:
        facts.append(("Launcher pod", "-"))
    owners = [
        f"{_str(_dict(r).get('kind'))}/{_str(_dict(r).get('name'))}"
        for r in _list(meta.get("ownerReferences"))
    ]
    facts.append(("Owner", ", ".join(owners) or "-"))
    created = parse_timestamp(meta.get("creationTimestamp"))
    facts.append(("Age", humanize_age(created) or "-"))
    conditions = []
    seen: set[str] = set()
    for obj in (vmi, vm):
        for c in _conditions(obj):
            type_ = _str(c.get("type"))
            if type_ in seen:
                continue  # the VM mirrors the VMI's conditions
            seen.add(type_)
            conditions.append(
                {
                    "type": type_,
                    "status": _str(c.get("status")),
                    "reason": _str(c.get("reason")),
                    "message": _str(c.get("message")),
                }
            )
    return {
        "status": _str(_dict(vm.get("status")).get("printableStatus")) or "Unknown",
        "explanation": explain_status(vm, vmi, dvs),
        "facts": facts,
        "conditions": conditions,
        "labels": {_str(k): _str(v) for k, v in _dict(meta.get("labels")).items()},
        "annotations": {_str(k): _str(v) for k, v in _dict(meta.get("annotations")).items()},
    }


_DISK_TYPES = ("disk", "cdrom", "lun")
_SOURCES = (
    ("containerDisk", "image"),
    ("dataVolume", "name"),
    ("persistentVolumeClaim", "claimName"),
    ("cloudInitNoCloud", None),
    ("cloudInitConfigDrive", None),
    ("configMap", "name"),
    ("secret", "secretName"),
    ("serviceAccount", "serviceAccountName"),
    ("emptyDisk", "capacity"),
    ("hostDisk", "path"),
    ("ephemeral", None),
    ("sysprep", None),
    ("downwardMetrics", None),
)


def _volume_source(volume: dict[str, Any]) -> tuple[str, str]:
    for key, field in _SOURCES:
        if key in volume:
            detail = _str(_dict(volume.get(key)).get(field)) if field else ""
            if key == "persistentVolumeClaim" and not detail:
                detail = _str(_dict(volume.get(key)).get("claimName"))
            return key, detail
    return "", ""


def disks(
    vm: dict[str, Any], vmi: dict[str, Any] | None, dvs: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """One row per disk of the spec (plus VMI-only hotplugged ones): bus, boot, source, size."""
    tspec = _template_spec(vm)
    volumes = {_str(_dict(v).get("name")): _dict(v) for v in _list(tspec.get("volumes"))}
    statuses = {
        _str(_dict(s).get("name")): _dict(s)
        for s in _list(_dict(_dict(vmi).get("status")).get("volumeStatus"))
    }
    dv_by_name = {_str(_dict(d.get("metadata")).get("name")): d for d in dvs}
    templates = {
        _str(_dict(_dict(t).get("metadata")).get("name")): _dict(t)
        for t in _list(_dict(vm.get("spec")).get("dataVolumeTemplates"))
    }
    rows = []
    spec_disks = [_dict(d) for d in _list(_dict(_domain(tspec).get("devices")).get("disks"))]
    names = [_str(d.get("name")) for d in spec_disks]
    # Disks hotplugged onto the VMI only (virtctl addvolume without --persist).
    vmi_disks = _list(_dict(_domain(_dict(_dict(vmi).get("spec"))).get("devices")).get("disks"))
    extra = [_dict(d) for d in vmi_disks if _str(_dict(d).get("name")) not in names]
    vmi_volumes = {
        _str(_dict(v).get("name")): _dict(v)
        for v in _list(_dict(_dict(vmi).get("spec")).get("volumes"))
    }
    for disk in spec_disks + extra:
        name = _str(disk.get("name"))
        type_ = next((t for t in _DISK_TYPES if t in disk), "disk")
        bus = _str(_dict(disk.get(type_)).get("bus"))
        volume = volumes.get(name) or vmi_volumes.get(name) or {}
        source_kind, source = _volume_source(volume)
        size = ""
        status = statuses.get(name, {})
        if status.get("size"):
            size = _human_bytes(status.get("size"))
        elif source_kind == "dataVolume":
            dv = dv_by_name.get(source) or {}
            tmpl = templates.get(source) or {}
            for obj in (dv, tmpl):
                dv_spec = _dict(obj.get("spec"))
                for section in ("storage", "pvc"):
                    req = _dict(_dict(_dict(dv_spec.get(section)).get("resources")).get("requests"))
                    if req.get("storage"):
                        size = _str(req.get("storage"))
                        break
                if size:
                    break
        elif source_kind == "emptyDisk":
            size = source
        hotplug = _dict(status.get("hotplugVolume"))
        hotpluggable = _dict(volume.get(source_kind)).get("hotpluggable") if source_kind else None
        if hotplug or hotpluggable:
            state = "hotplug: " + (_str(status.get("phase")) or "pending")
        elif status:
            state = _str(status.get("phase")) or _str(status.get("reason")) or "attached"
        else:
            state = "-" if vmi is None else "not attached"
        rows.append(
            {
                "name": name,
                "type": type_,
                "bus": bus or ("scsi" if type_ == "lun" else "virtio" if type_ == "disk" else "-"),
                "boot": _str(disk.get("bootOrder")) or "-",
                "source": f"{source_kind}: {source}" if source else source_kind or "-",
                "size": size or "-",
                "state": state,
            }
        )
    return rows


_BINDINGS = ("masquerade", "bridge", "sriov", "slirp", "passt", "macvtap", "binding")


def nics(vm: dict[str, Any], vmi: dict[str, Any] | None) -> list[dict[str, str]]:
    """One row per interface of the spec, completed by the VMI's status.interfaces."""
    tspec = _template_spec(vm)
    networks = {_str(_dict(n).get("name")): _dict(n) for n in _list(tspec.get("networks"))}
    live = {
        _str(_dict(i).get("name")): _dict(i)
        for i in _list(_dict(_dict(vmi).get("status")).get("interfaces"))
    }
    rows = []
    for iface in _list(_dict(_domain(tspec).get("devices")).get("interfaces")):
        iface = _dict(iface)
        name = _str(iface.get("name"))
        binding = next((b for b in _BINDINGS if b in iface), "")
        if binding == "binding":
            binding = _str(_dict(iface.get("binding")).get("name"))
        network = networks.get(name, {})
        if "pod" in network:
            net = "pod network"
        elif "multus" in network:
            net = "multus: " + _str(_dict(network.get("multus")).get("networkName"))
        else:
            net = "-"
        status = live.get(name, {})
        ips = [_str(a) for a in _list(status.get("ipAddresses"))] or (
            [_str(status.get("ipAddress"))] if status.get("ipAddress") else []
        )
        link = (
            _str(status.get("linkState")) or _str(iface.get("state")) or ("up" if status else "-")
        )
        rows.append(
            {
                "name": name,
                "binding": binding or "-",
                "model": _str(iface.get("model")) or "virtio",
                "mac": _str(status.get("mac")) or _str(iface.get("macAddress")) or "-",
                "network": net,
                "ip": ", ".join(ips) or "-",
                "link": link,
            }
        )
    return rows


def snapshots_for(vm: dict[str, Any], snapshots: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The VirtualMachineSnapshots whose source is this VM, newest first."""
    name = _str(_dict(vm.get("metadata")).get("name"))
    rows = []
    for snap in snapshots:
        source = _dict(_dict(snap.get("spec")).get("source"))
        if source.get("kind") != "VirtualMachine" or source.get("name") != name:
            continue
        status = _dict(snap.get("status"))
        rows.append(
            {
                "name": _str(_dict(snap.get("metadata")).get("name")),
                "phase": _str(status.get("phase")) or "-",
                "ready": "yes" if status.get("readyToUse") else "no",
                "created": _str(status.get("creationTime"))
                or _str(_dict(snap.get("metadata")).get("creationTimestamp")),
                "error": _str(_dict(status.get("error")).get("message")),
            }
        )
    rows.sort(key=lambda r: r["created"], reverse=True)
    return rows


def events_for(
    vm: dict[str, Any],
    vmi: dict[str, Any] | None,
    pod: dict[str, Any] | None,
    events: list[dict[str, Any]],
) -> list[dict[str, str]]:
    """Events about the VM, its VMI or its launcher pod, newest first."""
    wanted: set[tuple[str, str]] = set()
    uids: set[str] = set()
    for kind, obj in (("VirtualMachine", vm), ("VirtualMachineInstance", vmi), ("Pod", pod)):
        meta = _dict(_dict(obj).get("metadata"))
        if meta.get("name"):
            wanted.add((kind, _str(meta.get("name"))))
        if meta.get("uid"):
            uids.add(_str(meta.get("uid")))
    rows = []
    for ev in events:
        involved = _dict(ev.get("involvedObject")) or _dict(ev.get("regarding"))
        key = (_str(involved.get("kind")), _str(involved.get("name")))
        if key not in wanted and _str(involved.get("uid")) not in uids:
            continue
        last = (
            _str(ev.get("lastTimestamp"))
            or _str(ev.get("eventTime"))
            or _str(_dict(ev.get("metadata")).get("creationTimestamp"))
        )
        rows.append(
            {
                "last": last,
                "type": _str(ev.get("type")),
                "reason": _str(ev.get("reason")),
                "object": f"{key[0]}/{key[1]}",
                "message": _str(ev.get("message") or ev.get("note")),
            }
        )
    rows.sort(key=lambda r: r["last"], reverse=True)
    for row in rows:
        ts = parse_timestamp(row["last"])
        row["last"] = f"{humanize_age(ts)} ago" if ts else row["last"]
    return rows


def _human_bytes(value: Any) -> str:
    try:
        size = float(value)
    except (TypeError, ValueError):
        return _str(value)
    for unit in ("B", "Ki", "Mi", "Gi", "Ti"):
        if size < 1024 or unit == "Ti":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}".replace(".0", "")
        size /= 1024
    return _str(value)  # pragma: no cover


def _template_spec(vm: dict[str, Any]) -> dict[str, Any]:
    return _dict(_dict(_dict(vm.get("spec")).get("template")).get("spec"))


def _domain(spec: dict[str, Any]) -> dict[str, Any]:
    return _dict(spec.get("domain"))
