"""virt-api's `subresources.kubevirt.io/v1` for the demo cluster (except the console).

Each verb follows KubeVirt's handler (pkg/virt-api/rest/lifecycle.go, volumes.go, expand.go):
the same checks in the same order, the same status codes and error texts. VM verbs change the
VM the way virt-api does (a patch of `spec.runStrategy`, or `status.stateChangeRequests` for the
strategies that keep their spec) and leave the rest to the simulated virt-controller; VMI verbs
that virt-api forwards to virt-handler (pause, freeze, ...) are done by the simulator directly.
"""

from __future__ import annotations

import copy
from typing import Any

from tui.cluster import kinds as K
from tui.demo.controllers import (
    Simulator,
    condition_true,
    expand_vm,
    hotpluggable,
    owner_of_kind,
    parse_duration,
    phase_of,
    run_strategy,
    vmi_final,
)
from tui.demo.errors import ApiError
from tui.demo.store import Store

Obj = dict[str, Any]

VM_NOT_RUNNING = "VM is not running"
VMI_NOT_RUNNING = "VMI is not running"
VMI_NOT_PAUSED = "VMI is not paused"
VMI_GUEST_AGENT = "VMI does not have guest agent connected"
SNAPSHOT_IN_PROGRESS = "VM snapshot is in progress"
CHANGE_UNDERWAY = "unable to complete request: stop/start already underway"


def _details(resource: str, name: str) -> dict[str, Any]:
    return {"name": name, "group": "kubevirt.io", "kind": resource}


def conflict(resource: str, name: str, why: str) -> ApiError:
    """errors.NewConflict(v1.Resource(resource), name, why): note the singular resource."""
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {resource}.kubevirt.io "{name}": {why}',
        details=_details(resource, name),
    )


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(
        404, f'{resource}.kubevirt.io "{name}" not found', details=_details(resource, name)
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def internal(message: str) -> ApiError:
    return ApiError(
        500, f"Internal error occurred: {message}", details={"causes": [{"message": message}]}
    )


def _wants_dry_run(body: Any, flag: bool) -> bool:
    if flag:
        return True
    if isinstance(body, dict):
        dry = body.get("dryRun")
        return isinstance(dry, list) and len(dry) > 0 and dry[0] == "All"
    return False


class VirtApi:
    """The subresource verbs on VMs and VMIs; `handle` returns (HTTP status, body or None)."""

    def __init__(self, store: Store, sim: Simulator) -> None:
        self.store = store
        self.sim = sim

    def handle(
        self,
        method: str,
        resource: str,
        namespace: str,
        name: str,
        sub: str,
        body: dict | None,
        *,
        dry_run: bool = False,
    ) -> tuple[int, Any]:
        """Serve one subresource request; raises ApiError for a Status answer."""
        if body is not None and not isinstance(body, dict):
            raise bad_request(
                f"Can not unmarshal Request body to struct, error: json: cannot unmarshal "
                f"{type(body).__name__} into Go value of type struct"
            )
        dry = _wants_dry_run(body, dry_run)
        if resource == "virtualmachines":
            handler = {
                "start": self._start,
                "stop": self._stop,
                "restart": self._restart,
                "migrate": self._migrate,
                "addvolume": self._vm_addvolume,
                "removevolume": self._vm_removevolume,
                "expand-spec": self._expand_spec,
            }.get(sub)
        elif resource == "virtualmachineinstances":
            handler = {
                "pause": self._pause,
                "unpause": self._unpause,
                "softreboot": self._softreboot,
                "reset": self._reset,
                "freeze": self._freeze,
                "unfreeze": self._unfreeze,
                "guestosinfo": self._guestosinfo,
                "userlist": self._userlist,
                "filesystemlist": self._filesystemlist,
                "addvolume": self._vmi_addvolume,
                "removevolume": self._vmi_removevolume,
            }.get(sub)
        else:
            handler = None
        if handler is None:
            raise ApiError(404, "the server could not find the requested resource")
        return handler(namespace, name, body or {}, body is not None, dry)

    # -- fetching ------------------------------------------------------------------------------

    def _vm(self, ns: str, name: str) -> Obj:
        vm = self.store.try_get(K.VMS, ns, name)
        if vm is None:
            raise not_found("virtualmachine", name)
        return vm

    def _vmi(self, ns: str, name: str) -> Obj:
        vmi = self.store.try_get(K.VMIS, ns, name)
        if vmi is None:
            raise not_found("virtualmachineinstance", name)
        return vmi

    # -- writing the VM as virt-api does -----------------------------------------------------

    def _patch_run_strategy(self, vm: Obj, running: bool, dry: bool) -> None:
        """getRunningPatch: runStrategy Always/Halted, or the deprecated running true/false."""
        spec = vm.get("spec") or {}
        if spec.get("runStrategy"):
            ops = [
                {"op": "test", "path": "/spec/runStrategy", "value": spec["runStrategy"]},
                {
                    "op": "replace",
                    "path": "/spec/runStrategy",
                    "value": "Always" if running else "Halted",
                },
            ]
        else:
            ops = [
                {"op": "test", "path": "/spec/running", "value": spec.get("running")},
                {"op": "replace", "path": "/spec/running", "value": running},
            ]
        self._json_patch(vm, ops, dry)

    def _json_patch(self, vm: Obj, ops: list[Obj], dry: bool, *, status: bool = False) -> None:
        m = vm["metadata"]
        try:
            self.store.patch(
                K.VMS,
                m["namespace"],
                m["name"],
                ops,
                "application/json-patch+json",
                subresource="status" if status else None,
                dry_run=dry,
            )
        except ApiError as exc:
            if exc.code == 422 and not exc.details:
                # The patch itself did not apply (a failed `test` op): the VM changed meanwhile.
                raise conflict(
                    "virtualmachine", m["name"], "jsonpatch test operation does not apply"
                ) from exc
            if exc.code == 422:
                raise
            raise internal(exc.message) from exc

    def _change_requests(self, vm: Obj, changes: list[Obj], dry: bool) -> None:
        """getChangeRequestJson: append to status.stateChangeRequests (a lone Stop replaces)."""
        status = vm.get("status") or {}
        existing = status.get("stateChangeRequests") or []
        ops: list[Obj]
        if not status:
            ops = [{"op": "add", "path": "/status", "value": {"stateChangeRequests": changes}}]
        else:
            ops = [
                {
                    "op": "test",
                    "path": "/status/stateChangeRequests",
                    "value": existing or None,
                }
            ]
            if not existing:
                ops = [{"op": "add", "path": "/status/stateChangeRequests", "value": changes}]
            elif len(changes) == 1 and changes[0]["action"] == "Stop":
                ops.append(
                    {"op": "replace", "path": "/status/stateChangeRequests", "value": changes}
                )
            else:
                raise internal(CHANGE_UNDERWAY)
            if status.get("startFailure") is not None:
                ops.append({"op": "remove", "path": "/status/startFailure"})
        self._json_patch(vm, ops, dry, status=True)

    # -- VM verbs --------------------------------------------------------------------------------

    def _start(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        vm = self._vm(ns, name)
        vmi = self.store.try_get(K.VMIS, ns, name)
        if vmi is not None and not vmi_final(vmi) and phase_of(vmi) not in ("", "Unknown"):
            raise conflict("virtualmachine", name, "VM is already running")
        paused = bool(body.get("paused"))
        strategy = run_strategy(vm)
        if strategy == "Halted":
            self._patch_run_strategy(vm, True, dry)
            if paused:
                vm = self._vm(ns, name) if not dry else vm
                self._change_requests(vm, [{"action": "Start", "data": {"paused": "true"}}], dry)
        elif strategy in ("RerunOnFailure", "Manual"):
            data = {"paused": "true"} if paused else None
            start: Obj = {"action": "Start"}
            if data:
                start["data"] = data
            needs_restart = (
                strategy == "RerunOnFailure" and vmi is not None and phase_of(vmi) == "Succeeded"
            ) or (strategy == "Manual" and vmi is not None and vmi_final(vmi))
            if strategy == "RerunOnFailure" and vmi is not None and phase_of(vmi) == "Failed":
                raise conflict(
                    "virtualmachine",
                    name,
                    "RerunOnFailure does not support starting VM from failed state",
                )
            if needs_restart:
                assert vmi is not None
                changes = [{"action": "Stop", "uid": vmi["metadata"]["uid"]}, start]
            else:
                changes = [start]
            self._change_requests(vm, changes, dry)
        else:  # Always, Once
            raise conflict(
                "virtualmachine", name, f"{strategy} does not support manual start requests"
            )
        return 202, None

    def _stop(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        vm = self._vm(ns, name)
        strategy = run_strategy(vm)
        vmi = self.store.try_get(K.VMIS, ns, name)
        has_vmi = vmi is not None
        grace = body.get("gracePeriod")
        old_grace = None
        if has_vmi and not vmi_final(vmi) and grace is not None:
            assert vmi is not None
            old_grace = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds")
            if not dry:

                def shorten(o: Obj) -> None:
                    o.setdefault("spec", {})["terminationGracePeriodSeconds"] = int(grace)

                self.store.mutate(K.VMIS, ns, name, shorten)
        if strategy == "Halted":
            if not has_vmi or vmi_final(vmi):
                raise conflict("virtualmachine", name, VM_NOT_RUNNING)
            if grace is None or (old_grace is not None and int(grace) >= int(old_grace)):
                raise conflict(
                    "virtualmachine",
                    name,
                    "Halted only supports manual stop requests with a shorter graceperiod",
                )
            assert vmi is not None
            self._change_requests(vm, [{"action": "Stop", "uid": vmi["metadata"]["uid"]}], dry)
        elif strategy in ("RerunOnFailure", "Manual"):
            if not has_vmi or vmi_final(vmi):
                raise conflict("virtualmachine", name, VM_NOT_RUNNING)
            assert vmi is not None
            self._change_requests(vm, [{"action": "Stop", "uid": vmi["metadata"]["uid"]}], dry)
        else:  # Always, Once
            self._patch_run_strategy(vm, False, dry)
        return 202, None

    def _restart(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        grace = body.get("gracePeriodSeconds")
        if grace is not None:
            if int(grace) > 0:
                raise bad_request("For force restart, only gracePeriod=0 is supported for now")
            if int(grace) < 0:
                raise bad_request("gracePeriod has to be greater or equal to 0")
        vm = self._vm(ns, name)
        strategy = run_strategy(vm)
        if strategy in ("Halted", "Once"):
            raise conflict(
                "virtualmachine",
                name,
                f"RunStategy {strategy} does not support manual restart requests",
            )
        vmi = self.store.try_get(K.VMIS, ns, name)
        if vmi is None:
            raise conflict("virtualmachine", name, "VM is not running: Halted")
        self._change_requests(
            vm, [{"action": "Stop", "uid": vmi["metadata"]["uid"]}, {"action": "Start"}], dry
        )
        if grace is not None and int(grace) == 0 and not dry:
            self.sim.force_stop_pod(ns, name)
        return 202, None

    def _migrate(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        self._vm(ns, name)
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachine", name, VM_NOT_RUNNING)
        # What the migration-create webhook refuses, virt-api reports as an internal error.
        webhook = 'admission webhook "migration-create-validator.kubevirt.io" denied the request: '
        cond = None
        for c in (vmi.get("status") or {}).get("conditions") or []:
            if c.get("type") == "LiveMigratable":
                cond = c
        if cond is not None and cond.get("status") == "False":
            raise internal(
                webhook + f"Cannot migrate VMI, Reason: {cond.get('reason', '')}, "
                f"Message: {cond.get('message', '')}"
            )
        active = self.sim.active_migration(ns, name)
        if active is not None:
            raise internal(
                webhook + f"in-flight migration detected. Active migration job "
                f"({active['metadata']['uid']}) is currently already in progress for VMI {name}."
            )
        selector = body.get("addedNodeSelector") if isinstance(body, dict) else None
        try:
            self.sim.create_migration(ns, name, added_selector=selector or None, dry_run=dry)
        except ApiError as exc:
            raise internal(exc.message) from exc
        return 202, None

    def _expand_spec(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vm = self._vm(ns, name)
        return 200, expand_vm(self.store, vm)

    # -- volumes ---------------------------------------------------------------------------------

    @staticmethod
    def _add_options(body: Obj, has_body: bool, verb: str) -> tuple[str, Obj, Obj]:
        if not has_body:
            raise bad_request("Request with no body, a new name is expected as the request body")
        name = body.get("name") or ""
        if not name:
            raise bad_request("AddVolumeOptions requires name to be set")
        disk = body.get("disk")
        if disk is None:
            raise bad_request("AddVolumeOptions requires disk to not be nil")
        source = body.get("volumeSource")
        if source is None:
            raise bad_request("AddVolumeOptions requires VolumeSource to not be nil")
        if not isinstance(disk, dict) or not isinstance(source, dict):
            raise bad_request(f"Can not unmarshal Request body to struct, error: {verb}")
        disk = copy.deepcopy(disk)
        disk["name"] = name
        volume: Obj = {"name": name}
        if source.get("dataVolume") is not None:
            volume["dataVolume"] = {**source["dataVolume"], "hotpluggable": True}
        elif source.get("persistentVolumeClaim") is not None:
            volume["persistentVolumeClaim"] = {
                **source["persistentVolumeClaim"],
                "hotpluggable": True,
            }
        else:
            volume.update(copy.deepcopy(source))
        return name, disk, volume

    @staticmethod
    def _source_name(volume: Obj) -> str:
        if volume.get("dataVolume"):
            return volume["dataVolume"].get("name", "")
        if volume.get("persistentVolumeClaim"):
            return volume["persistentVolumeClaim"].get("claimName", "")
        return ""

    def _verify_add(self, volumes: list[Obj], name: str, volume: Obj) -> str | None:
        source = self._source_name(volume)
        for vol in volumes:
            if vol.get("name") == name:
                return f"Unable to add volume [{name}] because volume with that name already exists"
            if source and self._source_name(vol) == source:
                return f"Unable to add volume source [{source}] because it already exists"
        return None

    def _verify_remove(self, volumes: list[Obj], name: str) -> tuple[str | None, Obj | None]:
        for vol in volumes:
            if vol.get("name") == name or self._source_name(vol) == name:
                if not hotpluggable(vol):
                    return (
                        f"Unable to remove volume [{vol.get('name')}] because it is not hotpluggable",
                        None,
                    )
                return None, vol
        return f"Unable to remove volume [{name}] because it does not exist", None

    @staticmethod
    def _remove_options(body: Obj, has_body: bool) -> str:
        if not has_body:
            raise bad_request("Request with no body, a new name is expected as the request body")
        name = body.get("name") or ""
        if not name:
            raise bad_request("RemoveVolumeOptions requires name to be set")
        return name

    def _vm_addvolume(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vol_name, disk, volume = self._add_options(body, has_body, "addvolume")
        vm = self._vm(ns, name)
        tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
        why = self._verify_add(tspec.get("volumes") or [], vol_name, volume)
        if why:
            raise conflict("virtualmachine", name, why)
        volumes = [*(tspec.get("volumes") or []), volume]
        disks = [*(((tspec.get("domain") or {}).get("devices") or {}).get("disks") or []), disk]
        self._patch_volumes(vm, "/spec/template/spec", tspec, volumes, disks, dry)
        return 202, None

    def _vm_removevolume(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vol_name = self._remove_options(body, has_body)
        vm = self._vm(ns, name)
        tspec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
        why, found = self._verify_remove(tspec.get("volumes") or [], vol_name)
        if why:
            raise conflict("virtualmachine", name, why)
        assert found is not None
        volumes = [v for v in tspec.get("volumes") or [] if v is not found]
        devices = (tspec.get("domain") or {}).get("devices") or {}
        disks = [d for d in devices.get("disks") or [] if d.get("name") != found.get("name")]
        self._patch_volumes(vm, "/spec/template/spec", tspec, volumes, disks, dry)
        return 202, None

    def _patch_volumes(
        self, vm: Obj, prefix: str, spec: Obj, volumes: list[Obj], disks: list[Obj], dry: bool
    ) -> None:
        devices = (spec.get("domain") or {}).get("devices") or {}
        ops = [
            {"op": "test", "path": f"{prefix}/volumes", "value": spec.get("volumes")},
            {"op": "test", "path": f"{prefix}/domain/devices/disks", "value": devices.get("disks")},
            {
                "op": "replace" if spec.get("volumes") else "add",
                "path": f"{prefix}/volumes",
                "value": volumes,
            },
            {
                "op": "replace" if devices.get("disks") else "add",
                "path": f"{prefix}/domain/devices/disks",
                "value": disks,
            },
        ]
        if spec.get("volumes") is None:
            ops = [o for o in ops if not (o["op"] == "test" and o["path"].endswith("/volumes"))]
        if devices.get("disks") is None:
            ops = [o for o in ops if not (o["op"] == "test" and o["path"].endswith("/disks"))]
        self._json_patch(vm, ops, dry)

    def _owned_vmi_check(self, vmi: Obj, verb: str) -> None:
        if owner_of_kind(vmi, "VirtualMachine") is not None:
            raise bad_request(
                f"Unable to {verb} volume on VMI {vmi['metadata']['name']} because it is owned by "
                "a VirtualMachine: use the VirtualMachine's subresource instead"
            )

    def _vmi_addvolume(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vol_name, disk, volume = self._add_options(body, has_body, "addvolume")
        vmi = self._vmi(ns, name)
        self._owned_vmi_check(vmi, "add")
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
        spec = vmi.get("spec") or {}
        why = self._verify_add(spec.get("volumes") or [], vol_name, volume)
        if why:
            raise conflict("virtualmachineinstance", name, why)
        if not dry:

            def apply(o: Obj) -> None:
                s = o.setdefault("spec", {})
                s.setdefault("volumes", []).append(volume)
                s.setdefault("domain", {}).setdefault("devices", {}).setdefault("disks", []).append(
                    disk
                )

            self.store.mutate(K.VMIS, ns, name, apply)
        return 202, None

    def _vmi_removevolume(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vol_name = self._remove_options(body, has_body)
        vmi = self._vmi(ns, name)
        self._owned_vmi_check(vmi, "remove")
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
        why, found = self._verify_remove((vmi.get("spec") or {}).get("volumes") or [], vol_name)
        if why:
            raise conflict("virtualmachineinstance", name, why)
        assert found is not None
        if not dry:

            def apply(o: Obj) -> None:
                s = o.setdefault("spec", {})
                s["volumes"] = [
                    v for v in s.get("volumes") or [] if v.get("name") != found.get("name")
                ]
                devices = s.setdefault("domain", {}).setdefault("devices", {})
                devices["disks"] = [
                    d for d in devices.get("disks") or [] if d.get("name") != found.get("name")
                ]

            self.store.mutate(K.VMIS, ns, name, apply)
        return 202, None

    # -- VMI verbs (virt-handler's) --------------------------------------------------------------

    def _pause(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VM_NOT_RUNNING)
        if (vmi.get("spec") or {}).get("livenessProbe") is not None:
            raise ApiError(
                403,
                f'virtualmachineinstance.kubevirt.io "{name}" is forbidden: Pausing VMIs with '
                "LivenessProbe is currently not supported",
                details=_details("virtualmachineinstance", name),
            )
        if condition_true(vmi, "Paused"):
            raise conflict("virtualmachineinstance", name, "VMI is already paused")
        state = (vmi.get("status") or {}).get("migrationState") or {}
        if state and not state.get("completed") and not state.get("endTimestamp"):
            raise conflict(
                "virtualmachineinstance",
                name,
                f"Cannot pause VM '{name}' because it is currently being migrated",
            )
        if not dry:
            self.sim.pause_vmi(ns, name)
        return 200, None

    def _unpause(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        vm = self.store.peek(K.VMS, ns, name)
        if vm is not None and (vm.get("status") or {}).get("snapshotInProgress"):
            raise conflict("virtualmachine", name, SNAPSHOT_IN_PROGRESS)
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
        if not condition_true(vmi, "Paused"):
            raise conflict("virtualmachineinstance", name, VMI_NOT_PAUSED)
        if not dry:
            self.sim.unpause_vmi(ns, name)
        return 200, None

    def _softreboot(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VM_NOT_RUNNING)
        if condition_true(vmi, "Paused"):
            raise conflict("virtualmachineinstance", name, "VMI is paused")
        if not condition_true(vmi, "AgentConnected"):
            acpi = (((vmi.get("spec") or {}).get("domain") or {}).get("features") or {}).get("acpi")
            if isinstance(acpi, dict) and acpi.get("enabled") is False:
                raise conflict(
                    "virtualmachineinstance",
                    name,
                    "VMI neither have the agent connected nor the ACPI feature enabled",
                )
        if not dry:
            self.sim.soft_reboot_vmi(ns, name)
        return 200, None

    def _reset(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        vmi = self._vmi(ns, name)
        phase = phase_of(vmi)
        if phase not in ("Running", "Scheduled"):
            reason = f"Unable to connect to VirtualMachineInstance because phase is {phase} instead of Running"
            raise bad_request(f"Failed to reset non-running VMI with phase {phase}: {reason}")
        if not dry:
            self.sim.reset_vmi(ns, name)
        return 200, None

    def _freeze(self, ns: str, name: str, body: Obj, has_body: bool, dry: bool) -> tuple[int, Any]:
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VM_NOT_RUNNING)
        if not has_body or body.get("unfreezeTimeout") is None:
            raise bad_request("UnfreezeTimeout has to be set")
        timeout = parse_duration(body.get("unfreezeTimeout"))
        if timeout is None:
            raise bad_request(
                f"Can not unmarshal Request body to struct, error: time: invalid duration "
                f'"{body.get("unfreezeTimeout")}"'
            )
        if timeout < 0:
            raise bad_request("UnfreezeTimeout must be greater or equal to 0")
        if not condition_true(vmi, "AgentConnected"):
            raise internal(VMI_GUEST_AGENT)
        if not dry:
            self.sim.freeze_vmi(ns, name, timeout or None)
        return 200, None

    def _unfreeze(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            raise conflict("virtualmachineinstance", name, VMI_NOT_RUNNING)
        if not dry:
            self.sim.unfreeze_vmi(ns, name)
        return 200, None

    # -- the guest agent ---------------------------------------------------------------------------

    def _agent_vmi(self, ns: str, name: str) -> Obj:
        """A Running VMI with its agent connected; virt-api answers 500 with the conflict text."""
        vmi = self._vmi(ns, name)
        if phase_of(vmi) != "Running":
            why = VMI_NOT_RUNNING
        elif not condition_true(vmi, "AgentConnected"):
            why = VMI_GUEST_AGENT
        else:
            return vmi
        raise ApiError(
            500,
            f'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "{name}": {why}',
            reason="InternalError",
            details=_details("virtualmachineinstance", name),
        )

    def _guestosinfo(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        return 200, self.sim.guest_os_info(self._agent_vmi(ns, name))

    def _userlist(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        return 200, self.sim.user_list(self._agent_vmi(ns, name))

    def _filesystemlist(
        self, ns: str, name: str, body: Obj, has_body: bool, dry: bool
    ) -> tuple[int, Any]:
        return 200, self.sim.filesystem_list(self._agent_vmi(ns, name))
