"""Which lifecycle action applies to a VM in which state, and the command that does the same.

Pure functions over plain dict manifests: no I/O, no Textual. The screens use them to offer
only the actions that make sense (a key is greyed out otherwise, and the confirm dialog
says why a marked VM is skipped) and to show the equivalent `virtctl`/`kubectl` command.

The rules mirror what virt-api itself checks (KubeVirt `pkg/virt-api/rest/lifecycle.go`,
summarised in kubevirt-api.md §4) so that what we offer is what the API would accept. They
are advisory: the API stays the judge, and when it refuses, the screen quotes its reason.

Deleting and DataVolumes. DataVolumes created from `spec.dataVolumeTemplates` carry an
ownerReference to the VM, so the garbage collector deletes them with the VM. To keep them
kvtui first removes the VM's ownerReference from each one (a JSON patch guarded by a
`test` op on the owner's uid), then deletes the VM with propagation Background. It does
NOT delete with propagationPolicy=Orphan: that would also orphan the VMI (owned by the VM)
and leave a running VM behind with no VirtualMachine object. Like the OpenShift console's
delete dialog, the default is to delete the disks with the VM; keeping them is one
checkbox away.

Deletion protection: the label `kubevirt.io/vm-delete-protection` with value `true` or
`True` (the SSP operator's ValidatingAdmissionPolicy, matched with `^(true|True)$`) makes
the API refuse the delete; kvtui refuses up front with the policy's own words.
"""

from __future__ import annotations

import enum
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from tui.kubevirt.untrusted import as_dict as _dict
from tui.kubevirt.untrusted import as_list as _list
from tui.kubevirt.untrusted import as_str as _str

__all__ = [
    "DELETE_PROTECTION_LABEL",
    "Action",
    "ActionSpec",
    "SPECS",
    "VmState",
    "applicable",
    "commands",
    "delete_protected",
    "owned_datavolumes",
    "refusal",
    "vm_state",
]

DELETE_PROTECTION_LABEL = "kubevirt.io/vm-delete-protection"

# VMI phases after which the instance is gone for good (KubeVirt `IsFinal`).
_FINAL_PHASES = frozenset({"Succeeded", "Failed"})
# Printable statuses during which a VMI exists or is being created.
_ACTIVE_STATUSES = frozenset({"Running", "Paused", "Migrating", "Starting", "Stopping"})


class Action(str, enum.Enum):
    """The lifecycle verbs kvtui offers on a VM."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
    FORCE_STOP = "force_stop"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    SOFT_REBOOT = "soft_reboot"
    MIGRATE = "migrate"
    CANCEL_MIGRATION = "cancel_migration"
    DELETE = "delete"


@dataclass(frozen=True)
class ActionSpec:
    """How an action reads to a user: its label, the verb in sentences, how risky it is."""

    action: Action
    label: str  # "Force stop"
    verb: str  # "force stop" as in "cannot force stop web"
    done: str  # "force-stopped" as in "web force-stopped"
    # Dangerous actions lose guest state or data; their dialog defaults to "No".
    dangerous: bool = False


SPECS: dict[Action, ActionSpec] = {
    spec.action: spec
    for spec in (
        ActionSpec(Action.START, "Start", "start", "start requested"),
        ActionSpec(Action.STOP, "Stop", "stop", "stop requested"),
        ActionSpec(Action.RESTART, "Restart", "restart", "restart requested"),
        ActionSpec(
            Action.FORCE_STOP, "Force stop", "force stop", "force stop requested", dangerous=True
        ),
        ActionSpec(Action.PAUSE, "Pause", "pause", "paused"),
        ActionSpec(Action.UNPAUSE, "Unpause", "unpause", "unpaused"),
        ActionSpec(Action.SOFT_REBOOT, "Soft reboot", "soft reboot", "soft reboot requested"),
        ActionSpec(Action.MIGRATE, "Migrate", "migrate", "migration requested"),
        ActionSpec(
            Action.CANCEL_MIGRATION, "Cancel migration", "cancel the migration of", "cancelled"
        ),
        ActionSpec(Action.DELETE, "Delete", "delete", "deleted", dangerous=True),
    )
}


@dataclass(frozen=True)
class VmState:
    """What the rules look at, read from a VM and its VMI (both optional fields tolerated)."""

    namespace: str
    name: str
    uid: str = ""
    status: str = ""  # status.printableStatus
    run_strategy: str = ""
    vmi_phase: str = ""  # "" when there is no VMI
    paused: bool = False
    agent_connected: bool = False
    acpi_disabled: bool = False
    live_migratable: str = ""  # the LiveMigratable condition's status, "" when absent
    live_migratable_message: str = ""
    migrating: bool = False
    migration_uid: str = ""
    deleting: bool = False
    protected: bool = False
    datavolumes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_active_vmi(self) -> bool:
        """A VMI exists and is not finished (it may still be pending or scheduling)."""
        return bool(self.vmi_phase) and self.vmi_phase not in _FINAL_PHASES

    @property
    def running(self) -> bool:
        return self.vmi_phase == "Running"


def vm_state(vm: dict[str, Any], vmi: dict[str, Any] | None = None) -> VmState:
    """Read the state the rules need from `vm` and its instance `vmi`."""
    meta = _dict(vm.get("metadata"))
    spec = _dict(vm.get("spec"))
    status = _dict(vm.get("status"))
    vmi_status = _dict(_dict(vmi).get("status"))
    vmi_spec = _dict(_dict(vmi).get("spec"))
    vmi_phase = _str(vmi_status.get("phase")) if vmi else ""
    if vmi and not vmi_phase:
        vmi_phase = "Pending"
    conditions = {
        _str(c.get("type")): _dict(c) for c in _list(vmi_status.get("conditions")) if _dict(c)
    }
    # The VM mirrors VMI conditions; use them when the VMI is not known to the caller.
    for c in _list(status.get("conditions")):
        c = _dict(c)
        conditions.setdefault(_str(c.get("type")), c)
    migration = _dict(vmi_status.get("migrationState"))
    migrating = bool(migration) and not (
        migration.get("completed") or migration.get("failed") or migration.get("endTimestamp")
    )
    printable = _str(status.get("printableStatus"))
    acpi = _dict(_dict(_dict(vmi_spec.get("domain")).get("features")).get("acpi"))
    template_acpi = _dict(
        _dict(
            _dict(_dict(_dict(_dict(spec.get("template")).get("spec")).get("domain"))).get(
                "features"
            )
        ).get("acpi")
    )
    return VmState(
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        uid=_str(meta.get("uid")),
        status=printable,
        run_strategy=_run_strategy(spec),
        vmi_phase=vmi_phase,
        paused=_true(conditions.get("Paused")) or printable == "Paused",
        agent_connected=_true(conditions.get("AgentConnected")),
        acpi_disabled=(acpi or template_acpi).get("enabled") is False,
        live_migratable=_str(_dict(conditions.get("LiveMigratable")).get("status")),
        live_migratable_message=_str(_dict(conditions.get("LiveMigratable")).get("message"))
        or _str(_dict(conditions.get("LiveMigratable")).get("reason")),
        migrating=migrating or printable == "Migrating",
        migration_uid=_str(migration.get("migrationUid")),
        deleting=bool(meta.get("deletionTimestamp")),
        protected=delete_protected(vm),
        datavolumes=tuple(owned_datavolumes(vm)),
    )


def delete_protected(vm: dict[str, Any]) -> bool:
    """Whether the VM carries the delete-protection label set to true (as SSP's policy reads it)."""
    labels = _dict(_dict(vm.get("metadata")).get("labels"))
    return _str(labels.get(DELETE_PROTECTION_LABEL)) in ("true", "True")


def owned_datavolumes(vm: dict[str, Any]) -> list[str]:
    """Names of the DataVolumes the VM creates and owns (its `spec.dataVolumeTemplates`)."""
    names = []
    for template in _list(_dict(vm.get("spec")).get("dataVolumeTemplates")):
        name = _str(_dict(_dict(template).get("metadata")).get("name"))
        if name:
            names.append(name)
    return names


def refusal(action: Action, state: VmState) -> str | None:
    """Why `action` does not apply to the VM in `state`, or None when it does.

    The reasons are written for a user and, where virt-api has its own words for the same
    refusal, they follow them.
    """
    if state.deleting and action is not Action.FORCE_STOP:
        return "it is being deleted"
    strategy = state.run_strategy
    if action is Action.START:
        if state.has_active_vmi or state.status in _ACTIVE_STATUSES:
            return "VM is already running"
        if strategy in ("Always", "Once"):
            return f"{strategy} does not support manual start requests"
        return None
    if action is Action.STOP:
        if state.status == "Stopping":
            return "it is already stopping (force stop ends it at once)"
        if state.has_active_vmi or strategy in ("Always", "Once"):
            return None
        return "VM is not running"
    if action is Action.FORCE_STOP:
        if state.has_active_vmi or strategy in ("Always", "Once"):
            return None
        return "VM is not running"
    if action is Action.RESTART:
        if strategy in ("Halted", "Once"):
            return f"RunStrategy {strategy} does not support manual restart requests"
        if not state.has_active_vmi:
            return "VM is not running"
        return None
    if action is Action.PAUSE:
        if not state.running:
            return "VM is not running"
        if state.paused:
            return "VMI is already paused"
        if state.migrating:
            return "it is being migrated"
        return None
    if action is Action.UNPAUSE:
        if not state.paused:
            return "VMI is not paused"
        return None
    if action is Action.SOFT_REBOOT:
        if not state.running:
            return "VM is not running"
        if state.paused:
            return "VMI is paused"
        if not state.agent_connected and state.acpi_disabled:
            return "VMI neither have the agent connected nor the ACPI feature enabled"
        return None
    if action is Action.MIGRATE:
        if not state.running:
            return "VM is not running"
        if state.migrating:
            return "a migration is already in progress"
        if state.live_migratable == "False":
            return "it is not live-migratable" + (
                f": {state.live_migratable_message}" if state.live_migratable_message else ""
            )
        return None
    if action is Action.CANCEL_MIGRATION:
        return None if state.migrating else "no migration is in progress"
    if action is Action.DELETE:
        if state.protected:
            # The SSP policy's own message, so the user reads the same words either way.
            return (
                f"VirtualMachine {state.name} cannot be deleted, disable/remove label "
                f"'{DELETE_PROTECTION_LABEL}' from VirtualMachine before deleting it"
            )
        return None
    raise ValueError(f"unknown action {action!r}")  # pragma: no cover - enum is closed


def applicable(action: Action, state: VmState) -> bool:
    """Whether `action` makes sense for the VM in `state`."""
    return refusal(action, state) is None


# The one-line `virtctl` equivalents; {where} is the quoted "NAME -n NAMESPACE".
_VIRTCTL: dict[Action, str] = {
    Action.START: "virtctl start {where}",
    Action.STOP: "virtctl stop {where}",
    Action.FORCE_STOP: "virtctl stop {where} --grace-period 0 --force",
    Action.RESTART: "virtctl restart {where}",
    Action.PAUSE: "virtctl pause vm {where}",
    Action.UNPAUSE: "virtctl unpause vm {where}",
    Action.SOFT_REBOOT: "virtctl soft-reboot {where}",
    Action.MIGRATE: "virtctl migrate {where}",
    Action.CANCEL_MIGRATION: "virtctl migrate-cancel {where}",
}


def commands(
    action: Action,
    state: VmState,
    *,
    delete_datavolumes: bool = True,
    owner_ref_index: dict[str, int] | None = None,
) -> list[str]:
    """The `virtctl`/`kubectl` command lines that do what kvtui does for `action`.

    For a delete that keeps DataVolumes, one `kubectl patch` per DataVolume first removes
    the VM's ownerReference (`owner_ref_index` gives its position per DataVolume; 0 when
    not known, which is where dataVolumeTemplates put it).
    """
    name, ns = shlex.quote(state.name), shlex.quote(state.namespace)
    where = f"{name} -n {ns}"
    virtctl = _VIRTCTL.get(action)
    if virtctl is not None:
        return [virtctl.format(where=where)]
    if action is Action.DELETE:
        lines = []
        if not delete_datavolumes:
            for dv in state.datavolumes:
                index = (owner_ref_index or {}).get(dv, 0)
                ops = [
                    {
                        "op": "test",
                        "path": f"/metadata/ownerReferences/{index}/uid",
                        "value": state.uid,
                    },
                    {"op": "remove", "path": f"/metadata/ownerReferences/{index}"},
                ]
                patch = json.dumps(ops, separators=(",", ":"))
                lines.append(
                    f"kubectl patch datavolume {shlex.quote(dv)} -n {ns} --type=json "
                    f"-p {shlex.quote(patch)}"
                )
        lines.append(f"kubectl delete virtualmachine {where}")
        return lines
    raise ValueError(f"unknown action {action!r}")  # pragma: no cover - enum is closed


def _run_strategy(spec: dict[str, Any]) -> str:
    strategy = _str(spec.get("runStrategy"))
    if strategy:
        return strategy
    running = spec.get("running")
    if running is True:
        return "Always"
    if running is False:
        return "Halted"
    return ""


def _true(condition: dict[str, Any] | None) -> bool:
    return _str(_dict(condition).get("status")) == "True"
