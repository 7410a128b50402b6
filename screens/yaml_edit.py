"""`e`: edit a VM's YAML, in `$KUBE_EDITOR`/`$EDITOR` when set, else in a built-in editor.

Both paths save with a PUT that carries the resourceVersion the edit started from, so a
change someone else made meanwhile comes back as 409 Conflict: it is shown, never
overwritten.

External editor (like `kubectl edit`): the app is suspended and the editor runs on a temp
file (`external_edit`). On a YAML or server error the editor opens again with the error as
`# kvtui:` comments on top; if the user quits without changing anything after an error, the
file is kept and the notification says where — a failed save is never lost. Where the app
cannot be suspended (headless, web) the built-in editor opens instead.

Built-in editor: a TextArea (YAML highlighting when tree-sitter is installed). `ctrl+s`
checks the YAML (line and column of a syntax error), asks the server for a dry run, then
saves; `esc` leaves without saving.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import yaml
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from widgets.footer import Footer
from widgets.inputs import TextArea
from widgets.resource_table import plain


def _dump(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=False)


def _editable(vm: dict[str, Any]) -> dict[str, Any]:
    """The VM as a user edits it: without managedFields (noise), everything else kept."""
    vm = dict(vm)
    meta = dict(vm.get("metadata") or {})
    meta.pop("managedFields", None)
    vm["metadata"] = meta
    return vm


def parse_yaml(text: str, *, line_offset: int = 0) -> tuple[dict[str, Any] | None, str]:
    """(object, "") or (None, "line L, column C: problem"); L counts `line_offset` lines
    written above `text` (the error comments of the external editor's file)."""
    try:
        obj = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            return None, f"line {mark.line + 1 + line_offset}, column {mark.column + 1}: {problem}"
        return None, str(problem)
    if not isinstance(obj, dict):
        return None, "the document must be a mapping (a VirtualMachine object)"
    return obj, ""


def _pin_version(obj: dict[str, Any], resource_version: str) -> dict[str, Any]:
    """Carry the version the edit started from, even if the user deleted the line."""
    meta = obj.setdefault("metadata", {})
    if isinstance(meta, dict) and not meta.get("resourceVersion"):
        meta["resourceVersion"] = resource_version
    return obj


def edit_vm(screen: Any, vm: dict[str, Any]) -> None:
    """Start editing `vm` from `screen` (a LifecycleMixin screen)."""
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR")
    if editor:
        _edit_external(screen, vm, editor)
    else:
        screen.app.push_screen(YamlEditScreen(vm))


Outcome = tuple[str, str, str]  # (notification title, message, severity)


def external_edit(
    vm: dict[str, Any],
    editor: str,
    save: Callable[[dict[str, Any]], None],
    *,
    run: Callable[[list[str]], int] = subprocess.call,
) -> Outcome:
    """The `kubectl edit` loop: write the VM to a temp file, run `editor` on it, save.

    `save(obj)` sends the edited object (raising ClusterError when the server refuses).
    When the YAML does not parse or the server refuses, the error goes on top of the file
    as `# kvtui:` comments and the editor opens again on the user's text. Quitting the
    editor without a change ends the loop: before any error that is a plain cancel (the
    file goes); after an error the file is kept and the outcome says where, so a failed
    save is never lost. An editor that cannot start or exits non-zero (vim's `:cq`)
    cancels, keeping the file whenever it holds an edit.
    """
    from screens.lifecycle import error_text

    rv = str((vm.get("metadata") or {}).get("resourceVersion") or "")
    name = str((vm.get("metadata") or {}).get("name") or "vm")
    fd, path = tempfile.mkstemp(prefix=f"kvtui-edit-{name}-", suffix=".yaml")
    original = _dump(_editable(vm))
    with os.fdopen(fd, "w") as handle:
        handle.write(original)
    error = ""
    while True:
        with open(path) as handle:
            before = handle.read()
        command = [*shlex.split(editor), path]
        try:
            status = run(command)
        except OSError as exc:
            os.unlink(path)
            return ("Edit failed", f"cannot run the editor {editor!r}: {exc}", "error")
        with open(path) as handle:
            text = handle.read()
        if status != 0:
            if text == original:
                os.unlink(path)
                return ("Edit cancelled", f"the editor exited with status {status}", "warning")
            return (
                "Edit cancelled",
                f"the editor exited with status {status}; nothing was saved.\n"
                f"Your edit is kept in {path}",
                "warning",
            )
        if text == before:
            if error:
                return ("Edit not saved", f"{error}\nYour edit is kept in {path}", "error")
            os.unlink(path)
            return ("Edit cancelled", f"{name}: nothing changed", "information")
        # Our own comments from the last round go; the error comment (one line) comes back
        # on top, so a YAML error's line number is counted in the file the user will see.
        body = "\n".join(line for line in text.splitlines() if not line.startswith("# kvtui: "))
        obj, problem = parse_yaml(body, line_offset=1)
        if obj is None:
            error = f"YAML error: {problem}"
        else:
            try:
                save(_pin_version(obj, rv))
            except ClusterError as err:
                error = error_text(err)
            else:
                os.unlink(path)
                return ("Saved", f"{name} updated", "information")
        # As kubectl edit does: the error on top, as comments, and back into the editor.
        comments = "\n".join(f"# kvtui: {line}" for line in error.splitlines())
        with open(path, "w") as handle:
            handle.write(f"{comments}\n{body}\n")


def _edit_external(screen: Any, vm: dict[str, Any], editor: str) -> None:
    """Hand the terminal to `editor` (the app is suspended meanwhile), as kubectl edit does.

    Where the app cannot be suspended (Textual's headless and web drivers), the built-in
    editor opens instead and a notification says why. The PUT runs while suspended: the
    terminal belongs to the editor then, so nothing waits on the UI.
    """
    from screens.lifecycle import _operations_for

    app = screen.app
    ops = _operations_for(app)
    name = str((vm.get("metadata") or {}).get("name") or "")

    def save(obj: dict[str, Any]) -> None:
        # The terminal is ours until the app resumes: say what the pause after the editor is.
        print(f"kvtui: saving {name}…", file=sys.stderr, flush=True)
        ops.replace(K.VMS, obj)

    try:
        with app.suspend():
            outcome = external_edit(vm, editor, save)
    except SuspendNotSupported:
        app.notify(
            f"This terminal cannot be handed over to {editor!r}: using the built-in editor.",
            title="Edit",
            severity="warning",
            markup=False,
        )
        app.push_screen(YamlEditScreen(vm))
        return
    app.notify(plain(outcome[1]), title=outcome[0], severity=outcome[2], markup=False)


class YamlEditScreen(Screen):
    """The built-in YAML editor for one VM."""

    CSS_PATH = "yaml_edit.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "leave", "Back", priority=True),
    ]

    def __init__(self, vm: dict[str, Any]) -> None:
        super().__init__()
        meta = vm.get("metadata") or {}
        self.namespace = str(meta.get("namespace") or "")
        self.vm_name = str(meta.get("name") or "")
        self.resource_version = str(meta.get("resourceVersion") or "")
        self.original = _dump(_editable(vm))
        self.saving = False

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("Edit ", "bold"),
                plain(f"{self.namespace}/{self.vm_name}"),
                (f"  (resourceVersion {plain(self.resource_version)})", "dim"),
            ),
            id="edit-title",
        )
        try:
            area = TextArea(self.original, language="yaml", id="edit-area")
        except Exception:  # noqa: BLE001 - no tree-sitter grammar: plain text is fine
            area = TextArea(self.original, id="edit-area")
        area.show_line_numbers = True
        yield area
        yield Static(id="edit-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def status(self, message: str, style: str = "") -> None:
        self.query_one("#edit-status", Static).update(Text(plain(message), style=style))

    def action_leave(self) -> None:
        self.app.pop_screen()

    def action_save(self) -> None:
        if self.saving:
            return
        text = self.query_one(TextArea).text
        obj, problem = parse_yaml(text)
        if obj is None:
            self.status(f"YAML error at {problem}", "bold red")
            return
        if text == self.original:
            self.status("Nothing changed.", "italic")
            return
        self.saving = True
        self.status("Checking with the server (dry run)…", "italic")
        self._save(_pin_version(obj, self.resource_version))

    @work(thread=True, exclusive=True, group="yaml-edit")
    def _save(self, obj: dict[str, Any]) -> None:
        from screens.lifecycle import _operations_for, error_text

        ops = _operations_for(self.app)
        try:
            ops.replace(K.VMS, obj, dry_run=True)
            ops.replace(K.VMS, obj)
        except ClusterError as err:
            message = error_text(err)
            if err.is_conflict:
                try:
                    current = ops.get(K.VMS, self.namespace, self.vm_name)
                    now = str((current.get("metadata") or {}).get("resourceVersion") or "?")
                except ClusterError:
                    now = "?"
                message = (
                    f"Not saved: {message}\nThe VM is now at resourceVersion {now}; your "
                    f"edit started from {self.resource_version}. Your text is kept here: "
                    "leave (esc) and edit again to start from the current version."
                )
            self.app.call_from_thread(self._failed, message)
            return
        self.app.call_from_thread(self._saved)

    def _failed(self, message: str) -> None:
        self.saving = False
        self.status(message, "bold red")

    def _saved(self) -> None:
        self.saving = False
        self.app.notify(f"{self.namespace}/{self.vm_name} updated", title="Saved", markup=False)
        self.app.pop_screen()
