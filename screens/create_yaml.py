"""Create a VM from YAML: `:new --yaml`, `kvtui create -f FILE`, or "edit as YAML" from the
template path and the review step.

The built-in YAML editor (`screens.yaml_edit.YamlEditScreen`, the one `e` on a VM opens)
with create semantics. `ctrl+s` checks, in this order, stopping at the first step that
finds something:

1. the YAML parses (a syntax error shows its line and column; the cursor goes there);
2. every field is one the VirtualMachine schema knows: the server's own OpenAPI v3
   schema when it publishes one (real clusters do), else kvtui's copy of the KubeVirt
   CRDs; a misspelling gets a "did you mean";
3. the server accepts it in a dry run (`dryRun=All`, `fieldValidation=Strict`): a 422's
   causes, the unknown fields of a strict-decoding 400, and a name clash (409) are each
   shown with the line they name;

then the shared review step (`screens.create_review`) shows the manifest, the dry-run
result and the equivalent commands, and creates it. Going back from the review returns
here with the text as it was (and the review's error, if any, placed on its lines).

Nothing typed is lost: every problem leaves the text untouched, and `esc` with changes
asks for a second `esc` before throwing the text away. `f8` moves the cursor to the next
problem.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static, TextArea

from screens.yaml_edit import YamlEditScreen
from tui.cluster import discovery
from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from tui.kubevirt import manifest_check as check
from widgets.resource_table import plain

KUBEVIRT_OPENAPI = "apis/kubevirt.io/v1"


def after_typed_keys(screen: Any, callback: Any, *args: Any) -> None:
    """Run `callback(*args)` once the keys typed before it are in the fields.

    Priority bindings (ctrl+s) run as soon as the app reads the key, while the keys typed
    just before it still wait in the focused widget's queue: a burst of typing (a fast
    typist, a paste, a terminal multiplexer, a busy machine) would otherwise check the
    text as it was a moment ago. Queueing behind them on that widget, then on the screen,
    lets them land first.
    """
    focused = screen.app.focused
    if focused is None or focused is screen:
        screen.call_later(callback, *args)
    else:
        focused.call_later(screen.call_later, callback, *args)


def vm_schema(connection: Any) -> tuple[check.Schema, str]:
    """The VM schema to check fields with, and where it came from (for the status line).

    Blocking (one or two GETs the first time per connection): call from a worker.
    """
    document = discovery.openapi_document(connection, KUBEVIRT_OPENAPI)
    schema = check.openapi_schema(document) if document else None
    if schema is not None:
        return schema, "the server's OpenAPI schema"
    return check.builtin_schema(), "kvtui's copy of the KubeVirt schema"


def clash_problem(error: ClusterError, text: str, namespace: str, name: str) -> check.Problem:
    """A 409 AlreadyExists as a problem on the `metadata.name` line."""
    where = check.locate(text, "metadata.name")
    return check.Problem(
        f'a VirtualMachine named "{name}" already exists in namespace {namespace}: '
        "choose another name",
        field="metadata.name",
        line=where[0] if where else None,
        column=where[1] if where else None,
        source="server",
    )


def dry_run_problems(
    ops: Any, obj: dict[str, Any], text: str, namespace: str
) -> tuple[list[check.Problem], list[str]]:
    """The server's dry run of creating `obj`: (problems, warnings). Blocking."""
    try:
        ops.create(K.VMS, obj, namespace, dry_run=True, field_validation="Strict")
    except ClusterError as err:
        if err.status == 409 and (err.reason == "AlreadyExists" or err.title == "Already exists"):
            return [clash_problem(err, text, namespace, check.name_of(obj)[1])], []
        return check.server_problems(err, text), []
    return [], list(ops.last_warnings)


class CreateYamlScreen(YamlEditScreen):
    """The YAML editor for a new VM. See the module doc."""

    CREATION_STEP = True  # create_review.finish_create closes it once the VM exists

    BINDINGS = [
        Binding("ctrl+s", "save", "Check & create", priority=True),
        Binding("escape", "leave", "Back", priority=True),
        Binding("f8", "next_problem", "Next problem"),
    ]
    DEFAULT_CSS = """
    CreateYamlScreen #edit-problems {
        height: auto;
        max-height: 7;
        padding: 0 1;
        overflow-y: auto;
    }
    """

    def __init__(self, text: str, *, namespace: str, origin: str = "YAML") -> None:
        """`namespace`: where the VM goes when the manifest names none."""
        super().__init__({"metadata": {"namespace": namespace}})
        self.original = text
        self.origin = origin
        self.problems: list[check.Problem] = []
        self._problem_index = -1
        self._leave_armed = False
        self.checks = 0  # completed checks (tests and the status line)

    # ---- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        title = Text.assemble(
            ("New VM", "bold"),
            (" · ", "dim"),
            plain(self.origin),
            (" · ns ", "dim"),
            plain(self.namespace or "?"),
            no_wrap=True,
            overflow="ellipsis",
        )
        yield Static(title, id="edit-title")
        try:
            area = TextArea(self.original, language="yaml", id="edit-area")
        except Exception:  # noqa: BLE001 - no tree-sitter grammar: plain text is fine
            area = TextArea(self.original, id="edit-area")
        area.show_line_numbers = True
        yield area
        yield Static(
            Text("ctrl+s check and review · f8 next problem · esc back", style="dim"),
            id="edit-status",
        )
        yield Static(id="edit-problems")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#edit-problems", Static).display = False
        self.query_one(TextArea).focus()

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self._leave_armed = False

    # ---- problems -----------------------------------------------------------------------

    def show_problems(self, problems: list[check.Problem], headline: str) -> None:
        """List `problems` under the editor and put the cursor on the first one."""
        self.problems = problems
        self._problem_index = -1
        box = self.query_one("#edit-problems", Static)
        text = Text()
        for i, problem in enumerate(problems):
            if i:
                text.append("\n")
            text.append(plain(problem.where()), style="bold")
            text.append(": ")
            if problem.field and problem.line is not None:
                text.append(plain(problem.field), style="cyan")
                text.append(": ")
            elif problem.field:
                text.append(plain(problem.field), style="cyan")
                text.append(" (not in the text): ")
            text.append(plain(problem.message))
        box.update(text)
        box.display = bool(problems)
        self.status(headline, "bold red" if problems else "")
        if problems:
            self.action_next_problem()

    def action_next_problem(self) -> None:
        placed = [p for p in self.problems if p.line is not None]
        if not placed:
            return
        self._problem_index = (self._problem_index + 1) % len(placed)
        problem = placed[self._problem_index]
        area = self.query_one(TextArea)
        row = max(0, (problem.line or 1) - 1)
        column = max(0, (problem.column or 1) - 1)
        row = min(row, area.document.line_count - 1)
        area.move_cursor((row, column))
        area.scroll_cursor_visible(center=True)
        area.focus()

    # ---- leaving ----------------------------------------------------------------------

    def action_leave(self) -> None:
        if self.saving:
            self.status("Still checking with the server…", "italic")
            return
        if self.text != self.original and not self._leave_armed:
            self._leave_armed = True
            self.status(
                "Your text is not created yet: esc again throws it away, ctrl+s checks it.",
                "bold yellow",
            )
            return
        self.app.pop_screen()

    # ---- checking ---------------------------------------------------------------------

    def action_save(self) -> None:
        if self.saving:
            return
        after_typed_keys(self, self._save_typed)

    def _save_typed(self) -> None:
        if self.saving or not self.is_attached:
            return
        text = self.text
        obj, problem = check.parse_manifest(text)
        if obj is None:
            assert problem is not None
            self.checks += 1
            self.show_problems([problem], "Not valid: fix the YAML (your text is unchanged).")
            return
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            self.show_problems(
                [check.Problem("metadata must be a mapping", field="metadata", source="yaml")],
                "Not valid.",
            )
            return
        namespace = str(meta.get("namespace") or self.namespace or "")
        if not meta.get("name") and not meta.get("generateName"):
            where = check.locate(text, "metadata")
            self.checks += 1
            self.show_problems(
                [
                    check.Problem(
                        "a name is required (metadata.name)",
                        field="metadata.name",
                        line=where[0] if where else None,
                        column=where[1] if where else None,
                        source="yaml",
                    )
                ],
                "Not valid: the VM needs a name.",
            )
            return
        meta["namespace"] = namespace
        self.saving = True
        self.status("Checking fields and asking the server for a dry run…", "italic")
        self._check(obj, text, namespace)

    @work(thread=True, exclusive=True, group="create-yaml")
    def _check(self, obj: dict[str, Any], text: str, namespace: str) -> None:
        from screens.lifecycle import _operations_for

        schema, source = vm_schema(self.app.connection)
        unknown = check.unknown_field_problems(text, obj, schema)
        if unknown:
            count = len(unknown)
            headline = (
                f"{count} unknown field{'s' * (count != 1)} (checked against {source}): "
                "fix or remove them."
            )
            self.app.call_from_thread(self._checked, unknown, headline, None, [])
            return
        ops = _operations_for(self.app)
        problems, warnings = dry_run_problems(ops, obj, text, namespace)
        if problems:
            headline = "The server's dry run refused it (nothing was created):"
            self.app.call_from_thread(self._checked, problems, headline, None, [])
            return
        self.app.call_from_thread(self._checked, [], "", obj, warnings)

    def _checked(
        self,
        problems: list[check.Problem],
        headline: str,
        obj: dict[str, Any] | None,
        warnings: list[str],
    ) -> None:
        self.saving = False
        self.checks += 1
        if not self.is_attached:
            return
        if obj is None:
            self.show_problems(problems, headline)
            return
        self.show_problems([], "")
        note = "Dry run passed." + (f" Warnings: {'; '.join(warnings)}" if warnings else "")
        self.status(note, "green")
        self.open_review(obj)

    # ---- the review step ----------------------------------------------------------------

    def open_review(self, obj: dict[str, Any]) -> None:
        from screens.create_review import CreateReviewScreen

        self.app.push_screen(
            CreateReviewScreen(obj, origin=self.origin, commands=_commands(obj)),
            self._reviewed,
        )

    def _reviewed(self, result: Any) -> None:
        from screens.create_review import Back, Created, finish_create

        if isinstance(result, Created):
            finish_create(self.app, result)
            return
        if isinstance(result, Back) and result.error is not None:
            self.show_problems(
                check.server_problems(result.error, self.text),
                "The server refused it (nothing was created):",
            )
        else:
            self.status("Back from the review: nothing was created.", "italic")
        self.query_one(TextArea).focus()


def _commands(vm: dict[str, Any]) -> dict[str, str] | None:
    try:
        from tui.kubevirt.builder import equivalent_commands

        return equivalent_commands(vm)
    except Exception:  # noqa: BLE001 - commands are a courtesy; the review falls back to kubectl
        return None
