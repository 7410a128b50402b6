"""The review step every way of creating a VM ends in: manifest, server dry run, commands.

API (for the form, the template path and the YAML path alike)::

    from screens.create_review import Back, CreateReviewScreen, Created, EditYaml

    def reviewed(result: Created | Back | EditYaml | None) -> None: ...

    app.push_screen(
        CreateReviewScreen(
            vm,                      # the VirtualMachine manifest (a dict)
            origin="the form",       # shown in the title: "from the form", "from template X"
            start_after=False,       # PUT .../start once created (a Manual VM, say)
            commands=equivalent_commands(vm),  # builder's; None = kubectl only
            extra=[],                # objects that belong with the VM, created before it
        ),
        reviewed,
    )

On mount the screen asks the server for a dry run (`dryRun=All`, `fieldValidation=Strict`)
of every object, and shows the result: accepted (with any warnings), or the ClusterError
with each 422 cause and the field it names. It dismisses with

- `Created(vm, objects, started, start_error)` once everything was created (the caller then
  opens the VM's details: `finish_create(app, created)` pops every screen marked
  `CREATION_STEP = True` and shows the VM's details, `show_created` only the latter);
- `Back(error)` on esc: nothing was created; `error` is the last dry-run/create failure
  (None if there was none), so a form can put the causes next to its fields;
- `EditYaml(manifest)` on `e`: the user wants the manifest in a YAML editor.

Keys: ctrl+s create (enter does not: a habit must not create a VM), esc back, e edit as
YAML, r dry run again, t start after create (when the VM does not start by itself), c
show/hide the commands, ctrl+y copy the `kubectl create` command.

Objects that belong together: `extra` objects (DataVolumes made separately, a template's
other objects) are created first, in order, then the VM. If any of them fails, what this
attempt created is deleted again, newest first; anything that could not be deleted is named
in the error so nothing half-created is left unmentioned. `build_vm` itself makes no such
objects (its DataVolumes are `dataVolumeTemplates`, created by KubeVirt with the VM).

Everything on this screen that came from the user or the cluster is drawn as `Text` or
`Syntax` (never markup).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from tui.kubevirt.builder import to_yaml
from widgets.footer import Footer
from widgets.resource_table import plain

__all__ = [
    "Back",
    "CreateReviewScreen",
    "Created",
    "EditYaml",
    "GUARD_BINDINGS",
    "create_objects",
    "dry_run_objects",
    "finish_create",
    "show_created",
    "starts_by_itself",
]

# The app's one-key bindings (q quit, digits and [ ] - move between views, : runs a
# command) would throw a half-done creation away when focus is not in a text field: the
# creation screens take those keys and do nothing with them.
GUARD_BINDINGS = [
    Binding(key, "ignore_key", show=False)
    for key in (
        "q",
        "colon",
        "left_square_bracket",
        "right_square_bracket",
        "minus",
        *(str(d) for d in range(10)),
    )
]

FIELD_VALIDATION = "Strict"  # what kubectl create does since 1.27: unknown fields are errors


@dataclass(frozen=True)
class Created:
    """Everything was created. `vm` is the server's VM; `objects` all created objects in
    creation order (the VM last). `start_error` says why a requested start failed."""

    vm: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)
    started: bool = False
    start_error: str = ""


@dataclass(frozen=True)
class Back:
    """The user went back; nothing was created. `error`: the last failure shown."""

    error: ClusterError | None = None


@dataclass(frozen=True)
class EditYaml:
    """The user wants to edit `manifest` (the VM) as YAML before creating."""

    manifest: dict[str, Any]


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _label(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    name = meta.get("name") or meta.get("generateName") or "?"
    return f"{obj.get('kind') or 'object'} {name}"


def _kind_of(obj: dict[str, Any]) -> K.Kind:
    try:
        return K.by_gvk(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    except KeyError:
        raise ClusterError(
            "Not supported",
            f"kvtui cannot create {obj.get('apiVersion')} {obj.get('kind')} objects",
            kind=str(obj.get("kind") or ""),
        ) from None


def starts_by_itself(vm: dict[str, Any]) -> bool:
    """True when the VM's runStrategy (or `running: true`) starts it once created."""
    spec = vm.get("spec") if isinstance(vm.get("spec"), dict) else {}
    strategy = spec.get("runStrategy")
    if isinstance(strategy, str) and strategy:
        return strategy in ("Always", "RerunOnFailure", "Once")
    return spec.get("running") is True


def dry_run_objects(ops: Any, objects: Sequence[dict[str, Any]], namespace: str) -> list[str]:
    """Dry-run the create of each object; their warnings. Raises the first ClusterError."""
    warnings: list[str] = []
    for obj in objects:
        ops.create(
            _kind_of(obj),
            obj,
            namespace or None,
            dry_run=True,
            field_validation=FIELD_VALIDATION,
        )
        warnings += [f"{_label(obj)}: {w}" for w in ops.last_warnings]
    return warnings


def create_objects(
    ops: Any, objects: Sequence[dict[str, Any]], namespace: str
) -> list[dict[str, Any]]:
    """Create each object in order. If one fails, delete those created before it (newest
    first) and raise its ClusterError; objects that could not be deleted are named in it."""
    created: list[tuple[K.Kind, dict[str, Any]]] = []
    for obj in objects:
        try:
            kind = _kind_of(obj)
            answer = ops.create(kind, obj, namespace or None, field_validation=FIELD_VALIDATION)
        except ClusterError as err:
            left = _roll_back(ops, created)
            if created:
                undone = ", ".join(_label(o) for _, o in created)
                note = f" (created before it and deleted again: {undone})"
                if left:
                    note = (
                        f" — could not delete what this attempt created, delete by hand: "
                        f"{'; '.join(left)}"
                    )
                err.summary = f"{err.summary or err.detail or err.title}{note}"
                err.rollback_note = note  # type: ignore[attr-defined]
            raise err from None
        created.append((kind, answer if isinstance(answer, dict) else obj))
    return [obj for _, obj in created]


def _roll_back(ops: Any, created: list[tuple[K.Kind, dict[str, Any]]]) -> list[str]:
    """Delete what was created, newest first; "<what>: <why>" for each that is left."""
    left: list[str] = []
    for kind, obj in reversed(created):
        meta = _meta(obj)
        try:
            ops.delete(kind, meta.get("namespace"), str(meta.get("name") or ""))
        except ClusterError as err:
            if not err.is_not_found:
                left.append(f"{_label(obj)} in {meta.get('namespace') or '?'}: {err}")
    return left


def show_created(app: Any, created: Created) -> None:
    """Open the new VM's details (where its provisioning and start can be followed)."""
    from screens.vm_details import VmDetailsScreen

    meta = _meta(created.vm)
    screen = VmDetailsScreen(
        app.connection.api_client, str(meta.get("namespace") or ""), str(meta.get("name"))
    )
    screen.follow_creation = True  # the way to Running: import bars, Starting, Running
    app.push_screen(screen)


def finish_create(app: Any, created: Created) -> None:
    """The VM exists: the creation screens on top of the stack (those with a true
    `CREATION_STEP` attribute: form, template, YAML editor) give way to its details."""
    while len(app.screen_stack) > 1 and getattr(app.screen, "CREATION_STEP", False):
        app.pop_screen()
    show_created(app, created)


def _error_lines(err: ClusterError) -> Text:
    """The error: its summary, or with 422 causes one line per cause (field: message)."""
    text = Text()
    text.append(plain(err.title), style="bold red")
    text.append("  ")
    if not err.causes:
        text.append(plain(err.summary or err.detail))
        return text
    who = f'{err.kind or "object"} "{err.name}"' if err.name else "the object"
    count = len(err.causes)
    text.append(plain(f"{who}: {count} problem{'s' * (count != 1)}"))
    for cause in err.causes:
        text.append("\n  • ")
        if cause.field:
            text.append(plain(cause.field), style="bold")
            text.append(": ")
        text.append(plain(cause.message))
    note = getattr(err, "rollback_note", "")
    if note:
        text.append("\n")
        text.append(plain(note.strip(" —()")), style="italic")
    return text


class CreateReviewScreen(Screen[Created | Back | EditYaml]):
    """Review a VM (and objects that go with it) before creating it. See the module doc."""

    CSS_PATH = "create_review.tcss"
    BINDINGS = [
        Binding("ctrl+s", "create", "Create", priority=True),
        Binding("escape", "back", "Back"),
        Binding("e", "edit_yaml", "Edit YAML"),
        Binding("r", "dry_run", "Dry run again"),
        Binding("t", "toggle_start", "Start after"),
        Binding("c", "toggle_commands", "Commands"),
        Binding("ctrl+y", "copy_command", "Copy kubectl", show=False),
        *GUARD_BINDINGS,
    ]

    def __init__(
        self,
        manifest: dict[str, Any],
        *,
        origin: str,
        start_after: bool = False,
        commands: Mapping[str, str] | None = None,
        extra: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self.origin = origin
        self.extra = list(extra)
        meta = _meta(manifest)
        self.namespace = str(meta.get("namespace") or "")
        self.vm_name = str(meta.get("name") or meta.get("generateName") or "")
        self.self_starting = starts_by_itself(manifest)
        self.start_after = bool(start_after) and not self.self_starting
        self.commands = dict(commands or {})
        self.yaml_text = "---\n".join(to_yaml(obj) for obj in self.objects)
        # "checking" | "ok" | "failed" | "creating" | "create-failed" | "created"
        self.state = "checking"
        self.error: ClusterError | None = None
        self.warnings: list[str] = []
        self.dry_runs = 0  # completed dry runs (tests and the status line)
        self._lock = threading.Lock()

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Everything to create, in order: the extra objects, then the VM."""
        return [*self.extra, self.manifest]

    # ---- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(self._title(), id="review-title")
        with VerticalScroll(id="review-body"):
            yield Static(id="review-result")
            yield Static(id="review-start")
            yield Static(id="review-commands")
            yield Static(
                Syntax(self.yaml_text, "yaml", theme="ansi_dark", word_wrap=True),
                id="review-yaml",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#review-commands", Static).display = False
        self._draw_start()
        self.query_one("#review-body", VerticalScroll).focus()
        self.action_dry_run()

    def _title(self) -> Text:
        where = f"{self.namespace}/" if self.namespace else ""
        title = Text("Review: create VM ", style="bold")
        title.append(plain(f"{where}{self.vm_name}"))
        title.append(f"  from {plain(self.origin)}", style="dim")
        if self.extra:
            title.append(f"  (+{len(self.extra)} object{'s' * (len(self.extra) != 1)})", "dim")
        return title

    # ---- drawing ------------------------------------------------------------------------

    def _draw_result(self) -> None:
        text = Text()
        if self.state == "checking":
            text.append("Asking the server for a dry run…", style="italic")
        elif self.state == "creating":
            text.append("Creating…", style="italic")
        elif self.state == "ok":
            text.append("✓ Dry run: the server accepts this VM.", style="bold green")
            for warning in self.warnings:
                text.append("\n  ⚠ ", style="bold yellow")
                text.append(plain(warning))
            text.append("\nctrl+s create · esc back to edit · e edit as YAML", style="dim")
        elif self.state in ("failed", "create-failed") and self.error is not None:
            head = "✗ Dry run failed" if self.state == "failed" else "✗ Create failed"
            text.append(head + ": nothing was created.\n", style="bold red")
            text.append_text(_error_lines(self.error))
            text.append("\nesc back to fix it · e edit as YAML · r dry run again", style="dim")
        else:
            text.append("Created.", style="bold green")
        self.query_one("#review-result", Static).update(text)

    def _draw_start(self) -> None:
        text = Text("Start after create: ", style="bold")
        if self.self_starting:
            strategy = (self.manifest.get("spec") or {}).get("runStrategy") or "running: true"
            text.append(f"starts by itself (runStrategy {plain(str(strategy))})")
        else:
            text.append("yes" if self.start_after else "no")
            text.append("  (t to change)", style="dim")
        self.query_one("#review-start", Static).update(text)

    def command_lines(self) -> list[str]:
        """The shell commands that create the same objects (shown with `c`)."""
        lines = []
        if self.commands.get("virtctl") and not self.extra:
            lines.append(self.commands["virtctl"])
        lines.append(self.kubectl_command())
        if self.start_after:
            ns = f" -n {self.namespace}" if self.namespace else ""
            lines.append(f"virtctl start {self.vm_name}{ns}")
        return lines

    def kubectl_command(self) -> str:
        if self.commands.get("kubectl") and not self.extra:
            return self.commands["kubectl"]
        return f"kubectl create -f - <<'EOF'\n{self.yaml_text}EOF"

    def _draw_commands(self) -> None:
        text = Text("Equivalent commands:", style="bold")
        for line in self.command_lines():
            shown = line
            if line.startswith("kubectl create -f - <<"):
                shown = line.split("\n", 1)[0] + "   # the manifest below, then EOF"
            text.append("\n  $ ", style="dim")
            text.append(plain(shown))
        missing = self.commands.get("virtctl_missing")
        if missing and not self.extra:
            text.append("\n  virtctl has no flag for: ", style="dim")
            text.append(plain(missing), style="dim italic")
        self.query_one("#review-commands", Static).update(text)

    # ---- dry run and create (worker threads) -----------------------------------------------

    def _ops(self) -> Any:
        from screens.lifecycle import _operations_for

        return _operations_for(self.app)

    def action_dry_run(self) -> None:
        if self.state in ("checking", "creating", "created") and self.dry_runs:
            return
        self.state = "checking"
        self._draw_result()
        self._dry_run(self._ops())

    @work(thread=True, exclusive=True, group="create-review")
    def _dry_run(self, ops: Any) -> None:
        try:
            warnings = dry_run_objects(ops, self.objects, self.namespace)
        except ClusterError as err:
            self.app.call_from_thread(self._dry_run_done, err, [])
        else:
            self.app.call_from_thread(self._dry_run_done, None, warnings)

    def _dry_run_done(self, error: ClusterError | None, warnings: list[str]) -> None:
        self.dry_runs += 1
        self.error = error
        self.warnings = warnings
        self.state = "failed" if error else "ok"
        if self.is_mounted:
            self._draw_result()

    def action_create(self) -> None:
        if self.state in ("checking", "creating", "created"):
            self.app.bell()
            return
        self.state = "creating"
        self._draw_result()
        self._create(self._ops(), self.start_after)

    @work(thread=True, exclusive=True, group="create-review")
    def _create(self, ops: Any, start_after: bool) -> None:
        try:
            created = create_objects(ops, self.objects, self.namespace)
        except ClusterError as err:
            self.app.call_from_thread(self._create_failed, err)
            return
        vm = created[-1]
        started, start_error = False, ""
        if start_after:
            meta = _meta(vm)
            try:
                ops.start(str(meta.get("namespace") or self.namespace), str(meta.get("name")))
                started = True
            except ClusterError as err:
                start_error = str(err)
        self.app.call_from_thread(self._created, Created(vm, created, started, start_error))

    def _create_failed(self, error: ClusterError) -> None:
        self.error = error
        self.state = "create-failed"
        self._draw_result()

    def _created(self, created: Created) -> None:
        self.state = "created"
        name = _meta(created.vm).get("name") or self.vm_name
        where = _meta(created.vm).get("namespace") or self.namespace
        if created.start_error:
            self.app.notify(
                f"{where}/{name} was created, but starting it failed: {created.start_error}",
                title="Created, not started",
                severity="warning",
                timeout=12,
                markup=False,
            )
        else:
            self.app.notify(
                f"{where}/{name}" + (" (starting)" if created.started else ""),
                title="VM created",
                markup=False,
            )
        self.dismiss(created)

    # ---- other keys ---------------------------------------------------------------------

    def action_ignore_key(self) -> None:
        """q, :, digits, [ ] -: not while a VM is being created (see GUARD_BINDINGS)."""

    def action_back(self) -> None:
        if self.state == "creating":
            self.app.bell()
            return
        self.dismiss(Back(self.error))

    def action_edit_yaml(self) -> None:
        if self.state == "creating":
            self.app.bell()
            return
        self.dismiss(EditYaml(self.manifest))

    def action_toggle_start(self) -> None:
        if self.self_starting or self.state in ("creating", "created"):
            self.app.bell()
            return
        self.start_after = not self.start_after
        self._draw_start()
        if self.query_one("#review-commands", Static).display:
            self._draw_commands()

    def action_toggle_commands(self) -> None:
        commands = self.query_one("#review-commands", Static)
        commands.display = not commands.display
        if commands.display:
            self._draw_commands()

    def action_copy_command(self) -> None:
        self.app.copy_to_clipboard(self.kubectl_command())
        self.notify("The kubectl create command is on the clipboard (OSC 52).", title="Copied")
