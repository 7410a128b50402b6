"""Going places: runs `:` commands, history keys, favourites, help, and context switches.

The app owns one Navigator and forwards its navigation key actions to it, so `tui/app.py`
stays a switchboard. Views replace the view on top of the screen stack (k9s keeps no stack
of views either, it keeps a history); drilling down (enter on a namespace) pushes, so `esc`
comes back. `esc` on a view that was not pushed goes back in history.

Context switching builds a new Connection in a thread (reading a kubeconfig and asking for
KubeVirt's version may block), then swaps it in on the UI thread and replaces the screen
stack with a fresh VM list, whose informers start on the new connection; the old screens'
informers stop as they unmount.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from screens.command_line import CommandLineScreen
from screens.help import HelpScreen
from screens.resource_list import ContextListScreen, ResourceListScreen, VmiListScreen
from screens.vm_list import VmListScreen
from tui.cluster.kinds import NAMESPACES, TEMPLATES
from tui.navigation import (
    Command,
    Favourites,
    History,
    Location,
    NewVm,
    UnknownCommand,
    View,
    complete,
    parse,
    parse_new,
    view_named,
)

if TYPE_CHECKING:
    from tui.app import KvtuiApp

COMMAND_HISTORY_SIZE = 50
# Seconds after start before completion data is fetched (see Navigator.start).
START_FETCH_DELAY = 1.5


class Navigator:
    """Navigation state (history, favourites, typed lines) and the moves between views."""

    def __init__(self, app: KvtuiApp) -> None:
        self.app = app
        self.history = History()
        self.favourites = Favourites()
        self.lines: list[str] = []  # `:` lines entered, oldest first
        self.namespaces: list[str] = []  # for completion; refreshed in the background
        self.templates: list[str] = []  # template names, for `:new --template` completion
        self._templates_at = -1e9  # when they were last fetched (time.monotonic)
        self._base_depth = 0

    # ---- where we are ------------------------------------------------------------------

    @property
    def namespace(self) -> str | None:
        return self.app.settings.namespace

    @property
    def current(self) -> Location:
        return self.history.current or Location("vm", self.namespace)

    def start(self) -> None:
        """Show the first view: the VM list in the namespace the user started with."""
        self.favourites.use(self.namespace)
        self.go(Location("vm", self.namespace), replace_top=False)
        # Completion data (namespaces, whole templates) once the first list is in: asked
        # at once, it competes with it for the server and the interpreter. `:` asks too.
        self.app.set_timer(START_FETCH_DELAY, self.refresh_namespaces, name="completion data")

    def screen_for(self, location: Location) -> Screen:
        """A fresh screen showing `location` on the current connection."""
        api_client = self.app.connection.api_client
        if location.view == "vm":
            return VmListScreen(api_client, namespace=location.namespace)
        if location.view == "ctx":
            return ContextListScreen(
                self.app.connection.contexts(),
                self.app.connection.context,
                on_open=self.switch_context,
            )
        view = view_named(location.view)
        namespace = location.namespace if view.namespaced else None
        screen_class = VmiListScreen if view.name == "vmi" else ResourceListScreen
        return screen_class(api_client, view, namespace, on_open=self._open)

    def go(self, location: Location, *, record: bool = True, replace_top: bool = True) -> None:
        """Show `location`, replacing the view on top (or pushing it)."""
        view = view_named(location.view)
        if view.namespaced:
            self._set_namespace(location.namespace)
        else:
            location = Location(location.view, self.namespace)
        if record:
            self.history.visit(location)
        screen = self.screen_for(location)
        if replace_top and len(self.app.screen_stack) > 1:
            self.app.switch_screen(screen)
        else:
            self.app.push_screen(screen)
            self._base_depth = len(self.app.screen_stack)

    def _set_namespace(self, namespace: str | None) -> None:
        if namespace != self.app.settings.namespace:
            self.app.settings = replace(
                self.app.settings, namespace=namespace, all_namespaces=namespace is None
            )
        self.favourites.use(namespace)

    # ---- the `:` line --------------------------------------------------------------------

    def open_command_line(self, initial: str = "") -> None:
        """Show the prompt; its line is run when the user presses enter."""
        self.refresh_namespaces()
        prompt = CommandLineScreen(completer=self.complete, history=self.lines, initial=initial)
        self.app.push_screen(prompt, self._line_entered)

    def _line_entered(self, line: str | None) -> None:
        if line:
            self.run(line)

    def complete(self, text: str) -> list[str]:
        return complete(
            text,
            namespaces=[*self.namespaces, *self.favourites.namespaces],
            contexts=self.app.connection.contexts(),
            templates=self.templates,
        )

    def run(self, line: str) -> bool:
        """Run one `:` line; an unknown one is explained in a notification. True if it ran."""
        line = line.strip().lstrip(":").strip()
        if line and (not self.lines or self.lines[-1] != line):
            self.lines.append(line)
            del self.lines[:-COMMAND_HISTORY_SIZE]
        try:
            command = parse(line)
        except UnknownCommand as exc:
            self.app.notify(str(exc), title="Unknown command", severity="warning", markup=False)
            return False
        self.execute(command)
        return True

    def execute(self, command: Command) -> None:
        if command.quits:
            self.app.exit(0)
            return
        if command.view.name == "ctx" and command.argument:
            self.switch_context(command.argument)
            return
        if command.view.name == "new":
            self.new_vm(parse_new(command.argument))
            return
        if command.all_namespaces:
            namespace = None
        elif command.namespace is not None:
            namespace = command.namespace
        else:
            namespace = self.namespace
        self.go(Location(command.view.name, namespace))

    # ---- keys ------------------------------------------------------------------------------

    def back(self) -> None:
        target = self.history.back()
        if target is None:
            self.app.notify("No earlier view", timeout=2)
            return
        self.go(target, record=False)

    def forward(self) -> None:
        target = self.history.forward()
        if target is None:
            self.app.notify("No later view", timeout=2)
            return
        self.go(target, record=False)

    def last(self) -> None:
        target = self.history.last()
        if target is None:
            self.app.notify("No previous view", timeout=2)
            return
        self.go(target, record=False)

    def escape(self) -> None:
        """Pop a drilled-down screen; on a top-level view, go back in history."""
        if len(self.app.screen_stack) > max(2, self._base_depth):
            self.app.pop_screen()
            self._sync_history_to_screen()
        elif self.history.index > 0:
            self.back()

    def _sync_history_to_screen(self) -> None:
        # After a pop the screen shown is an older one: make history and header agree.
        screen = self.app.screen
        view = getattr(screen, "view", None)
        name = (
            view.name
            if isinstance(view, View)
            else ("vm" if isinstance(screen, VmListScreen) else None)
        )
        if name is None:
            return
        namespace = getattr(screen, "namespace", self.namespace)
        self._set_namespace(namespace)
        self.history.visit(Location(name, namespace))
        self.refresh_context_bars()

    def favourite(self, digit: int) -> None:
        """0: all namespaces; 1-9: the recently used namespaces, in the current view."""
        found, namespace = self.favourites.slot(digit)
        if not found:
            self.app.notify(f"No favourite namespace on {digit}", timeout=2)
            return
        view = view_named(self.current.view)
        self.go(Location(view.name if view.namespaced else "vm", namespace))

    def help(self) -> None:
        if isinstance(self.app.screen, HelpScreen):
            return
        self.app.push_screen(HelpScreen(self.app.screen))

    # ---- drilling down ----------------------------------------------------------------------

    def _open(self, view: View, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if view.name == "ns":
            namespace = str(meta.get("name") or "")
            self._set_namespace(namespace)
            location = Location("vm", namespace)
            self.history.visit(location)
            self.app.push_screen(self.screen_for(location))
        elif view.name == "tmpl" and self._read_only():
            # Nothing can be created: show what the template is instead.
            self.app.notify("kvtui runs read-only: it creates nothing.", severity="warning")
            self._drill_down(view, obj)
        elif view.name == "tmpl":
            from screens.create_template import CreateFromTemplateScreen

            namespace = self.create_namespace(avoid=str(meta.get("namespace") or ""))
            self.app.push_screen(CreateFromTemplateScreen(obj, namespace=namespace))
        else:
            self._drill_down(view, obj)

    def _drill_down(self, view: View, obj: dict[str, Any]) -> None:
        """enter on the other kinds: a node's VMs, the VM an object is about, else its YAML."""
        from screens.vm_details import VmDetailsScreen
        from screens.yaml_view import YamlViewScreen
        from tui.kubevirt.owners import node_name, owning_vm

        if view.name == "node":
            # The VMs of every namespace, filtered to those on the node (esc comes back).
            node = node_name(obj)
            screen = VmListScreen(self.app.connection.api_client, namespace=None)
            self.app.push_screen(screen)
            self.app.call_after_refresh(screen.filter_by, f"^{re.escape(node)}$")
            return
        vm = owning_vm(view.name, obj)
        if vm is not None:
            self.app.push_screen(VmDetailsScreen(self.app.connection.api_client, *vm))
        else:
            self.app.push_screen(
                YamlViewScreen(obj, kind=obj.get("kind") or view.title.rstrip("s"))
            )

    # ---- creating VMs (`:new`, enter on a template) ---------------------------------------------

    def create_namespace(self, avoid: str = "") -> str:
        """Where a new VM goes: the namespace shown, else the context's.

        `avoid`: a template's own namespace (common templates live in `openshift`): a user
        browsing the templates there wants the VM where they work, the namespace they used
        before it, rather than next to the templates. The screen lets them change it.
        """
        current = self.namespace or self.app.connection.namespace or "default"
        if avoid and current == avoid:
            recent = [ns for ns in self.favourites.namespaces if ns != avoid]
            context = self.app.connection.namespace
            return recent[0] if recent else (context if context and context != avoid else "default")
        return current

    def _read_only(self) -> bool:
        return bool(getattr(self.app.settings, "readonly", False))

    def new_vm(self, request: NewVm) -> None:
        if request.how != "form" and self._read_only():
            self.app.notify("kvtui runs read-only: it creates nothing.", severity="warning")
            return
        if request.how == "yaml":
            from screens.create_yaml import CreateYamlScreen
            from tui.kubevirt.manifest_check import STARTER_VM

            self.app.push_screen(CreateYamlScreen(STARTER_VM, namespace=self.create_namespace()))
        elif request.how == "template":
            self.app.run_worker(
                lambda: self._open_template(request.template),
                thread=True,
                exclusive=True,
                group="new-template",
            )
        else:
            self.open_create_form()

    def open_create_form(self) -> None:
        """`:new` without options, `n` on the VM list: the create form (screens/create_vm.py).

        The newest VM list's informer names the VMs that exist, so a taken name is refused
        as it is typed."""
        from screens.create_vm import CreateVmScreen

        if getattr(self.app.settings, "readonly", False):
            self.app.notify("kvtui runs read-only: it creates nothing.", severity="warning")
            return
        lists = [s for s in self.app.screen_stack if isinstance(s, VmListScreen)]
        known = lists[-1].vm_names if lists else None
        self.app.push_screen(CreateVmScreen(self.create_namespace(), known_vm_names=known))

    def _open_template(self, name: str) -> None:
        from screens.create_template import find_template
        from screens.lifecycle import _operations_for
        from tui.cluster.errors import ClusterError

        try:
            template = find_template(
                _operations_for(self.app),
                name,
                [self.namespace or "", self.create_namespace(), "openshift"],
            )
        except ClusterError as err:
            self.app.call_from_thread(
                self.app.notify,
                f"Cannot open template {name}: {err}",
                title="New VM",
                severity="error",
                markup=False,
            )
            return
        template_ns = str((template.get("metadata") or {}).get("namespace") or "")
        self.app.call_from_thread(
            self._push_template, template, self.create_namespace(avoid=template_ns)
        )

    def _push_template(self, template: dict[str, Any], namespace: str) -> None:
        from screens.create_template import CreateFromTemplateScreen

        self.app.push_screen(CreateFromTemplateScreen(template, namespace=namespace))

    # ---- contexts ------------------------------------------------------------------------------

    def switch_context(self, name: str) -> None:
        """Connect to context `name` in a thread; the UI switches once it answers."""
        if name not in self.app.connection.contexts():
            self.app.notify(
                f"No context {name!r} in the kubeconfig", severity="warning", markup=False
            )
            return
        self.app.notify(f"Switching to context {name}…", timeout=2, markup=False)
        self.app.run_worker(
            lambda: self._connect(name), thread=True, exclusive=True, group="context"
        )

    def _connect(self, name: str) -> None:
        try:
            connection = self.app.connection.switch(name)
            connection.version()
            version = connection.kubevirt_version()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one notification
            summary = getattr(exc, "summary", "") or str(exc)
            self.app.call_from_thread(
                self.app.notify,
                f"Cannot switch to {name}: {summary}",
                severity="error",
                markup=False,
            )
            return
        self.app.call_from_thread(self.use_connection, connection, version)

    def use_connection(self, connection: Any, kubevirt_version: str | None) -> None:
        """Swap in a new connection and start over on its VM list (UI thread)."""
        old = self.app.connection
        self.app.connection = connection
        self.app.kubevirt_version = kubevirt_version
        self.favourites = Favourites()
        self.templates, self._templates_at = [], -1e9  # another cluster's templates
        self.app.settings = replace(self.app.settings, context=connection.context)
        self._set_namespace(connection.namespace)
        while len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        location = Location("vm", connection.namespace)
        self.history.visit(location)
        self.app.switch_screen(self.screen_for(location))
        self._base_depth = len(self.app.screen_stack)
        # The old screens' informers stop when they unmount; close the pool after that.
        self.app.set_timer(1.0, old.close)
        self.refresh_namespaces()

    def refresh_context_bars(self) -> None:
        """Redraw the header of every screen (after a namespace or context change)."""
        for screen in self.app.screen_stack:
            for info in screen.query("#context-info"):
                info.update(self.app.context_text())  # type: ignore[attr-defined]

    # ---- completion data -----------------------------------------------------------------------

    def refresh_namespaces(self) -> None:
        """Fetch namespace names for completion, in a thread (a 403 just leaves it empty)."""
        connection = self.app.connection

        def fetch() -> None:
            try:
                items = connection.request("GET", NAMESPACES.path()).json().get("items") or []
            except Exception:  # noqa: BLE001 - completion data is best effort
                return
            names = sorted(str((i.get("metadata") or {}).get("name") or "") for i in items)
            self.namespaces = [n for n in names if n]
            # Template names for `:new --template` (no templates API: none offered). Whole
            # templates are big: asked again at most once a minute.
            if time.monotonic() - self._templates_at < 60:
                return
            self._templates_at = time.monotonic()
            try:
                found = connection.request("GET", TEMPLATES.path()).json().get("items") or []
            except Exception:  # noqa: BLE001 - completion data is best effort
                return
            self.templates = sorted(
                {str((t.get("metadata") or {}).get("name") or "") for t in found} - {""}
            )

        self.app.run_worker(fetch, thread=True, exclusive=True, group="namespaces")
