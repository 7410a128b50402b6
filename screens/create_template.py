"""Create a VM from a template: `enter` on a template (`:tmpl`), or `:new --template NAME`.

The screen shows what the template is (its description, operating system, workload and
flavor, size) and one field per parameter, with its description and default. Required
parameters must be filled (the message stands next to the field until they are);
generated ones (`generate: expression`, `from: "[a-z0-9]{16}"`) start with a fresh value
the user may keep, change, or regenerate (`ctrl+g` on the field). A `NAME` parameter is the
VM's name and is checked as a DNS-1123 label as it is typed.

Processing: the server's `processedtemplates` when discovery lists it (OpenShift, or the
demo), else the same rules locally (`tui.kubevirt.templates`); both give the same objects
for the same parameter values (tests/integration/test_template_processing.py). A 422 from
the server (a required parameter, say) is shown next to the parameter it names.

Then: `ctrl+s` goes to the shared review step (manifest, dry run, commands, create);
`ctrl+e` opens the processed VM in the YAML editor; `ctrl+f` in the create form, when the
form offers a way to start from a manifest. Everything typed stays on this screen when a
step fails or the user comes back.

Template text is cluster data: drawn as plain Text, never markup.
"""

from __future__ import annotations

import random
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Static

from tui.cluster import discovery
from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from tui.kubevirt import template_info as info
from tui.kubevirt.templates import TemplateError, generate, process_template
from widgets.footer import Footer
from widgets.inputs import Input
from widgets.resource_table import plain

TEMPLATE_GV = "template.openshift.io/v1"
PROCESSED = "processedtemplates"
DEFAULT_TEMPLATE_NAMESPACE = "openshift"  # where common-templates live


# ---- logic the screen runs in threads (blocking; tested on their own) ---------------------


def process(
    connection: Any, ops: Any, namespace: str, template: dict[str, Any], values: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """Process `template` with `values`: (the processed Template, "server" or "local").

    `namespace` is where the objects will go (processing there needs the right to create
    in it, not in the template's namespace). The server is asked when it serves
    processedtemplates; when it does not, or cannot be asked (403, a namespace it does not
    know, unreachable), the local rules give the same result. A 422 (a parameter problem)
    is the server's answer and raises ClusterError; local problems raise TemplateError.
    """
    body = info.with_values(template, values)
    if discovery.serves(connection, TEMPLATE_GV, PROCESSED):
        try:
            return ops.process_template(namespace, body), "server"
        except ClusterError as err:
            if err.status in (400, 422):
                raise
    return process_template(body), "local"


def find_template(ops: Any, name: str, namespaces: list[str]) -> dict[str, Any]:
    """The template `name` (or `NS/name`): looked for in `namespaces` in order, then in
    every namespace. Raises ClusterError (404 when there is none, with where we looked)."""
    namespace, _, bare = name.rpartition("/")
    if namespace:
        return ops.get(K.TEMPLATES, namespace, bare)
    looked: list[str] = []
    for ns in dict.fromkeys(n for n in namespaces if n):
        looked.append(ns)
        try:
            return ops.get(K.TEMPLATES, ns, bare)
        except ClusterError as err:
            if not err.is_not_found and err.status != 403:
                raise
    found = ops.list(K.TEMPLATES, None, field_selector=f"metadata.name={bare}")
    items = found.get("items") or []
    if items:
        return items[0]
    where = ", ".join(looked) if looked else "any namespace"
    raise ClusterError(
        "Not found",
        f'template "{bare}" not found in {where} nor anywhere else',
        status=404,
        kind="Template",
        name=bare,
    )


def parameter_errors(template: dict[str, Any], causes: list[Any]) -> dict[str, str]:
    """Causes naming `template.parameters[i]` -> {parameter name: message}."""
    params = [p for p in template.get("parameters") or [] if isinstance(p, dict)]
    out: dict[str, str] = {}
    for cause in causes:
        if isinstance(cause, dict):
            field, message = str(cause.get("field") or ""), str(cause.get("message") or "")
        else:
            field = str(getattr(cause, "field", "") or "")
            message = str(getattr(cause, "message", "") or "")
        if field.startswith("template.parameters[") and field.endswith("]"):
            index = field[len("template.parameters[") : -1]
            if index.isdigit() and int(index) < len(params):
                out[str(params[int(index)].get("name") or "")] = message
    return out


# ---- the screen ---------------------------------------------------------------------------


class CreateFromTemplateScreen(Screen):
    """Parameters of one template, then the review step (or the YAML editor). See module doc."""

    CREATION_STEP = True  # closed by screens.create_review.finish_create once the VM exists
    DEFAULT_CSS = """
    CreateFromTemplateScreen #tmpl-title { height: 1; padding: 0 1; }
    CreateFromTemplateScreen #tmpl-body { height: 1fr; padding: 0 1; }
    CreateFromTemplateScreen #tmpl-about { margin-bottom: 1; }
    CreateFromTemplateScreen .field-label { margin-top: 1; }
    CreateFromTemplateScreen .field-hint { color: $text-muted; }
    CreateFromTemplateScreen .field-error { color: $error; text-style: bold; }
    CreateFromTemplateScreen Input {
        width: 100%;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    CreateFromTemplateScreen Input:focus { border: none; background: $accent 25%; }
    CreateFromTemplateScreen Checkbox { border: none; padding: 0 1; height: 1; }
    CreateFromTemplateScreen Checkbox:focus { border: none; background: $accent 25%; }
    CreateFromTemplateScreen #tmpl-start { margin-top: 1; }
    CreateFromTemplateScreen #tmpl-status { height: auto; max-height: 4; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+s", "review", "Review & create", priority=True),
        Binding("ctrl+e", "yaml", "Edit as YAML", priority=True),
        Binding("ctrl+f", "form", "Open in form", priority=True),
        Binding("ctrl+g", "regenerate", "Regenerate", priority=True),
        Binding("escape", "leave", "Back", priority=True),
    ]

    def __init__(
        self,
        template: dict[str, Any],
        *,
        namespace: str,
        rng: random.Random | None = None,
    ) -> None:
        """`namespace`: where the VM goes (editable on the screen)."""
        super().__init__()
        self.template = template
        self.about = info.describe(template)
        self.target_namespace = namespace
        self.values = info.initial_values(template, rng)
        self._rng = rng
        self.busy = False
        self.processed_by = ""  # "server" / "local" after processing (tests, the status line)

    # ---- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        about = self.about
        title = Text("New VM from template ", style="bold")
        title.append(plain(about.display_name or about.name))
        title.append(plain(f"  {about.namespace}/{about.name}"), style="dim")
        yield Static(title, id="tmpl-title")
        with VerticalScroll(id="tmpl-body"):
            yield Static(self._about_text(), id="tmpl-about")
            yield Static(Text("Namespace for the VM", style="bold"), classes="field-label")
            yield Input(self.target_namespace, id="tmpl-namespace", select_on_focus=False)
            yield Static(id="tmpl-namespace-error", classes="field-error")
            for index, param in enumerate(about.parameters):
                label = Text(plain(param.label), style="bold")
                if param.required:
                    label.append(" *", style="bold red")
                if param.display_name and param.display_name != param.name:
                    label.append(plain(f"  ({param.name})"), style="dim")
                yield Static(label, classes="field-label")
                hint = param.hint()
                if hint:
                    yield Static(Text(plain(hint)), classes="field-hint")
                yield Input(
                    self.values.get(param.name, ""),
                    id=f"param-{index}",
                    placeholder="required" if param.required else "",
                    select_on_focus=False,
                )
                yield Static(id=f"param-{index}-error", classes="field-error")
            yield Checkbox("Start the VM after it is created", False, id="tmpl-start")
        yield Static(id="tmpl-status")
        yield Footer()

    def _about_text(self) -> Text:
        about = self.about
        text = Text()
        if about.description:
            text.append(plain(about.description))
            text.append("\n")
        facts = [
            ("OS", "; ".join(about.operating_systems)),
            ("Workload", about.workload),
            ("Flavor", about.flavor),
        ]
        size = ", ".join(
            part for part in (f"{about.cpus} vCPU" if about.cpus else "", about.memory) if part
        )
        facts.append(("Size", size))
        first = True
        for key, value in facts:
            if not value:
                continue
            if not first:
                text.append("  ·  ", style="dim")
            first = False
            text.append(f"{key} ", style="dim")
            text.append(plain(value))
        if about.message:
            text.append("\n")
            text.append(plain(about.message), style="italic")
        if not about.parameters:
            text.append("\nThis template has no parameters.", style="dim")
        return text

    def on_mount(self) -> None:
        # tab walks the fields only, not the scrolling body itself.
        self.query_one("#tmpl-body", VerticalScroll).can_focus = False
        for index in range(len(self.about.parameters)):
            self._show_error(index, "")
        self.query_one("#tmpl-namespace-error", Static).display = False
        inputs = list(self.query(Input))
        # Start on the first parameter that needs the user, else the first parameter.
        target = next(
            (
                self.query_one(f"#param-{i}", Input)
                for i, p in enumerate(self.about.parameters)
                if p.required and not self.values.get(p.name)
            ),
            inputs[1] if len(inputs) > 1 else inputs[0],
        )
        target.focus()
        self.status(self.HINT, "dim")

    HINT = "tab moves between fields · ctrl+s review and create · esc back"

    def status(self, message: str, style: str = "") -> None:
        self._status_error = "red" in style or "yellow" in style
        self.query_one("#tmpl-status", Static).update(Text(plain(message), style=style))

    # ---- fields -----------------------------------------------------------------------

    def _param_index(self, widget_id: str | None) -> int | None:
        if widget_id and widget_id.startswith("param-") and widget_id[6:].isdigit():
            return int(widget_id[6:])
        return None

    def _show_error(self, index: int, message: str) -> None:
        box = self.query_one(f"#param-{index}-error", Static)
        box.update(Text(plain(message)))
        box.display = bool(message)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if getattr(self, "_status_error", False) and not self.busy:
            self.status(self.HINT, "dim")  # an old complaint goes once the user edits
        if event.input.id == "tmpl-namespace":
            self.target_namespace = event.value.strip()
            self._check_namespace()
            return
        index = self._param_index(event.input.id)
        if index is None:
            return
        param = self.about.parameters[index]
        self.values[param.name] = event.value
        problems = info.parameter_problems(self.template, {param.name: event.value})
        # While typing, "required" only shows once the field was emptied; format problems
        # show at once.
        message = problems.get(param.name, "")
        if message and param.required and not event.value.strip():
            message = f"{param.label} is required: fill it in"
        self._show_error(index, message)

    def _check_namespace(self) -> bool:
        from tui.kubevirt.names import dns_label_problem

        value = self.target_namespace
        problem = "a namespace is required" if not value else dns_label_problem(value)
        box = self.query_one("#tmpl-namespace-error", Static)
        box.update(Text(plain(problem or "")))
        box.display = bool(problem)
        return not problem

    def _check_all(self) -> bool:
        """Show every parameter's problem; focus the first. True when there is none."""
        problems = info.parameter_problems(self.template, self.values)
        first: Input | None = None
        if not self._check_namespace():
            first = self.query_one("#tmpl-namespace", Input)
        for index, param in enumerate(self.about.parameters):
            message = problems.get(param.name, "")
            if message and param.required and not self.values.get(param.name, "").strip():
                message = f"{param.label} is required: fill it in"
            self._show_error(index, message)
            if message and first is None:
                first = self.query_one(f"#param-{index}", Input)
        if first is not None:
            first.focus()
            first.scroll_visible()
            count = len(problems) + (0 if self._check_namespace() else 1)
            self.status(
                f"{count} field{'s' * (count != 1)} to fix before going on (marked in red).",
                "bold red",
            )
            return False
        return True

    def action_regenerate(self) -> None:
        focused = self.focused
        index = self._param_index(getattr(focused, "id", None))
        if index is None or not self.about.parameters[index].generated:
            self.status("ctrl+g gives a new value to a generated parameter: focus one first.")
            return
        param = self.about.parameters[index]
        value = generate(param.generate_from, self._rng)
        self.query_one(f"#param-{index}", Input).value = value
        self.status(f"New value for {param.label}.", "dim")

    # ---- leaving and going on ---------------------------------------------------------

    def action_leave(self) -> None:
        if self.busy:
            return
        self.app.pop_screen()

    def action_review(self) -> None:
        self._go("review")

    def action_yaml(self) -> None:
        self._go("yaml")

    def action_form(self) -> None:
        if _form_screen_for(None) is None:
            self.status(
                "The create form cannot take a template's VM yet: use ctrl+e to edit it as YAML.",
                "bold yellow",
            )
            return
        self._go("form")

    def _go(self, where: str) -> None:
        from screens.create_yaml import after_typed_keys

        if not self.busy:
            after_typed_keys(self, self._go_typed, where)

    def _go_typed(self, where: str) -> None:
        if self.busy or not self.is_attached:
            return
        # Straight from the fields: their Changed messages may still be on their way here.
        self.target_namespace = self.query_one("#tmpl-namespace", Input).value.strip()
        for index, param in enumerate(self.about.parameters):
            self.values[param.name] = self.query_one(f"#param-{index}", Input).value
        if not self._check_all():
            return
        self.busy = True
        self.status("Processing the template…", "italic")
        self._process(dict(self.values), self.target_namespace, where)

    @work(thread=True, exclusive=True, group="create-template")
    def _process(self, values: dict[str, str], namespace: str, where: str) -> None:
        from screens.lifecycle import _operations_for

        ops = _operations_for(self.app)
        # Processed where the VM goes, as `oc process -n` and the console do: users may read
        # the shared templates (openshift) but create only in their own namespaces.
        try:
            processed, by = process(self.app.connection, ops, namespace, self.template, values)
        except ClusterError as err:
            self.app.call_from_thread(self._failed, err.causes, str(err))
            return
        except TemplateError as err:
            self.app.call_from_thread(self._failed, err.causes, f"Invalid: {err}")
            return
        self.app.call_from_thread(self._processed, processed, by, namespace, where)

    def _failed(self, causes: list[Any], message: str) -> None:
        self.busy = False
        if not self.is_attached:
            return
        errors = parameter_errors(self.template, causes)
        for index, param in enumerate(self.about.parameters):
            if param.name in errors:
                self._show_error(index, errors[param.name])
        self.status(f"The template could not be processed: {message}", "bold red")

    def _processed(self, processed: dict[str, Any], by: str, namespace: str, where: str) -> None:
        self.busy = False
        self.processed_by = by
        if not self.is_attached:
            return
        vm = info.vm_of(processed, self.about.namespace)
        if vm is None:
            self.status("This template makes no VirtualMachine: nothing to create.", "bold red")
            return
        vm.setdefault("metadata", {})["namespace"] = namespace
        extra = info.other_objects(processed)
        for obj in extra:
            obj.setdefault("metadata", {})["namespace"] = namespace
        origin = f"template {self.about.name}"
        how = (
            "on the server" if by == "server" else "locally (the cluster has no processedtemplates)"
        )
        self.status(f"Processed {how}.", "dim")
        start = self.query_one("#tmpl-start", Checkbox).value
        if where == "yaml":
            from screens.create_yaml import CreateYamlScreen
            from tui.kubevirt.builder import to_yaml

            if extra:
                self.status(
                    f"Processed {how}. The YAML editor takes the VM only; the template's "
                    f"{len(extra)} other object(s) are left out.",
                    "bold yellow",
                )
            self.app.push_screen(CreateYamlScreen(to_yaml(vm), namespace=namespace, origin=origin))
            return
        if where == "form":
            screen = _form_screen_for(vm, origin)
            if screen is not None:
                self.app.push_screen(screen)
            return
        self.open_review(vm, extra, origin, start)

    def open_review(
        self, vm: dict[str, Any], extra: list[dict[str, Any]], origin: str, start: bool
    ) -> None:
        from screens.create_review import CreateReviewScreen
        from screens.create_yaml import _commands

        self.app.push_screen(
            CreateReviewScreen(
                vm,
                origin=origin,
                start_after=start,
                commands=_commands(vm),
                extra=extra,
            ),
            self._reviewed,
        )

    def _reviewed(self, result: Any) -> None:
        from screens.create_review import Back, Created, EditYaml, finish_create
        from screens.create_yaml import CreateYamlScreen
        from tui.kubevirt.builder import to_yaml

        if isinstance(result, Created):
            finish_create(self.app, result)
        elif isinstance(result, EditYaml):
            meta = result.manifest.get("metadata") or {}
            self.app.push_screen(
                CreateYamlScreen(
                    to_yaml(result.manifest),
                    namespace=str(meta.get("namespace") or self.target_namespace),
                    origin=f"template {self.about.name}",
                )
            )
        elif isinstance(result, Back) and result.error is not None:
            self.status(f"Not created: {result.error}", "bold red")
            # The VM's name is the NAME parameter: its complaint goes next to that field.
            names = [p.name for p in self.about.parameters]
            for cause in result.error.causes:
                if cause.field == "metadata.name" and "NAME" in names:
                    self._show_error(names.index("NAME"), f"the server says: {cause.message}")
        else:
            self.status("Back from the review: nothing was created.", "italic")


def _form_screen_for(vm: dict[str, Any] | None, origin: str = "a template") -> Any:
    """The create form started from `vm` (screens/create_vm.py's `form_screen_for_vm`).

    With `vm` None: whether the form offers that at all (True/None)."""
    try:
        from screens import create_vm
    except ImportError:
        return None
    factory = getattr(create_vm, "form_screen_for_vm", None)
    if factory is None:
        return None
    return True if vm is None else factory(vm, origin=origin)
