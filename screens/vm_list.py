"""The VM list: every VirtualMachine in scope, live from two informers (VMs and VMIs).

The informers run on their own threads and call our listener with batches of events; the
listener only posts a Textual message (thread-safe) and the UI thread applies it. Nothing
here waits on the network.

A row joins a VM with its VMI (same namespace and name): the VM says status and ready, the
VMI says IP and node. Rows are keyed by the VM's uid so a VM deleted and recreated under
the same name is a new row, and so updates touch only the cells that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.lifecycle import LifecycleMixin, Target
from tui.cluster.informer import Informer, InformerEvent, InformerState
from tui.cluster.kinds import VMIS, VMS, Kind
from tui.kubevirt.vm import VmRow, vm_row
from widgets.resource_table import ResourceTable, plain

ObjectKey = tuple[str, str]  # (namespace, name)

# Rich styles per status category; plain styles, not theme variables, because they go into
# Text cells, and they must read on both dark and light themes.
CATEGORY_STYLES: dict[str, str | None] = {
    "running": "bold green",
    "transitional": "yellow",
    "stopped": "dim",
    "error": "bold red",
}

InformerFactory = Callable[..., Any]


class InformerBatch(Message):
    """Events an informer delivered, carried from its thread to the UI thread."""

    def __init__(self, kind: str, events: list[InformerEvent]) -> None:
        super().__init__()
        self.kind = kind  # "vms" or "vmis"
        self.events = events


def _object_key(obj: dict[str, Any] | None) -> ObjectKey:
    meta = (obj or {}).get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class VmListScreen(LifecycleMixin, Screen):
    """All VMs of one namespace, or of all namespaces, with their live status."""

    CSS_PATH = "vm_list.tcss"
    AGE_REFRESH_SECONDS = 5.0
    # s (or c) opens the VM's serial console.
    BINDINGS = [Binding("s", "console", "Console"), Binding("c", "console", "Console", show=False)]

    def __init__(
        self,
        api_client: Any,
        namespace: str | None = None,
        *,
        informer_factory: InformerFactory = Informer,
        name: str | None = None,
    ) -> None:
        """`namespace` None shows all namespaces. `informer_factory` is a seam for tests."""
        super().__init__(name=name)
        self.api_client = api_client
        self.namespace = namespace
        self._informer_factory = informer_factory
        self._informers: dict[str, Any] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._vms: dict[ObjectKey, dict[str, Any]] = {}
        self._vmis: dict[ObjectKey, dict[str, Any]] = {}
        # Which table row (VM uid) shows which VM, so a VMI event finds its row.
        self._row_keys: dict[ObjectKey, str] = {}
        self._rows: dict[str, VmRow] = {}
        self._states: dict[str, InformerState] = {}
        self._errors: dict[str, str] = {}
        self._synced: set[str] = set()  # informers that have delivered a complete list

    @property
    def all_namespaces(self) -> bool:
        return self.namespace is None

    @property
    def columns(self) -> list[str]:
        if self.all_namespaces:
            return ["NAME", "NAMESPACE", "STATUS", "READY", "IP", "NODE", "AGE"]
        return ["NAME", "STATUS", "READY", "IP", "NODE", "AGE"]

    # ---- layout and life cycle ------------------------------------------------------

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(id="vm-title")
        yield Static(id="vm-banner")
        yield ResourceTable(id="vm-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        sort_by = ("NAMESPACE", "NAME") if self.all_namespaces else ("NAME",)
        table.set_columns(self.columns, sort_by=sort_by)
        table.focus()
        self._update_title()
        self._update_banner()
        for key, kind in (("vms", VMS), ("vmis", VMIS)):
            self._start_informer(key, kind)
        self.set_interval(self.AGE_REFRESH_SECONDS, self._refresh_ages, name="vm ages")

    def on_unmount(self) -> None:
        self.stop_informers()

    def _start_informer(self, key: str, kind: Kind) -> None:
        informer = self._informer_factory(self.api_client, kind, self.namespace)
        self._informers[key] = informer
        self._states[key] = InformerState.STARTING

        def deliver(events: list[InformerEvent]) -> None:
            # Runs on the informer's thread: hand over, never touch widgets here.
            self.post_message(InformerBatch(key, list(events)))

        self._unsubscribe.append(informer.add_listener(deliver))
        informer.start()

    def stop_informers(self) -> None:
        """Stop watching (idempotent). The informers are daemon threads; this ends them now."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for informer in self._informers.values():
            informer.stop()
        self._informers.clear()

    # ---- applying events (UI thread) ------------------------------------------------

    def on_informer_batch(self, message: InformerBatch) -> None:
        store = self._vms if message.kind == "vms" else self._vmis
        touched: set[ObjectKey] = set()
        for event in message.events:
            if event.state is not None:
                self._states[message.kind] = event.state
            if event.type == "SYNCED":
                self._synced.add(message.kind)
            if event.type in ("STATE", "SYNCED"):
                # A relist reports what changed meanwhile (DELETED included), so SYNCED
                # needs no reconciling here; it only clears the banner's reason.
                self._errors[message.kind] = str(event.error) if event.error else ""
            elif event.type in ("ADDED", "MODIFIED") and event.obj is not None:
                key = _object_key(event.obj)
                store[key] = event.obj
                touched.add(key)
            elif event.type == "DELETED" and event.obj is not None:
                key = _object_key(event.obj)
                store.pop(key, None)
                touched.add(key)
        with self.app.batch_update():
            self._apply(touched)
            self._update_title()
            self._update_banner()

    def _apply(self, keys: Iterable[ObjectKey], now: datetime | None = None) -> None:
        table = self.query_one(ResourceTable)
        now = now or datetime.now(timezone.utc)
        for key in keys:
            vm = self._vms.get(key)
            old_row_key = self._row_keys.get(key)
            if vm is None:
                if old_row_key is not None:
                    table.remove(old_row_key)
                    self._rows.pop(old_row_key, None)
                    del self._row_keys[key]
                continue
            row = vm_row(vm, self._vmis.get(key), now=now)
            if old_row_key is not None and old_row_key != row.key:
                # Same name, new uid: the VM was deleted and created again.
                table.remove(old_row_key)
                self._rows.pop(old_row_key, None)
            self._row_keys[key] = row.key
            self._rows[row.key] = row
            table.upsert(row.key, self._cells(row), self._styles(row))

    def _cells(self, row: VmRow) -> list[str]:
        cells = [row.name]
        if self.all_namespaces:
            cells.append(row.namespace)
        cells += [row.status, row.ready, row.ip, row.node, row.age]
        return cells

    def _styles(self, row: VmRow) -> list[str | None]:
        styles: list[str | None] = [None] * len(self.columns)
        styles[self.columns.index("STATUS")] = CATEGORY_STYLES.get(row.category)
        return styles

    def _refresh_ages(self) -> None:
        # Re-deriving the whole row is cheap and upsert only redraws the AGE cells that moved.
        with self.app.batch_update():
            self._apply(list(self._row_keys))

    # ---- title and banner -----------------------------------------------------------

    @property
    def synced(self) -> bool:
        return all(state == InformerState.SYNCED for state in self._states.values())

    def _update_title(self) -> None:
        # Short enough for 80 columns: "14 VMs in all namespaces  2 running  5 stopped  1 error".
        scope = "all namespaces" if self.all_namespaces else f"namespace {plain(self.namespace)}"
        state = self._states.get("vms")
        if "vms" not in self._synced:
            # No complete list yet: a count would be a guess (the banner says why, if stuck).
            waiting = "loading…" if state in (None, InformerState.STARTING) else ""
            title = Text.assemble(("VMs", "bold"), f" in {scope}  ", (waiting, "italic"))
        else:
            total = len(self._rows)
            title = Text.assemble(
                (f"{total} VM{'' if total == 1 else 's'}", "bold"), f" in {scope}"
            )
            counts: dict[str, int] = {}
            for row in self._rows.values():
                counts[row.category] = counts.get(row.category, 0) + 1
            for category in ("running", "transitional", "stopped", "error"):
                if counts.get(category):
                    title.append("  ")
                    title.append(f"{counts[category]} {category}", CATEGORY_STYLES[category])
        self.query_one("#vm-title", Static).update(title)

    def _update_banner(self) -> None:
        banner = self.query_one("#vm-banner", Static)
        trouble = [
            (key, state)
            for key, state in self._states.items()
            if state in (InformerState.DISCONNECTED, InformerState.ERROR)
        ]
        if not trouble:
            banner.update("")
            banner.display = False
            return
        key, state = trouble[0]
        reason = self._errors.get(key) or ""
        if state == InformerState.DISCONNECTED:
            text = "Disconnected from the cluster; reconnecting. The list may be out of date."
        else:
            what = "VirtualMachines" if key == "vms" else "VirtualMachineInstances"
            text = f"Cannot watch {what}."
        if reason:
            text += f" ({reason})"
        banner.set_class(state == InformerState.ERROR, "-error")
        # Error texts can quote the server: plain Text, with controls made visible.
        banner.update(Text(plain(text), no_wrap=True, overflow="ellipsis"))
        banner.display = True

    # ---- lifecycle and details (screens/lifecycle.py, screens/vm_details.py) ------------
    # LifecycleMixin brings the lifecycle keys (t x r ctrl+k z Z b m M ctrl+d e); this block
    # tells it which VMs they act on, and opens the details screen on enter.

    def lifecycle_targets(self) -> list[Target]:
        """The marked VMs, else the VM under the cursor: (VM, its VMI or None) each."""
        table = self.query_one(ResourceTable)
        keys = sorted(getattr(table, "marked_keys", None) or ())
        if not keys and table.cursor_key is not None:
            keys = [table.cursor_key]
        targets: list[Target] = []
        for key in keys:
            row = self._rows.get(key)
            vm = self._vms.get((row.namespace, row.name)) if row else None
            if row is not None and vm is not None:
                targets.append((vm, self._vmis.get((row.namespace, row.name))))
        return targets

    def on_resource_table_selected(self, message: Any) -> None:
        """enter on a row: the VM's details."""
        from screens.vm_details import VmDetailsScreen

        row = self._rows.get(getattr(message, "key", None) or "")
        if row is not None:
            self.app.push_screen(VmDetailsScreen(self.api_client, row.namespace, row.name))

    # ---- console (screens/console.py) ---------------------------------------------------

    def action_console(self) -> None:
        """s / c: the serial console of the VM under the cursor (the app keeps it open)."""
        row = self._rows.get(self.query_one(ResourceTable).cursor_key or "")
        open_console = getattr(self.app, "open_console", None)
        if row is not None and open_console is not None:
            open_console(row.namespace, row.name)
