"""Simulated KubeVirt and CDI controllers for the demo cluster.

One :class:`Simulator` plays virt-controller, virt-handler, the kubelet and scheduler for
virt-launcher pods, CDI and the snapshot/clone/export controllers, all against the demo
:class:`~tui.demo.store.Store` and all on the server's one event loop thread.

How it works: a store listener turns every change into reconcile keys `(controller, namespace,
name)`; the keys are drained on the loop soon after (never inside the listener, which must not
write). Each reconcile reads the current state and moves it one step towards what it should be
(level-triggered, idempotent); steps that take time ask `_elapsed` whether their delay is over
and otherwise come back later through a timer. Delays are `base seconds * time_scale`, except
the `demo.kvtui.io/*-seconds` annotations, which are wall-clock seconds on purpose: they exist
to keep a demo VM in a state (Migrating, Provisioning) for as long as the demo is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import jsonpatch

from tui.cluster import kinds as K
from tui.cluster.kinds import Kind
from tui.demo.errors import ApiError
from tui.demo.store import Store, WatchEvent, now_iso

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (controller, namespace, name)

# -- names KubeVirt and CDI use ------------------------------------------------------------

VM_FINALIZER = "kubevirt.io/virtualMachineControllerFinalize"
VMI_FINALIZER = "kubevirt.io/foregroundDeleteVirtualMachine"
VMIM_FINALIZER = "kubevirt.io/migrationJobFinalize"
SNAPSHOT_FINALIZER = "snapshot.kubevirt.io/vmsnapshot-protection"
IMPORT_SECONDS = "demo.kvtui.io/import-seconds"
MIGRATION_SECONDS = "demo.kvtui.io/migration-seconds"
LAUNCHER_IMAGE = "quay.io/kubevirt/virt-launcher:v1.9.0"
DEFAULT_STORAGE_CLASS = "local-storage"
UNSCHEDULABLE_MESSAGE = (
    "0/{n} nodes are available: {n} node(s) didn't match Pod's node affinity/selector."
)
RESTART_REQUIRED_MESSAGE = "a non-live-updatable field was changed in the template spec"

# -- base delays in seconds, multiplied by time_scale ---------------------------------------

VMI_PENDING = 0.5  # launcher pod created -> Scheduling
VMI_SCHEDULING = 1.0  # -> Scheduled on a node
VMI_SCHEDULED = 1.0  # -> launcher pod Running, domain started, guest booting
VMI_BOOT = 3.0  # -> Running: the simulated guest's boot output (about 2.5 s) is over
AGENT_LINUX = 3.0  # Running -> guest agent connected (cloud-init Linux)
AGENT_WINDOWS = 8.0  # Windows boots slower
STOP_MAX = 2.0  # how long Stopping is visible at most (less when the grace period is shorter)
FINALIZE = 0.5  # Succeeded VMI -> removed
MIGRATION_STEP = 0.5  # each migration phase before Running
MIGRATION_RUN = 3.0  # the memory transfer itself
DV_PENDING = 0.5
DV_SCHEDULED = 1.0
DV_IMPORT = 8.0
DV_CLONE = 4.0
DV_BLANK = 1.0
SNAPSHOT_TIME = 2.0
RESTORE_TIME = 2.0
CLONE_STEP = 1.0
EXPORT_TIME = 2.0
ABORT_VISIBLE = 0.5

# -- guests the demo knows --------------------------------------------------------------------

GUEST_OS: dict[str, Obj] = {
    "fedora": {
        "id": "fedora",
        "name": "Fedora Linux",
        "prettyName": "Fedora Linux 41 (Cloud Edition)",
        "version": "41 (Cloud Edition)",
        "versionId": "41",
        "kernelRelease": "6.11.4-301.fc41.x86_64",
        "kernelVersion": "#1 SMP PREEMPT_DYNAMIC Sun Oct 20 15:02:33 UTC 2024",
        "machine": "x86_64",
    },
    "centos": {
        "id": "centos",
        "name": "CentOS Stream",
        "prettyName": "CentOS Stream 9",
        "version": "9",
        "versionId": "9",
        "kernelRelease": "5.14.0-570.el9.x86_64",
        "kernelVersion": "#1 SMP PREEMPT_DYNAMIC Fri Mar 7 16:04:37 UTC 2025",
        "machine": "x86_64",
    },
    "rhel": {
        "id": "rhel",
        "name": "Red Hat Enterprise Linux",
        "prettyName": "Red Hat Enterprise Linux 9.4 (Plow)",
        "version": "9.4 (Plow)",
        "versionId": "9.4",
        "kernelRelease": "5.14.0-427.13.1.el9_4.x86_64",
        "kernelVersion": "#1 SMP PREEMPT_DYNAMIC Wed Apr 10 10:29:16 EDT 2024",
        "machine": "x86_64",
    },
    "ubuntu": {
        "id": "ubuntu",
        "name": "Ubuntu",
        "prettyName": "Ubuntu 24.04.1 LTS",
        "version": "24.04.1 LTS (Noble Numbat)",
        "versionId": "24.04",
        "kernelRelease": "6.8.0-45-generic",
        "kernelVersion": "#45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024",
        "machine": "x86_64",
    },
    "windows": {
        "id": "mswindows",
        "name": "Microsoft Windows",
        "prettyName": "Windows 10 Enterprise",
        "version": "2009",
        "versionId": "10",
        "kernelRelease": "19045",
        "kernelVersion": "10.0",
        "machine": "x86_64",
    },
}
# Which words in labels, images and data sources give a guest away, most specific first.
_OS_HINTS = (
    ("windows", ("windows", "win10", "win11", "win2k", "mswindows")),
    ("rhel", ("rhel",)),
    ("centos", ("centos",)),
    ("ubuntu", ("ubuntu",)),
    ("fedora", ("fedora",)),
)


# ---------------------------------------------------------------------------------------------
# Small helpers on plain dicts
# ---------------------------------------------------------------------------------------------


def meta(obj: Obj) -> Obj:
    return obj.setdefault("metadata", {})


def deleting(obj: Obj | None) -> bool:
    return bool(obj and obj.get("metadata", {}).get("deletionTimestamp"))


def phase_of(obj: Obj | None) -> str:
    return ((obj or {}).get("status") or {}).get("phase") or ""


def vmi_final(vmi: Obj | None) -> bool:
    return phase_of(vmi) in ("Succeeded", "Failed")


def get_condition(obj: Obj | None, type_: str) -> Obj | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def condition_true(obj: Obj | None, type_: str) -> bool:
    cond = get_condition(obj, type_)
    return bool(cond and cond.get("status") == "True")


def set_condition(
    conditions: list[Obj],
    type_: str,
    status: str,
    reason: str = "",
    message: str = "",
    *,
    probe: bool = False,
) -> list[Obj]:
    """Set one condition in place; lastTransitionTime only moves when the status does.

    Keeping the timestamp stable matters beyond looks: a status that changed on every
    reconcile would be written on every reconcile, which would trigger another one.
    """
    for cond in conditions:
        if cond.get("type") == type_:
            if cond.get("status") != status:
                cond["lastTransitionTime"] = now_iso()
            cond["status"] = status
            _set_or_drop(cond, "reason", reason)
            _set_or_drop(cond, "message", message)
            return conditions
    cond: Obj = {"type": type_, "status": status, "lastTransitionTime": now_iso()}
    if probe:
        cond["lastProbeTime"] = None
    _set_or_drop(cond, "reason", reason)
    _set_or_drop(cond, "message", message)
    conditions.append(cond)
    return conditions


def drop_condition(conditions: list[Obj], type_: str) -> list[Obj]:
    conditions[:] = [c for c in conditions if c.get("type") != type_]
    return conditions


def _set_or_drop(d: Obj, key: str, value: Any) -> None:
    if value:
        d[key] = value
    else:
        d.pop(key, None)


def owner_ref(kind: Kind, obj: Obj, *, controller: bool = True) -> Obj:
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def owner_of_kind(obj: Obj, kind_name: str) -> Obj | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == kind_name:
            return ref
    return None


def run_strategy(vm: Obj) -> str:
    """spec.runStrategy, or what the deprecated spec.running stands for."""
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return str(spec["runStrategy"])
    if spec.get("running") is True:
        return "Always"
    return "Halted"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def stable_mac(namespace: str, vm: str, iface: str) -> str:
    """A locally administered MAC that stays the same for a VM's NIC across restarts."""
    raw = _digest(namespace, vm, iface)[:5]
    return "02:" + ":".join(f"{b:02x}" for b in raw)


def parse_duration(text: Any) -> float | None:
    """A Go duration ("5m0s", "1h", "30s", "1.5m") in seconds, or None."""
    if isinstance(text, (int, float)):
        return float(text)
    if not isinstance(text, str) or not text:
        return None
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    total = 0.0
    pos = 0
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    return total if pos == len(text) else None


def parse_quantity(value: Any) -> float:
    """A Kubernetes quantity in bytes (or plain units): enough for sizes and memory."""
    text = str(value or "0").strip()
    match = re.match(r"^([0-9.]+)([A-Za-z]*)$", text)
    if not match:
        return 0.0
    number = float(match.group(1))
    factors = {
        "": 1,
        "k": 1e3,
        "K": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "m": 1e-3,
    }
    return number * factors.get(match.group(2), 1)


def _volume_claim(vol: Obj) -> str | None:
    """The PVC a volume ends up on (a DataVolume's PVC has the DataVolume's name)."""
    if vol.get("dataVolume"):
        return vol["dataVolume"].get("name")
    if vol.get("persistentVolumeClaim"):
        return vol["persistentVolumeClaim"].get("claimName")
    return None


def hotpluggable(vol: Obj) -> bool:
    return bool(
        (vol.get("dataVolume") or {}).get("hotpluggable")
        or (vol.get("persistentVolumeClaim") or {}).get("hotpluggable")
    )


def _devices(spec: Obj) -> Obj:
    return spec.setdefault("domain", {}).setdefault("devices", {})


def _interfaces_and_networks(spec: Obj) -> tuple[list[Obj], list[Obj]]:
    """The NICs a VMI gets; none at all means KubeVirt's default pod NIC (bridge)."""
    devices = (spec.get("domain") or {}).get("devices") or {}
    ifaces = list(devices.get("interfaces") or [])
    nets = list(spec.get("networks") or [])
    if not ifaces and not nets and devices.get("autoattachPodInterface") is not False:
        ifaces = [{"name": "default", "bridge": {}}]
        nets = [{"name": "default", "pod": {}}]
    return ifaces, nets


# ---------------------------------------------------------------------------------------------
# Instancetypes and preferences
# ---------------------------------------------------------------------------------------------


def _find_ref(store: Store, ref: Obj, namespace: str, namespaced: Kind, cluster: Kind) -> Obj:
    kind_name = str(ref.get("kind") or "").lower()
    if kind_name in (namespaced.kind.lower(), namespaced.plural):
        found = store.peek(namespaced, namespace, ref.get("name", ""))
        kind = namespaced
    else:
        found = store.peek(cluster, None, ref.get("name", ""))
        kind = cluster
    if found is None:
        raise ApiError(400, f'{kind.key} "{ref.get("name", "")}" not found')
    return found


def expand_vm(store: Store, vm: Obj) -> Obj:
    """The VM with its instancetype and preference applied (what expand-spec returns).

    The instancetype's CPU and memory replace the template's; preferences are applied lightly
    (disk bus, NIC model, rng, grace period) where the template leaves them open. Raises a 400
    ApiError when a referenced instancetype or preference does not exist.
    """
    out = copy.deepcopy(vm)
    spec = out.setdefault("spec", {})
    namespace = vm.get("metadata", {}).get("namespace", "")
    tspec = spec.setdefault("template", {}).setdefault("spec", {})
    domain = tspec.setdefault("domain", {})
    itype_ref = spec.get("instancetype")
    pref_ref = spec.get("preference")
    pref_spec: Obj = {}
    if pref_ref:
        pref = _find_ref(store, pref_ref, namespace, K.PREFERENCES, K.CLUSTER_PREFERENCES)
        pref_spec = pref.get("spec") or {}
    if itype_ref:
        itype = _find_ref(store, itype_ref, namespace, K.INSTANCETYPES, K.CLUSTER_INSTANCETYPES)
        ispec = itype.get("spec") or {}
        guest_cpus = int((ispec.get("cpu") or {}).get("guest") or 1)
        topology = str((pref_spec.get("cpu") or {}).get("preferredCPUTopology") or "sockets")
        cpu = {"sockets": guest_cpus, "cores": 1, "threads": 1}
        if topology in ("cores", "preferCores"):
            cpu = {"sockets": 1, "cores": guest_cpus, "threads": 1}
        elif topology in ("threads", "preferThreads"):
            cpu = {"sockets": 1, "cores": 1, "threads": guest_cpus}
        if (ispec.get("cpu") or {}).get("model"):
            cpu["model"] = ispec["cpu"]["model"]
        domain["cpu"] = cpu
        memory = ispec.get("memory") or {}
        if memory.get("guest"):
            domain.setdefault("memory", {})["guest"] = memory["guest"]
        if memory.get("hugepages"):
            domain.setdefault("memory", {})["hugepages"] = copy.deepcopy(memory["hugepages"])
    if pref_spec:
        devices = domain.setdefault("devices", {})
        prefs = pref_spec.get("devices") or {}
        bus = prefs.get("preferredDiskBus")
        for disk in devices.get("disks") or []:
            target = disk.get("disk")
            if bus and isinstance(target, dict) and not target.get("bus"):
                target["bus"] = bus
        model = prefs.get("preferredInterfaceModel")
        for iface in devices.get("interfaces") or []:
            if model and not iface.get("model"):
                iface["model"] = model
        if "preferredRng" in prefs and "rng" not in devices:
            devices["rng"] = copy.deepcopy(prefs["preferredRng"])
        grace = pref_spec.get("preferredTerminationGracePeriodSeconds")
        if grace is not None and "terminationGracePeriodSeconds" not in tspec:
            tspec["terminationGracePeriodSeconds"] = grace
    spec.pop("instancetype", None)
    spec.pop("preference", None)
    return out


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------


class Simulator:
    """virt-controller, virt-handler, kubelet, scheduler and CDI, simulated on one event loop."""

    def __init__(
        self,
        store: Store,
        *,
        time_scale: float = 1.0,
        on_vmi_running: Callable[[dict], None] | None = None,
        on_vmi_stopped: Callable[[dict], None] | None = None,
    ) -> None:
        self.store = store
        self.time_scale = time_scale
        self.on_vmi_running = on_vmi_running
        self.on_vmi_stopped = on_vmi_stopped
        self.errors: list[str] = []  # reconcile failures, for tests to assert on
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: dict[Key, None] = {}  # an ordered set
        self._drain_handle: asyncio.Handle | None = None
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._clocks: dict[tuple[Key, str, str], float] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._running_vmis: set[str] = set()  # uids we told on_vmi_running about
        self._seed_actions: dict[tuple[str, str], list[str]] = {}
        self._event_names: dict[tuple[str, str, str, str], str] = {}
        self._stopped = True

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the store, reconcile everything that exists, start the timers."""
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        self._unsubscribe = self.store.subscribe(self._on_event)
        for kind, ctl in _CONTROLLED:
            for obj in self.store.iter(kind):
                m = obj["metadata"]
                self._enqueue((ctl, m.get("namespace", ""), m["name"]))
        self._drain()

    async def stop(self) -> None:
        """Cancel every timer and pending reconcile; the store is left as it is."""
        self._stopped = True
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self._drain_handle:
            self._drain_handle.cancel()
            self._drain_handle = None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._queue.clear()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until no reconcile is queued and no timer is due soon (for tests).

        "Soon" is 50 base seconds scaled, which covers every simulated step but not the
        wall-clock annotation timers (a 600 s migration keeps going after settle returns).
        Raises TimeoutError when the simulator is still busy after `timeout` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        horizon = max(0.05, 50 * self.time_scale)
        while True:
            now = loop.time()
            busy = bool(self._queue) or any(
                t.when() - now < horizon for t in self._timers.values() if not t.cancelled()
            )
            if not busy:
                return
            if now > deadline:
                raise TimeoutError("the simulator did not settle")
            await asyncio.sleep(0.002)

    def apply_seed_actions(self, actions: list[tuple[str, str, str]]) -> None:
        """Queue ("pause"|"migrate", namespace, vm) actions, done once that VM is Running."""
        for verb, namespace, name in actions:
            self._seed_actions.setdefault((namespace, name), []).append(verb)
            self._enqueue(("vm", namespace, name))

    # -- the work queue ----------------------------------------------------------------------

    def _on_event(self, ev: WatchEvent) -> None:
        """Store listener: map the change to reconcile keys. Never writes (see store.subscribe)."""
        if self._stopped:
            return
        obj = ev.obj
        m = obj.get("metadata", {})
        ns = m.get("namespace", "")
        name = m.get("name", "")
        kind = ev.kind
        if ev.type == "DELETED":
            self._forget(kind, obj)
        if kind is K.VMS:
            self._enqueue(("vm", ns, name))
            self._enqueue_all(ns, (K.SNAPSHOTS, "snap"), (K.RESTORES, "restore"))
            self._enqueue_all(ns, (K.EXPORTS, "export"), (K.CLONES, "clone"))
        elif kind is K.VMIS:
            self._enqueue(("vmi", ns, name))
            self._enqueue(("vm", ns, name))
            self._enqueue_all(ns, (K.VMIMS, "vmim"), (K.EXPORTS, "export"))
        elif kind is K.PODS:
            ref = owner_of_kind(obj, "VirtualMachineInstance")
            if ref:
                self._enqueue(("vmi", ns, ref["name"]))
        elif kind is K.VMIMS:
            self._enqueue(("vmim", ns, name))
            vmi_name = (obj.get("spec") or {}).get("vmiName")
            if vmi_name:
                self._enqueue(("vmi", ns, vmi_name))
                self._enqueue(("vm", ns, vmi_name))
            self._enqueue_all(ns, (K.VMIMS, "vmim"))
        elif kind in (K.DATAVOLUMES, K.PVCS):
            self._enqueue(("dv", ns, name))
            self._enqueue_all(ns, (K.VMS, "vm"), (K.EXPORTS, "export"), (K.CLONES, "clone"))
            self._enqueue_all(None, (K.DATASOURCES, "ds"))
            # Clones wait for their source PVC, wherever it lives.
            self._enqueue_all(None, (K.DATAVOLUMES, "dv"))
        elif kind is K.DATASOURCES:
            self._enqueue(("ds", ns, name))
            self._enqueue_all(None, (K.DATAVOLUMES, "dv"))
        elif kind is K.SNAPSHOTS:
            self._enqueue(("snap", ns, name))
            source = ((obj.get("spec") or {}).get("source") or {}).get("name")
            if source:
                self._enqueue(("vm", ns, source))
            self._enqueue_all(ns, (K.RESTORES, "restore"), (K.CLONES, "clone"))
            self._enqueue_all(ns, (K.EXPORTS, "export"))
        elif kind is K.SNAPSHOT_CONTENTS:
            snap = (obj.get("spec") or {}).get("virtualMachineSnapshotName")
            if snap:
                self._enqueue(("snap", ns, snap))
        elif kind is K.RESTORES:
            self._enqueue(("restore", ns, name))
            target = ((obj.get("spec") or {}).get("target") or {}).get("name")
            if target:
                self._enqueue(("vm", ns, target))
            self._enqueue_all(ns, (K.CLONES, "clone"))
        elif kind is K.CLONES:
            self._enqueue(("clone", ns, name))
        elif kind is K.EXPORTS:
            self._enqueue(("export", ns, name))
        elif kind is K.NODES:
            self._enqueue_all(None, (K.VMIS, "vmi"), (K.VMIMS, "vmim"))

    def _enqueue_all(self, namespace: str | None, *pairs: tuple[Kind, str]) -> None:
        for kind, ctl in pairs:
            for obj in self.store.iter(kind, namespace or None):
                m = obj["metadata"]
                self._enqueue((ctl, m.get("namespace", ""), m["name"]))

    def _enqueue(self, key: Key) -> None:
        if self._stopped:
            return
        self._queue[key] = None
        if self._drain_handle is None and self._loop is not None:
            self._drain_handle = self._loop.call_soon(self._drain)

    def _requeue_after(self, key: Key, delay: float) -> None:
        """Reconcile `key` again in `delay` seconds (the earliest such request wins)."""
        if self._loop is None or self._stopped:
            return
        delay = max(delay, 0.0)
        when = self._loop.time() + delay
        timer = self._timers.get(key)
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self._enqueue(key)

        self._timers[key] = self._loop.call_later(delay, fire)

    def _drain(self) -> None:
        self._drain_handle = None
        budget = 1000  # a runaway loop of writes must not starve the server
        while self._queue and budget > 0 and not self._stopped:
            key = next(iter(self._queue))
            del self._queue[key]
            budget -= 1
            handler = getattr(self, f"_reconcile_{key[0]}")
            try:
                handler(key[1], key[2])
            except Exception as exc:  # one broken object must not stop the others
                log.exception("reconcile %s failed", key)
                self.errors.append(f"{key}: {exc!r}")
        if self._queue and self._loop is not None and not self._stopped:
            self._drain_handle = self._loop.call_soon(self._drain)

    def _elapsed(
        self, key: Key, uid: str, tag: str, seconds: float, *, scaled: bool = True
    ) -> bool:
        """Has `seconds` passed since this (object, step) was first asked about?

        When not, a timer brings the key back when it has. Clocks are per object uid, so a
        re-created object with the same name starts afresh.
        """
        if self._loop is None:
            return True
        now = self._loop.time()
        start = self._clocks.setdefault((key, uid, tag), now)
        remaining = start + seconds * (self.time_scale if scaled else 1.0) - now
        if remaining <= 0:
            return True
        self._requeue_after(key, remaining)
        return False

    def _since(self, key: Key, uid: str, tag: str) -> float:
        """Seconds since the clock (key, uid, tag) started (0 if it hasn't)."""
        if self._loop is None:
            return 0.0
        start = self._clocks.get((key, uid, tag))
        return 0.0 if start is None else self._loop.time() - start

    def _forget(self, kind: Kind, obj: Obj) -> None:
        """Drop the clocks of a deleted object, and tell the console a deleted VMI is gone."""
        uid = obj.get("metadata", {}).get("uid", "")
        for clock in [c for c in self._clocks if c[1] == uid]:
            del self._clocks[clock]
        if kind is K.VMIS and uid in self._running_vmis:
            self._vmi_stopped(obj)

    def _delay(self, seconds: float) -> float:
        return seconds * self.time_scale

    # -- events ------------------------------------------------------------------------------

    def event(
        self,
        kind: Kind,
        obj: Obj,
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        component: str = "virtualmachine-controller",
    ) -> None:
        """Record a core v1 Event about `obj`; a repeat of the same one counts up."""
        m = obj.get("metadata", {})
        namespace = m.get("namespace") or "default"
        uid = m.get("uid", "")
        key = (namespace, uid, reason, message)
        stamp = now_iso()
        name = self._event_names.get(key)
        if name and self.store.peek(K.EVENTS, namespace, name) is not None:

            def bump(ev: Obj) -> None:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = stamp

            self.store.mutate(K.EVENTS, namespace, name, bump)
            return
        name = f"{m.get('name', '')}.{time.time_ns():016x}"[-253:]
        while self.store.peek(K.EVENTS, namespace, name) is not None:
            name = f"{m.get('name', '')}.{time.time_ns() + 1:016x}"[-253:]
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "kind": kind.kind,
                "namespace": m.get("namespace", ""),
                "name": m.get("name", ""),
                "uid": uid,
                "apiVersion": kind.api_version,
                "resourceVersion": m.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": "",
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            self.store.create(K.EVENTS, body, namespace)
        except ApiError:  # e.g. the namespace is going away: the event has nowhere to live
            return
        self._event_names[key] = name

    # -- console hooks -----------------------------------------------------------------------

    def _vmi_running(self, vmi: Obj) -> None:
        uid = vmi["metadata"]["uid"]
        if uid in self._running_vmis:
            return
        self._running_vmis.add(uid)
        if self.on_vmi_running:
            # The console's guest should be the OS the agent will report later.
            shown = copy.deepcopy(vmi)
            os_key = self.guess_os(vmi)
            if os_key and not shown.get("status", {}).get("guestOSInfo", {}).get("prettyName"):
                shown.setdefault("status", {})["guestOSInfo"] = dict(GUEST_OS[os_key])
            try:
                self.on_vmi_running(shown)
            except Exception:
                log.exception("on_vmi_running failed")

    def _vmi_stopped(self, vmi: Obj) -> None:
        uid = vmi["metadata"]["uid"]
        if uid not in self._running_vmis:
            return
        self._running_vmis.discard(uid)
        if self.on_vmi_stopped:
            try:
                self.on_vmi_stopped(vmi)
            except Exception:
                log.exception("on_vmi_stopped failed")

    # =========================================================================================
    # VirtualMachine controller
    # =========================================================================================

    def _reconcile_vm(self, ns: str, name: str) -> None:
        vm = self.store.try_get(K.VMS, ns, name)
        if vm is None:
            return
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is not None and not owned_by(vmi, vm) and vmi["metadata"].get("ownerReferences"):
            vmi = None  # someone else's VMI of the same name: not ours to manage
        if deleting(vm):
            self._vm_terminate(vm, vmi)
            return
        self._ensure_datavolumes(vm)
        strategy = run_strategy(vm)
        status = vm.get("status") or {}
        requests: list[Obj] = copy.deepcopy(status.get("stateChangeRequests") or [])
        volumes_state, volumes_message = self._volumes_state(vm)
        volumes_ready = volumes_state == ""
        create_failure: str | None = None

        def create(paused: bool = False) -> bool:
            nonlocal create_failure, vmi
            if not volumes_ready:
                return False
            try:
                self._create_vmi(vm, paused=paused)
            except ApiError as exc:
                create_failure = exc.message
                self.event(
                    K.VMS,
                    vm,
                    "FailedCreate",
                    f"Error creating virtual machine instance: {exc.message}",
                    type_="Warning",
                )
                return False
            vmi = self.store.peek(K.VMIS, ns, name)
            return True

        def stop() -> None:
            if vmi is not None and not deleting(vmi):
                self._delete_vmi(vm, vmi)

        if strategy == "Halted":
            # Halted ignores start requests; a stop request only hurries what happens anyway.
            requests = []
            if vmi is not None:
                stop()
        else:
            # State change requests first, in order: a Stop waits for its VMI to be gone.
            while requests:
                req = requests[0]
                action = req.get("action")
                if action == "Stop":
                    uid = req.get("uid")
                    if vmi is not None and (not uid or uid == vmi["metadata"]["uid"]):
                        stop()
                        break
                    requests.pop(0)
                elif action == "Start":
                    if vmi is None:
                        paused = (req.get("data") or {}).get("paused") == "true"
                        if create(paused):
                            requests.pop(0)
                        break
                    if deleting(vmi):
                        break
                    if vmi_final(vmi):
                        stop()
                        break
                    requests.pop(0)
                else:
                    requests.pop(0)
            if not requests:
                first_time = status.get("runStrategy") != strategy
                if strategy == "Always":
                    if vmi is None:
                        create()
                    elif vmi_final(vmi) and not deleting(vmi):
                        stop()
                elif strategy == "RerunOnFailure":
                    if vmi is None and first_time:
                        create()
                    elif vmi is not None and not deleting(vmi) and phase_of(vmi) == "Failed":
                        stop()
                        requests.append({"action": "Start"})
                elif strategy == "Once":
                    if vmi is None and first_time:
                        create()
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is not None and not vmi_final(vmi) and not deleting(vmi):
            self._propagate_live_updates(vm, vmi)
            vmi = self.store.peek(K.VMIS, ns, name)
        # status.runStrategy records which strategy has been acted on; a first start that is
        # still waiting (for disks) must not be recorded, or it would never happen.
        observed = strategy
        if strategy in ("RerunOnFailure", "Once") and vmi is None and not requests:
            if status.get("runStrategy") != strategy:
                observed = status.get("runStrategy") or ""
        written = self._write_vm_status(
            vm, vmi, strategy, requests, volumes_state, volumes_message, create_failure, observed
        )
        current = self.store.peek(K.VMS, ns, name)
        if written and current is not None and not deleting(current):
            if VM_FINALIZER not in (current["metadata"].get("finalizers") or []):
                self.store.mutate(
                    K.VMS,
                    ns,
                    name,
                    lambda o: meta(o).setdefault("finalizers", []).append(VM_FINALIZER),
                )
        self._seed_action(vm, vmi)

    def _vm_terminate(self, vm: Obj, vmi: Obj | None) -> None:
        """A deleted VM: show Terminating, stop its VMI, then let the VM go."""
        ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        if vmi is not None:
            if not deleting(vmi):
                self._delete_vmi(vm, vmi)
            self._write_vm_status(vm, vmi, run_strategy(vm), [], "", "", None, run_strategy(vm))
            return

        def release(o: Obj) -> None:
            fins = [f for f in meta(o).get("finalizers") or [] if f != VM_FINALIZER]
            meta(o)["finalizers"] = fins

        if VM_FINALIZER in (vm["metadata"].get("finalizers") or []):
            self._write_vm_status(vm, None, run_strategy(vm), [], "", "", None, run_strategy(vm))
            self.store.mutate(K.VMS, ns, name, release)

    def _create_vmi(self, vm: Obj, *, paused: bool = False) -> Obj:
        """Create the VMI from the VM's template, with its instancetype applied."""
        ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        expanded = expand_vm(self.store, vm)
        template = expanded["spec"].get("template") or {}
        spec = copy.deepcopy(template.get("spec") or {})
        if paused:
            spec["startStrategy"] = "Paused"
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        annotations = dict(tmeta.get("annotations") or {})
        annotations.setdefault("kubevirt.io/latest-observed-api-version", "v1")
        annotations.setdefault("kubevirt.io/storage-observed-api-version", "v1")
        cpu = (spec.get("domain") or {}).get("cpu") or {}
        body = {
            "apiVersion": K.VMIS.api_version,
            "kind": "VirtualMachineInstance",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [owner_ref(K.VMS, vm)],
                "finalizers": [VMI_FINALIZER],
            },
            "spec": spec,
            "status": {
                "phase": "Pending",
                "guestOSInfo": {},
                "qosClass": "Burstable",
                "currentCPUTopology": {
                    "sockets": int(cpu.get("sockets") or 1),
                    "cores": int(cpu.get("cores") or 1),
                    "threads": int(cpu.get("threads") or 1),
                },
                "memory": self._memory_status(spec),
                "phaseTransitionTimestamps": [
                    {"phase": "Pending", "phaseTransitionTimestamp": now_iso()}
                ],
            },
        }
        created, _ = self.store.create(K.VMIS, body, ns)
        self.event(
            K.VMS,
            vm,
            "SuccessfulCreate",
            f"Started the virtual machine by creating the new virtual machine instance {name}",
        )
        return created

    @staticmethod
    def _memory_status(spec: Obj) -> Obj:
        domain = spec.get("domain") or {}
        guest = (domain.get("memory") or {}).get("guest") or (
            (domain.get("resources") or {}).get("requests") or {}
        ).get("memory")
        if not guest:
            return {}
        return {"guestAtBoot": guest, "guestCurrent": guest, "guestRequested": guest}

    def _delete_vmi(self, vm: Obj, vmi: Obj) -> None:
        m = vmi["metadata"]
        with contextlib.suppress(ApiError):
            self.store.delete(K.VMIS, m["namespace"], m["name"])
        self.event(
            K.VMS,
            vm,
            "SuccessfulDelete",
            f"Stopped the virtual machine by deleting the virtual machine instance {m['uid']}",
        )

    def _ensure_datavolumes(self, vm: Obj) -> None:
        """Create the VM's dataVolumeTemplates as DataVolumes owned by the VM."""
        ns = vm["metadata"]["namespace"]
        for tmpl in (vm.get("spec") or {}).get("dataVolumeTemplates") or []:
            tmeta = tmpl.get("metadata") or {}
            dv_name = tmeta.get("name")
            if not dv_name:
                continue
            existing = self.store.peek(K.DATAVOLUMES, ns, dv_name)
            if existing is not None:
                continue
            body = {
                "apiVersion": K.DATAVOLUMES.api_version,
                "kind": "DataVolume",
                "metadata": {
                    "name": dv_name,
                    "namespace": ns,
                    "labels": dict(tmeta.get("labels") or {}),
                    "annotations": dict(tmeta.get("annotations") or {}),
                    "ownerReferences": [owner_ref(K.VMS, vm)],
                },
                "spec": copy.deepcopy(tmpl.get("spec") or {}),
            }
            if not body["metadata"]["labels"]:
                del body["metadata"]["labels"]
            if not body["metadata"]["annotations"]:
                del body["metadata"]["annotations"]
            try:
                self.store.create(K.DATAVOLUMES, body, ns)
            except ApiError as exc:
                self.event(
                    K.VMS,
                    vm,
                    "FailedCreate",
                    f"Error creating DataVolume {dv_name}: {exc.message}",
                    type_="Warning",
                )
                continue
            self.event(K.VMS, vm, "SuccessfulDataVolumeCreate", f"Created DataVolume {dv_name}")

    def _volumes_state(self, vm: Obj) -> tuple[str, str]:
        """Whether the VM's disks are there: "" (ready), or a printableStatus and why not."""
        ns = vm["metadata"]["namespace"]
        spec = vm.get("spec") or {}
        templated = {
            (t.get("metadata") or {}).get("name") for t in spec.get("dataVolumeTemplates") or []
        }
        tspec = (spec.get("template") or {}).get("spec") or {}
        worst = ("", "")
        rank = {"": 0, "WaitingForVolumeBinding": 1, "Provisioning": 2}
        for vol in tspec.get("volumes") or []:
            if hotpluggable(vol):
                continue  # hotplugged disks attach after start; they never hold a VM back
            claim = _volume_claim(vol)
            if not claim:
                continue
            dv = self.store.peek(K.DATAVOLUMES, ns, claim)
            pvc = self.store.peek(K.PVCS, ns, claim)
            if dv is None and pvc is None:
                if vol.get("dataVolume") and claim in templated:
                    state = ("Provisioning", f"DataVolume {claim} is being created")
                else:
                    what = "DataVolume" if vol.get("dataVolume") else "PVC"
                    return "ErrorPvcNotFound", f"{what} {ns}/{claim} does not exist"
            elif dv is not None and phase_of(dv) == "Failed":
                return "DataVolumeError", f"DataVolume {claim} failed to import/clone"
            elif dv is not None and phase_of(dv) != "Succeeded":
                state = ("Provisioning", f"DataVolume {claim} is {phase_of(dv) or 'Pending'}")
            elif pvc is not None and phase_of(pvc) == "Pending":
                state = ("WaitingForVolumeBinding", f"PVC {claim} is not bound")
            elif pvc is None:
                state = ("Provisioning", f"PVC {claim} is being created")
            else:
                continue
            if rank[state[0]] > rank[worst[0]]:
                worst = state
        return worst

    def _write_vm_status(
        self,
        vm: Obj,
        vmi: Obj | None,
        strategy: str,
        requests: list[Obj],
        volumes_state: str,
        volumes_message: str,
        create_failure: str | None,
        observed: str,
    ) -> bool:
        """Write the VM's status; False when it was deliberately left alone for now."""
        ns, name = vm["metadata"]["namespace"], vm["metadata"]["name"]
        vmi_phase = phase_of(vmi)
        active = vmi is not None and not vmi_final(vmi)
        stop_pending = vmi is not None and any(
            r.get("action") == "Stop"
            and (not r.get("uid") or r.get("uid") == vmi["metadata"]["uid"])
            for r in requests
        )
        start_pending = any(r.get("action") == "Start" for r in requests)
        wants_run = strategy in ("Always", "RerunOnFailure", "Once") or start_pending
        if strategy in ("RerunOnFailure", "Once") and vmi is None and not start_pending:
            wants_run = (vm.get("status") or {}).get("runStrategy") != strategy
        migrating = vmi is not None and self._vmi_migrating(vmi)
        unschedulable = False
        cond = get_condition(vmi, "PodScheduled")
        if cond and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
            unschedulable = True
        if deleting(vm):
            printable = "Terminating"
        elif vmi is not None and deleting(vmi):
            printable = "Stopping"  # until the VMI is gone, even once it has Succeeded
        elif active and (stop_pending or strategy == "Halted"):
            printable = "Stopping"
        elif active and migrating:
            printable = "Migrating"
        elif vmi_phase == "Running" and condition_true(vmi, "Paused"):
            printable = "Paused"
        elif vmi_phase == "Running":
            printable = "Running"
        elif (active or wants_run) and volumes_state in ("ErrorPvcNotFound", "DataVolumeError"):
            printable = volumes_state
        elif active and unschedulable:
            printable = "ErrorUnschedulable"
        elif (active or wants_run) and volumes_state in ("Provisioning", "WaitingForVolumeBinding"):
            printable = volumes_state if vmi is None else "Starting"
        elif active or (wants_run and vmi is None and not create_failure and not vmi_final(vmi)):
            printable = "Starting"
        else:
            printable = "Stopped"
        if printable == "Starting" and vmi is None and strategy == "Halted":
            printable = "Stopped"

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            conds: list[Obj] = st.setdefault("conditions", [])
            ready = vmi is not None and condition_true(vmi, "Ready") and vmi_phase == "Running"
            if ready:
                set_condition(conds, "Ready", "True", probe=True)
            elif vmi is None:
                set_condition(
                    conds, "Ready", "False", "VMINotExists", "VMI does not exist", probe=True
                )
            else:
                vc = get_condition(vmi, "Ready") or {}
                set_condition(
                    conds,
                    "Ready",
                    "False",
                    vc.get("reason") or "GuestNotRunning",
                    vc.get("message") or "Guest VM is not reported as running",
                    probe=True,
                )
            if create_failure:
                set_condition(conds, "Failure", "True", "FailedCreate", create_failure)
            elif vmi is not None:
                drop_condition(conds, "Failure")
            # Mirror the VMI's other conditions (the VM keeps none once the VMI is gone).
            mirrored = {
                c.get("type") for c in ((vmi or {}).get("status") or {}).get("conditions") or []
            }
            for c in conds[:]:
                if c.get("type") in _VMI_MIRRORED and c.get("type") not in mirrored:
                    conds.remove(c)
            for c in ((vmi or {}).get("status") or {}).get("conditions") or []:
                if c.get("type") in ("Ready",):
                    continue
                set_condition(
                    conds,
                    c["type"],
                    c.get("status", "Unknown"),
                    c.get("reason", ""),
                    c.get("message", ""),
                    probe=True,
                )
            if vmi is not None and active and self._restart_required(vm, vmi):
                set_condition(conds, "RestartRequired", "True", "", RESTART_REQUIRED_MESSAGE)
            else:
                drop_condition(conds, "RestartRequired")
            st["printableStatus"] = printable
            st["created"] = vmi is not None
            st["ready"] = ready
            _set_or_drop(st, "runStrategy", observed)
            st["desiredGeneration"] = o["metadata"].get("generation", 1)
            st["observedGeneration"] = o["metadata"].get("generation", 1)
            if requests:
                st["stateChangeRequests"] = requests
            else:
                st.pop("stateChangeRequests", None)
            st["volumeSnapshotStatuses"] = self._volume_snapshot_statuses(vm)
            snap = self._snapshot_in_progress(ns, name)
            _set_or_drop(st, "snapshotInProgress", snap)
            restore = self._restore_in_progress(ns, name)
            _set_or_drop(st, "restoreInProgress", restore)
            if vmi is not None:
                st.pop("startFailure", None)

        self.store.mutate(K.VMS, ns, name, apply)
        return True

    @staticmethod
    def _volume_snapshot_statuses(vm: Obj) -> list[Obj]:
        out = []
        tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
        for vol in tspec.get("volumes") or []:
            if _volume_claim(vol):
                out.append({"name": vol.get("name", ""), "enabled": True})
            else:
                out.append(
                    {
                        "name": vol.get("name", ""),
                        "enabled": False,
                        "reason": "Snapshot is not supported for this volumeSource type "
                        f"[{vol.get('name', '')}]",
                    }
                )
        return out

    def _snapshot_in_progress(self, ns: str, vm_name: str) -> str | None:
        for snap in self.store.iter(K.SNAPSHOTS, ns):
            source = (snap.get("spec") or {}).get("source") or {}
            if source.get("name") == vm_name and phase_of(snap) == "InProgress":
                return snap["metadata"]["name"]
        return None

    def _restore_in_progress(self, ns: str, vm_name: str) -> str | None:
        for restore in self.store.iter(K.RESTORES, ns):
            target = (restore.get("spec") or {}).get("target") or {}
            st = restore.get("status") or {}
            if target.get("name") == vm_name and not st.get("complete"):
                if condition_true(restore, "Progressing"):
                    return restore["metadata"]["name"]
        return None

    # -- live updates and RestartRequired ------------------------------------------------------

    def _expanded_template_spec(self, vm: Obj) -> Obj | None:
        try:
            expanded = expand_vm(self.store, vm)
        except ApiError:
            return None
        return copy.deepcopy(((expanded.get("spec") or {}).get("template") or {}).get("spec") or {})

    def _propagate_live_updates(self, vm: Obj, vmi: Obj) -> None:
        """LiveUpdate rollout: CPU sockets, memory, NICs and hotplug volumes reach the VMI."""
        if phase_of(vmi) != "Running" or self._vmi_migrating(vmi):
            return
        template = self._expanded_template_spec(vm)
        if template is None:
            return
        merged = live_merge(vmi.get("spec") or {}, template)
        if merged == vmi.get("spec"):
            return
        m = vmi["metadata"]

        def apply(o: Obj) -> None:
            o["spec"] = merged
            cpu = (merged.get("domain") or {}).get("cpu") or {}
            st = o.setdefault("status", {})
            st["currentCPUTopology"] = {
                "sockets": int(cpu.get("sockets") or 1),
                "cores": int(cpu.get("cores") or 1),
                "threads": int(cpu.get("threads") or 1),
            }
            memory = self._memory_status(merged)
            if memory:
                previous = st.get("memory") or {}
                memory["guestAtBoot"] = previous.get("guestAtBoot", memory["guestAtBoot"])
                st["memory"] = memory

        self.store.mutate(K.VMIS, m["namespace"], m["name"], apply)

    def _restart_required(self, vm: Obj, vmi: Obj) -> bool:
        template = self._expanded_template_spec(vm)
        if template is None:
            return False
        return _comparable(template) != _comparable(vmi.get("spec") or {})

    # -- seed actions --------------------------------------------------------------------------

    def _seed_action(self, vm: Obj, vmi: Obj | None) -> None:
        key = (vm["metadata"]["namespace"], vm["metadata"]["name"])
        verbs = self._seed_actions.get(key)
        if not verbs or vmi is None or phase_of(vmi) != "Running" or deleting(vmi):
            return
        ns, name = key
        while verbs:
            verb = verbs[0]
            if verb == "pause":
                if not condition_true(vmi, "Paused"):
                    self.pause_vmi(ns, name)
            elif verb == "migrate":
                if self.active_migration(ns, name) is None:
                    self.create_migration(ns, name)
            verbs.pop(0)
        self._seed_actions.pop(key, None)

    # =========================================================================================
    # VMI: virt-controller (pod), scheduler, kubelet and virt-handler (domain, agent)
    # =========================================================================================

    def _launcher_pods(self, vmi: Obj) -> list[Obj]:
        uid = vmi["metadata"]["uid"]
        return [
            p
            for p in self.store.iter(K.PODS, vmi["metadata"]["namespace"])
            if (p["metadata"].get("labels") or {}).get("kubevirt.io/created-by") == uid
        ]

    def _source_pod(self, vmi: Obj) -> Obj | None:
        """The launcher pod the domain runs in (not a migration target, unless it took over)."""
        node = (vmi.get("status") or {}).get("nodeName")
        pods = [p for p in self._launcher_pods(vmi) if not deleting(p)]
        for pod in pods:
            if node and (pod.get("spec") or {}).get("nodeName") == node:
                return pod
        plain = [
            p
            for p in pods
            if "kubevirt.io/migrationJobUID" not in (p["metadata"].get("labels") or {})
        ]
        return plain[0] if plain else None

    def _reconcile_vmi(self, ns: str, name: str) -> None:
        key: Key = ("vmi", ns, name)
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is None:
            return
        uid = vmi["metadata"]["uid"]
        if deleting(vmi):
            self._vmi_shutdown(key, vmi)
            return
        phase = phase_of(vmi)
        if phase in ("", "Pending"):
            pod = self._source_pod(vmi)
            if pod is None:
                pod = self._create_launcher_pod(vmi)
            if self._elapsed(key, uid, "pending", VMI_PENDING):
                self._set_vmi_phase(vmi, "Scheduling")
        elif phase == "Scheduling":
            pod = self._source_pod(vmi)
            if pod is None:
                pod = self._create_launcher_pod(vmi)
            node = self._pick_node(self._node_selector(vmi))
            if node is None:
                self._mark_unschedulable(vmi, pod)
                return
            if self._elapsed(key, uid, "scheduling", VMI_SCHEDULING):
                self._schedule(vmi, pod, node)
        elif phase == "Scheduled":
            # The pod starts and the domain with it (the guest boots on its serial console);
            # the VMI reports Running once the guest is through its boot.
            if self._elapsed(key, uid, "scheduled", VMI_SCHEDULED):
                if self._boot_domain(vmi) and self._elapsed(key, uid, "boot", VMI_BOOT):
                    self._start_domain(vmi)
        elif phase == "Running":
            self._vmi_running_tick(key, vmi)
        elif vmi_final(vmi):
            for pod in self._launcher_pods(vmi):
                with contextlib.suppress(ApiError):
                    self.store.delete(K.PODS, ns, pod["metadata"]["name"])
            self._vmi_stopped(vmi)

    def _set_vmi_phase(
        self, vmi: Obj, phase: str, extra: Callable[[Obj], None] | None = None
    ) -> None:
        m = vmi["metadata"]

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            if st.get("phase") != phase:
                st["phase"] = phase
                st.setdefault("phaseTransitionTimestamps", []).append(
                    {"phase": phase, "phaseTransitionTimestamp": now_iso()}
                )
            if extra:
                extra(o)

        self.store.mutate(K.VMIS, m["namespace"], m["name"], apply)

    @staticmethod
    def _node_selector(vmi: Obj) -> dict[str, str]:
        selector = dict((vmi.get("spec") or {}).get("nodeSelector") or {})
        selector.setdefault("kubevirt.io/schedulable", "true")
        return selector

    def _pick_node(self, selector: dict[str, str], exclude: str | None = None) -> Obj | None:
        """The matching node running the fewest launcher pods (ties: by name)."""
        candidates = []
        for node in self.store.iter(K.NODES):
            labels = node["metadata"].get("labels") or {}
            if node["metadata"]["name"] == exclude or (node.get("spec") or {}).get("unschedulable"):
                continue
            if all(labels.get(k) == v for k, v in selector.items()):
                load = sum(
                    1
                    for p in self.store.iter(K.PODS)
                    if (p.get("spec") or {}).get("nodeName") == node["metadata"]["name"]
                )
                candidates.append((load, node["metadata"]["name"], node))
        if not candidates:
            return None
        candidates.sort(key=lambda c: (c[0], c[1]))
        return candidates[0][2]

    def _create_launcher_pod(self, vmi: Obj, *, migration: Obj | None = None) -> Obj:
        """A virt-launcher pod for the VMI (or, with `migration`, its migration target)."""
        m = vmi["metadata"]
        ns, name = m["namespace"], m["name"]
        spec = vmi.get("spec") or {}
        labels = {
            **(m.get("labels") or {}),
            "kubevirt.io": "virt-launcher",
            "kubevirt.io/created-by": m["uid"],
            "vm.kubevirt.io/name": name,
        }
        labels.pop("kubevirt.io/nodeName", None)
        if migration is not None:
            labels["kubevirt.io/migrationJobUID"] = migration["metadata"]["uid"]
        memory = self._memory_status(spec).get("guestRequested") or "1Gi"
        grace = int(spec.get("terminationGracePeriodSeconds", 30) or 0)
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"virt-launcher-{name}-",
                "namespace": ns,
                "labels": labels,
                "annotations": {
                    "kubevirt.io/domain": name,
                    "kubectl.kubernetes.io/default-container": "compute",
                    "kubevirt.io/migrationTransportUnix": "true",
                    "post.hook.backup.velero.io/command": (
                        f'["/usr/bin/virt-freezer", "--unfreeze", "--name", "{name}", '
                        f'"--namespace", "{ns}"]'
                    ),
                    "pre.hook.backup.velero.io/command": (
                        f'["/usr/bin/virt-freezer", "--freeze", "--name", "{name}", '
                        f'"--namespace", "{ns}"]'
                    ),
                },
                "ownerReferences": [owner_ref(K.VMIS, vmi)],
            },
            "spec": {
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "compute",
                        "image": LAUNCHER_IMAGE,
                        "command": [
                            "/usr/bin/virt-launcher-monitor",
                            "--qemu-timeout",
                            "300s",
                            "--name",
                            name,
                            "--uid",
                            m["uid"],
                            "--namespace",
                            ns,
                        ],
                        "resources": {
                            "requests": {
                                "cpu": "100m",
                                "memory": memory,
                                "devices.kubevirt.io/kvm": "1",
                                "devices.kubevirt.io/tun": "1",
                                "devices.kubevirt.io/vhost-net": "1",
                            },
                            "limits": {
                                "devices.kubevirt.io/kvm": "1",
                                "devices.kubevirt.io/tun": "1",
                                "devices.kubevirt.io/vhost-net": "1",
                            },
                        },
                    },
                    {
                        "name": "guest-console-log",
                        "image": LAUNCHER_IMAGE,
                        "command": ["/usr/bin/virt-tail"],
                        "args": [
                            "--logfile",
                            f"/var/run/kubevirt-private/{m['uid']}/virt-serial0-log",
                        ],
                        "resources": {
                            "requests": {"cpu": "5m", "memory": "35M"},
                            "limits": {"cpu": "15m", "memory": "60M"},
                        },
                    },
                ],
                "nodeSelector": self._node_selector(vmi),
                "restartPolicy": "Never",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": grace + 15,
                "hostname": spec.get("hostname") or name,
            },
        }
        created, _ = self.store.create(K.PODS, body, ns)

        def pending(o: Obj) -> None:
            o["status"] = {
                "phase": "Pending",
                "qosClass": "Burstable",
                "conditions": [],
            }

        self.store.mutate(K.PODS, ns, created["metadata"]["name"], pending)
        self.event(
            K.VMIS,
            vmi,
            "SuccessfulCreate",
            f"Created virtual machine pod {created['metadata']['name']}",
        )
        return self.store.peek(K.PODS, ns, created["metadata"]["name"]) or created

    def _mark_unschedulable(self, vmi: Obj, pod: Obj) -> None:
        total = len(self.store.iter(K.NODES))
        message = UNSCHEDULABLE_MESSAGE.format(n=total)
        if total == 0:
            message = "0/0 nodes are available: no nodes available to schedule pods."
        already = get_condition(vmi, "PodScheduled")
        m = vmi["metadata"]

        def on_vmi(o: Obj) -> None:
            conds = o.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conds, "PodScheduled", "False", "Unschedulable", message, probe=True)
            set_condition(
                conds,
                "Ready",
                "False",
                "PodNotExists",
                "virt-launcher pod has not yet been scheduled",
                probe=True,
            )

        def on_pod(o: Obj) -> None:
            conds = o.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conds, "PodScheduled", "False", "Unschedulable", message, probe=True)

        self.store.mutate(K.VMIS, m["namespace"], m["name"], on_vmi)
        self.store.mutate(K.PODS, m["namespace"], pod["metadata"]["name"], on_pod)
        if not already or already.get("message") != message:
            self.event(
                K.PODS,
                pod,
                "FailedScheduling",
                message,
                type_="Warning",
                component="default-scheduler",
            )

    def _allocate_pod_ip(self, node: Obj, seed: str) -> str:
        cidr = (node.get("spec") or {}).get("podCIDR") or "10.128.0.0/24"
        net = ipaddress.ip_network(cidr, strict=False)
        used = {
            (p.get("status") or {}).get("podIP")
            for p in self.store.iter(K.PODS)
            if (p.get("spec") or {}).get("nodeName") == node["metadata"]["name"]
        }
        hosts = max(net.num_addresses - 2, 1)
        start = int.from_bytes(_digest(seed)[:4], "big") % max(hosts - 10, 1) + 10
        for i in range(hosts):
            candidate = str(net.network_address + 1 + (start + i) % hosts)
            if candidate not in used:
                return candidate
        return str(net.network_address + 1)

    def _schedule(self, vmi: Obj, pod: Obj, node: Obj) -> None:
        node_name = node["metadata"]["name"]
        m = vmi["metadata"]
        pod_name = pod["metadata"]["name"]

        def on_pod(o: Obj) -> None:
            o.setdefault("spec", {})["nodeName"] = node_name
            st = o.setdefault("status", {})
            conds = st.setdefault("conditions", [])
            set_condition(conds, "PodScheduled", "True", probe=True)
            addresses = (node.get("status") or {}).get("addresses") or []
            host_ip = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "")
            if host_ip:
                st["hostIP"] = host_ip
                st["hostIPs"] = [{"ip": host_ip}]

        self.store.mutate(K.PODS, m["namespace"], pod_name, on_pod)
        self.event(
            K.PODS,
            pod,
            "Scheduled",
            f"Successfully assigned {m['namespace']}/{pod_name} to {node_name}",
            component="default-scheduler",
        )

        def extra(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["nodeName"] = node_name
            st["activePods"] = {pod["metadata"]["uid"]: node_name}
            conds = st.setdefault("conditions", [])
            drop_condition(conds, "PodScheduled")
            set_condition(
                conds,
                "Ready",
                "False",
                "GuestNotRunning",
                "Guest VM is not reported as running",
                probe=True,
            )
            meta(o).setdefault("labels", {})["kubevirt.io/nodeName"] = node_name

        self._set_vmi_phase(vmi, "Scheduled", extra)

    def _boot_domain(self, vmi: Obj) -> bool:
        """The launcher pod runs and the domain boots: the console's guest starts now."""
        m = vmi["metadata"]
        pod = self._source_pod(vmi)
        node_name = (vmi.get("status") or {}).get("nodeName")
        node = self.store.peek(K.NODES, None, node_name or "")
        if pod is None or node is None:
            self._fail_vmi(vmi, "the virt-launcher pod or its node disappeared")
            return False
        if (pod.get("status") or {}).get("podIP"):
            return True
        ip = self._allocate_pod_ip(node, m["uid"])
        self._run_pod(pod, ip)

        def extra(o: Obj) -> None:
            o.setdefault("status", {})["interfaces"] = self._interface_status(o, ip, agent=False)

        self._set_vmi_phase(vmi, "Scheduled", extra)
        self.event(
            K.VMIS, vmi, "Created", "VirtualMachineInstance defined.", component="virt-handler"
        )
        booting = self.store.peek(K.VMIS, m["namespace"], m["name"])
        if booting is not None:
            self._vmi_running(booting)
        return True

    def _start_domain(self, vmi: Obj) -> None:
        """The guest is up: the VMI is Running, Ready, with its volumes and conditions."""
        pod = self._source_pod(vmi)
        if pod is None:
            self._fail_vmi(vmi, "the virt-launcher pod disappeared")
            return
        ip = (pod.get("status") or {}).get("podIP") or ""
        paused = (vmi.get("spec") or {}).get("startStrategy") == "Paused"

        def extra(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["interfaces"] = self._interface_status(o, ip, agent=False)
            st["launcherContainerImageVersion"] = LAUNCHER_IMAGE
            st["machine"] = {"type": "pc-q35-rhel9.6.0"}
            st["migrationMethod"] = "LiveMigration"
            st["migrationTransport"] = "Unix"
            st["selinuxContext"] = "none"
            st["runtimeUser"] = 107
            st["volumeStatus"] = self._volume_status(o)
            conds = st.setdefault("conditions", [])
            set_condition(conds, "Ready", "True", probe=True)
            ok, reason, message = self.live_migratable(o)
            set_condition(
                conds, "LiveMigratable", "True" if ok else "False", reason, message, probe=True
            )
            if paused:
                set_condition(
                    conds, "Paused", "True", "PausedByUser", "VMI was paused by user", probe=True
                )

        self._set_vmi_phase(vmi, "Running", extra)
        self.event(
            K.VMIS, vmi, "Started", "VirtualMachineInstance started.", component="virt-handler"
        )

    def _run_pod(self, pod: Obj, ip: str) -> None:
        m = pod["metadata"]
        started = now_iso()

        def on_pod(o: Obj) -> None:
            st = o.setdefault("status", {})
            if st.get("phase") == "Running":
                return
            st["phase"] = "Running"
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
            st["startTime"] = started
            conds = st.setdefault("conditions", [])
            for type_ in ("Initialized", "ContainersReady", "Ready"):
                set_condition(conds, type_, "True", probe=True)
            st["containerStatuses"] = [
                {
                    "name": c["name"],
                    "image": c.get("image", LAUNCHER_IMAGE),
                    "imageID": LAUNCHER_IMAGE
                    + "@sha256:"
                    + hashlib.sha256(b"launcher").hexdigest(),
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": started}},
                }
                for c in (o.get("spec") or {}).get("containers") or []
            ]

        self.store.mutate(K.PODS, m["namespace"], m["name"], on_pod)

    def _fail_vmi(self, vmi: Obj, why: str) -> None:
        def extra(o: Obj) -> None:
            conds = o.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conds, "Ready", "False", "PodTerminating", why, probe=True)

        self._set_vmi_phase(vmi, "Failed", extra)
        self.event(
            K.VMIS,
            vmi,
            "Stopped",
            f"The VirtualMachineInstance crashed: {why}",
            type_="Warning",
            component="virt-handler",
        )
        self._vmi_stopped(vmi)

    def _vmi_running_tick(self, key: Key, vmi: Obj) -> None:
        """A Running VMI: keep interfaces, volumes and the guest agent in step with the spec."""
        m = vmi["metadata"]
        uid = m["uid"]
        pod = self._source_pod(vmi)
        if pod is None and not self._vmi_migrating(vmi):
            self._fail_vmi(vmi, "virt-launcher pod is gone")
            return
        self._vmi_running(vmi)
        agent_capable, os_key = self._agent_capable(vmi)
        connected = condition_true(vmi, "AgentConnected")
        connect_now = False
        if agent_capable and not connected:
            delay = AGENT_WINDOWS if os_key == "windows" else AGENT_LINUX
            connect_now = self._elapsed(key, uid, "agent", delay)
        ip = ((pod or {}).get("status") or {}).get("podIP") or ""
        if not ip:
            for iface in (vmi.get("status") or {}).get("interfaces") or []:
                ip = iface.get("ipAddress") or ""
                break

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            conds = st.setdefault("conditions", [])
            agent = connected or connect_now
            if connect_now:
                set_condition(conds, "AgentConnected", "True", probe=True)
                st["guestOSInfo"] = dict(GUEST_OS.get(os_key or "", {}))
            st["interfaces"] = self._interface_status(o, ip, agent=agent)
            st["volumeStatus"] = self._volume_status(o)
            ok, reason, message = self.live_migratable(o)
            set_condition(
                conds, "LiveMigratable", "True" if ok else "False", reason, message, probe=True
            )

        self.store.mutate(K.VMIS, m["namespace"], m["name"], apply)
        if connect_now:
            self.event(
                K.VMIS,
                vmi,
                "AgentConnected",
                "The guest agent connected.",
                component="virt-handler",
            )

    def _vmi_shutdown(self, key: Key, vmi: Obj) -> None:
        """A deleted VMI: graceful shutdown (Stopping), Succeeded, pod gone, then the VMI."""
        m = vmi["metadata"]
        ns, name, uid = m["namespace"], m["name"], m["uid"]
        phase = phase_of(vmi)
        if not vmi_final(vmi):
            if phase == "Running":
                grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds")
                grace = 30 if grace is None else int(grace)
                first = (key, uid, "shutdown") not in self._clocks
                if first:
                    self.event(
                        K.VMIS,
                        vmi,
                        "ShuttingDown",
                        "Signaled Graceful Shutdown",
                        component="virt-handler",
                    )
                if not self._elapsed(key, uid, "shutdown", min(float(grace), STOP_MAX) or 0.2):
                    return

            def extra(o: Obj) -> None:
                st = o.setdefault("status", {})
                conds = st.setdefault("conditions", [])
                set_condition(
                    conds,
                    "Ready",
                    "False",
                    "PodTerminating",
                    "virt-launcher pod is terminating",
                    probe=True,
                )
                drop_condition(conds, "AgentConnected")
                drop_condition(conds, "Paused")

            self._set_vmi_phase(vmi, "Succeeded", extra)
            if phase == "Running":
                self.event(
                    K.VMIS,
                    vmi,
                    "Stopped",
                    "The VirtualMachineInstance was shut down.",
                    component="virt-handler",
                )
            vmi = self.store.peek(K.VMIS, ns, name) or vmi
        for pod in self._launcher_pods(vmi):
            with contextlib.suppress(ApiError):
                self.store.delete(K.PODS, ns, pod["metadata"]["name"])
        self._vmi_stopped(vmi)
        if not self._elapsed(key, uid, "finalize", FINALIZE):
            return

        def release(o: Obj) -> None:
            meta(o)["finalizers"] = [
                f for f in meta(o).get("finalizers") or [] if f not in (VMI_FINALIZER, VM_FINALIZER)
            ]

        self.store.mutate(K.VMIS, ns, name, release)

    # -- what the VMI reports ------------------------------------------------------------------

    def guess_os(self, obj: Obj) -> str | None:
        """fedora/centos/rhel/ubuntu/windows from labels, images and disks, or None."""
        m = obj.get("metadata", {})
        ns = m.get("namespace", "")
        vm = (
            self.store.peek(K.VMS, ns, m.get("name", ""))
            if obj.get("kind") != "VirtualMachine"
            else obj
        )
        texts: list[str] = []
        sources = [obj] + ([vm] if vm is not None and vm is not obj else [])
        for src in sources:
            sm = src.get("metadata", {})
            for k in sm.get("labels") or {}:
                if k.startswith("os.template.kubevirt.io/"):
                    texts.append(k)
            spec = src.get("spec") or {}
            if src.get("kind") == "VirtualMachine":
                tmeta = (spec.get("template") or {}).get("metadata") or {}
                texts.append(str((tmeta.get("annotations") or {}).get("vm.kubevirt.io/os", "")))
                texts.append(str((spec.get("preference") or {}).get("name", "")))
            texts.append(str((sm.get("annotations") or {}).get("vm.kubevirt.io/os", "")))
        for text in texts:
            found = _os_in(text)
            if found:
                return found
        # Then the disks: container images, DataVolume sources.
        spec = obj.get("spec") or {}
        if obj.get("kind") == "VirtualMachine":
            spec = (spec.get("template") or {}).get("spec") or {}
        disk_texts: list[str] = []
        for vol in spec.get("volumes") or []:
            if vol.get("containerDisk"):
                disk_texts.append(str(vol["containerDisk"].get("image", "")))
            claim = _volume_claim(vol)
            if claim:
                dv = self.store.peek(K.DATAVOLUMES, ns, claim)
                disk_texts.append(claim)
                if dv is not None:
                    dspec = dv.get("spec") or {}
                    disk_texts.append(str((dspec.get("sourceRef") or {}).get("name", "")))
                    source = dspec.get("source") or {}
                    disk_texts.append(str((source.get("http") or {}).get("url", "")))
                    disk_texts.append(str((source.get("registry") or {}).get("url", "")))
                    disk_texts.append(str((source.get("pvc") or {}).get("name", "")))
        for text in disk_texts:
            found = _os_in(text)
            if found:
                return found
        return _os_in(m.get("name", ""))

    def _agent_capable(self, vmi: Obj) -> tuple[bool, str | None]:
        """Cloud-init Linux guests and Windows guests run a guest agent in the demo."""
        os_key = self.guess_os(vmi)
        spec = vmi.get("spec") or {}
        cloud_init = any(
            v.get("cloudInitNoCloud") or v.get("cloudInitConfigDrive")
            for v in spec.get("volumes") or []
        )
        if os_key == "windows":
            return True, os_key
        if cloud_init:
            return True, os_key or "fedora"
        return False, os_key

    def _interface_status(self, vmi: Obj, pod_ip: str, *, agent: bool) -> list[Obj]:
        m = vmi["metadata"]
        ns, name = m["namespace"], m["name"]
        ifaces, nets = _interfaces_and_networks(vmi.get("spec") or {})
        networks = {n.get("name"): n for n in nets}
        out = []
        index = 0
        for iface in ifaces:
            if iface.get("state") == "absent":
                continue
            net = networks.get(iface.get("name")) or {}
            entry: Obj = {
                "name": iface.get("name", ""),
                "mac": iface.get("macAddress") or stable_mac(ns, name, iface.get("name", "")),
                "linkState": "down" if iface.get("state") == "down" else "up",
                "queueCount": 1,
                "infoSource": "domain, guest-agent" if agent else "domain",
            }
            ip = ""
            if "pod" in net:
                ip = pod_ip
                entry["podInterfaceName"] = "eth0"
            elif "multus" in net:
                host = (
                    int.from_bytes(_digest(ns, name, iface.get("name", ""))[:2], "big") % 200 + 20
                )
                ip = f"192.168.100.{host}" if agent else ""
                entry["podInterfaceName"] = (
                    "pod" + hashlib.sha1(iface.get("name", "").encode()).hexdigest()[:11]
                )
                entry["infoSource"] = (
                    "domain, guest-agent, multus-status" if agent else "domain, multus-status"
                )
            if ip:
                entry["ipAddress"] = ip
                entry["ipAddresses"] = [ip]
            if agent:
                entry["interfaceName"] = f"eth{index}"
            index += 1
            out.append(entry)
        return out

    def _volume_status(self, vmi: Obj) -> list[Obj]:
        ns = vmi["metadata"]["namespace"]
        spec = vmi.get("spec") or {}
        disks = {d.get("name"): d for d in _devices(copy.deepcopy(spec)).get("disks") or []}
        counters = {"vd": 0, "sd": 0}
        out = []
        for vol in spec.get("volumes") or []:
            disk = disks.get(vol.get("name")) or {}
            target_kind = next((t for t in ("disk", "cdrom", "lun") if t in disk), "disk")
            bus = (disk.get(target_kind) or {}).get("bus") or (
                "sata" if target_kind == "cdrom" else "virtio"
            )
            prefix = "vd" if bus == "virtio" else "sd"
            target = prefix + chr(ord("a") + counters[prefix])
            counters[prefix] += 1
            entry: Obj = {"name": vol.get("name", ""), "target": target}
            if vol.get("containerDisk"):
                entry["containerDiskVolume"] = {
                    "checksum": int.from_bytes(
                        _digest(str(vol["containerDisk"].get("image")))[:4], "big"
                    )
                }
            claim = _volume_claim(vol)
            if claim:
                pvc = self.store.peek(K.PVCS, ns, claim)
                if pvc is not None:
                    pspec = pvc.get("spec") or {}
                    entry["persistentVolumeClaimInfo"] = {
                        "claimName": claim,
                        "accessModes": list(pspec.get("accessModes") or ["ReadWriteOnce"]),
                        "capacity": dict((pvc.get("status") or {}).get("capacity") or {}),
                        "requests": dict((pspec.get("resources") or {}).get("requests") or {}),
                        "volumeMode": pspec.get("volumeMode", "Filesystem"),
                        "filesystemOverhead": "0.055",
                    }
            if hotpluggable(vol):
                entry["hotplugVolume"] = {}
                if claim and self._pvc_ready(ns, claim):
                    entry["phase"] = "Ready"
                    entry["reason"] = "VolumeReady"
                    entry["message"] = (
                        f"Successfully attach hotplugged volume {vol.get('name', '')} to VM"
                    )
                else:
                    entry["phase"] = "Pending"
                    entry["reason"] = "PVCNotReady"
                    entry["message"] = f"PVC {claim} is not ready to be hotplugged"
            out.append(entry)
        return out

    def live_migratable(self, vmi: Obj) -> tuple[bool, str, str]:
        """(migratable, reason, message) as the LiveMigratable condition states it."""
        ns = vmi["metadata"]["namespace"]
        spec = vmi.get("spec") or {}
        ifaces, nets = _interfaces_and_networks(spec)
        pod_nets = {n.get("name") for n in nets if "pod" in n}
        annotations = vmi["metadata"].get("annotations") or {}
        for iface in ifaces:
            if (
                iface.get("name") in pod_nets
                and "bridge" in iface
                and annotations.get("kubevirt.io/allow-pod-bridge-network-live-migration") is None
            ):
                return (
                    False,
                    "InterfaceNotLiveMigratable",
                    "cannot migrate VMI which does not use masquerade to connect to the pod "
                    "network or bridge with kubevirt.io/allow-pod-bridge-network-live-migration "
                    "VM annotation",
                )
        for vol in spec.get("volumes") or []:
            if vol.get("hostDisk"):
                return False, "DisksNotLiveMigratable", "cannot migrate VMI with host disk"
            claim = _volume_claim(vol)
            if not claim:
                continue
            pvc = self.store.peek(K.PVCS, ns, claim)
            modes = ((pvc or {}).get("spec") or {}).get("accessModes") or ["ReadWriteOnce"]
            if "ReadWriteMany" not in modes:
                return (
                    False,
                    "DisksNotLiveMigratable",
                    f"cannot migrate VMI: PVC {claim} is not shared, live migration requires "
                    "that all PVCs must be shared (using ReadWriteMany access mode)",
                )
        return True, "", ""

    # -- virt-handler verbs virt-api forwards ------------------------------------------------

    def pause_vmi(self, ns: str, name: str) -> None:
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is None:
            return

        def apply(o: Obj) -> None:
            conds = o.setdefault("status", {}).setdefault("conditions", [])
            set_condition(
                conds, "Paused", "True", "PausedByUser", "VMI was paused by user", probe=True
            )

        self.store.mutate(K.VMIS, ns, name, apply)
        self.event(K.VMIS, vmi, "Paused", "VirtualMachineInstance paused", component="virt-handler")

    def unpause_vmi(self, ns: str, name: str) -> None:
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is None:
            return

        def apply(o: Obj) -> None:
            drop_condition(o.setdefault("status", {}).setdefault("conditions", []), "Paused")

        self.store.mutate(K.VMIS, ns, name, apply)
        self.event(
            K.VMIS, vmi, "Unpaused", "VirtualMachineInstance unpaused", component="virt-handler"
        )

    def soft_reboot_vmi(self, ns: str, name: str) -> None:
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is not None:
            self.event(
                K.VMIS,
                vmi,
                "SoftRebooted",
                "VirtualMachineInstance soft rebooted",
                component="virt-handler",
            )

    def reset_vmi(self, ns: str, name: str) -> None:
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is not None:
            self.event(
                K.VMIS, vmi, "Reset", "VirtualMachineInstance reset", component="virt-handler"
            )

    def freeze_vmi(self, ns: str, name: str, unfreeze_after: float | None) -> None:
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is None:
            return
        self.store.mutate(
            K.VMIS, ns, name, lambda o: o.setdefault("status", {}).update(fsFreezeStatus="frozen")
        )
        self.event(
            K.VMIS, vmi, "Frozen", "The guest's filesystems were frozen", component="virt-handler"
        )
        if unfreeze_after and self._loop is not None:
            uid = vmi["metadata"]["uid"]

            def thaw() -> None:
                if self._stopped:
                    return
                current = self.store.peek(K.VMIS, ns, name)
                if current is not None and current["metadata"]["uid"] == uid:
                    self.unfreeze_vmi(ns, name)

            self._loop.call_later(unfreeze_after, thaw)

    def unfreeze_vmi(self, ns: str, name: str) -> None:
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is None or not (vmi.get("status") or {}).get("fsFreezeStatus"):
            return
        self.store.mutate(
            K.VMIS, ns, name, lambda o: o.setdefault("status", {}).pop("fsFreezeStatus", None)
        )
        self.event(
            K.VMIS, vmi, "Unfrozen", "The guest's filesystems were thawed", component="virt-handler"
        )

    def force_stop_pod(self, ns: str, name: str) -> None:
        """restart with gracePeriodSeconds 0: virt-api deletes the launcher pod."""
        vmi = self.store.peek(K.VMIS, ns, name)
        if vmi is None:
            return
        pod = self._source_pod(vmi)
        if pod is not None:
            with contextlib.suppress(ApiError):
                self.store.delete(K.PODS, ns, pod["metadata"]["name"])

    # -- the simulated guest agent -----------------------------------------------------------

    def guest_os_info(self, vmi: Obj) -> Obj:
        """What GET guestosinfo answers for a VMI whose agent is connected."""
        _, os_key = self._agent_capable(vmi)
        info = dict(GUEST_OS.get(os_key or "fedora", GUEST_OS["fedora"]))
        status = vmi.get("status") or {}
        return {
            "guestAgentVersion": "9.0.0" if os_key != "windows" else "107.0.1",
            "supportedCommands": [
                {"name": cmd, "enabled": True}
                for cmd in (
                    "guest-exec",
                    "guest-fsfreeze-freeze",
                    "guest-fsfreeze-thaw",
                    "guest-get-fsinfo",
                    "guest-get-host-name",
                    "guest-get-osinfo",
                    "guest-get-timezone",
                    "guest-get-users",
                    "guest-network-get-interfaces",
                    "guest-ping",
                    "guest-shutdown",
                )
            ],
            "hostname": (vmi.get("spec") or {}).get("hostname") or vmi["metadata"]["name"],
            "os": info,
            "timezone": "UTC, 0",
            "userList": self.user_list(vmi)["items"],
            "fsInfo": {"disks": self.filesystem_list(vmi)["items"]},
            "fsFreezeStatus": status.get("fsFreezeStatus", ""),
        }

    def user_list(self, vmi: Obj) -> Obj:
        from tui.demo.guest import credentials_from_userdata  # local: only the agent needs it

        user_data = None
        for vol in (vmi.get("spec") or {}).get("volumes") or []:
            source = vol.get("cloudInitNoCloud") or vol.get("cloudInitConfigDrive")
            if source and source.get("userData"):
                user_data = source["userData"]
        creds = credentials_from_userdata(user_data)
        _, os_key = self._agent_capable(vmi)
        user = creds[0] if creds else ("Administrator" if os_key == "windows" else None)
        items = []
        if user:
            items.append({"userName": user, "loginTime": round(time.time() - 300, 3)})
            if os_key == "windows":
                items[0]["domain"] = "WORKGROUP"
        return {"metadata": {}, "items": items}

    def filesystem_list(self, vmi: Obj) -> Obj:
        _, os_key = self._agent_capable(vmi)
        ns = vmi["metadata"]["namespace"]
        items = []
        for i, vol in enumerate((vmi.get("spec") or {}).get("volumes") or []):
            if vol.get("cloudInitNoCloud") or vol.get("cloudInitConfigDrive"):
                continue
            size = 10 * 2**30
            claim = _volume_claim(vol)
            if claim:
                pvc = self.store.peek(K.PVCS, ns, claim)
                cap = ((pvc or {}).get("status") or {}).get("capacity", {}).get("storage")
                if cap:
                    size = int(parse_quantity(cap))
            used = int(size * (0.18 + (_digest(vol.get("name", ""))[0] % 40) / 100))
            if os_key == "windows":
                mount, fstype, disk_name = f"{chr(ord('C') + i)}:\\", "NTFS", f"Volume{i}"
            else:
                mount = "/" if i == 0 else f"/mnt/{vol.get('name', '')}"
                fstype, disk_name = (
                    ("xfs" if os_key in ("rhel", "centos") else "ext4"),
                    f"vda{i + 1}",
                )
            items.append(
                {
                    "diskName": disk_name,
                    "mountPoint": mount,
                    "fileSystemType": fstype,
                    "usedBytes": used,
                    "totalBytes": size,
                    "disk": [{"serial": vol.get("name", ""), "busType": "virtio"}],
                }
            )
        return {"metadata": {}, "items": items}

    # =========================================================================================
    # Migrations
    # =========================================================================================

    def _vmi_migrating(self, vmi: Obj) -> bool:
        state = (vmi.get("status") or {}).get("migrationState") or {}
        return bool(state) and not state.get("endTimestamp")

    def active_migration(self, ns: str, vmi_name: str) -> Obj | None:
        """The VMI's migration that is neither finished nor being deleted, if any."""
        for mig in self.store.iter(K.VMIMS, ns):
            if (mig.get("spec") or {}).get("vmiName") == vmi_name and phase_of(mig) not in (
                "Succeeded",
                "Failed",
            ):
                if not deleting(mig):
                    return mig
        return None

    def create_migration(
        self, ns: str, vmi_name: str, *, added_selector: Obj | None = None, dry_run: bool = False
    ) -> Obj:
        body: Obj = {
            "apiVersion": K.VMIMS.api_version,
            "kind": "VirtualMachineInstanceMigration",
            "metadata": {
                "generateName": "kubevirt-migrate-vm-",
                "namespace": ns,
                "labels": {"kubevirt.io/vmi-name": vmi_name},
            },
            "spec": {"vmiName": vmi_name},
        }
        if added_selector:
            body["spec"]["addedNodeSelector"] = dict(added_selector)
        created, _ = self.store.create(K.VMIMS, body, ns, dry_run=dry_run)
        return created

    def _reconcile_vmim(self, ns: str, name: str) -> None:
        key: Key = ("vmim", ns, name)
        mig = self.store.peek(K.VMIMS, ns, name)
        if mig is None:
            return
        uid = mig["metadata"]["uid"]
        phase = phase_of(mig)
        vmi_name = (mig.get("spec") or {}).get("vmiName", "")
        vmi = self.store.peek(K.VMIS, ns, vmi_name)
        if deleting(mig):
            self._vmim_cancel(key, mig, vmi)
            return
        if phase in ("Succeeded", "Failed"):
            return
        labels = mig["metadata"].get("labels") or {}
        if VMIM_FINALIZER not in (mig["metadata"].get("finalizers") or []) or (
            labels.get("kubevirt.io/vmi-name") != vmi_name
        ):

            def tag(o: Obj) -> None:
                fins = meta(o).setdefault("finalizers", [])
                if VMIM_FINALIZER not in fins:
                    fins.append(VMIM_FINALIZER)
                meta(o).setdefault("labels", {})["kubevirt.io/vmi-name"] = vmi_name

            self.store.mutate(K.VMIMS, ns, name, tag)
        if phase == "":
            self._set_vmim_phase(mig, "Pending")
            return
        if vmi is None or deleting(vmi) or phase_of(vmi) != "Running":
            self._fail_migration(mig, vmi, "VMI is not running", abort=False)
            return
        if phase == "Pending":
            # One migration per VMI at a time: later ones wait their turn.
            for other in self.store.iter(K.VMIMS, ns):
                if (
                    other is not mig
                    and (other.get("spec") or {}).get("vmiName") == vmi_name
                    and phase_of(other) not in ("", "Pending", "Succeeded", "Failed")
                ):
                    return
            if not self._elapsed(key, uid, "pending", MIGRATION_STEP):
                return
            ok, reason, message = self.live_migratable(vmi)
            if not ok:
                self._fail_migration(mig, vmi, f"{reason}: {message}", abort=False)
                return
            target = self._create_launcher_pod(vmi, migration=mig)
            source = self._source_pod(vmi)
            state = {
                "migrationUid": uid,
                "sourceNode": (vmi.get("status") or {}).get("nodeName", ""),
                "sourcePod": (source or {}).get("metadata", {}).get("name", ""),
                "targetPod": target["metadata"]["name"],
                "mode": "PreCopy",
                "completed": False,
                "failed": False,
            }
            self._set_migration_state(vmi, state)
            self.event(
                K.VMIS,
                vmi,
                "SuccessfulCreate",
                f"Created migration target pod {state['targetPod']}",
            )
            self._set_vmim_phase(mig, "Scheduling")
            return
        state = copy.deepcopy((vmi.get("status") or {}).get("migrationState") or {})
        if state.get("migrationUid") != uid:
            self._fail_migration(mig, vmi, "the migration state of the VMI was lost", abort=False)
            return
        target = self.store.peek(K.PODS, ns, state.get("targetPod", ""))
        if target is None:
            self._fail_migration(mig, vmi, "the migration target pod is gone", abort=False)
            return
        if phase == "Scheduling":
            selector = self._node_selector(vmi)
            selector.update((mig.get("spec") or {}).get("addedNodeSelector") or {})
            node = self._pick_node(selector, exclude=state.get("sourceNode"))
            if node is None:
                self._mark_unschedulable_pod(target)
                return
            if not self._elapsed(key, uid, "scheduling", MIGRATION_STEP):
                return
            node_name = node["metadata"]["name"]

            def bind(o: Obj) -> None:
                o.setdefault("spec", {})["nodeName"] = node_name
                conds = o.setdefault("status", {}).setdefault("conditions", [])
                set_condition(conds, "PodScheduled", "True", probe=True)

            self.store.mutate(K.PODS, ns, target["metadata"]["name"], bind)
            self.event(
                K.PODS,
                target,
                "Scheduled",
                f"Successfully assigned {ns}/{target['metadata']['name']} to {node_name}",
                component="default-scheduler",
            )
            addresses = (node.get("status") or {}).get("addresses") or []
            state["targetNode"] = node_name
            state["targetNodeAddress"] = next(
                (a["address"] for a in addresses if a.get("type") == "InternalIP"), ""
            )
            self._set_migration_state(vmi, state)
            self._set_vmim_phase(mig, "Scheduled")
        elif phase == "Scheduled":
            if not self._elapsed(key, uid, "scheduled", MIGRATION_STEP):
                return
            node = self.store.peek(K.NODES, None, state.get("targetNode", ""))
            if node is None:
                self._fail_migration(mig, vmi, "the target node is gone", abort=False)
                return
            self._run_pod(target, self._allocate_pod_ip(node, target["metadata"]["uid"]))
            self.event(
                K.VMIS,
                vmi,
                "PreparingTarget",
                f"Migration Target is listening at {state.get('targetNodeAddress', '')}, "
                f"on ports: 49152,49153",
                component="virt-handler",
            )
            self._set_vmim_phase(mig, "PreparingTarget")
        elif phase == "PreparingTarget":
            if not self._elapsed(key, uid, "preparing", MIGRATION_STEP):
                return
            state["targetNodeDomainDetected"] = True
            self._set_migration_state(vmi, state)
            self._set_vmim_phase(mig, "TargetReady")
        elif phase == "TargetReady":
            if not self._elapsed(key, uid, "ready", MIGRATION_STEP):
                return
            state["startTimestamp"] = now_iso()
            self._set_migration_state(vmi, state)
            self.event(
                K.VMIS,
                vmi,
                "Migrating",
                "VirtualMachineInstance is migrating.",
                component="virt-handler",
            )
            self._set_vmim_phase(mig, "Running")
        elif phase == "Running":
            seconds, scaled = MIGRATION_RUN, True
            vm = self.store.peek(K.VMS, ns, vmi_name)
            override = _annotation_seconds(vm, MIGRATION_SECONDS)
            if override is not None:
                seconds, scaled = override, False
            if not self._elapsed(key, uid, "running", seconds, scaled=scaled):
                return
            self._complete_migration(mig, vmi, target, state)

    def _set_vmim_phase(
        self, mig: Obj, phase: str, extra: Callable[[Obj], None] | None = None
    ) -> None:
        m = mig["metadata"]
        vmi = self.store.peek(K.VMIS, m["namespace"], (mig.get("spec") or {}).get("vmiName", ""))

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            if st.get("phase") != phase:
                st["phase"] = phase
                st.setdefault("phaseTransitionTimestamps", []).append(
                    {"phase": phase, "phaseTransitionTimestamp": now_iso()}
                )
            state = ((vmi or {}).get("status") or {}).get("migrationState")
            if state and state.get("migrationUid") == m["uid"]:
                st["migrationState"] = copy.deepcopy(state)
            if extra:
                extra(o)

        self.store.mutate(K.VMIMS, m["namespace"], m["name"], apply)

    def _set_migration_state(self, vmi: Obj, state: Obj) -> None:
        m = vmi["metadata"]

        def apply(o: Obj) -> None:
            o.setdefault("status", {})["migrationState"] = copy.deepcopy(state)

        self.store.mutate(K.VMIS, m["namespace"], m["name"], apply)

    def _mark_unschedulable_pod(self, pod: Obj) -> None:
        total = len(self.store.iter(K.NODES))
        message = UNSCHEDULABLE_MESSAGE.format(n=total)
        cond = (pod.get("status") or {}).get("conditions") or []
        already = any(c.get("type") == "PodScheduled" and c.get("message") == message for c in cond)

        def on_pod(o: Obj) -> None:
            conds = o.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conds, "PodScheduled", "False", "Unschedulable", message, probe=True)

        self.store.mutate(K.PODS, pod["metadata"]["namespace"], pod["metadata"]["name"], on_pod)
        if not already:
            self.event(
                K.PODS,
                pod,
                "FailedScheduling",
                message,
                type_="Warning",
                component="default-scheduler",
            )

    def _complete_migration(self, mig: Obj, vmi: Obj, target: Obj, state: Obj) -> None:
        """The guest now runs on the target: the VMI moves, the old launcher pod goes."""
        ns = vmi["metadata"]["namespace"]
        node_name = state.get("targetNode", "")
        ip = (target.get("status") or {}).get("podIP", "")
        old_pods = [
            p
            for p in self._launcher_pods(vmi)
            if p["metadata"]["name"] != target["metadata"]["name"]
        ]
        stamp = now_iso()
        state = {
            **state,
            "completed": True,
            "endTimestamp": stamp,
            "targetNodeDomainReadyTimestamp": stamp,
        }

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["nodeName"] = node_name
            st["activePods"] = {target["metadata"]["uid"]: node_name}
            st["migrationState"] = state
            meta(o).setdefault("labels", {})["kubevirt.io/nodeName"] = node_name
            agent = condition_true(o, "AgentConnected")
            st["interfaces"] = self._interface_status(o, ip, agent=agent)

        self.store.mutate(K.VMIS, ns, vmi["metadata"]["name"], apply)
        for pod in old_pods:
            with contextlib.suppress(ApiError):
                self.store.delete(K.PODS, ns, pod["metadata"]["name"])
        self.event(
            K.VMIS,
            vmi,
            "Migrated",
            f"The VirtualMachineInstance migrated to node {node_name}.",
            component="virt-handler",
        )
        self._set_vmim_phase(mig, "Succeeded")
        self.event(
            K.VMIMS,
            mig,
            "SuccessfulMigration",
            "Source node reported migration succeeded",
        )

    def _fail_migration(self, mig: Obj, vmi: Obj | None, why: str, *, abort: bool) -> None:
        ns = mig["metadata"]["namespace"]
        uid = mig["metadata"]["uid"]
        state = copy.deepcopy(((vmi or {}).get("status") or {}).get("migrationState") or {})
        if vmi is not None and state.get("migrationUid") == uid:
            state.update(failed=True, completed=False, endTimestamp=now_iso())
            if abort:
                state.update(abortRequested=True, abortStatus="Succeeded")
            else:
                state["failureReason"] = why
            target = state.get("targetPod")
            if target:
                with contextlib.suppress(ApiError):
                    self.store.delete(K.PODS, ns, target)
            self._set_migration_state(vmi, state)

        def extra(o: Obj) -> None:
            if abort:
                st = o.setdefault("status", {})
                st.setdefault("migrationState", {}).update(abortRequested=True)

        self._set_vmim_phase(mig, "Failed", extra)
        if abort:
            self.event(K.VMIMS, mig, "SuccessfulAbortMigration", "Migration abort succeeded")
        else:
            self.event(K.VMIMS, mig, "FailedMigration", f"Migration failed: {why}", type_="Warning")

    def _vmim_cancel(self, key: Key, mig: Obj, vmi: Obj | None) -> None:
        """A deleted migration: a running one is aborted (Failed, abortRequested), then goes."""
        m = mig["metadata"]
        phase = phase_of(mig)
        if phase not in ("Succeeded", "Failed"):
            if phase in ("", "Pending"):
                self._set_vmim_phase(mig, "Failed")
            else:
                self._fail_migration(mig, vmi, "aborted", abort=True)
        if not self._elapsed(key, m["uid"], "abort", ABORT_VISIBLE):
            return

        def release(o: Obj) -> None:
            meta(o)["finalizers"] = [
                f for f in meta(o).get("finalizers") or [] if f != VMIM_FINALIZER
            ]

        self.store.mutate(K.VMIMS, m["namespace"], m["name"], release)

    # =========================================================================================
    # CDI: DataVolumes and DataSources
    # =========================================================================================

    def _default_storage_class(self) -> str:
        for sc in self.store.iter(K.STORAGE_CLASSES):
            annotations = sc["metadata"].get("annotations") or {}
            if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                return sc["metadata"]["name"]
        return DEFAULT_STORAGE_CLASS

    def _clone_source(self, dv: Obj) -> tuple[str, str] | None:
        """The (namespace, name) of the PVC a cloning DataVolume copies, if it clones."""
        ns = dv["metadata"]["namespace"]
        spec = dv.get("spec") or {}
        ref = spec.get("sourceRef")
        if ref:
            ds_ns = ref.get("namespace") or ns
            ds = self.store.peek(K.DATASOURCES, ds_ns, ref.get("name", ""))
            pvc = ((ds or {}).get("spec") or {}).get("source", {}).get("pvc") or {}
            if ds is None or not pvc:
                return (ds_ns, "")
            return (pvc.get("namespace") or ds_ns, pvc.get("name", ""))
        source = spec.get("source") or {}
        if "pvc" in source:
            return (source["pvc"].get("namespace") or ns, source["pvc"].get("name", ""))
        return None

    def _pvc_ready(self, ns: str, name: str) -> bool:
        """A PVC that exists and whose DataVolume (if any) has finished populating it."""
        if not name or self.store.peek(K.PVCS, ns, name) is None:
            return False
        dv = self.store.peek(K.DATAVOLUMES, ns, name)
        return dv is None or phase_of(dv) == "Succeeded"

    def _reconcile_dv(self, ns: str, name: str) -> None:
        key: Key = ("dv", ns, name)
        dv = self.store.peek(K.DATAVOLUMES, ns, name)
        if dv is None or deleting(dv):
            return
        uid = dv["metadata"]["uid"]
        phase = phase_of(dv)
        if phase in ("Succeeded", "Failed"):
            return
        spec = dv.get("spec") or {}
        source = spec.get("source") or {}
        clone = self._clone_source(dv)
        if clone is not None:
            work = "clone"
        elif "blank" in source:
            work = "blank"
        elif "upload" in source:
            work = "upload"
        else:
            work = "import"
        if phase == "":
            self._set_dv(
                dv, "Pending", progress="N/A", bound=("False", "Pending", f"PVC {name} Pending")
            )
            self.event(
                K.DATAVOLUMES,
                dv,
                "Pending",
                f"PVC {name} Pending",
                component="datavolume-controller",
            )
            return
        if phase == "Pending":
            if clone is not None and not self._pvc_ready(*clone):
                src = f"{clone[0]}/{clone[1]}" if clone[1] else "its DataSource"
                self._set_dv(
                    dv,
                    "Pending",
                    running=("False", "CloneWithoutSource", f"The source pvc {src} doesn't exist"),
                )
                return
            if not self._elapsed(key, uid, "pending", DV_PENDING):
                return
            self._ensure_pvc(dv, clone)
            self.event(
                K.DATAVOLUMES, dv, "Bound", f"PVC {name} Bound", component="datavolume-controller"
            )
            bound = ("True", "Bound", f"PVC {name} Bound")
            if work == "blank":
                self._set_dv(dv, "ImportScheduled", bound=bound)
            elif work == "upload":
                self._set_dv(dv, "UploadScheduled", bound=bound)
            elif work == "clone":
                self._set_dv(dv, "CloneScheduled", bound=bound)
                self.event(
                    K.DATAVOLUMES,
                    dv,
                    "CloneScheduled",
                    f"Cloning from {clone[0]}/{clone[1]} into {ns}/{name} scheduled",
                    component="datavolume-pvc-clone-controller",
                )
            else:
                self._set_dv(dv, "ImportScheduled", bound=bound)
                self.event(
                    K.DATAVOLUMES,
                    dv,
                    "ImportScheduled",
                    f"Import into {name} scheduled",
                    component="datavolume-import-controller",
                )
            return
        if phase == "UploadScheduled":
            if self._elapsed(key, uid, "scheduled", DV_SCHEDULED):
                self._set_dv(dv, "UploadReady", running=("True", "Pod is running", ""))
            return
        if phase in ("ImportScheduled", "CloneScheduled"):
            if work == "blank":
                if self._elapsed(key, uid, "blank", DV_BLANK):
                    self._finish_dv(dv, "import")
                return
            if not self._elapsed(key, uid, "scheduled", DV_SCHEDULED):
                return
            next_phase = "CloneInProgress" if work == "clone" else "ImportInProgress"
            self._set_dv(dv, next_phase, progress="0.00%", running=("True", "", ""))
            if work == "clone":
                self.event(
                    K.DATAVOLUMES,
                    dv,
                    "CloneInProgress",
                    f"Cloning from {clone[0]}/{clone[1]} into {ns}/{name} in progress",
                    component="datavolume-pvc-clone-controller",
                )
            else:
                self.event(
                    K.DATAVOLUMES,
                    dv,
                    "ImportInProgress",
                    f"Import into {name} in progress",
                    component="datavolume-import-controller",
                )
            return
        if phase in ("ImportInProgress", "CloneInProgress"):
            seconds, scaled = (DV_CLONE if work == "clone" else DV_IMPORT), True
            override = _annotation_seconds(dv, IMPORT_SECONDS)
            if override is None:
                owner = owner_of_kind(dv, "VirtualMachine")
                vm = self.store.peek(K.VMS, ns, owner["name"]) if owner else None
                override = _annotation_seconds(vm, IMPORT_SECONDS)
            if override is not None:
                seconds, scaled = override, False
            if self._elapsed(key, uid, "transfer", seconds, scaled=scaled):
                self._finish_dv(dv, work)
                return
            total = seconds * (self.time_scale if scaled else 1.0)
            # Progress moves in ticks (about 20, or one every 2 s for a long wall-clock import),
            # never in between: a reconcile caused by our own write must write the same value,
            # or every write would trigger the next.
            steps = 20 if scaled else max(20, int(total / 2.0))
            tick = int(self._since(key, uid, "transfer") / total * steps) if total else 0
            tick = min(tick, steps - 1)
            wobble = _digest(uid, str(tick))[0] / 256 * 0.8 if tick else 0.0  # CDI's aren't round
            self._set_dv(dv, phase, progress=f"{(tick + wobble) / steps * 100:.2f}%")
            self._requeue_after(key, (tick + 1) * total / steps - self._since(key, uid, "transfer"))

    def _set_dv(
        self,
        dv: Obj,
        phase: str,
        *,
        progress: str | None = None,
        bound: tuple[str, str, str] | None = None,
        running: tuple[str, str, str] | None = None,
        ready: tuple[str, str, str] | None = None,
    ) -> None:
        m = dv["metadata"]

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = phase
            st.setdefault("progress", "N/A")
            if progress is not None:
                st["progress"] = progress
            st.setdefault("restartCount", 0)
            st["claimName"] = m["name"]
            conds = st.setdefault("conditions", [])
            if bound is not None:
                set_condition(conds, "Bound", *bound, probe=True)
            elif get_condition(o, "Bound") is None:
                set_condition(
                    conds, "Bound", "False", "Pending", f"PVC {m['name']} Pending", probe=True
                )
            if running is not None:
                set_condition(conds, "Running", *running, probe=True)
            elif get_condition(o, "Running") is None:
                set_condition(conds, "Running", "False", "", "", probe=True)
            if ready is not None:
                set_condition(conds, "Ready", *ready, probe=True)
            elif get_condition(o, "Ready") is None:
                set_condition(conds, "Ready", "False", "", "", probe=True)

        self.store.mutate(K.DATAVOLUMES, m["namespace"], m["name"], apply)

    def _finish_dv(self, dv: Obj, work: str) -> None:
        name = dv["metadata"]["name"]
        done = "Clone Complete" if work == "clone" else "Import Complete"
        self._set_dv(
            dv,
            "Succeeded",
            progress="100.0%",
            bound=("True", "Bound", f"PVC {name} Bound"),
            running=("False", "Completed", done),
            ready=("True", "", ""),
        )
        if work == "clone":
            self.event(
                K.DATAVOLUMES,
                dv,
                "CloneSucceeded",
                f"Successfully cloned into {dv['metadata']['namespace']}/{name}",
                component="datavolume-pvc-clone-controller",
            )
        else:
            self.event(
                K.DATAVOLUMES,
                dv,
                "ImportSucceeded",
                f"Successfully imported into PVC {name}",
                component="datavolume-import-controller",
            )

    def _ensure_pvc(self, dv: Obj, clone: tuple[str, str] | None) -> None:
        """The DataVolume's PVC: same name, owned by it, bound straight away."""
        m = dv["metadata"]
        ns, name = m["namespace"], m["name"]
        if self.store.peek(K.PVCS, ns, name) is not None:
            return
        spec = dv.get("spec") or {}
        storage = spec.get("storage") or spec.get("pvc") or {}
        size = ((storage.get("resources") or {}).get("requests") or {}).get("storage")
        if not size and clone is not None:
            src = self.store.peek(K.PVCS, *clone)
            size = (((src or {}).get("status") or {}).get("capacity") or {}).get("storage")
        size = size or "10Gi"
        sc_name = storage.get("storageClassName") or self._default_storage_class()
        sc = self.store.peek(K.STORAGE_CLASSES, None, sc_name)
        provisioner = (sc or {}).get("provisioner", "kubevirt.io.hostpath-provisioner")
        annotations = {
            "cdi.kubevirt.io/storage.contentType": "kubevirt",
            "cdi.kubevirt.io/storage.pod.phase": "Succeeded",
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.beta.kubernetes.io/storage-provisioner": provisioner,
            "volume.kubernetes.io/storage-provisioner": provisioner,
        }
        source = spec.get("source") or {}
        if clone is not None:
            annotations["k8s.io/CloneRequest"] = f"{clone[0]}/{clone[1]}"
        elif "http" in source:
            annotations["cdi.kubevirt.io/storage.import.endpoint"] = source["http"].get("url", "")
            annotations["cdi.kubevirt.io/storage.import.source"] = "http"
        elif "registry" in source:
            annotations["cdi.kubevirt.io/storage.import.endpoint"] = source["registry"].get(
                "url", ""
            )
            annotations["cdi.kubevirt.io/storage.import.source"] = "registry"
        elif "blank" in source:
            annotations["cdi.kubevirt.io/storage.import.source"] = "none"
        access = list(storage.get("accessModes") or ["ReadWriteOnce"])
        body = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {
                    "app": "containerized-data-importer",
                    "app.kubernetes.io/component": "storage",
                },
                "annotations": annotations,
                "ownerReferences": [owner_ref(K.DATAVOLUMES, dv)],
            },
            "spec": {
                "accessModes": access,
                "resources": {"requests": {"storage": size}},
                "storageClassName": sc_name,
                "volumeMode": storage.get("volumeMode") or "Filesystem",
                "volumeName": f"pvc-{uuid_like(ns, name, m['uid'])}",
            },
        }
        created, _ = self.store.create(K.PVCS, body, ns)

        def bound(o: Obj) -> None:
            o["status"] = {"phase": "Bound", "accessModes": access, "capacity": {"storage": size}}

        self.store.mutate(K.PVCS, ns, created["metadata"]["name"], bound)

    def _reconcile_ds(self, ns: str, name: str) -> None:
        ds = self.store.peek(K.DATASOURCES, ns, name)
        if ds is None or deleting(ds):
            return
        source = (ds.get("spec") or {}).get("source") or {}
        pvc_ref = source.get("pvc") or {}
        if pvc_ref:
            src_ns = pvc_ref.get("namespace") or ns
            src_name = pvc_ref.get("name", "")
            dv = self.store.peek(K.DATAVOLUMES, src_ns, src_name)
            if self._pvc_ready(src_ns, src_name):
                ready = ("True", "Ready", "")
            elif dv is not None:
                ready = (
                    "False",
                    phase_of(dv) or "Pending",
                    f"DataVolume {src_ns}/{src_name} is not ready yet",
                )
            else:
                ready = (
                    "False",
                    "NotFound",
                    f"PersistentVolumeClaim {src_ns}/{src_name} not found",
                )
        elif source.get("snapshot"):
            ready = ("True", "Ready", "")
        else:
            ready = ("False", "NoSource", "No source PVC set")

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["source"] = copy.deepcopy(source)
            conds = st.setdefault("conditions", [])
            set_condition(conds, "Ready", *ready, probe=True)

        self.store.mutate(K.DATASOURCES, ns, name, apply)

    # =========================================================================================
    # Snapshots and restores
    # =========================================================================================

    def _reconcile_snap(self, ns: str, name: str) -> None:
        key: Key = ("snap", ns, name)
        snap = self.store.peek(K.SNAPSHOTS, ns, name)
        if snap is None:
            return
        uid = snap["metadata"]["uid"]
        spec = snap.get("spec") or {}
        content_name = (snap.get("status") or {}).get("virtualMachineSnapshotContentName") or (
            f"vmsnapshot-content-{uid}"
        )
        if deleting(snap):
            if spec.get("deletionPolicy", "Delete") != "Retain":
                with contextlib.suppress(ApiError):
                    self.store.delete(K.SNAPSHOT_CONTENTS, ns, content_name)

            def release(o: Obj) -> None:
                meta(o)["finalizers"] = [
                    f for f in meta(o).get("finalizers") or [] if f != SNAPSHOT_FINALIZER
                ]

            self.store.mutate(K.SNAPSHOTS, ns, name, release)
            return
        phase = phase_of(snap)
        if phase in ("Succeeded", "Failed"):
            return
        if SNAPSHOT_FINALIZER not in (snap["metadata"].get("finalizers") or []):
            self.store.mutate(
                K.SNAPSHOTS,
                ns,
                name,
                lambda o: meta(o).setdefault("finalizers", []).append(SNAPSHOT_FINALIZER),
            )
        source_name = (spec.get("source") or {}).get("name", "")
        vm = self.store.peek(K.VMS, ns, source_name)
        if vm is None:
            self._set_snapshot(
                snap,
                "InProgress",
                progressing=("False", "Source does not exist", ""),
                ready=("False", "Source does not exist", ""),
            )
            return
        vmi = self.store.peek(K.VMIS, ns, source_name)
        online = vmi is not None and phase_of(vmi) == "Running"
        indications = []
        if online:
            indications.append("Online")
            indications.append(
                "GuestAgent" if condition_true(vmi, "AgentConnected") else "NoGuestAgent"
            )
            if condition_true(vmi, "Paused"):
                indications.append("Paused")
        if phase == "":
            self._set_snapshot(
                snap,
                "InProgress",
                progressing=("True", "Source locked and operation in progress", ""),
                ready=("False", "Not ready", ""),
                extra={"sourceUID": vm["metadata"]["uid"], "indications": indications},
            )
            return
        if not self._elapsed(key, uid, "snapshot", SNAPSHOT_TIME):
            return
        tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
        included, excluded, backups = [], [], []
        for vol in tspec.get("volumes") or []:
            claim = _volume_claim(vol)
            if not claim:
                excluded.append(vol.get("name", ""))
                continue
            included.append(vol.get("name", ""))
            pvc = self.store.peek(K.PVCS, ns, claim)
            backups.append(
                {
                    "volumeName": vol.get("name", ""),
                    "persistentVolumeClaim": {
                        "metadata": {"name": claim, "namespace": ns},
                        "spec": copy.deepcopy((pvc or {}).get("spec") or {}),
                    },
                    "volumeSnapshotName": f"vmsnapshot-{uid}-volume-{vol.get('name', '')}",
                }
            )
        stamp = now_iso()
        if self.store.peek(K.SNAPSHOT_CONTENTS, ns, content_name) is None:
            vm_copy = copy.deepcopy(vm)
            vm_meta = vm_copy["metadata"]
            content = {
                "apiVersion": K.SNAPSHOT_CONTENTS.api_version,
                "kind": "VirtualMachineSnapshotContent",
                "metadata": {"name": content_name, "namespace": ns},
                "spec": {
                    "source": {
                        "virtualMachine": {
                            "apiVersion": vm_copy.get("apiVersion", K.VMS.api_version),
                            "kind": "VirtualMachine",
                            "metadata": {
                                k: vm_meta[k]
                                for k in (
                                    "name",
                                    "namespace",
                                    "uid",
                                    "labels",
                                    "annotations",
                                    "generation",
                                )
                                if k in vm_meta
                            },
                            "spec": vm_copy.get("spec") or {},
                        }
                    },
                    "virtualMachineSnapshotName": name,
                    "volumeBackups": backups,
                },
            }
            if spec.get("deletionPolicy", "Delete") != "Retain":
                content["metadata"]["ownerReferences"] = [owner_ref(K.SNAPSHOTS, snap)]
            created, _ = self.store.create(K.SNAPSHOT_CONTENTS, content, ns)

            def content_ready(o: Obj) -> None:
                o["status"] = {
                    "readyToUse": True,
                    "creationTime": stamp,
                    "volumeSnapshotStatus": [
                        {
                            "volumeSnapshotName": b["volumeSnapshotName"],
                            "readyToUse": True,
                            "creationTime": stamp,
                        }
                        for b in backups
                    ],
                }

            self.store.mutate(K.SNAPSHOT_CONTENTS, ns, created["metadata"]["name"], content_ready)
            self.event(
                K.SNAPSHOTS,
                snap,
                "SuccessfulVirtualMachineSnapshotContentCreate",
                f"Successfully created VirtualMachineSnapshotContent {content_name}",
                component="snapshot-controller",
            )
        self._set_snapshot(
            snap,
            "Succeeded",
            progressing=("False", "Operation complete", ""),
            ready=("True", "Operation complete", ""),
            extra={
                "readyToUse": True,
                "creationTime": stamp,
                "virtualMachineSnapshotContentName": content_name,
                "indications": indications,
                "snapshotVolumes": {"includedVolumes": included, "excludedVolumes": excluded},
                "sourceUID": vm["metadata"]["uid"],
            },
        )

    def _set_snapshot(
        self,
        snap: Obj,
        phase: str,
        *,
        progressing: tuple[str, str, str],
        ready: tuple[str, str, str],
        extra: Obj | None = None,
    ) -> None:
        m = snap["metadata"]

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = phase
            st.setdefault("readyToUse", False)
            conds = st.setdefault("conditions", [])
            set_condition(conds, "Progressing", *progressing, probe=True)
            set_condition(conds, "Ready", *ready, probe=True)
            if extra:
                for k, v in extra.items():
                    if v in (None, []) and k == "indications":
                        st.pop(k, None)
                    else:
                        st[k] = v

        self.store.mutate(K.SNAPSHOTS, m["namespace"], m["name"], apply)

    def _reconcile_restore(self, ns: str, name: str) -> None:
        key: Key = ("restore", ns, name)
        restore = self.store.peek(K.RESTORES, ns, name)
        if restore is None or deleting(restore):
            return
        uid = restore["metadata"]["uid"]
        if (restore.get("status") or {}).get("complete"):
            return
        spec = restore.get("spec") or {}
        target = (spec.get("target") or {}).get("name", "")
        snap_name = spec.get("virtualMachineSnapshotName", "")
        policy = spec.get("targetReadinessPolicy") or "WaitGracePeriod"
        snap = self.store.peek(K.SNAPSHOTS, ns, snap_name)
        if snap is None or not (snap.get("status") or {}).get("readyToUse"):
            why = (
                f"VMSnapshot {ns}/{snap_name} does not exist"
                if snap is None
                else f"VMSnapshot {ns}/{snap_name} is not ready to use"
            )
            self._set_restore(
                restore,
                progressing=("False", "VMSnapshotNotReady", why),
                ready=("False", "VMSnapshotNotReady", why),
            )
            return
        content_name = (snap.get("status") or {}).get("virtualMachineSnapshotContentName", "")
        content = self.store.peek(K.SNAPSHOT_CONTENTS, ns, content_name)
        if content is None:
            why = f"VirtualMachineSnapshotContent {content_name} does not exist"
            self._set_restore(
                restore,
                progressing=("False", "VMSnapshotNotReady", why),
                ready=("False", "VMSnapshotNotReady", why),
            )
            return
        vm = self.store.peek(K.VMS, ns, target)
        if vm is not None:
            vmi = self.store.peek(K.VMIS, ns, target)
            if vmi is not None and not vmi_final(vmi):
                why = (
                    f"Restore target VirtualMachine {target} is running: it must be stopped "
                    f"before the restore can proceed (targetReadinessPolicy {policy})"
                )
                if policy == "StopTarget":
                    why = f"Stopping restore target VirtualMachine {target}"
                    if run_strategy(vm) != "Halted":
                        self.store.mutate(K.VMS, ns, target, _halt)
                    self._set_restore(
                        restore,
                        progressing=("True", "VMStopping", why),
                        ready=("False", "VMStopping", why),
                    )
                elif policy == "FailImmediate":
                    self._set_restore(
                        restore,
                        progressing=("False", "VMNotReady", why),
                        ready=("False", "VMNotReady", why),
                        failure=("True", "VMNotReady", why),
                    )
                else:
                    self._set_restore(
                        restore,
                        progressing=("False", "VMNotReady", why),
                        ready=("False", "VMNotReady", why),
                    )
                return
            if not owned_by(restore, vm):

                def own(o: Obj) -> None:
                    meta(o)["ownerReferences"] = [owner_ref(K.VMS, vm, controller=False)]

                self.store.mutate(K.RESTORES, ns, name, own)
        started = (key, uid, "restore") in self._clocks
        if not started:
            self._set_restore(
                restore,
                progressing=("True", "RestoreInProgress", "Restoring the VM from the snapshot"),
                ready=("False", "RestoreInProgress", "Restoring the VM from the snapshot"),
            )
        if not self._elapsed(key, uid, "restore", RESTORE_TIME):
            return
        source_vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine") or {}
        new_spec = copy.deepcopy(source_vm.get("spec") or {})
        if vm is None:
            body = {
                "apiVersion": K.VMS.api_version,
                "kind": "VirtualMachine",
                "metadata": {
                    "name": target,
                    "namespace": ns,
                    "labels": dict((source_vm.get("metadata") or {}).get("labels") or {}),
                    "annotations": dict((source_vm.get("metadata") or {}).get("annotations") or {}),
                },
                "spec": new_spec,
            }
            try:
                self.store.create(K.VMS, body, ns)
            except ApiError as exc:
                self._set_restore(
                    restore,
                    progressing=("False", "Error", exc.message),
                    ready=("False", "Error", exc.message),
                    failure=("True", "Error", exc.message),
                )
                return
        else:

            def replace(o: Obj) -> None:
                old = o.get("spec") or {}
                spec_new = copy.deepcopy(new_spec)
                # The target keeps how it is run: a restore does not start or stop a VM.
                spec_new.pop("running", None)
                spec_new.pop("runStrategy", None)
                if "runStrategy" in old:
                    spec_new["runStrategy"] = old["runStrategy"]
                elif "running" in old:
                    spec_new["running"] = old["running"]
                o["spec"] = spec_new

            self.store.mutate(K.VMS, ns, target, replace)
        restores = [
            {
                "volumeName": b.get("volumeName", ""),
                "persistentVolumeClaim": b.get("persistentVolumeClaim", {})
                .get("metadata", {})
                .get("name", ""),
                "volumeSnapshotName": b.get("volumeSnapshotName", ""),
            }
            for b in (content.get("spec") or {}).get("volumeBackups") or []
        ]
        self._set_restore(
            restore,
            progressing=("False", "Operation complete", ""),
            ready=("True", "Operation complete", ""),
            extra={
                "complete": True,
                "restoreTime": now_iso(),
                "restores": restores,
                "deletedDataVolumes": [],
            },
        )
        self.event(
            K.RESTORES,
            restore,
            "VirtualMachineRestoreComplete",
            f"Successfully completed VirtualMachineRestore {name}",
            component="restore-controller",
        )

    def _set_restore(
        self,
        restore: Obj,
        *,
        progressing: tuple[str, str, str],
        ready: tuple[str, str, str],
        failure: tuple[str, str, str] | None = None,
        extra: Obj | None = None,
    ) -> None:
        m = restore["metadata"]

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            st.setdefault("complete", False)
            conds = st.setdefault("conditions", [])
            set_condition(conds, "Progressing", *progressing, probe=True)
            set_condition(conds, "Ready", *ready, probe=True)
            if failure:
                set_condition(conds, "Failure", *failure, probe=True)
            if extra:
                st.update(extra)

        self.store.mutate(K.RESTORES, m["namespace"], m["name"], apply)

    # =========================================================================================
    # Clones
    # =========================================================================================

    def _reconcile_clone(self, ns: str, name: str) -> None:
        key: Key = ("clone", ns, name)
        clone = self.store.peek(K.CLONES, ns, name)
        if clone is None or deleting(clone):
            return
        uid = clone["metadata"]["uid"]
        st = clone.get("status") or {}
        phase = st.get("phase") or ""
        if phase in ("Succeeded", "Failed"):
            return
        spec = clone.get("spec") or {}
        source = spec.get("source") or {}
        source_name = source.get("name", "")
        from_snapshot = source.get("kind") == "VirtualMachineSnapshot"
        target_name = (
            st.get("targetName")
            or (spec.get("target") or {}).get("name")
            or (f"{source_name}-clone-{uid[:5]}")
        )
        if phase == "":
            if from_snapshot:
                if self.store.peek(K.SNAPSHOTS, ns, source_name) is None:
                    self._set_clone(
                        clone,
                        "Pending",
                        (
                            "False",
                            "SourceDoesNotExist",
                            f"Source snapshot {source_name} does not exist",
                        ),
                    )
                    return
                snap_name = source_name
            else:
                if self.store.peek(K.VMS, ns, source_name) is None:
                    self._set_clone(
                        clone,
                        "Pending",
                        ("False", "SourceDoesNotExist", f"Source VM {source_name} does not exist"),
                    )
                    return
                snap_name = f"tmp-snapshot-{uid}"
                if self.store.peek(K.SNAPSHOTS, ns, snap_name) is None:
                    body = {
                        "apiVersion": K.SNAPSHOTS.api_version,
                        "kind": "VirtualMachineSnapshot",
                        "metadata": {
                            "name": snap_name,
                            "namespace": ns,
                            "ownerReferences": [owner_ref(K.CLONES, clone)],
                        },
                        "spec": {
                            "source": {
                                "apiGroup": "kubevirt.io",
                                "kind": "VirtualMachine",
                                "name": source_name,
                            }
                        },
                    }
                    self.store.create(K.SNAPSHOTS, body, ns)
            if self.store.peek(K.VMS, ns, target_name) is not None:
                self._set_clone(
                    clone,
                    "Failed",
                    ("False", "Failed", f"target VM {target_name} already exists"),
                    extra={"targetName": target_name},
                )
                return
            self._set_clone(
                clone,
                "SnapshotInProgress",
                ("False", "SnapshotInProgress", ""),
                extra={"snapshotName": snap_name, "targetName": target_name},
            )
            self.event(
                K.CLONES,
                clone,
                "SnapshotCreated",
                f"created snapshot {snap_name} for clone {name}",
                component="clone-controller",
            )
            return
        snap_name = st.get("snapshotName", "")
        snap = self.store.peek(K.SNAPSHOTS, ns, snap_name)
        if phase == "SnapshotInProgress":
            if snap is None:
                self._set_clone(
                    clone, "Failed", ("False", "Failed", f"snapshot {snap_name} disappeared")
                )
                return
            if not (snap.get("status") or {}).get("readyToUse"):
                return
            if self._elapsed(key, uid, "snapshot", CLONE_STEP):
                self._set_clone(clone, "CreatingTargetVM", ("False", "CreatingTargetVM", ""))
            return
        if phase == "CreatingTargetVM":
            if not self._elapsed(key, uid, "create", CLONE_STEP):
                return
            content = self.store.peek(
                K.SNAPSHOT_CONTENTS,
                ns,
                ((snap or {}).get("status") or {}).get("virtualMachineSnapshotContentName", ""),
            )
            if content is None:
                self._set_clone(
                    clone, "Failed", ("False", "Failed", "the snapshot content is gone")
                )
                return
            try:
                body = self._clone_target(clone, content, target_name)
                self.store.create(K.VMS, body, ns)
            except (ApiError, ValueError) as exc:
                message = exc.message if isinstance(exc, ApiError) else str(exc)
                self._set_clone(clone, "Failed", ("False", "Failed", message))
                self.event(
                    K.CLONES,
                    clone,
                    "CloneFailed",
                    message,
                    type_="Warning",
                    component="clone-controller",
                )
                return
            self.event(
                K.CLONES,
                clone,
                "TargetVMCreated",
                f"created target VM {target_name} for clone {name}",
                component="clone-controller",
            )
            self._set_clone(clone, "RestoreInProgress", ("False", "RestoreInProgress", ""))
            return
        if phase == "RestoreInProgress":
            vm = self.store.peek(K.VMS, ns, target_name)
            if vm is None:
                self._set_clone(
                    clone, "Failed", ("False", "Failed", f"target VM {target_name} disappeared")
                )
                return
            state, _ = self._volumes_state(vm)
            if state in ("ErrorPvcNotFound", "DataVolumeError"):
                self._set_clone(
                    clone, "Failed", ("False", "Failed", f"restoring the volumes failed: {state}")
                )
                return
            if state:
                return
            if not self._elapsed(key, uid, "restore", CLONE_STEP):
                return
            self._set_clone(clone, "Succeeded", ("True", "Succeeded", ""))
            self.event(
                K.CLONES,
                clone,
                "CloneSucceeded",
                f"clone {name} finished successfully",
                component="clone-controller",
            )
            if not from_snapshot and snap is not None:
                with contextlib.suppress(ApiError):
                    self.store.delete(K.SNAPSHOTS, ns, snap_name)

    def _set_clone(
        self, clone: Obj, phase: str, ready: tuple[str, str, str], *, extra: Obj | None = None
    ) -> None:
        m = clone["metadata"]

        def apply(o: Obj) -> None:
            st = o.setdefault("status", {})
            if st.get("phase") != phase:
                st["phase"] = phase
            conds = st.setdefault("conditions", [])
            in_progress = phase not in ("Succeeded", "Failed", "Pending")
            set_condition(
                conds,
                "Progressing",
                "True" if in_progress else "False",
                phase if in_progress else "",
                "",
                probe=True,
            )
            set_condition(conds, "Ready", *ready, probe=True)
            if extra:
                st.update(extra)

        self.store.mutate(K.CLONES, m["namespace"], m["name"], apply)

    def _clone_target(self, clone: Obj, content: Obj, target_name: str) -> Obj:
        """The target VM of a clone: the snapshot's VM, filtered, with fresh MACs and disks."""
        ns = clone["metadata"]["namespace"]
        uid = clone["metadata"]["uid"]
        spec = clone.get("spec") or {}
        source_vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine") or {}
        smeta = source_vm.get("metadata") or {}
        vm_spec = copy.deepcopy(source_vm.get("spec") or {})
        template = vm_spec.setdefault("template", {})
        tmeta = template.setdefault("metadata", {})
        tspec = template.setdefault("spec", {})
        tmpl_filters = spec.get("template") or {}
        labels = _filter_keys(smeta.get("labels") or {}, spec.get("labelFilters"))
        annotations = _filter_keys(smeta.get("annotations") or {}, spec.get("annotationFilters"))
        tmeta["labels"] = _filter_keys(tmeta.get("labels") or {}, tmpl_filters.get("labelFilters"))
        tmeta["annotations"] = _filter_keys(
            tmeta.get("annotations") or {}, tmpl_filters.get("annotationFilters")
        )
        for field in ("labels", "annotations"):
            if not tmeta[field]:
                del tmeta[field]
        # New MACs: the ones asked for, none (so fresh ones) for the others.
        macs = spec.get("newMacAddresses") or {}
        domain = tspec.setdefault("domain", {})
        for iface in (domain.get("devices") or {}).get("interfaces") or []:
            if iface.get("name") in macs:
                iface["macAddress"] = macs[iface["name"]]
            else:
                iface.pop("macAddress", None)
        firmware = domain.get("firmware")
        if isinstance(firmware, dict):
            firmware.pop("uuid", None)
            firmware.pop("serial", None)
        if spec.get("newSMBiosSerial"):
            domain.setdefault("firmware", {})["serial"] = spec["newSMBiosSerial"]
        # Each writable disk becomes a DataVolume cloned from the source's volume.
        templates = {
            (t.get("metadata") or {}).get("name"): t
            for t in vm_spec.get("dataVolumeTemplates") or []
        }
        new_templates = []
        for vol in tspec.get("volumes") or []:
            claim = _volume_claim(vol)
            if not claim:
                continue
            if (vol.get("persistentVolumeClaim") or {}).get("readOnly"):
                continue  # shared read-only media (ISOs) stay shared
            new_name = f"restore-{uid}-{vol.get('name', '')}"
            old = templates.get(claim) or {}
            storage = copy.deepcopy((old.get("spec") or {}).get("storage") or {})
            if not storage:
                pvc = self.store.peek(K.PVCS, ns, claim)
                pspec = (pvc or {}).get("spec") or {}
                storage = {"resources": copy.deepcopy(pspec.get("resources") or {})}
                if pspec.get("storageClassName"):
                    storage["storageClassName"] = pspec["storageClassName"]
            new_templates.append(
                {
                    "apiVersion": K.DATAVOLUMES.api_version,
                    "kind": "DataVolume",
                    "metadata": {"name": new_name},
                    "spec": {
                        "source": {"pvc": {"namespace": ns, "name": claim}},
                        "storage": storage,
                    },
                }
            )
            hot = hotpluggable(vol)
            for source_key in ("dataVolume", "persistentVolumeClaim"):
                vol.pop(source_key, None)
            vol["dataVolume"] = {"name": new_name}
            if hot:
                vol["dataVolume"]["hotpluggable"] = True
        if new_templates:
            vm_spec["dataVolumeTemplates"] = new_templates
        else:
            vm_spec.pop("dataVolumeTemplates", None)
        body: Obj = {
            "apiVersion": K.VMS.api_version,
            "kind": "VirtualMachine",
            "metadata": {"name": target_name, "namespace": ns},
            "spec": vm_spec,
        }
        if labels:
            body["metadata"]["labels"] = labels
        if annotations:
            body["metadata"]["annotations"] = annotations
        for patch in spec.get("patches") or []:
            try:
                body = jsonpatch.apply_patch(
                    body, json.loads(patch) if isinstance(patch, str) else patch
                )
            except (
                jsonpatch.JsonPatchException,
                jsonpatch.JsonPointerException,
                ValueError,
            ) as exc:
                raise ValueError(f"failed to apply patch {patch}: {exc}") from exc
        return body

    # =========================================================================================
    # Exports
    # =========================================================================================

    def _reconcile_export(self, ns: str, name: str) -> None:
        key: Key = ("export", ns, name)
        export = self.store.peek(K.EXPORTS, ns, name)
        if export is None or deleting(export):
            return
        uid = export["metadata"]["uid"]
        spec = export.get("spec") or {}
        source = spec.get("source") or {}
        kind = source.get("kind", "")
        source_name = source.get("name", "")
        claims: list[str] = []
        blocked: tuple[str, str] | None = None
        vm_name = None
        if kind == "VirtualMachine":
            vm = self.store.peek(K.VMS, ns, source_name)
            if vm is None:
                blocked = ("VMNotFound", f"Virtual Machine {ns}/{source_name} not found")
            else:
                vm_name = source_name
                vmi = self.store.peek(K.VMIS, ns, source_name)
                if vmi is not None and not vmi_final(vmi):
                    blocked = (
                        "InUse",
                        f"Virtual Machine {ns}/{source_name} is running: stop it to export its volumes",
                    )
                tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
                claims = [c for c in (_volume_claim(v) for v in tspec.get("volumes") or []) if c]
        elif kind == "VirtualMachineSnapshot":
            snap = self.store.peek(K.SNAPSHOTS, ns, source_name)
            if snap is None or not (snap.get("status") or {}).get("readyToUse"):
                blocked = (
                    "SnapshotNotReady",
                    f"VirtualMachineSnapshot {ns}/{source_name} is not ready",
                )
            else:
                content = self.store.peek(
                    K.SNAPSHOT_CONTENTS,
                    ns,
                    (snap.get("status") or {}).get("virtualMachineSnapshotContentName", ""),
                )
                backups = ((content or {}).get("spec") or {}).get("volumeBackups") or []
                claims = [
                    b.get("persistentVolumeClaim", {}).get("metadata", {}).get("name", "")
                    for b in backups
                ]
                vm_name = ((snap.get("spec") or {}).get("source") or {}).get("name")
        else:  # PersistentVolumeClaim
            pvc = self.store.peek(K.PVCS, ns, source_name)
            if pvc is None:
                blocked = ("PVCNotFound", f"PersistentVolumeClaim {ns}/{source_name} not found")
            else:
                claims = [source_name]
                for vmi in self.store.iter(K.VMIS, ns):
                    if vmi_final(vmi):
                        continue
                    if any(
                        _volume_claim(v) == source_name
                        for v in (vmi.get("spec") or {}).get("volumes") or []
                    ):
                        blocked = (
                            "InUse",
                            f"pvc {ns}/{source_name} is in use by {vmi['metadata']['name']}",
                        )
        for claim in claims:
            if blocked is None and self.store.peek(K.PVCS, ns, claim) is None:
                blocked = ("PVCNotFound", f"PersistentVolumeClaim {ns}/{claim} not found")
        token = (spec.get("tokenSecretRef") or "") or f"export-token-{name}"
        if blocked is not None:
            self._clocks.pop((key, uid, "ready"), None)

            def pending(o: Obj) -> None:
                st = o.setdefault("status", {})
                st["phase"] = "Pending"
                st.pop("links", None)
                st["tokenSecretRef"] = token
                conds = st.setdefault("conditions", [])
                set_condition(conds, "Ready", "False", blocked[0], blocked[1], probe=True)
                set_condition(conds, "PVCReady", "False", blocked[0], blocked[1], probe=True)

            self.store.mutate(K.EXPORTS, ns, name, pending)
            return
        if phase_of(export) != "Ready" and not self._elapsed(key, uid, "ready", EXPORT_TIME):

            def preparing(o: Obj) -> None:
                st = o.setdefault("status", {})
                st["phase"] = "Pending"
                st["tokenSecretRef"] = token
                conds = st.setdefault("conditions", [])
                set_condition(
                    conds,
                    "Ready",
                    "False",
                    "podPending",
                    "Export server pod is starting",
                    probe=True,
                )
                set_condition(conds, "PVCReady", "True", "pvcBound", "", probe=True)

            self.store.mutate(K.EXPORTS, ns, name, preparing)
            return
        service = f"virt-export-{name}"
        internal = f"https://{service}.{ns}.svc"
        external = (
            f"https://virt-exportproxy-kubevirt.apps.demo.kvtui.io/api/export.kubevirt.io/v1/"
            f"namespaces/{ns}/virtualmachineexports/{name}"
        )

        def volumes(base: str) -> list[Obj]:
            return [
                {
                    "name": claim,
                    "formats": [
                        {"format": "raw", "url": f"{base}/volumes/{claim}/disk.img"},
                        {"format": "gzip", "url": f"{base}/volumes/{claim}/disk.img.gz"},
                    ],
                }
                for claim in claims
            ]

        links: Obj = {
            "internal": {"cert": DEMO_CERT, "volumes": volumes(internal)},
            "external": {"cert": "", "volumes": volumes(external)},
        }
        if kind in ("VirtualMachine", "VirtualMachineSnapshot"):
            links["internal"]["manifests"] = [
                {"type": "all", "url": f"{internal}/internal/manifests/all"},
                {"type": "auth-header-secret", "url": f"{internal}/internal/manifests/secret"},
            ]
            links["external"]["manifests"] = [
                {"type": "all", "url": f"{external}/external/manifests/all"},
                {"type": "auth-header-secret", "url": f"{external}/external/manifests/secret"},
            ]
        first_ready = phase_of(export) != "Ready"
        ttl = parse_duration(spec.get("ttlDuration")) or 7200.0

        def ready(o: Obj) -> None:
            st = o.setdefault("status", {})
            st["phase"] = "Ready"
            st["links"] = links
            st["serviceName"] = service
            st["tokenSecretRef"] = token
            if vm_name:
                st["virtualMachineName"] = vm_name
            if "ttlExpirationTime" not in st:
                st["ttlExpirationTime"] = time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl)
                )
            conds = st.setdefault("conditions", [])
            set_condition(conds, "Ready", "True", "podReady", "", probe=True)
            set_condition(conds, "PVCReady", "True", "pvcBound", "", probe=True)

        self.store.mutate(K.EXPORTS, ns, name, ready)
        if first_ready:
            self.event(
                K.EXPORTS,
                export,
                "ExportReady",
                f"Export {name} is ready",
                component="export-controller",
            )


# The VMI conditions the VM mirrors (and drops again once the VMI is gone).
_VMI_MIRRORED = frozenset(
    {
        "Paused",
        "AgentConnected",
        "LiveMigratable",
        "PodScheduled",
        "Synchronized",
        "DataVolumesReady",
    }
)

# Which controller reconciles which kind at start-up.
_CONTROLLED: tuple[tuple[Kind, str], ...] = (
    (K.VMS, "vm"),
    (K.VMIS, "vmi"),
    (K.VMIMS, "vmim"),
    (K.DATAVOLUMES, "dv"),
    (K.DATASOURCES, "ds"),
    (K.SNAPSHOTS, "snap"),
    (K.RESTORES, "restore"),
    (K.CLONES, "clone"),
    (K.EXPORTS, "export"),
)


def _halt(vm: Obj) -> None:
    """Stop a VM the way virt-api's stop does for Always/Once: runStrategy Halted."""
    spec = vm.setdefault("spec", {})
    if "runStrategy" in spec or "running" not in spec:
        spec["runStrategy"] = "Halted"
    else:
        spec["running"] = False


def _annotation_seconds(obj: Obj | None, annotation: str) -> float | None:
    value = ((obj or {}).get("metadata", {}).get("annotations") or {}).get(annotation)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _filter_keys(values: dict[str, str], filters: list[str] | None) -> dict[str, str]:
    """A clone's label/annotation filters: "*" all, "prefix*" wildcards, "!" negation."""
    if filters is None:
        filters = ["*"]
    out: dict[str, str] = {}
    for key, value in values.items():
        keep = False
        for flt in filters:
            negate = flt.startswith("!")
            pattern = flt[1:] if negate else flt
            match = pattern.endswith("*") and key.startswith(pattern[:-1]) or key == pattern
            if match:
                keep = not negate
        if keep:
            out[key] = value
    return out


def uuid_like(*parts: str) -> str:
    """A deterministic UUID-shaped id (PV names), stable for the same inputs."""
    h = _digest(*parts).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


DEMO_CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdDCCARqgAwIBAgIQZGVtby1rdnR1aS1leHBvcnQwCgYIKoZIzj0EAwIwGDEW\n"
    "MBQGA1UEAxMNZXhwb3J0LWNhLWRlbW8wHhcNMjUwMTAxMDAwMDAwWhcNMzUwMTAx\n"
    "-----END CERTIFICATE-----\n"
)


def _os_in(text: str) -> str | None:
    lowered = text.lower()
    for os_key, words in _OS_HINTS:
        if any(w in lowered for w in words):
            return os_key
    return None


def live_merge(vmi_spec: Obj, template: Obj) -> Obj:
    """The VMI spec with the live-updatable parts of the VM template applied.

    Live: CPU sockets, memory.guest, added NICs (and NIC link state changes), hotplug volumes
    and their disks. Everything else waits for a restart (RestartRequired).
    """
    new = copy.deepcopy(vmi_spec)
    tdomain = template.get("domain") or {}
    domain = new.setdefault("domain", {})
    tcpu = tdomain.get("cpu") or {}
    if "sockets" in tcpu:
        domain.setdefault("cpu", {})["sockets"] = tcpu["sockets"]
    tguest = (tdomain.get("memory") or {}).get("guest")
    if tguest:
        domain.setdefault("memory", {})["guest"] = tguest
    # NICs: additions and state changes only.
    tdevices = tdomain.get("devices") or {}
    devices = domain.setdefault("devices", {})
    t_ifaces = {i.get("name"): i for i in tdevices.get("interfaces") or []}
    ifaces = []
    for iface in devices.get("interfaces") or []:
        t_iface = t_ifaces.get(iface.get("name"))
        if t_iface is not None and _without(t_iface, "state") == _without(iface, "state"):
            ifaces.append(copy.deepcopy(t_iface))
        else:
            ifaces.append(iface)
    known = {i.get("name") for i in ifaces}
    added = [copy.deepcopy(i) for n, i in t_ifaces.items() if n not in known]
    if added:
        ifaces.extend(added)
        t_nets = {n.get("name"): n for n in template.get("networks") or []}
        nets = new.setdefault("networks", [])
        have = {n.get("name") for n in nets}
        for iface in added:
            net = t_nets.get(iface.get("name"))
            if net is not None and net.get("name") not in have:
                nets.append(copy.deepcopy(net))
    if ifaces or "interfaces" in devices:
        devices["interfaces"] = ifaces
    # Hotplug volumes: the template's hotpluggable ones replace the VMI's.
    t_vols = template.get("volumes") or []
    old_hp = {v.get("name") for v in new.get("volumes") or [] if hotpluggable(v)}
    new_hp = [copy.deepcopy(v) for v in t_vols if hotpluggable(v)]
    if old_hp or new_hp:
        new["volumes"] = [v for v in new.get("volumes") or [] if not hotpluggable(v)] + new_hp
        t_disks = {d.get("name"): d for d in tdevices.get("disks") or []}
        disks = [d for d in devices.get("disks") or [] if d.get("name") not in old_hp]
        disks += [
            copy.deepcopy(t_disks[n]) for n in [v.get("name") for v in new_hp] if n in t_disks
        ]
        devices["disks"] = disks
    return new


def _without(d: Obj, *keys: str) -> Obj:
    return {k: v for k, v in d.items() if k not in keys}


def _comparable(spec: Obj) -> Obj:
    """A spec reduced for the RestartRequired comparison (order-insensitive disks/volumes)."""
    out = copy.deepcopy(spec)
    for key in ("startStrategy", "terminationGracePeriodSeconds"):
        out.pop(key, None)
    out["volumes"] = {v.get("name"): v for v in out.get("volumes") or []}
    devices = (out.get("domain") or {}).get("devices")
    if isinstance(devices, dict):
        devices["disks"] = {d.get("name"): d for d in devices.get("disks") or []}
        if not devices.get("interfaces"):
            devices.pop("interfaces", None)
    if not out.get("networks"):
        out.pop("networks", None)
    return out
