"""Lifecycle keys shared by the VM list and the VM details screen.

A screen mixes in `LifecycleMixin` and implements `lifecycle_targets()` (the VMs an action
applies to: the marked rows, else the cursor row, or the one VM on a details screen). The
mixin brings the bindings, decides which keys are live (`check_action`), asks for
confirmation, runs the requests in a thread worker and turns every answer into a
notification.

Keys follow k9s where k9s has one and virtctl's verbs otherwise:

    t start        x stop           r restart (k9s)     ctrl+k force stop (k9s kill)
    z pause        Z unpause        b soft reboot
    m migrate (k9s plugin)          M cancel migration  ctrl+d delete (k9s)
    e edit YAML (k9s)

`s` is left to the serial console (k9s's "shell") and shift+letters to sorting, as in k9s.
In read-only mode every one of these is hidden (check_action -> False) and, as a second
wall, the Operations object refuses to send.

A key whose action applies to none of the targets is shown disabled in the footer; the
confirm dialog lists marked VMs it skips with the reason. When the API refuses anyway (a
race, or a rule only the server knows) the notification quotes the API's reason.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import work
from textual.binding import Binding

from screens.dialogs import Confirmation, ConfirmDialog
from screens.live_keys import LiveKeysMixin
from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from tui.cluster.operations import Operations
from tui.kubevirt.actions import SPECS, Action, VmState, commands, refusal, vm_state
from widgets.resource_table import plain

Target = tuple[dict[str, Any], dict[str, Any] | None]  # (VM, its VMI or None)

# (key, action, footer label). Order is the footer's and the help screen's.
LIFECYCLE_KEYS: list[tuple[str, Action, str]] = [
    ("t", Action.START, "Start"),
    ("x", Action.STOP, "Stop"),
    ("r", Action.RESTART, "Restart"),
    ("ctrl+k", Action.FORCE_STOP, "Force stop"),
    ("z", Action.PAUSE, "Pause"),
    ("Z", Action.UNPAUSE, "Unpause"),
    ("b", Action.SOFT_REBOOT, "Soft reboot"),
    ("m", Action.MIGRATE, "Migrate"),
    ("M", Action.CANCEL_MIGRATION, "Cancel migration"),
    ("ctrl+d", Action.DELETE, "Delete"),
]

_KEY_ACTIONS: dict[str, Action] = {key: action for key, action, _label in LIFECYCLE_KEYS}

# Actions that change things: hidden in read-only mode.
MUTATING_ACTIONS = frozenset({"lifecycle", "edit_yaml"})


def _operations_for(app: Any) -> Operations:
    """The app's Operations, or one made for its connection (read-only when the app is)."""
    ops = getattr(app, "operations", None)
    if isinstance(ops, Operations):
        return ops
    cached = getattr(app, "_kvtui_lifecycle_operations", None)
    if cached is None:
        cached = Operations(app.connection, read_only=_read_only(app))
        app._kvtui_lifecycle_operations = cached  # noqa: SLF001 - a per-app cache
    return cached


def _read_only(app: Any) -> bool:
    return bool(getattr(getattr(app, "settings", None), "readonly", False))


def _vm_label(state: VmState) -> str:
    return f"{state.namespace}/{state.name}"


class LifecycleMixin(LiveKeysMixin):
    """Lifecycle bindings and their workers; subclasses provide `lifecycle_targets()`."""

    BINDINGS = [
        # The app's `?` again, first: at 80 columns the footer is cut after a few keys, and
        # help is where a new user finds all of them.
        Binding("question_mark", "app.help", "Help", key_display="?"),
        *[
            Binding(key, f"lifecycle('{action.value}')", label, tooltip=SPECS[action].label)
            for key, action, label in LIFECYCLE_KEYS
        ],
        Binding("e", "edit_yaml", "Edit"),
    ]

    # ---- what subclasses provide ------------------------------------------------------

    def lifecycle_targets(self) -> list[Target]:
        """The VMs an action applies to now (marked rows, else the cursor's VM)."""
        return []

    # ---- which keys are live ----------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return _read_only(self.app)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING_ACTIONS:
            if self.read_only:
                return False
            targets = self.lifecycle_targets()
            if not targets:
                return None
            if action == "edit_yaml":
                return True
            act = Action(str(parameters[0]))
            states = [vm_state(vm, vmi) for vm, vmi in targets]
            return True if any(refusal(act, s) is None for s in states) else None
        return super().check_action(action, parameters)

    def on_key(self, event: Any) -> None:
        """A lifecycle key whose action does not apply says why instead of doing nothing.

        Textual runs no action for a disabled binding (check_action None/False) and lets the
        key go on: it arrives here. A key whose binding ran never gets here."""
        action = _KEY_ACTIONS.get(event.key)
        if action is None:
            return
        if self.read_only:
            event.stop()
            self.notify(
                "This session is read-only (--readonly): nothing can be changed.",
                title="Read-only",
                severity="warning",
                timeout=4,
            )
            return
        if self.check_action("lifecycle", (action.value,)) is not None:
            return
        event.stop()
        spec = SPECS[action]
        targets = self.lifecycle_targets()
        if not targets:
            self.notify(f"No VM to {spec.verb}.", title=f"Cannot {spec.verb}", timeout=3)
            return
        state = vm_state(*targets[0])
        reason = refusal(action, state) or "it does not apply now"
        more = f" (and {len(targets) - 1} more marked)" if len(targets) > 1 else ""
        self.notify(
            f"{_vm_label(state)}{more}: {plain(reason)}",
            title=f"Cannot {spec.verb}",
            severity="warning",
            timeout=5,
            markup=False,
        )

    # Live keys depend on the cursor (LiveKeysMixin) and on the VMs' state.
    def on_informer_batch(self, _message: Any) -> None:
        self._refresh_live_keys()

    def _live_keys(self) -> tuple[bool | None, ...]:
        """What `check_action` says of each lifecycle key now, in one pass over the targets."""
        if self.read_only:
            return ()
        targets = self.lifecycle_targets()
        if not targets:
            return (None,)
        states = [vm_state(vm, vmi) for vm, vmi in targets]
        return tuple(any(refusal(act, s) is None for s in states) for _, act, _ in LIFECYCLE_KEYS)

    # ---- asking ---------------------------------------------------------------------

    def action_lifecycle(self, name: str) -> None:
        """Confirm, then run, lifecycle action `name` on the targets it applies to."""
        if self.read_only:
            return
        action = Action(name)
        spec = SPECS[action]
        states = [vm_state(vm, vmi) for vm, vmi in self.lifecycle_targets()]
        go = [s for s in states if refusal(action, s) is None]
        skipped = [(_vm_label(s), refusal(action, s) or "") for s in states if s not in go]
        if not go:
            if skipped:
                label, reason = skipped[0]
                self.notify(
                    f"{label}: {plain(reason)}",
                    title=f"Cannot {spec.verb}",
                    severity="warning",
                    markup=False,
                )
            return
        count = len(go)
        noun = f"{go[0].name}" if count == 1 else f"{count} VMs"
        notes: list[str] = []
        option_label = None
        if action is Action.DELETE:
            dvs = sorted({f"{s.namespace}/{dv}" for s in go for dv in s.datavolumes})
            if dvs:
                option_label = f"Also delete the DataVolumes ({len(dvs)}): " + ", ".join(dvs)
            else:
                notes.append("No DataVolumes belong to this VM; its disks are not touched.")
        if action is Action.FORCE_STOP:
            notes.append("The guest is not asked to shut down: unsaved data in it is lost.")

        def command_lines(delete_dvs: bool) -> list[str]:
            return [line for s in go for line in commands(action, s, delete_datavolumes=delete_dvs)]

        dialog = ConfirmDialog(
            f"{spec.label} {noun}?",
            [_vm_label(s) for s in go],
            command_lines,
            skipped=skipped,
            dangerous=spec.dangerous,
            option_label=option_label,
            # As the OpenShift console does: disks go with the VM unless the user unticks.
            option_default=True,
            notes=notes,
        )

        def answered(result: Confirmation | None) -> None:
            if result is not None:
                self.run_lifecycle(action, go, delete_datavolumes=result.option)

        self.app.push_screen(dialog, answered)

    # ---- doing ----------------------------------------------------------------------

    @work(thread=True, group="lifecycle")
    def run_lifecycle(
        self, action: Action, states: list[VmState], *, delete_datavolumes: bool = True
    ) -> None:
        """Send `action` for every VM (on a worker thread); report each outcome."""
        ops = _operations_for(self.app)
        done: list[VmState] = []
        failed: list[tuple[VmState, ClusterError]] = []
        for state in states:
            try:
                perform(ops, action, state, delete_datavolumes=delete_datavolumes)
            except ClusterError as err:
                failed.append((state, err))
            else:
                done.append(state)
        self.app.call_from_thread(self._report, action, done, failed)

    def _report(
        self, action: Action, done: list[VmState], failed: list[tuple[VmState, ClusterError]]
    ) -> None:
        spec = SPECS[action]
        if done:
            names = ", ".join(_vm_label(s) for s in done[:5])
            if len(done) > 5:
                names += f" and {len(done) - 5} more"
            self.notify(names, title=escape(f"{spec.label}: {spec.done}"), markup=False)
        for state, err in failed:
            self.notify(
                error_text(err),
                title=escape(f"{spec.label} {_vm_label(state)} failed"),
                severity="error",
                timeout=12,
                markup=False,
            )
        self.refresh_bindings()

    # ---- editing ----------------------------------------------------------------------

    def action_edit_yaml(self) -> None:
        """Edit the target VM's YAML ($EDITOR, else the built-in editor)."""
        targets = self.lifecycle_targets()
        if self.read_only or not targets:
            return
        from screens.yaml_edit import edit_vm  # the editor is only loaded when used

        edit_vm(self, targets[0][0])


def error_text(err: ClusterError) -> str:
    """One notification's text for a ClusterError: the summary, then any field causes."""
    lines = [plain(str(err))]
    # The summary of a 422 already lists causes; a 400 with causes might not.
    if err.causes and err.status != 422:
        lines += [f"• {plain(str(cause))}" for cause in err.causes]
    return "\n".join(lines)


def perform(ops: Operations, action: Action, state: VmState, *, delete_datavolumes: bool) -> None:
    """Send the request(s) for `action` on one VM. Blocks; raises ClusterError."""
    ns, name = state.namespace, state.name
    if action is Action.START:
        ops.start(ns, name)
    elif action is Action.STOP:
        ops.stop(ns, name)
    elif action is Action.FORCE_STOP:
        ops.stop(ns, name, grace_period=0)
    elif action is Action.RESTART:
        ops.restart(ns, name)
    elif action is Action.PAUSE:
        ops.pause(ns, name)
    elif action is Action.UNPAUSE:
        ops.unpause(ns, name)
    elif action is Action.SOFT_REBOOT:
        ops.softreboot(ns, name)
    elif action is Action.MIGRATE:
        ops.migrate(ns, name)
    elif action is Action.CANCEL_MIGRATION:
        ops.cancel_migration(ns, _active_migration(ops, state))
    elif action is Action.DELETE:
        if not delete_datavolumes:
            _release_datavolumes(ops, state)
        ops.delete(K.VMS, ns, name, propagation="Background")
    else:  # pragma: no cover - the enum is closed
        raise ClusterError("Not supported", f"kvtui cannot {action.value}")


def _active_migration(ops: Operations, state: VmState) -> str:
    """The name of the VM's unfinished VirtualMachineInstanceMigration (as virtctl finds it)."""
    found = ops.list(K.VMIMS, state.namespace, label_selector=f"kubevirt.io/vmi-name={state.name}")
    live = [
        m
        for m in found.get("items") or []
        if ((m.get("status") or {}).get("phase") or "") not in ("Succeeded", "Failed")
    ]
    # Prefer the one the VMI reports; otherwise any unfinished one for this VMI.
    live.sort(key=lambda m: (m.get("metadata") or {}).get("uid") != state.migration_uid)
    if not live:
        raise ClusterError(
            "Not found",
            f"no unfinished migration of {state.name} in {state.namespace}",
            status=404,
        )
    return str(live[0]["metadata"]["name"])


def _release_datavolumes(ops: Operations, state: VmState) -> None:
    """Drop the VM's ownerReference from each of its DataVolumes so deleting it keeps them.

    The `test` op pins the patch to the reference it removes: if the list changed since we
    read it, the server refuses (409/422) instead of removing someone else's reference.
    """
    for dv_name in state.datavolumes:
        try:
            dv = ops.get(K.DATAVOLUMES, state.namespace, dv_name)
        except ClusterError as err:
            if err.is_not_found:
                continue  # nothing to keep
            raise
        refs = (dv.get("metadata") or {}).get("ownerReferences") or []
        for index, ref in enumerate(refs):
            if ref.get("uid") == state.uid:
                ops.patch_json(
                    K.DATAVOLUMES,
                    state.namespace,
                    dv_name,
                    [
                        {
                            "op": "test",
                            "path": f"/metadata/ownerReferences/{index}/uid",
                            "value": state.uid,
                        },
                        {"op": "remove", "path": f"/metadata/ownerReferences/{index}"},
                    ],
                )
                break
