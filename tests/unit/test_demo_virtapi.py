"""virt-api's subresources on the demo cluster: KubeVirt's status codes and error texts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tui.cluster import kinds as K
from tui.demo import runtime, seed
from tui.demo.controllers import Simulator
from tui.demo.errors import ApiError
from tui.demo.store import Store
from tui.demo.virtapi import VirtApi

NS = "default"
VMS, VMIS = "virtualmachines", "virtualmachineinstances"


def vm_manifest(name: str, run_strategy: str = "Halted", cloud_init: bool = True) -> dict:
    volumes: list[dict] = [
        {"name": "rootdisk", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}
    ]
    disks: list[dict] = [{"name": "rootdisk", "disk": {"bus": "virtio"}}]
    if cloud_init:
        volumes.append(
            {
                "name": "cloudinitdisk",
                "cloudInitNoCloud": {"userData": "#cloud-config\nuser: fedora\npassword: fedora\n"},
            }
        )
        disks.append({"name": "cloudinitdisk", "disk": {"bus": "virtio"}})
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "runStrategy": run_strategy,
            "template": {
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": disks,
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                        "memory": {"guest": "1Gi"},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "terminationGracePeriodSeconds": 0,
                    "volumes": volumes,
                }
            },
        },
    }


class Env:
    def __init__(self, store: Store, sim: Simulator) -> None:
        self.store = store
        self.sim = sim
        self.api = VirtApi(store, sim)

    def call(
        self, resource: str, name: str, sub: str, body: dict | None = None, **kw: Any
    ) -> tuple[int, Any]:
        method = (
            "GET" if sub in ("expand-spec", "guestosinfo", "userlist", "filesystemlist") else "PUT"
        )
        return self.api.handle(method, resource, NS, name, sub, body, **kw)

    def error(self, resource: str, name: str, sub: str, body: dict | None = None) -> ApiError:
        with pytest.raises(ApiError) as info:
            self.call(resource, name, sub, body)
        return info.value

    def vm(self, name: str) -> dict:
        return self.store.get(K.VMS, NS, name)

    def vmi(self, name: str) -> dict | None:
        return self.store.peek(K.VMIS, NS, name)

    async def until(self, predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        for _ in range(int(timeout / 0.01)):
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")

    async def running(self, name: str, run_strategy: str = "Always", **kw: Any) -> dict:
        """Create a VM and wait until its VMI runs (with the agent, when it has cloud-init)."""
        self.store.create(K.VMS, vm_manifest(name, run_strategy, **kw))
        if run_strategy == "Manual":
            self.call(VMS, name, "start", {})
        agent = kw.get("cloud_init", True)

        def up() -> dict | None:
            vmi = self.vmi(name)
            if not vmi or (vmi.get("status") or {}).get("phase") != "Running":
                return None
            conds = {c["type"] for c in vmi["status"].get("conditions", [])}
            return vmi if not agent or "AgentConnected" in conds else None

        return await self.until(up, f"{name} running")


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    store = Store()
    store.admit = runtime.admit
    wanted = {"Namespace", "Node", "StorageClass", "VirtualMachineClusterInstancetype"}
    runtime.load(store, [o for o in seed.seed_objects() if o["kind"] in wanted])
    sim = Simulator(store, time_scale=0.001)
    await sim.start()
    yield Env(store, sim)
    await sim.stop()
    assert sim.errors == []


def conflict(resource: str, name: str, why: str) -> str:
    return f'Operation cannot be fulfilled on {resource}.kubevirt.io "{name}": {why}'


# -- start ---------------------------------------------------------------------------------------


async def test_start_of_a_missing_vm_is_404(env: Env) -> None:
    err = env.error(VMS, "ghost", "start", {})
    assert (err.code, err.reason) == (404, "NotFound")
    assert err.message == 'virtualmachine.kubevirt.io "ghost" not found'


async def test_start_halted_patches_run_strategy_and_then_conflicts(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("h"))
    assert env.call(VMS, "h", "start", {}) == (202, None)
    assert env.vm("h")["spec"]["runStrategy"] == "Always"
    err = env.error(VMS, "h", "start", {})
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == conflict(
        "virtualmachine", "h", "Always does not support manual start requests"
    )
    await env.until(
        lambda: (env.vmi("h") or {}).get("status", {}).get("phase") == "Running", "Running"
    )
    err = env.error(VMS, "h", "start", {})
    assert err.message == conflict("virtualmachine", "h", "VM is already running")


async def test_start_once_is_refused(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("once", "Once"))
    err = env.error(VMS, "once", "start", {})
    assert err.code == 409
    assert err.message == conflict(
        "virtualmachine", "once", "Once does not support manual start requests"
    )


async def test_start_manual_adds_a_state_change_request(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("m", "Manual"))
    env.sim._stopped = True  # freeze the controllers to see the request itself
    assert env.call(VMS, "m", "start", {}) == (202, None)
    assert env.vm("m")["status"]["stateChangeRequests"] == [{"action": "Start"}]
    assert env.vm("m")["spec"]["runStrategy"] == "Manual"
    # A second start while the first is pending: virt-api's patch builder refuses.
    err = env.error(VMS, "m", "start", {})
    assert err.code == 500
    assert "unable to complete request: stop/start already underway" in err.message


async def test_start_paused(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("p"))
    env.call(VMS, "p", "start", {"paused": True})
    await env.until(
        lambda: (
            ((env.store.peek(K.VMS, NS, "p") or {}).get("status") or {}).get("printableStatus")
            == "Paused"
        ),
        "Paused",
    )


async def test_dry_run_start_changes_nothing(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("dry"))
    assert env.call(VMS, "dry", "start", {"dryRun": ["All"]}) == (202, None)
    assert env.call(VMS, "dry", "start", {}, dry_run=True) == (202, None)
    after = env.vm("dry")
    assert after["spec"]["runStrategy"] == "Halted" and after["metadata"]["generation"] == 1
    await asyncio.sleep(0.05)
    assert env.vmi("dry") is None


# -- stop and restart ----------------------------------------------------------------------------


async def test_stop_conflicts_when_not_running(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("idle"))
    err = env.error(VMS, "idle", "stop", {})
    assert (err.code, err.message) == (409, conflict("virtualmachine", "idle", "VM is not running"))
    env.store.create(K.VMS, vm_manifest("idle-manual", "Manual"))
    err = env.error(VMS, "idle-manual", "stop", {})
    assert err.message == conflict("virtualmachine", "idle-manual", "VM is not running")


async def test_stop_manual_requests_a_stop_for_the_running_vmi(env: Env) -> None:
    vmi = await env.running("mm", "Manual")
    env.sim._stopped = True
    assert env.call(VMS, "mm", "stop", {}) == (202, None)
    requests = env.vm("mm")["status"]["stateChangeRequests"]
    assert requests == [{"action": "Stop", "uid": vmi["metadata"]["uid"]}]


async def test_stop_always_halts(env: Env) -> None:
    await env.running("al")
    assert env.call(VMS, "al", "stop", None) == (202, None)
    assert env.vm("al")["spec"]["runStrategy"] == "Halted"
    await env.until(lambda: env.vmi("al") is None, "the VMI gone")
    err = env.error(VMS, "al", "stop", {})
    assert err.message == conflict("virtualmachine", "al", "VM is not running")


async def test_stop_halted_running_vm_needs_a_shorter_grace_period(env: Env) -> None:
    await env.running("graceful")
    env.sim._stopped = True  # keep the VMI while the VM says Halted
    env.store.mutate(K.VMS, NS, "graceful", lambda o: o["spec"].update(runStrategy="Halted"))
    err = env.error(VMS, "graceful", "stop", {})
    assert err.message == conflict(
        "virtualmachine",
        "graceful",
        "Halted only supports manual stop requests with a shorter graceperiod",
    )


async def test_restart_errors(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("r"))
    err = env.error(VMS, "r", "restart", {"gracePeriodSeconds": 5})
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == "For force restart, only gracePeriod=0 is supported for now"
    err = env.error(VMS, "r", "restart", {"gracePeriodSeconds": -1})
    assert err.message == "gracePeriod has to be greater or equal to 0"
    err = env.error(VMS, "r", "restart", {})
    assert err.code == 409
    assert err.message == conflict(
        "virtualmachine", "r", "RunStategy Halted does not support manual restart requests"
    )
    env.store.create(K.VMS, vm_manifest("r2", "Manual"))
    err = env.error(VMS, "r2", "restart", {})
    assert err.message == conflict("virtualmachine", "r2", "VM is not running: Halted")


async def test_restart_requests_stop_then_start(env: Env) -> None:
    vmi = await env.running("rs")
    env.sim._stopped = True
    assert env.call(VMS, "rs", "restart", {}) == (202, None)
    assert env.vm("rs")["status"]["stateChangeRequests"] == [
        {"action": "Stop", "uid": vmi["metadata"]["uid"]},
        {"action": "Start"},
    ]


async def test_force_restart_with_grace_zero(env: Env) -> None:
    vmi = await env.running("force")
    assert env.call(VMS, "force", "restart", {"gracePeriodSeconds": 0}) == (202, None)
    await env.until(
        lambda: (
            (v := env.vmi("force"))
            and v["metadata"]["uid"] != vmi["metadata"]["uid"]
            and v["status"].get("phase") == "Running"
        ),
        "a new VMI",
    )


# -- migrate -------------------------------------------------------------------------------------


async def test_migrate_errors_and_success(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("mig"))
    err = env.error(VMS, "mig", "migrate", {})
    assert err.code == 404 and err.message == 'virtualmachineinstance.kubevirt.io "mig" not found'
    await env.running("mig2")
    assert env.call(VMS, "mig2", "migrate", {"dryRun": ["All"]}) == (202, None)
    assert env.store.iter(K.VMIMS, NS) == []
    assert env.call(VMS, "mig2", "migrate", {}) == (202, None)
    (mig,) = env.store.iter(K.VMIMS, NS)
    assert mig["metadata"]["name"].startswith("kubevirt-migrate-vm-")
    assert mig["spec"] == {"vmiName": "mig2"}
    err = env.error(VMS, "mig2", "migrate", {})
    assert err.code == 500 and "in-flight migration detected" in err.message


async def test_migrate_a_vm_that_cannot_migrate(env: Env) -> None:
    body = vm_manifest("bridged")
    body["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = [
        {"name": "default", "bridge": {}}
    ]
    body["spec"]["runStrategy"] = "Always"
    env.store.create(K.VMS, body)
    await env.until(
        lambda: (env.vmi("bridged") or {}).get("status", {}).get("phase") == "Running", "Running"
    )
    err = env.error(VMS, "bridged", "migrate", {})
    assert err.code == 500
    assert "Cannot migrate VMI, Reason: InterfaceNotLiveMigratable" in err.message


async def test_migrate_conflicts_when_not_running(env: Env) -> None:
    body = vm_manifest("stuck", "Always")
    body["spec"]["template"]["spec"]["nodeSelector"] = {"no": "such-node"}
    env.store.create(K.VMS, body)
    await env.until(lambda: env.vmi("stuck"), "the VMI")
    err = env.error(VMS, "stuck", "migrate", {})
    assert (err.code, err.message) == (
        409,
        conflict("virtualmachine", "stuck", "VM is not running"),
    )


# -- volumes -------------------------------------------------------------------------------------


async def test_addvolume_validation(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("vol"))
    err = env.error(VMS, "vol", "addvolume", None)
    assert (err.code, err.message) == (
        400,
        "Request with no body, a new name is expected as the request body",
    )
    err = env.error(VMS, "vol", "addvolume", {})
    assert err.message == "AddVolumeOptions requires name to be set"
    err = env.error(VMS, "vol", "addvolume", {"name": "x"})
    assert err.message == "AddVolumeOptions requires disk to not be nil"
    err = env.error(VMS, "vol", "addvolume", {"name": "x", "disk": {}})
    assert err.message == "AddVolumeOptions requires VolumeSource to not be nil"
    err = env.error(
        VMS,
        "vol",
        "addvolume",
        {"name": "rootdisk", "disk": {}, "volumeSource": {"dataVolume": {"name": "d"}}},
    )
    assert (err.code, err.message) == (
        409,
        conflict(
            "virtualmachine",
            "vol",
            "Unable to add volume [rootdisk] because volume with that name already exists",
        ),
    )


async def test_addvolume_and_removevolume_patch_the_template(env: Env) -> None:
    env.store.create(K.VMS, vm_manifest("hp"))
    body = {
        "name": "data",
        "disk": {"disk": {"bus": "scsi"}},
        "volumeSource": {"persistentVolumeClaim": {"claimName": "data-pvc"}},
    }
    assert env.call(VMS, "hp", "addvolume", {**body, "dryRun": ["All"]}) == (202, None)
    assert len(env.vm("hp")["spec"]["template"]["spec"]["volumes"]) == 2
    assert env.call(VMS, "hp", "addvolume", body) == (202, None)
    tspec = env.vm("hp")["spec"]["template"]["spec"]
    assert tspec["volumes"][-1] == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "data-pvc", "hotpluggable": True},
    }
    assert tspec["domain"]["devices"]["disks"][-1] == {"name": "data", "disk": {"bus": "scsi"}}
    err = env.error(
        VMS,
        "hp",
        "addvolume",
        {
            "name": "other",
            "disk": {},
            "volumeSource": {"persistentVolumeClaim": {"claimName": "data-pvc"}},
        },
    )
    assert err.message == conflict(
        "virtualmachine", "hp", "Unable to add volume source [data-pvc] because it already exists"
    )
    err = env.error(VMS, "hp", "removevolume", {})
    assert (err.code, err.message) == (400, "RemoveVolumeOptions requires name to be set")
    err = env.error(VMS, "hp", "removevolume", {"name": "nope"})
    assert err.message == conflict(
        "virtualmachine", "hp", "Unable to remove volume [nope] because it does not exist"
    )
    err = env.error(VMS, "hp", "removevolume", {"name": "rootdisk"})
    assert err.message == conflict(
        "virtualmachine", "hp", "Unable to remove volume [rootdisk] because it is not hotpluggable"
    )
    assert env.call(VMS, "hp", "removevolume", {"name": "data"}) == (202, None)
    tspec = env.vm("hp")["spec"]["template"]["spec"]
    assert [v["name"] for v in tspec["volumes"]] == ["rootdisk", "cloudinitdisk"]
    assert [d["name"] for d in tspec["domain"]["devices"]["disks"]] == ["rootdisk", "cloudinitdisk"]


async def test_vmi_addvolume_is_refused_for_a_vm_owned_vmi(env: Env) -> None:
    await env.running("owned")
    body = {"name": "x", "disk": {}, "volumeSource": {"dataVolume": {"name": "x"}}}
    err = env.error(VMIS, "owned", "addvolume", body)
    assert err.code == 400 and "owned by a VirtualMachine" in err.message
    err = env.error(VMIS, "owned", "removevolume", {"name": "x"})
    assert err.code == 400


# -- expand-spec ---------------------------------------------------------------------------------


async def test_expand_spec_applies_the_instancetype(env: Env) -> None:
    body = vm_manifest("typed")
    del body["spec"]["template"]["spec"]["domain"]["memory"]
    body["spec"]["instancetype"] = {"name": "u1.medium"}
    env.store.create(K.VMS, body)
    status, expanded = env.call(VMS, "typed", "expand-spec")
    assert status == 200
    domain = expanded["spec"]["template"]["spec"]["domain"]
    assert domain["memory"]["guest"] == "4Gi" and domain["cpu"]["sockets"] == 1
    assert "instancetype" not in expanded["spec"]
    body = vm_manifest("mistyped")
    del body["spec"]["template"]["spec"]["domain"]["memory"]
    body["spec"]["instancetype"] = {"name": "u9.huge"}
    env.store.create(K.VMS, body)
    err = env.error(VMS, "mistyped", "expand-spec")
    assert err.code == 400 and "u9.huge" in err.message


# -- VMI verbs -------------------------------------------------------------------------------------


async def test_pause_unpause_errors(env: Env) -> None:
    err = env.error(VMIS, "ghost", "pause", {})
    assert (err.code, err.message) == (404, 'virtualmachineinstance.kubevirt.io "ghost" not found')
    await env.running("pz")
    err = env.error(VMIS, "pz", "unpause", {})
    assert (err.code, err.message) == (
        409,
        conflict("virtualmachineinstance", "pz", "VMI is not paused"),
    )
    assert env.call(VMIS, "pz", "pause", {"dryRun": ["All"]}) == (200, None)
    assert not any(c["type"] == "Paused" for c in env.vmi("pz")["status"]["conditions"])  # type: ignore[index]
    assert env.call(VMIS, "pz", "pause", {}) == (200, None)
    err = env.error(VMIS, "pz", "pause", {})
    assert err.message == conflict("virtualmachineinstance", "pz", "VMI is already paused")
    err = env.error(VMIS, "pz", "softreboot", None)
    assert err.message == conflict("virtualmachineinstance", "pz", "VMI is paused")
    assert env.call(VMIS, "pz", "unpause", {}) == (200, None)


async def test_vmi_verbs_on_a_vmi_that_is_not_running(env: Env) -> None:
    body = vm_manifest("pending", "Always")
    body["spec"]["template"]["spec"]["nodeSelector"] = {"no": "such-node"}
    env.store.create(K.VMS, body)
    await env.until(
        lambda: (env.vmi("pending") or {}).get("status", {}).get("phase") == "Scheduling",
        "Scheduling",
    )
    err = env.error(VMIS, "pending", "pause", {})
    assert err.message == conflict("virtualmachineinstance", "pending", "VM is not running")
    err = env.error(VMIS, "pending", "unpause", {})
    assert err.message == conflict("virtualmachineinstance", "pending", "VMI is not running")
    err = env.error(VMIS, "pending", "softreboot", None)
    assert err.code == 409
    err = env.error(VMIS, "pending", "reset", None)
    assert err.code == 400
    assert err.message.startswith("Failed to reset non-running VMI with phase Scheduling: ")
    err = env.error(VMIS, "pending", "freeze", {"unfreezeTimeout": "5m0s"})
    assert err.message == conflict("virtualmachineinstance", "pending", "VM is not running")
    err = env.error(VMIS, "pending", "unfreeze", None)
    assert err.message == conflict("virtualmachineinstance", "pending", "VMI is not running")
    err = env.error(VMIS, "pending", "guestosinfo")
    assert (err.code, err.reason) == (500, "InternalError")
    assert err.message == conflict("virtualmachineinstance", "pending", "VMI is not running")


async def test_freeze_needs_a_timeout_and_sets_the_status(env: Env) -> None:
    await env.running("fz")
    err = env.error(VMIS, "fz", "freeze", {})
    assert (err.code, err.message) == (400, "UnfreezeTimeout has to be set")
    assert env.call(VMIS, "fz", "freeze", {"unfreezeTimeout": "5m0s"}) == (200, None)
    assert env.vmi("fz")["status"]["fsFreezeStatus"] == "frozen"  # type: ignore[index]
    status, info = env.call(VMIS, "fz", "guestosinfo")
    assert info["fsFreezeStatus"] == "frozen"
    assert env.call(VMIS, "fz", "unfreeze", None) == (200, None)
    assert "fsFreezeStatus" not in env.vmi("fz")["status"]  # type: ignore[index]


async def test_softreboot_and_reset(env: Env) -> None:
    await env.running("rb")
    assert env.call(VMIS, "rb", "softreboot", None) == (200, None)
    assert env.call(VMIS, "rb", "reset", None) == (200, None)


async def test_guest_agent_endpoints(env: Env) -> None:
    await env.running("ga")
    status, info = env.call(VMIS, "ga", "guestosinfo")
    assert status == 200
    assert info["os"]["id"] == "fedora" and info["hostname"] == "ga"
    assert info["guestAgentVersion"] and info["timezone"]
    status, users = env.call(VMIS, "ga", "userlist")
    assert status == 200 and users["items"][0]["userName"] == "fedora"
    status, fs = env.call(VMIS, "ga", "filesystemlist")
    assert status == 200 and fs["items"][0]["mountPoint"] == "/"
    assert fs["items"][0]["totalBytes"] >= fs["items"][0]["usedBytes"] > 0


async def test_guest_agent_endpoints_without_an_agent(env: Env) -> None:
    await env.running("noagent", cloud_init=False)
    for sub in ("guestosinfo", "userlist", "filesystemlist"):
        err = env.error(VMIS, "noagent", sub)
        assert err.code == 500
        assert err.message == conflict(
            "virtualmachineinstance", "noagent", "VMI does not have guest agent connected"
        )


async def test_unknown_subresource_is_404(env: Env) -> None:
    with pytest.raises(ApiError) as info:
        env.api.handle("PUT", VMS, NS, "x", "frobnicate", {})
    assert info.value.code == 404
