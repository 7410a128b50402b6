"""The demo cluster's simulated KubeVirt/CDI controllers, driven through the store."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tui.cluster import kinds as K
from tui.demo import runtime, seed
from tui.demo.controllers import Simulator, expand_vm
from tui.demo.store import Store
from tui.demo.virtapi import VirtApi

NS = "vm-dev"
SCALE = 0.001


def base_objects() -> list[dict]:
    """Namespaces, nodes, storage classes, instancetypes, golden images' DataSources."""
    wanted = {
        "Namespace",
        "Node",
        "StorageClass",
        "VirtualMachineClusterInstancetype",
        "VirtualMachineClusterPreference",
    }
    return [o for o in seed.seed_objects() if o["kind"] in wanted]


def vm_manifest(name: str, run_strategy: str = "Always", **extra: Any) -> dict:
    body = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "runStrategy": run_strategy,
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {
                    "domain": {
                        "cpu": {"sockets": 1, "cores": 1, "threads": 1},
                        "devices": {
                            "disks": [
                                {"name": "rootdisk", "disk": {"bus": "virtio"}},
                                {"name": "cloudinitdisk", "disk": {"bus": "virtio"}},
                            ],
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                        "memory": {"guest": "1Gi"},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "terminationGracePeriodSeconds": 0,
                    "volumes": [
                        {
                            "name": "rootdisk",
                            "containerDisk": {"image": "quay.io/containerdisks/fedora:41"},
                        },
                        {
                            "name": "cloudinitdisk",
                            "cloudInitNoCloud": {
                                "userData": "#cloud-config\nuser: fedora\npassword: fedora\n"
                            },
                        },
                    ],
                },
            },
        },
    }
    body["spec"].update(extra)
    return body


class Env:
    """A store, its simulator and virt-api, and polling helpers."""

    def __init__(self, store: Store, sim: Simulator) -> None:
        self.store = store
        self.sim = sim
        self.api = VirtApi(store, sim)
        self.running: list[str] = []
        self.stopped: list[str] = []
        self.seen: list[tuple[str, str, str]] = []  # (kind, name, phase) as they changed
        store.subscribe(self._record)

    def _record(self, ev: Any) -> None:
        st = ev.obj.get("status") or {}
        phase = st.get("phase") or ""
        entry = (ev.kind.kind, ev.obj["metadata"]["name"], phase)
        if phase and (not self.seen or entry not in self.seen[-50:]):
            self.seen.append(entry)

    def phases(self, kind: str, name: str) -> list[str]:
        """The phases an object went through, in order, each once."""
        out: list[str] = []
        for k, n, phase in self.seen:
            if k == kind and n == name and phase not in out:
                out.append(phase)
        return out

    def vm(self, name: str, ns: str = NS) -> dict | None:
        return self.store.peek(K.VMS, ns, name)

    def vmi(self, name: str, ns: str = NS) -> dict | None:
        return self.store.peek(K.VMIS, ns, name)

    def printable(self, name: str, ns: str = NS) -> str | None:
        vm = self.vm(name, ns)
        return ((vm or {}).get("status") or {}).get("printableStatus")

    def pods(self, name: str, ns: str = NS) -> list[dict]:
        return [
            p
            for p in self.store.iter(K.PODS, ns)
            if (p["metadata"].get("labels") or {}).get("vm.kubevirt.io/name") == name
        ]

    def events(self, name: str, ns: str = NS) -> list[dict]:
        return [e for e in self.store.iter(K.EVENTS, ns) if e["involvedObject"]["name"] == name]

    async def until(self, predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        for _ in range(int(timeout / 0.01)):
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}; errors: {self.sim.errors}")

    async def status_is(self, name: str, status: str, ns: str = NS, timeout: float = 10.0) -> None:
        await self.until(
            lambda: self.printable(name, ns) == status,
            f"{ns}/{name} {status} (is {self.printable(name, ns)})",
            timeout,
        )

    def create(self, body: dict) -> dict:
        kind = K.by_gvk(body["apiVersion"], body["kind"])
        created, _ = self.store.create(kind, body)
        return created


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    store = Store()
    store.admit = runtime.admit
    runtime.load(store, base_objects())
    holder: dict[str, Env] = {}
    sim = Simulator(
        store,
        time_scale=SCALE,
        on_vmi_running=lambda v: holder["env"].running.append(v["metadata"]["uid"]),
        on_vmi_stopped=lambda v: holder["env"].stopped.append(v["metadata"]["uid"]),
    )
    environment = Env(store, sim)
    holder["env"] = environment
    await sim.start()
    yield environment
    await sim.stop()
    assert sim.errors == []


# -- start, stop, restart ---------------------------------------------------------------------


async def test_start_runs_the_vm_with_ip_node_pod_and_events(env: Env) -> None:
    env.create(vm_manifest("web"))
    await env.status_is("web", "Running")
    vmi = env.vmi("web")
    assert vmi is not None
    st = vmi["status"]
    assert st["phase"] == "Running" and st["nodeName"].startswith("node-")
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == st["nodeName"]
    ref = vmi["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "VirtualMachine" and ref["controller"] and ref["blockOwnerDeletion"]
    iface = st["interfaces"][0]
    assert iface["ipAddress"].startswith("10.128.") and iface["ipAddresses"] == [iface["ipAddress"]]
    assert iface["mac"].startswith("02:") and iface["name"] == "default"
    (pod,) = env.pods("web")
    assert pod["metadata"]["name"].startswith("virt-launcher-web-")
    assert len(pod["metadata"]["name"]) == len("virt-launcher-web-") + 5
    assert pod["metadata"]["labels"]["kubevirt.io"] == "virt-launcher"
    assert pod["metadata"]["labels"]["kubevirt.io/created-by"] == vmi["metadata"]["uid"]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == vmi["metadata"]["uid"]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["compute", "guest-console-log"]
    assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"] == iface["ipAddress"]
    assert pod["spec"]["nodeName"] == st["nodeName"]
    assert st["activePods"] == {pod["metadata"]["uid"]: st["nodeName"]}
    vm = env.vm("web")
    assert vm is not None
    assert vm["status"]["ready"] is True and vm["status"]["created"] is True
    assert "kubevirt.io/virtualMachineControllerFinalize" in vm["metadata"]["finalizers"]
    ready = next(c for c in vm["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    reasons = {e["reason"]: e for e in env.events("web")}
    assert reasons["SuccessfulCreate"]["involvedObject"]["kind"] in (
        "VirtualMachine",
        "VirtualMachineInstance",
    )
    assert any(
        e["message"]
        == "Started the virtual machine by creating the new virtual machine instance web"
        for e in env.events("web")
    )
    assert "Started" in reasons
    event = reasons["Started"]
    assert event["metadata"]["name"].startswith("web.") and len(event["metadata"]["name"]) == 20
    assert event["involvedObject"]["uid"] == vmi["metadata"]["uid"]
    assert event["source"]["component"] == "virt-handler" and event["count"] == 1
    assert env.running == [vmi["metadata"]["uid"]]


async def test_guest_agent_connects_with_os_info(env: Env) -> None:
    env.create(vm_manifest("agent"))
    vmi = await env.until(
        lambda: (
            (v := env.vmi("agent"))
            and any(c["type"] == "AgentConnected" for c in v["status"].get("conditions", []))
            and v
        ),
        "the agent",
    )
    info = vmi["status"]["guestOSInfo"]
    assert info["id"] == "fedora" and info["prettyName"].startswith("Fedora Linux")
    iface = vmi["status"]["interfaces"][0]
    assert iface["infoSource"] == "domain, guest-agent" and iface["interfaceName"] == "eth0"
    # The VM mirrors the VMI's conditions.
    await env.until(
        lambda: any(
            c["type"] == "AgentConnected" for c in (env.vm("agent") or {})["status"]["conditions"]
        ),
        "AgentConnected on the VM",
    )


async def test_stop_removes_the_vmi_and_pod(env: Env) -> None:
    env.create(vm_manifest("stopme"))
    await env.status_is("stopme", "Running")
    uid = env.vmi("stopme")["metadata"]["uid"]  # type: ignore[index]
    assert env.api.handle("PUT", "virtualmachines", NS, "stopme", "stop", {}) == (202, None)
    assert env.vm("stopme")["spec"]["runStrategy"] == "Halted"  # type: ignore[index]
    await env.status_is("stopme", "Stopped")
    await env.until(lambda: env.vmi("stopme") is None, "the VMI gone")
    assert env.pods("stopme") == []
    assert uid in env.stopped
    assert any(e["reason"] == "SuccessfulDelete" for e in env.events("stopme"))
    vm = env.vm("stopme")
    assert vm["status"]["created"] is False and vm["status"]["ready"] is False  # type: ignore[index]


async def test_stopping_is_visible_while_the_guest_shuts_down(env: Env) -> None:
    body = vm_manifest("slow")
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 180
    env.sim.time_scale = 0.02  # Stopping lasts 2 s * 0.02
    env.create(body)
    await env.status_is("slow", "Running")
    env.api.handle("PUT", "virtualmachines", NS, "slow", "stop", None)
    await env.status_is("slow", "Stopping")
    vmi = env.vmi("slow")
    assert vmi is not None and vmi["metadata"]["deletionTimestamp"]
    assert "kubevirt.io/foregroundDeleteVirtualMachine" in vmi["metadata"]["finalizers"]
    await env.status_is("slow", "Stopped")


async def test_restart_gives_a_new_vmi(env: Env) -> None:
    env.create(vm_manifest("again"))
    await env.status_is("again", "Running")
    uid = env.vmi("again")["metadata"]["uid"]  # type: ignore[index]
    assert env.api.handle("PUT", "virtualmachines", NS, "again", "restart", {}) == (202, None)
    await env.until(
        lambda: (
            (v := env.vmi("again"))
            and v["metadata"]["uid"] != uid
            and v["status"].get("phase") == "Running"
        ),
        "a new Running VMI",
    )
    await env.status_is("again", "Running")
    assert not (env.vm("again") or {})["status"].get("stateChangeRequests")
    assert len(env.pods("again")) == 1


async def test_pause_and_unpause(env: Env) -> None:
    env.create(vm_manifest("pausy"))
    await env.status_is("pausy", "Running")
    assert env.api.handle("PUT", "virtualmachineinstances", NS, "pausy", "pause", {}) == (200, None)
    await env.status_is("pausy", "Paused")
    cond = next(c for c in env.vmi("pausy")["status"]["conditions"] if c["type"] == "Paused")  # type: ignore[index]
    assert cond["status"] == "True" and cond["reason"] == "PausedByUser"
    assert any(c["type"] == "Paused" for c in env.vm("pausy")["status"]["conditions"])  # type: ignore[index]
    env.api.handle("PUT", "virtualmachineinstances", NS, "pausy", "unpause", {})
    await env.status_is("pausy", "Running")
    assert not any(c["type"] == "Paused" for c in env.vm("pausy")["status"]["conditions"])  # type: ignore[index]


async def test_manual_run_strategy_uses_state_change_requests(env: Env) -> None:
    env.create(vm_manifest("manual", "Manual"))
    await env.status_is("manual", "Stopped")
    assert env.vmi("manual") is None
    env.api.handle("PUT", "virtualmachines", NS, "manual", "start", {})
    await env.status_is("manual", "Running")
    vm = env.vm("manual")
    assert vm["spec"]["runStrategy"] == "Manual"  # type: ignore[index]
    assert not vm["status"].get("stateChangeRequests")  # type: ignore[index]
    env.api.handle("PUT", "virtualmachines", NS, "manual", "stop", {})
    await env.status_is("manual", "Stopped")
    await env.until(lambda: env.vmi("manual") is None, "the VMI gone")
    assert env.vm("manual")["spec"]["runStrategy"] == "Manual"  # type: ignore[index]


async def test_halted_vm_start_and_deprecated_running_field(env: Env) -> None:
    body = vm_manifest("legacy")
    del body["spec"]["runStrategy"]
    body["spec"]["running"] = False
    env.create(body)
    await env.status_is("legacy", "Stopped")
    env.api.handle("PUT", "virtualmachines", NS, "legacy", "start", {})
    assert env.vm("legacy")["spec"]["running"] is True  # type: ignore[index]
    await env.status_is("legacy", "Running")


async def test_rerun_on_failure_recreates_a_failed_vmi(env: Env) -> None:
    env.create(vm_manifest("rerun", "RerunOnFailure"))
    await env.status_is("rerun", "Running")
    uid = env.vmi("rerun")["metadata"]["uid"]  # type: ignore[index]
    (pod,) = env.pods("rerun")
    env.store.delete(K.PODS, NS, pod["metadata"]["name"])  # the launcher dies: VMI Failed
    await env.until(
        lambda: (
            (v := env.vmi("rerun"))
            and v["metadata"]["uid"] != uid
            and v["status"]["phase"] == "Running"
        ),
        "a recreated VMI",
    )


async def test_unschedulable_vm(env: Env) -> None:
    body = vm_manifest("gpu")
    body["spec"]["template"]["spec"]["nodeSelector"] = {"gpu": "nvidia-a100"}
    env.create(body)
    await env.status_is("gpu", "ErrorUnschedulable")
    vmi = env.vmi("gpu")
    assert vmi is not None and vmi["status"]["phase"] == "Scheduling"
    cond = next(c for c in vmi["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert cond["message"] == (
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )
    (pod,) = env.pods("gpu")
    failed = [e for e in env.events(pod["metadata"]["name"]) if e["reason"] == "FailedScheduling"]
    assert failed and failed[0]["type"] == "Warning"
    # A node that matches turns up: the VM starts.
    node = copy.deepcopy(env.store.get(K.NODES, None, "node-03"))
    node["metadata"]["labels"]["gpu"] = "nvidia-a100"
    env.store.update(K.NODES, node, internal=True)
    await env.status_is("gpu", "Running")
    assert env.vmi("gpu")["status"]["nodeName"] == "node-03"  # type: ignore[index]


async def test_events_count_repeats(env: Env) -> None:
    env.create(vm_manifest("noisy"))
    await env.status_is("noisy", "Running")
    for _ in range(3):
        env.api.handle("PUT", "virtualmachineinstances", NS, "noisy", "reset", None)
    (reset,) = [e for e in env.events("noisy") if e["reason"] == "Reset"]
    assert reset["count"] == 3 and reset["lastTimestamp"] >= reset["firstTimestamp"]


async def test_delete_vm_terminates_with_its_vmi_and_pod(env: Env) -> None:
    env.sim.time_scale = 0.02
    body = vm_manifest("gone")
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30
    env.create(body)
    await env.status_is("gone", "Running")
    env.store.delete(K.VMS, NS, "gone")
    await env.status_is("gone", "Terminating")
    await env.until(lambda: env.vm("gone") is None, "the VM gone")
    assert env.vmi("gone") is None and env.pods("gone") == []


async def test_deleting_a_vm_with_data_volumes_collects_them(env: Env) -> None:
    env.create(dv_vm("withdisk", import_seconds=None))
    await env.status_is("withdisk", "Running", timeout=15)
    env.store.delete(K.VMS, NS, "withdisk")
    await env.until(lambda: env.vm("withdisk") is None, "the VM gone")
    assert env.store.peek(K.DATAVOLUMES, NS, "withdisk-root") is None
    assert env.store.peek(K.PVCS, NS, "withdisk-root") is None


# -- live updates -------------------------------------------------------------------------------


async def test_restart_required_on_a_cores_change(env: Env) -> None:
    env.create(vm_manifest("cores"))
    await env.status_is("cores", "Running")
    vm = env.store.get(K.VMS, NS, "cores")
    vm["spec"]["template"]["spec"]["domain"]["cpu"]["cores"] = 4
    env.store.update(K.VMS, vm)
    await env.until(
        lambda: any(
            c["type"] == "RestartRequired" and c["status"] == "True"
            for c in env.vm("cores")["status"]["conditions"]  # type: ignore[index]
        ),
        "RestartRequired",
    )
    assert env.vmi("cores")["spec"]["domain"]["cpu"]["cores"] == 1  # type: ignore[index]
    uid = env.vmi("cores")["metadata"]["uid"]  # type: ignore[index]
    env.api.handle("PUT", "virtualmachines", NS, "cores", "restart", {})
    await env.until(
        lambda: (
            (v := env.vmi("cores"))
            and v["metadata"]["uid"] != uid
            and v["status"]["phase"] == "Running"
        ),
        "the restarted VMI",
    )
    assert env.vmi("cores")["spec"]["domain"]["cpu"]["cores"] == 4  # type: ignore[index]
    await env.until(
        lambda: (
            not any(c["type"] == "RestartRequired" for c in env.vm("cores")["status"]["conditions"])
        ),  # type: ignore[index]
        "RestartRequired cleared",
    )


async def test_sockets_and_memory_change_live(env: Env) -> None:
    env.create(vm_manifest("live"))
    await env.status_is("live", "Running")
    vm = env.store.get(K.VMS, NS, "live")
    vm["spec"]["template"]["spec"]["domain"]["cpu"]["sockets"] = 2
    vm["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = "2Gi"
    env.store.update(K.VMS, vm)
    await env.until(
        lambda: env.vmi("live")["status"]["currentCPUTopology"]["sockets"] == 2,  # type: ignore[index]
        "two sockets",
    )
    vmi = env.vmi("live")
    assert vmi["spec"]["domain"]["memory"]["guest"] == "2Gi"  # type: ignore[index]
    assert vmi["status"]["memory"]["guestRequested"] == "2Gi"  # type: ignore[index]
    await asyncio.sleep(0.05)
    assert not any(c["type"] == "RestartRequired" for c in env.vm("live")["status"]["conditions"])  # type: ignore[index]


async def test_hotplugged_volume_reaches_the_vmi(env: Env) -> None:
    env.create(
        {
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "DataVolume",
            "metadata": {"name": "scratch", "namespace": NS},
            "spec": {
                "source": {"blank": {}},
                "storage": {"resources": {"requests": {"storage": "5Gi"}}},
            },
        }
    )
    env.create(vm_manifest("hot"))
    await env.status_is("hot", "Running")
    body = {
        "name": "scratch",
        "disk": {"disk": {"bus": "scsi"}},
        "volumeSource": {"dataVolume": {"name": "scratch"}},
    }
    assert env.api.handle("PUT", "virtualmachines", NS, "hot", "addvolume", body) == (202, None)
    status = await env.until(
        lambda: next(
            (v for v in env.vmi("hot")["status"].get("volumeStatus", []) if v["name"] == "scratch"),  # type: ignore[index]
            None,
        ),
        "the hotplugged volume",
    )
    assert status["phase"] == "Ready" and status["target"].startswith("sd")
    assert not any(c["type"] == "RestartRequired" for c in env.vm("hot")["status"]["conditions"])  # type: ignore[index]
    env.api.handle("PUT", "virtualmachines", NS, "hot", "removevolume", {"name": "scratch"})
    await env.until(
        lambda: all(v["name"] != "scratch" for v in env.vmi("hot")["spec"]["volumes"]),  # type: ignore[index]
        "the volume unplugged",
    )


async def test_instancetype_is_applied_to_the_vmi(env: Env) -> None:
    body = vm_manifest("sized")
    domain = body["spec"]["template"]["spec"]["domain"]
    del domain["cpu"], domain["memory"]
    body["spec"]["instancetype"] = {"name": "u1.large"}
    body["spec"]["preference"] = {"kind": "VirtualMachineClusterPreference", "name": "fedora"}
    env.create(body)
    await env.status_is("sized", "Running")
    vmi = env.vmi("sized")
    assert vmi["spec"]["domain"]["memory"]["guest"] == "8Gi"  # type: ignore[index]
    assert vmi["spec"]["domain"]["cpu"]["sockets"] == 2  # type: ignore[index]
    expanded = expand_vm(env.store, env.store.get(K.VMS, NS, "sized"))
    assert "instancetype" not in expanded["spec"]
    assert expanded["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "8Gi"


# -- CDI ----------------------------------------------------------------------------------------


def dv_vm(name: str, import_seconds: str | None = "0.4") -> dict:
    """A VM whose root disk is a DataVolume imported over http."""
    body = vm_manifest(name)
    annotations = {"demo.kvtui.io/import-seconds": import_seconds} if import_seconds else {}
    body["spec"]["dataVolumeTemplates"] = [
        {
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "DataVolume",
            "metadata": {"name": f"{name}-root", "annotations": annotations},
            "spec": {
                "source": {"http": {"url": "https://example.com/fedora.qcow2"}},
                "storage": {"resources": {"requests": {"storage": "20Gi"}}},
            },
        }
    ]
    body["spec"]["template"]["spec"]["volumes"][0] = {
        "name": "rootdisk",
        "dataVolume": {"name": f"{name}-root"},
    }
    return body


async def test_data_volume_import_progress_then_the_vm_runs(env: Env) -> None:
    env.create(dv_vm("imp"))
    await env.status_is("imp", "Provisioning")
    assert env.vmi("imp") is None
    seen: list[float] = []

    def progress() -> bool:
        dv = env.store.peek(K.DATAVOLUMES, NS, "imp-root")
        st = (dv or {}).get("status") or {}
        text = st.get("progress", "N/A")
        if text != "N/A":
            seen.append(float(text.rstrip("%")))
        return st.get("phase") == "Succeeded"

    await env.until(progress, "the import to finish")
    dv = env.store.peek(K.DATAVOLUMES, NS, "imp-root")
    assert dv is not None and dv["status"]["progress"] == "100.0%"
    assert dv["metadata"]["ownerReferences"][0]["kind"] == "VirtualMachine"
    climbing = [p for p in seen if 0 < p < 100]
    assert len(set(climbing)) >= 3 and climbing == sorted(climbing)
    conds = {c["type"]: c["status"] for c in dv["status"]["conditions"]}
    assert conds == {"Bound": "True", "Running": "False", "Ready": "True"}
    pvc = env.store.peek(K.PVCS, NS, "imp-root")
    assert pvc is not None and pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == "local-storage"
    assert pvc["status"]["capacity"]["storage"] == "20Gi"
    assert pvc["metadata"]["ownerReferences"][0]["kind"] == "DataVolume"
    await env.status_is("imp", "Running")
    reasons = [e["reason"] for e in env.events("imp-root")]
    assert "ImportInProgress" in reasons and "ImportSucceeded" in reasons


async def test_missing_pvc_and_failed_data_volume(env: Env) -> None:
    body = vm_manifest("nopvc")
    body["spec"]["template"]["spec"]["volumes"][0] = {
        "name": "rootdisk",
        "persistentVolumeClaim": {"claimName": "does-not-exist"},
    }
    env.create(body)
    await env.status_is("nopvc", "ErrorPvcNotFound")
    env.create(dv_vm("broken", import_seconds="60"))
    await env.status_is("broken", "Provisioning")

    def fail(o: dict) -> None:
        o["status"]["phase"] = "Failed"

    env.store.mutate(K.DATAVOLUMES, NS, "broken-root", fail)
    await env.status_is("broken", "DataVolumeError")


async def test_clone_from_a_data_source(env: Env) -> None:
    golden_ns = "kubevirt-os-images"
    env.create(
        {
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "DataVolume",
            "metadata": {"name": "fedora", "namespace": golden_ns},
            "spec": {
                "source": {"http": {"url": "https://example.com/f.qcow2"}},
                "storage": {"resources": {"requests": {"storage": "30Gi"}}},
            },
        }
    )
    env.create(
        {
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "DataSource",
            "metadata": {"name": "fedora", "namespace": golden_ns},
            "spec": {"source": {"pvc": {"namespace": golden_ns, "name": "fedora"}}},
        }
    )
    body = vm_manifest("cloned")
    body["spec"]["dataVolumeTemplates"] = [
        {
            "metadata": {"name": "cloned-root"},
            "spec": {
                "sourceRef": {"kind": "DataSource", "name": "fedora", "namespace": golden_ns},
                "storage": {"resources": {"requests": {"storage": "30Gi"}}},
            },
        }
    ]
    body["spec"]["template"]["spec"]["volumes"][0] = {
        "name": "rootdisk",
        "dataVolume": {"name": "cloned-root"},
    }
    env.create(body)
    await env.until(lambda: "Succeeded" in env.phases("DataVolume", "cloned-root"), "the clone")
    phases = env.phases("DataVolume", "cloned-root")
    assert phases == ["Pending", "CloneScheduled", "CloneInProgress", "Succeeded"]
    # The clone waited for the golden image's import.
    assert env.phases("DataVolume", "fedora")[-1] == "Succeeded"
    ds = env.store.peek(K.DATASOURCES, golden_ns, "fedora")
    assert next(c for c in ds["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"  # type: ignore[index]
    await env.status_is("cloned", "Running")


# -- migrations ---------------------------------------------------------------------------------


async def test_migration_moves_the_vmi_to_another_node(env: Env) -> None:
    env.sim.time_scale = 0.01
    env.create(vm_manifest("mover"))
    await env.status_is("mover", "Running")
    source_node = env.vmi("mover")["status"]["nodeName"]  # type: ignore[index]
    old_pod = env.pods("mover")[0]["metadata"]["name"]
    assert env.api.handle("PUT", "virtualmachines", NS, "mover", "migrate", {}) == (202, None)
    (mig,) = env.store.iter(K.VMIMS, NS)
    assert mig["metadata"]["name"].startswith("kubevirt-migrate-vm-")
    await env.status_is("mover", "Migrating")
    await env.until(
        lambda: (
            "Succeeded" in env.phases("VirtualMachineInstanceMigration", mig["metadata"]["name"])
        ),
        "the migration",
    )
    assert env.phases("VirtualMachineInstanceMigration", mig["metadata"]["name"]) == [
        "Pending",
        "Scheduling",
        "Scheduled",
        "PreparingTarget",
        "TargetReady",
        "Running",
        "Succeeded",
    ]
    vmi = env.vmi("mover")
    state = vmi["status"]["migrationState"]  # type: ignore[index]
    assert state["completed"] is True and state["sourceNode"] == source_node
    assert state["targetNode"] != source_node and state["mode"] == "PreCopy"
    assert state["startTimestamp"] and state["endTimestamp"]
    assert vmi["status"]["nodeName"] == state["targetNode"]  # type: ignore[index]
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == state["targetNode"]  # type: ignore[index]
    await env.until(
        lambda: [p["metadata"]["name"] for p in env.pods("mover")] == [state["targetPod"]],
        "one pod",
    )
    assert old_pod != state["targetPod"]
    await env.status_is("mover", "Running")
    mig = env.store.peek(K.VMIMS, NS, mig["metadata"]["name"])
    assert mig["metadata"]["labels"]["kubevirt.io/vmi-name"] == "mover"  # type: ignore[index]
    reasons = [e["reason"] for e in env.events("mover")]
    assert "Migrating" in reasons and "Migrated" in reasons


async def test_cancelling_a_running_migration(env: Env) -> None:
    body = vm_manifest("stay")
    body["metadata"]["annotations"] = {"demo.kvtui.io/migration-seconds": "600"}
    env.create(body)
    await env.status_is("stay", "Running")
    node = env.vmi("stay")["status"]["nodeName"]  # type: ignore[index]
    env.api.handle("PUT", "virtualmachines", NS, "stay", "migrate", {})
    (mig,) = env.store.iter(K.VMIMS, NS)
    name = mig["metadata"]["name"]
    await env.until(
        lambda: (
            (env.store.peek(K.VMIMS, NS, name) or {}).get("status", {}).get("phase") == "Running"
        ),
        "the migration Running",
    )
    await env.status_is("stay", "Migrating")
    failed: list[dict] = []
    env.store.subscribe(
        lambda ev: (
            ev.kind is K.VMIMS
            and (ev.obj.get("status") or {}).get("phase") == "Failed"
            and failed.append(ev.obj)
        )
    )
    env.store.delete(K.VMIMS, NS, name)
    await env.until(lambda: env.store.peek(K.VMIMS, NS, name) is None, "the migration gone")
    assert failed and failed[0]["metadata"]["deletionTimestamp"]
    assert failed[0]["status"]["migrationState"]["abortRequested"] is True
    vmi = env.vmi("stay")
    assert vmi["status"]["nodeName"] == node  # type: ignore[index]
    state = vmi["status"]["migrationState"]  # type: ignore[index]
    assert (
        state["abortRequested"] and state["abortStatus"] == "Succeeded" and not state["completed"]
    )
    await env.status_is("stay", "Running")
    assert len(env.pods("stay")) == 1


# -- snapshots, restores, clones, exports -------------------------------------------------------


def snapshot(name: str, vm: str) -> dict:
    return {
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineSnapshot",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}},
    }


def restore(name: str, vm: str, snap: str, policy: str | None = None) -> dict:
    body: dict = {
        "apiVersion": "snapshot.kubevirt.io/v1beta1",
        "kind": "VirtualMachineRestore",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm},
            "virtualMachineSnapshotName": snap,
        },
    }
    if policy:
        body["spec"]["targetReadinessPolicy"] = policy
    return body


async def test_snapshot_becomes_ready_with_its_content(env: Env) -> None:
    env.create(vm_manifest("snapped"))
    await env.status_is("snapped", "Running")
    await env.until(
        lambda: any(
            c["type"] == "AgentConnected" for c in env.vmi("snapped")["status"]["conditions"]
        ),  # type: ignore[index]
        "the agent",
    )
    env.create(snapshot("snap-1", "snapped"))
    snap = await env.until(
        lambda: (
            (s := env.store.peek(K.SNAPSHOTS, NS, "snap-1"))
            and (s.get("status") or {}).get("readyToUse")
            and s
        ),
        "the snapshot ready",
    )
    assert env.phases("VirtualMachineSnapshot", "snap-1") == ["InProgress", "Succeeded"]
    st = snap["status"]
    assert st["phase"] == "Succeeded" and st["creationTime"]
    assert st["indications"] == ["Online", "GuestAgent"]
    content = env.store.peek(K.SNAPSHOT_CONTENTS, NS, st["virtualMachineSnapshotContentName"])
    assert content is not None and content["status"]["readyToUse"] is True
    saved = content["spec"]["source"]["virtualMachine"]
    assert saved["spec"]["template"] == env.vm("snapped")["spec"]["template"]  # type: ignore[index]


async def test_restore_waits_for_a_stopped_target_then_completes(env: Env) -> None:
    env.create(vm_manifest("rest"))
    await env.status_is("rest", "Running")
    env.create(snapshot("rest-snap", "rest"))
    await env.until(
        lambda: (
            (env.store.peek(K.SNAPSHOTS, NS, "rest-snap") or {}).get("status", {}).get("readyToUse")
        ),
        "the snapshot",
    )
    # Change the VM after the snapshot; the restore brings the old spec back.
    vm = env.store.get(K.VMS, NS, "rest")
    vm["metadata"].setdefault("labels", {})["changed"] = "yes"
    vm["spec"]["template"]["spec"]["domain"]["cpu"]["cores"] = 2
    env.store.update(K.VMS, vm)
    env.create(restore("rest-1", "rest", "rest-snap"))
    waiting = await env.until(
        lambda: (r := env.store.peek(K.RESTORES, NS, "rest-1")) and r.get("status") and r,
        "the restore's status",
    )
    assert waiting["status"]["complete"] is False
    cond = next(c for c in waiting["status"]["conditions"] if c["type"] == "Progressing")
    assert "must be stopped" in cond["message"]
    env.api.handle("PUT", "virtualmachines", NS, "rest", "stop", {})
    done = await env.until(
        lambda: (
            (r := env.store.peek(K.RESTORES, NS, "rest-1")) and r["status"].get("complete") and r
        ),
        "the restore complete",
    )
    assert done["status"]["restoreTime"]
    assert env.vm("rest")["spec"]["template"]["spec"]["domain"]["cpu"]["cores"] == 1  # type: ignore[index]
    assert env.vm("rest")["spec"]["runStrategy"] == "Halted"  # type: ignore[index]


async def test_restore_with_stop_target_stops_the_vm(env: Env) -> None:
    env.create(vm_manifest("stopper"))
    await env.status_is("stopper", "Running")
    env.create(snapshot("stopper-snap", "stopper"))
    await env.until(
        lambda: (
            (env.store.peek(K.SNAPSHOTS, NS, "stopper-snap") or {})
            .get("status", {})
            .get("readyToUse")
        ),
        "the snapshot",
    )
    env.create(restore("stopper-1", "stopper", "stopper-snap", "StopTarget"))
    await env.until(
        lambda: (
            (env.store.peek(K.RESTORES, NS, "stopper-1") or {}).get("status", {}).get("complete")
        ),
        "the restore complete",
    )
    assert env.vmi("stopper") is None


async def test_clone_creates_the_target_vm(env: Env) -> None:
    body = vm_manifest("orig")
    body["metadata"]["labels"].update({"team": "a", "skip-me": "x"})
    body["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["macAddress"] = (
        "02:00:00:00:00:01"
    )
    env.create(body)
    await env.status_is("orig", "Running")
    env.create(
        {
            "apiVersion": "clone.kubevirt.io/v1beta1",
            "kind": "VirtualMachineClone",
            "metadata": {"name": "copy-it", "namespace": NS},
            "spec": {
                "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "orig"},
                "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "copy"},
                "labelFilters": ["*", "!skip-me"],
                "newMacAddresses": {"default": "02:00:00:00:00:99"},
            },
        }
    )
    await env.until(
        lambda: "Succeeded" in env.phases("VirtualMachineClone", "copy-it"), "the clone"
    )
    assert env.phases("VirtualMachineClone", "copy-it") == [
        "SnapshotInProgress",
        "CreatingTargetVM",
        "RestoreInProgress",
        "Succeeded",
    ]
    clone = env.store.peek(K.CLONES, NS, "copy-it")
    assert clone["status"]["targetName"] == "copy"  # type: ignore[index]
    copy_vm = env.vm("copy")
    assert copy_vm is not None
    assert copy_vm["metadata"]["labels"] == {"app": "orig", "team": "a"}
    iface = copy_vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
    assert iface["macAddress"] == "02:00:00:00:00:99"
    await env.status_is("copy", "Running")
    # The temporary snapshot is cleaned up.
    await env.until(lambda: not env.store.iter(K.SNAPSHOTS, NS), "the temporary snapshot gone")


async def test_export_is_ready_once_the_vm_is_stopped(env: Env) -> None:
    env.create(dv_vm("exp", import_seconds=None))
    await env.status_is("exp", "Running")
    env.create(
        {
            "apiVersion": "export.kubevirt.io/v1",
            "kind": "VirtualMachineExport",
            "metadata": {"name": "exp-export", "namespace": NS},
            "spec": {
                "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "exp"}
            },
        }
    )
    pending = await env.until(
        lambda: (e := env.store.peek(K.EXPORTS, NS, "exp-export")) and e.get("status") and e,
        "the export's status",
    )
    assert pending["status"]["phase"] == "Pending"
    cond = next(c for c in pending["status"]["conditions"] if c["type"] == "Ready")
    assert cond["status"] == "False" and "running" in cond["message"]
    env.api.handle("PUT", "virtualmachines", NS, "exp", "stop", {})
    ready = await env.until(
        lambda: (
            (e := env.store.peek(K.EXPORTS, NS, "exp-export"))
            and e["status"]["phase"] == "Ready"
            and e
        ),
        "the export Ready",
    )
    links = ready["status"]["links"]
    (volume,) = links["internal"]["volumes"]
    assert volume["name"] == "exp-root"
    assert any(f["url"].endswith("/volumes/exp-root/disk.img") for f in volume["formats"])
    assert links["external"]["volumes"][0]["formats"][0]["url"].startswith("https://")
    assert ready["status"]["tokenSecretRef"] == "export-token-exp-export"


# -- the seeded demo ----------------------------------------------------------------------------


async def test_every_seeded_vm_reaches_its_intended_state() -> None:
    store = Store()
    store.admit = runtime.admit
    runtime.load(store, seed.seed_objects())
    sim = Simulator(store, time_scale=SCALE)
    await sim.start()
    sim.apply_seed_actions(seed.seed_actions())
    try:

        def states() -> dict:
            return {
                key: ((store.peek(K.VMS, *key) or {}).get("status") or {}).get("printableStatus")
                for key in seed.INTENDED_STATES
            }

        for _ in range(1000):
            if states() == seed.INTENDED_STATES:
                break
            await asyncio.sleep(0.01)
        assert states() == seed.INTENDED_STATES
        await asyncio.sleep(0.1)  # and they stay there
        assert states() == seed.INTENDED_STATES
        assert sim.errors == []
        # Snapshots of seeded VMs are taken too.
        for snap in store.iter(K.SNAPSHOTS):
            assert snap["status"]["readyToUse"] is True
        golden = store.peek(K.DATAVOLUMES, "vm-dev", "build-centos-rootdisk")
        assert golden is not None and golden["status"]["phase"] == "ImportInProgress"
    finally:
        await sim.stop()


async def test_settle_returns_once_idle() -> None:
    store = Store()
    store.admit = runtime.admit
    runtime.load(store, base_objects())
    sim = Simulator(store, time_scale=SCALE)
    await sim.start()
    try:
        store.create(K.VMS, vm_manifest("settled"))
        await sim.settle()
        vm = store.peek(K.VMS, NS, "settled")
        assert vm is not None and vm["status"]["printableStatus"] == "Running"
    finally:
        await sim.stop()
