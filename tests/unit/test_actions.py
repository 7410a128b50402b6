"""Which lifecycle action applies in which VM state, and the equivalent commands."""

from __future__ import annotations

from typing import Any

import pytest

from tui.kubevirt.actions import (
    DELETE_PROTECTION_LABEL,
    Action,
    applicable,
    commands,
    refusal,
    vm_state,
)


def vm(
    status: str = "Stopped",
    strategy: str = "Halted",
    *,
    labels: dict[str, str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    dv_templates: tuple[str, ...] = (),
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "prod", "uid": "vm-uid"}
    if labels:
        meta["labels"] = labels
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {
            "runStrategy": strategy,
            "dataVolumeTemplates": [{"metadata": {"name": n}} for n in dv_templates],
        },
        "status": {"printableStatus": status, "conditions": conditions or []},
    }


def vmi(phase: str = "Running", **conds: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "prod"},
        "status": {
            "phase": phase,
            "conditions": [{"type": t, "status": s} for t, s in conds.items()],
        },
    }


def allowed(v: dict[str, Any], i: dict[str, Any] | None = None) -> set[Action]:
    state = vm_state(v, i)
    return {a for a in Action if applicable(a, state)}


def test_stopped_vm_can_start_or_be_deleted_only() -> None:
    assert allowed(vm()) == {Action.START, Action.DELETE}


def test_running_vm_offers_the_running_verbs() -> None:
    got = allowed(vm("Running", "Always"), vmi(AgentConnected="True", LiveMigratable="True"))
    assert got == {
        Action.STOP,
        Action.FORCE_STOP,
        Action.RESTART,
        Action.PAUSE,
        Action.SOFT_REBOOT,
        Action.MIGRATE,
        Action.DELETE,
    }


def test_paused_vm_unpauses_but_does_not_pause_again() -> None:
    state = vm_state(vm("Paused", "Always"), vmi(Paused="True"))
    assert applicable(Action.UNPAUSE, state)
    assert refusal(Action.PAUSE, state) == "VMI is already paused"
    assert refusal(Action.SOFT_REBOOT, state) == "VMI is paused"
    assert applicable(Action.STOP, state)


def test_start_refusals_use_virt_api_words() -> None:
    assert refusal(Action.START, vm_state(vm("Running", "Always"), vmi())) == (
        "VM is already running"
    )
    # Always with no VMI (e.g. it crashed): virt-api refuses manual starts.
    assert refusal(Action.START, vm_state(vm("Stopped", "Always"))) == (
        "Always does not support manual start requests"
    )
    assert applicable(Action.START, vm_state(vm("Stopped", "Manual")))
    # A finished VMI does not count as running.
    assert applicable(Action.START, vm_state(vm("Stopped", "Manual"), vmi("Succeeded")))


def test_stop_applies_to_starting_and_unschedulable_vms() -> None:
    assert applicable(Action.STOP, vm_state(vm("Starting", "Always"), vmi("Scheduling")))
    assert applicable(Action.STOP, vm_state(vm("ErrorUnschedulable", "Always"), vmi("Pending")))
    assert refusal(Action.STOP, vm_state(vm())) == "VM is not running"
    stopping = vm_state(vm("Stopping", "Halted"), vmi("Running"))
    assert "already stopping" in (refusal(Action.STOP, stopping) or "")
    assert applicable(Action.FORCE_STOP, stopping)


def test_restart_refused_for_halted_and_once() -> None:
    assert refusal(Action.RESTART, vm_state(vm("Stopped", "Halted"))) == (
        "RunStrategy Halted does not support manual restart requests"
    )
    assert refusal(Action.RESTART, vm_state(vm("Running", "Once"), vmi())) == (
        "RunStrategy Once does not support manual restart requests"
    )
    assert refusal(Action.RESTART, vm_state(vm("Stopped", "Manual"))) == "VM is not running"


def test_migrate_needs_live_migratable() -> None:
    cond = {
        "type": "LiveMigratable",
        "status": "False",
        "message": "cannot migrate VMI: PVC x is RWO",
    }
    state = vm_state(vm("Running", "Always", conditions=[cond]), vmi())
    assert refusal(Action.MIGRATE, state) == (
        "it is not live-migratable: cannot migrate VMI: PVC x is RWO"
    )


def test_migrating_vm_can_cancel_not_migrate_again() -> None:
    running = vmi()
    running["status"]["migrationState"] = {"migrationUid": "m1", "sourceNode": "n1"}
    state = vm_state(vm("Migrating", "Always"), running)
    assert state.migrating and state.migration_uid == "m1"
    assert applicable(Action.CANCEL_MIGRATION, state)
    assert refusal(Action.MIGRATE, state) == "a migration is already in progress"
    assert refusal(Action.PAUSE, state) == "it is being migrated"
    running["status"]["migrationState"]["completed"] = True
    done = vm_state(vm("Running", "Always"), running)
    assert refusal(Action.CANCEL_MIGRATION, done) == "no migration is in progress"


def test_soft_reboot_without_agent_needs_acpi() -> None:
    no_acpi = vmi()
    no_acpi["spec"] = {"domain": {"features": {"acpi": {"enabled": False}}}}
    state = vm_state(vm("Running", "Always"), no_acpi)
    assert "ACPI" in (refusal(Action.SOFT_REBOOT, state) or "")
    assert applicable(Action.SOFT_REBOOT, vm_state(vm("Running", "Always"), vmi()))


@pytest.mark.parametrize("value,protected", [("True", True), ("true", True), ("yes", False)])
def test_delete_protection_label(value: str, protected: bool) -> None:
    state = vm_state(vm(labels={DELETE_PROTECTION_LABEL: value}))
    reason = refusal(Action.DELETE, state)
    if protected:
        assert reason and DELETE_PROTECTION_LABEL in reason and "cannot be deleted" in reason
    else:
        assert reason is None


def test_deleting_vm_offers_only_force_stop() -> None:
    state = vm_state(vm("Terminating", "Always", deleting=True), vmi())
    assert allowed(vm("Terminating", "Always", deleting=True), vmi()) == {Action.FORCE_STOP}
    assert refusal(Action.DELETE, state) == "it is being deleted"


def test_hostile_manifest_does_not_raise() -> None:
    state = vm_state({"metadata": "x", "spec": [], "status": {"conditions": ["nope", None]}}, {})
    assert refusal(Action.START, state) is None


def test_commands_are_virtctl_and_kubectl() -> None:
    state = vm_state(vm("Running", "Always", dv_templates=("web-root",)), vmi())
    assert commands(Action.START, state) == ["virtctl start web -n prod"]
    assert commands(Action.FORCE_STOP, state) == [
        "virtctl stop web -n prod --grace-period 0 --force"
    ]
    assert commands(Action.PAUSE, state) == ["virtctl pause vm web -n prod"]
    assert commands(Action.UNPAUSE, state) == ["virtctl unpause vm web -n prod"]
    assert commands(Action.SOFT_REBOOT, state) == ["virtctl soft-reboot web -n prod"]
    assert commands(Action.MIGRATE, state) == ["virtctl migrate web -n prod"]
    assert commands(Action.CANCEL_MIGRATION, state) == ["virtctl migrate-cancel web -n prod"]
    assert commands(Action.DELETE, state) == ["kubectl delete virtualmachine web -n prod"]
    keep = commands(Action.DELETE, state, delete_datavolumes=False)
    assert keep[-1] == "kubectl delete virtualmachine web -n prod"
    assert keep[0].startswith("kubectl patch datavolume web-root -n prod --type=json -p ")
    assert '"op":"remove","path":"/metadata/ownerReferences/0"' in keep[0]
    assert '"value":"vm-uid"' in keep[0]


def test_commands_quote_odd_names() -> None:
    state = vm_state({"metadata": {"name": "a b", "namespace": "$(x)"}})
    assert commands(Action.START, state) == ["virtctl start 'a b' -n '$(x)'"]
