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

Several documents (`---`): one VirtualMachine and the objects that go with it (an
instancetype, a DataVolume, ... — kinds kvtui knows) are checked each in its own document,
dry-run in order, and created together by the review step (companions first; rolled back
if one fails). A file holding one Template opens the template screen on it.

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
from textual.widgets import Static

from screens.yaml_edit import YamlEditScreen
from tui.cluster import discovery
from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from tui.kubevirt import manifest_check as check
from widgets.footer import Footer
from widgets.inputs import TextArea
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


def clash_problem(text: str, namespace: str, kind: str, name: str, doc: int = 0) -> check.Problem:
    """A 409 AlreadyExists as a problem on the `metadata.name` line of document `doc`."""
    where = check.locate(text, "metadata.name", doc)
    place = f" in namespace {namespace}" if namespace else ""
    return check.Problem(
        f'a {kind} named "{name}" already exists{place}: choose another name',
        field="metadata.name",
        line=where[0] if where else None,
        column=where[1] if where else None,
        source="server",
    )


def kind_of(obj: dict[str, Any]) -> K.Kind | None:
    try:
        return K.by_gvk(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    except KeyError:
        return None


def dry_run_problems(
    ops: Any, bundle: check.Bundle, text: str, namespace: str
) -> tuple[list[check.Problem], list[str]]:
    """The server's dry run of creating the bundle's objects (companions first, then the
    VM): (problems of the first one refused, placed in its document; warnings). Blocking."""
    warnings: list[str] = []
    order = [*bundle.extras, (bundle.vm, bundle.vm_object)]
    for doc, obj in order:
        kind = kind_of(obj)
        assert kind is not None and doc is not None
        ns = namespace if kind.namespaced else None
        try:
            ops.create(kind, obj, ns, dry_run=True, field_validation="Strict")
        except ClusterError as err:
            if err.status == 409 and (
                err.reason == "AlreadyExists" or err.title == "Already exists"
            ):
                name = check.name_of(obj)[1]
                return [clash_problem(text, ns or "", kind.kind, name, doc)], []
            return check.server_problems(err, text, doc), []
        label = "" if doc == bundle.vm else f"{kind.kind} {check.name_of(obj)[1]}: "
        warnings += [label + w for w in ops.last_warnings]
    return [], warnings


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
        # tab indents (two spaces, as YAML is written), it does not leave the editor.
        try:
            area = TextArea(self.original, language="yaml", id="edit-area", tab_behavior="indent")
        except Exception:  # noqa: BLE001 - no tree-sitter grammar: plain text is fine
            area = TextArea(self.original, id="edit-area", tab_behavior="indent")
        area.indent_type = "spaces"
        area.indent_width = 2
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
        bundle, problem = check.parse_bundle(text)
        if bundle is None:
            assert problem is not None
            self.checks += 1
            self.show_problems([problem], "Not valid: fix the YAML (your text is unchanged).")
            return
        if bundle.template is not None:
            self.checks += 1
            self._open_template(bundle.docs[bundle.template])
            return
        problems = self._shape_problems(text, bundle)
        if problems:
            self.checks += 1
            self.show_problems(problems, "Not valid (your text is unchanged):")
            return
        vm = bundle.vm_object
        namespace = str(vm["metadata"].get("namespace") or self.namespace or "")
        for _, obj in [*bundle.extras, (bundle.vm, vm)]:
            kind = kind_of(obj)
            if kind is not None and kind.namespaced:
                obj["metadata"]["namespace"] = namespace
        self.saving = True
        self.status("Checking fields and asking the server for a dry run…", "italic")
        self._check(bundle, text, namespace)

    def _shape_problems(self, text: str, bundle: check.Bundle) -> list[check.Problem]:
        """Objects kvtui cannot create, metadata that is no mapping, names missing."""
        problems: list[check.Problem] = []
        for doc, obj in enumerate(bundle.docs):
            what = "the VM" if doc == bundle.vm else f"this {obj.get('kind') or 'object'}"
            if kind_of(obj) is None:
                where = check.locate(text, "kind", doc)
                problems.append(
                    check.Problem(
                        f"kvtui cannot create {obj.get('apiVersion')} {obj.get('kind')} "
                        "objects: remove this document or create it with kubectl",
                        field="kind",
                        line=where[0] if where else None,
                        column=where[1] if where else None,
                        source="yaml",
                    )
                )
                continue
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                where = check.locate(text, "metadata", doc)
                problems.append(
                    check.Problem(
                        "metadata must be a mapping",
                        field="metadata",
                        line=where[0] if where else None,
                        column=where[1] if where else None,
                        source="yaml",
                    )
                )
            elif not meta.get("name") and not meta.get("generateName"):
                where = check.locate(text, "metadata", doc) or check.locate(text, "", doc)
                problems.append(
                    check.Problem(
                        f"{what} needs a name (metadata.name)",
                        field="metadata.name",
                        line=where[0] if where else None,
                        column=where[1] if where else None,
                        source="yaml",
                    )
                )
        return problems

    def _open_template(self, template: dict[str, Any]) -> None:
        """A Template file: its parameters on the template screen (esc comes back here)."""
        from screens.create_template import CreateFromTemplateScreen

        self.status("A Template: fill in its parameters (esc comes back here).", "italic")
        self.app.push_screen(CreateFromTemplateScreen(template, namespace=self.namespace))

    @work(thread=True, exclusive=True, group="create-yaml")
    def _check(self, bundle: check.Bundle, text: str, namespace: str) -> None:
        from screens.lifecycle import _operations_for

        schema, source = vm_schema(self.app.connection)
        unknown = check.unknown_field_problems(text, bundle.vm_object, schema, bundle.vm or 0)
        for doc, obj in bundle.extras:
            extra_schema = check.builtin_schema(str(obj.get("kind") or ""))
            unknown += check.unknown_field_problems(text, obj, extra_schema, doc)
        if unknown:
            unknown.sort(key=lambda p: (p.line or 0, p.column or 0))
            count = len(unknown)
            headline = (
                f"{count} unknown field{'s' * (count != 1)} (checked against {source}): "
                "fix or remove them."
            )
            self.app.call_from_thread(self._checked, unknown, headline, None, [])
            return
        ops = _operations_for(self.app)
        problems, warnings = dry_run_problems(ops, bundle, text, namespace)
        if problems:
            headline = "The server's dry run refused it (nothing was created):"
            self.app.call_from_thread(self._checked, problems, headline, None, [])
            return
        self.app.call_from_thread(self._checked, [], "", bundle, warnings)

    def _checked(
        self,
        problems: list[check.Problem],
        headline: str,
        bundle: check.Bundle | None,
        warnings: list[str],
    ) -> None:
        self.saving = False
        self.checks += 1
        if not self.is_attached:
            return
        if bundle is None:
            self.show_problems(problems, headline)
            return
        self.show_problems([], "")
        note = "Dry run passed." + (f" Warnings: {'; '.join(warnings)}" if warnings else "")
        self.status(note, "green")
        self.open_review(bundle)

    # ---- the review step ----------------------------------------------------------------

    def open_review(self, bundle: check.Bundle) -> None:
        from screens.create_review import CreateReviewScreen

        self._bundle = bundle
        vm = bundle.vm_object
        extra = [obj for _, obj in bundle.extras]
        self.app.push_screen(
            CreateReviewScreen(
                vm, origin=self.origin, commands=None if extra else _commands(vm), extra=extra
            ),
            self._reviewed,
        )

    def _doc_of(self, error: ClusterError) -> int:
        """Which document a review-step error is about (by kind and name), else the VM's."""
        bundle = getattr(self, "_bundle", None)
        if bundle is None:
            return 0
        for doc, obj in enumerate(bundle.docs):
            if obj.get("kind") == error.kind and check.name_of(obj)[1] == error.name:
                return doc
        return bundle.vm or 0

    def _reviewed(self, result: Any) -> None:
        from screens.create_review import Back, Created, finish_create

        if isinstance(result, Created):
            finish_create(self.app, result)
            return
        if isinstance(result, Back) and result.error is not None:
            self.show_problems(
                check.server_problems(result.error, self.text, self._doc_of(result.error)),
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
