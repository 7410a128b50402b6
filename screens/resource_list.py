"""One live list screen for any kind: namespaces, VMIs, templates, instancetypes, ….

A view (`tui.navigation.View`) names one or more kinds; the screen runs an informer per kind
(instancetypes and preferences list their namespaced and cluster kinds together), and turns
each object into a row with `tui.kubevirt.listing`. As in the VM list, informers call our
listener on their own threads; the listener only posts a message.

`ContextListScreen` lists the kubeconfig's contexts (no informer: they are local).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from screens.on_node import ShowOnNodeMixin
from screens.watching import InformerFactory, Watching
from tui.cluster import kinds as kind_table
from tui.cluster.informer import Informer, InformerEvent
from tui.kubevirt import listing
from tui.navigation import View
from widgets.footer import Footer
from widgets.resource_table import ResourceTable, plain


class ListBatch(Message):
    """Events one of the screen's informers delivered (informer thread -> UI thread)."""

    def __init__(self, kind_key: str, events: list[InformerEvent]) -> None:
        super().__init__()
        self.kind_key = kind_key
        self.events = events


def _ident(kind_key: str, obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (kind_key, str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class ResourceListScreen(Watching, Screen):
    """The objects of a view's kinds in one namespace or all, live."""

    DEFAULT_CSS = """
    ResourceListScreen #list-title { height: 1; padding: 0 1; }
    ResourceListScreen #list-banner { height: auto; padding: 0 1; background: $warning 30%; }
    """
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("y", "yaml", "YAML"),
    ]
    BATCH_MESSAGE = ListBatch
    AGE_REFRESH_SECONDS = 5.0

    def __init__(
        self,
        api_client: Any,
        view: View,
        namespace: str | None = None,
        *,
        informer_factory: InformerFactory = Informer,
        on_open: Callable[[View, dict[str, Any]], None] | None = None,
        name: str | None = None,
    ) -> None:
        """`namespace` None is all namespaces. `on_open(view, obj)` is what enter does."""
        super().__init__(name=name)
        self.api_client = api_client
        self.view = view
        self.namespace = namespace
        self.kinds = [kind_table.by_key(key) for key in view.kinds]
        self._init_watching(informer_factory)
        self._on_open = on_open
        self._title_shown: Text | None = None
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._row_keys: dict[tuple[str, str, str], str] = {}
        self._by_row: dict[str, tuple[str, str, str]] = {}
        self._synced: set[str] = set()
        self.columns = listing.columns(view.name, self.kinds, namespace is None)

    @property
    def all_namespaces(self) -> bool:
        return self.namespace is None

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(id="list-title")
        yield Static(id="list-banner")
        yield ResourceTable(id="list-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(
            self.columns,
            sort_by=listing.sort_columns(self.view.name, self.columns),
            hide_order=listing.hide_columns(self.view.name, self.columns),
            max_widths=listing.column_caps(self.view.name, self.columns),
        )
        table.focus()
        self._update_title()
        self._update_banner()
        for kind in self.kinds:
            self._start_informer(kind.key, kind)
        self.set_interval(self.AGE_REFRESH_SECONDS, self._refresh_ages, name="list ages")

    def on_unmount(self) -> None:
        self.stop_informers()

    # ---- events ------------------------------------------------------------------------

    def on_list_batch(self, message: ListBatch) -> None:
        touched: set[tuple[str, str, str]] = set()
        for event in message.events:
            self._note_state(message.kind_key, event)
            if event.type == "SYNCED":
                self._synced.add(message.kind_key)
            if event.obj is not None and event.type in ("ADDED", "MODIFIED"):
                ident = _ident(message.kind_key, event.obj)
                self._objects[ident] = event.obj
                touched.add(ident)
            elif event.obj is not None and event.type == "DELETED":
                ident = _ident(message.kind_key, event.obj)
                self._objects.pop(ident, None)
                touched.add(ident)
        with self.app.batch_update():
            self._apply(touched)
            self._update_title()
            self._update_banner()

    def _apply(self, idents: Any, now: datetime | None = None) -> None:
        table = self.query_one(ResourceTable)
        now = now or datetime.now(timezone.utc)
        for ident in idents:
            obj = self._objects.get(ident)
            old = self._row_keys.get(ident)
            if obj is None:
                if old is not None:
                    table.remove(old)
                    self._by_row.pop(old, None)
                    del self._row_keys[ident]
                continue
            kind = kind_table.by_key(ident[0])
            row = listing.row(self.view.name, kind, obj, self.columns, now=now)
            if old is not None and old != row.key:
                table.remove(old)
                self._by_row.pop(old, None)
            self._row_keys[ident] = row.key
            self._by_row[row.key] = ident
            table.upsert(row.key, row.cells, row.styles)

    def _refresh_ages(self) -> None:
        with self.app.batch_update():
            self._apply(list(self._row_keys))

    # ---- what the user sees -----------------------------------------------------------

    def _update_title(self) -> None:
        scope = "all namespaces" if self.all_namespaces else f"namespace {plain(self.namespace)}"
        if not any(k.namespaced for k in self.kinds):
            scope = "the cluster"
        if len(self._synced) < len(self.kinds):
            title = Text.assemble(
                (self.view.title, "bold"), f" in {scope}  ", ("loading…", "italic")
            )
        else:
            title = Text.assemble(
                (f"{len(self._row_keys)} {self.view.title}", "bold"), f" in {scope}"
            )
        if title != self._title_shown:  # an update lays the screen out
            self._title_shown = title
            self.query_one("#list-title", Static).update(title)

    def _update_banner(self) -> None:
        self._show_watch_banner(
            self.query_one("#list-banner", Static), lambda key: kind_table.by_key(key).plural
        )

    def selected(self) -> dict[str, Any] | None:
        """The object under the cursor, or None."""
        key = self.query_one(ResourceTable).cursor_key
        ident = self._by_row.get(key or "")
        return self._objects.get(ident) if ident else None

    def action_open(self) -> None:
        obj = self.selected()
        if obj is not None and self._on_open is not None:
            self._on_open(self.view, obj)

    def action_yaml(self) -> None:
        """`y` (k9s): the YAML of the object under the cursor."""
        obj = self.selected()
        if obj is not None:
            from screens.yaml_view import YamlViewScreen

            kind = obj.get("kind") or self.view.title.rstrip("s")
            self.app.push_screen(YamlViewScreen(obj, kind=kind))

    # The table may claim enter for itself and report a selection instead; both mean open.
    def on_resource_table_selected(self, event: Any) -> None:
        event.stop()
        self.action_open()

    def on_data_table_row_selected(self, event: Any) -> None:
        event.stop()
        self.action_open()


class VmiListScreen(ShowOnNodeMixin, ResourceListScreen):
    """The VMI list, with `o` as on the VM list: the domain of the VMI under the cursor, when
    a virt-launcher on this machine runs it (screens/on_node.py)."""

    def on_node_vmi(self) -> dict[str, Any] | None:
        return self.selected()

    # The footer offers `o` only on a VMI found here (the cursor: LiveKeysMixin).
    def on_list_batch(self, _message: ListBatch) -> None:
        self._refresh_live_keys()


class ContextListScreen(Screen):
    """The kubeconfig's contexts; enter switches to the one under the cursor."""

    DEFAULT_CSS = """
    ContextListScreen #list-title { height: 1; padding: 0 1; }
    """
    BINDINGS = [Binding("enter", "open", "Use context", show=True)]

    def __init__(
        self,
        contexts: list[str],
        current: str,
        *,
        on_open: Callable[[str], None] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.contexts = contexts
        self.current = current
        self._on_open = on_open

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(
            Text.assemble((f"{len(self.contexts)} Contexts", "bold"), " in the kubeconfig"),
            id="list-title",
        )
        yield ResourceTable(id="list-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(["NAME", "CURRENT"], sort_by=("NAME",))
        for context in self.contexts:
            current = context == self.current
            table.upsert(
                context, [context, "*" if current else ""], ["bold" if current else None, None]
            )
        table.focus()

    def action_open(self) -> None:
        key = self.query_one(ResourceTable).cursor_key
        if key is not None and self._on_open is not None:
            self._on_open(key)

    def on_resource_table_selected(self, event: Any) -> None:
        event.stop()
        self.action_open()

    def on_data_table_row_selected(self, event: Any) -> None:
        event.stop()
        self.action_open()
