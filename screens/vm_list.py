"""The VM list: every VirtualMachine in scope, live from two informers (VMs and VMIs).

The informers run on their own threads and call our listener with batches of events; the
listener only posts a Textual message (thread-safe) and the UI thread applies it. Nothing
here waits on the network.

A row joins a VM with its VMI (same namespace and name): the VM says status and ready, the
VMI says IP and node. Rows are keyed by the VM's uid so a VM deleted and recreated under
the same name is a new row, and so updates touch only the cells that changed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from screens.lifecycle import LifecycleMixin, Target
from screens.on_node import ShowOnNodeMixin
from screens.watching import InformerFactory, Watching
from tui.cluster.informer import Informer, InformerEvent, InformerState
from tui.cluster.kinds import CLUSTER_INSTANCETYPES, INSTANCETYPES, VMIS, VMS
from tui.collector import Collector
from tui.kubevirt.filters import RowFilter, is_fault, parse_filter, sort_key
from tui.kubevirt.vm import VmRow, humanize_age, instancetype_ref, vm_row
from widgets.footer import Footer
from widgets.inputs import Input
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


RESTART_MARK = "⟳"  # in the column of that name: the VM waits for a restart (RestartRequired)
# Columns dropped first when the terminal is narrow (80 columns keeps name, namespace,
# status, the restart mark, IP and age): least telling first.
HIDE_ORDER = ("RUN STRATEGY", "VCPU", "MEM", "READY", "NODE", "IP", "NAMESPACE")
# k9s's sort keys (anchors §3): shift+n name, shift+p namespace, shift+s status, shift+a
# age, shift+o node; shift+left/right move the sort to the neighbouring column, which
# reaches vCPU, memory, IP and the rest without taking keys (M, C, I, R) the lifecycle
# and editor views use.
SORT_KEYS = {"N": "NAME", "P": "NAMESPACE", "S": "STATUS", "A": "AGE", "O": "NODE"}
LIST_BINDINGS = [
    Binding("slash", "open_filter", "Filter", key_display="/"),
    Binding("escape", "clear_filter", "Clear filter", show=False),
    Binding("ctrl+z", "toggle_faults", "Faults"),
    *(
        Binding(key, f"sort_by('{column}')", f"Sort by {column.lower()}", show=False)
        for key, column in SORT_KEYS.items()
    ),
    Binding("shift+left", "sort_step(-1)", "Sort by previous column", show=False),
    Binding("shift+right", "sort_step(1)", "Sort by next column", show=False),
]

# s (or c) opens the VM's serial console.
CONSOLE_BINDINGS = [
    Binding("s", "console", "Console"),
    Binding("c", "console", "Console", show=False),
]


class FilterInput(Input):
    """The `/` filter line: esc here clears the filter (and never leaves the view)."""

    BINDINGS = [Binding("escape", "cancel", "Clear filter", show=False)]

    class Cancelled(Message):
        """The user pressed esc in the filter line."""

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())

    def _watch_value(self, value: str) -> None:
        # Input grows its virtual size with the text, and that reactive lays out the whole
        # screen: a full repaint per keystroke (~10 ms at 160x48). The line's own size
        # is fixed (vm_list.tcss), so set it quietly; Input then finds it unchanged.
        size = Size(self.content_width, 1)
        if size != self.virtual_size:
            self.set_reactive(Input.virtual_size, size)
            self._scroll_update(size)
        super()._watch_value(value)


class InformerBatch(Message):
    """Events an informer delivered, carried from its thread to the UI thread."""

    def __init__(self, kind: str, events: list[InformerEvent]) -> None:
        super().__init__()
        self.kind = kind  # "vms", "vmis", or an instancetype kind (INSTANCETYPE_KINDS)
        self.events = events


# The instancetype informers' keys (InformerBatch.kind), with their kinds.
INSTANCETYPE_KINDS = {kind.key: kind for kind in (INSTANCETYPES, CLUSTER_INSTANCETYPES)}


def _resource_version(obj: dict[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def next_age_change(seconds: float) -> float:
    """The age (seconds) at which an age of `seconds` next reads differently, or sooner.

    kubectl's ages (`humanize_age`) step by the second below 10 minutes (45s, 5m10s), by
    the minute below 8 hours (25m, 3h5m), by the hour below 8 days (30h, 4d5h), and by
    the day (or more) after that.
    """
    if seconds < 0:
        return 0.0
    if seconds < 600:
        step = 1
    elif seconds < 8 * 3600:
        step = 60
    elif seconds < 8 * 86400:
        step = 3600
    else:
        step = 86400
    return float((int(seconds) // step + 1) * step)


def _object_key(obj: dict[str, Any] | None) -> ObjectKey:
    meta = (obj or {}).get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class VmListScreen(ShowOnNodeMixin, LifecycleMixin, Watching, Screen):
    """All VMs of one namespace, or of all namespaces, with their live status."""

    CSS_PATH = "vm_list.tcss"
    AGE_REFRESH_SECONDS = 1.0
    COLLECT_CHECK_SECONDS = 30.0  # how often a held full garbage collection may run
    # Rows off screen whose AGE is re-derived per tick at most: a tick stays a few ms at
    # 10,000 VMs all younger than 10 minutes (all change every second).
    AGE_REFRESH_BUDGET = 300
    BINDINGS = [*LIST_BINDINGS, *CONSOLE_BINDINGS, Binding("n", "new_vm", "New VM")]
    BATCH_MESSAGE = InformerBatch

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
        self._init_watching(informer_factory)
        self._vms: dict[ObjectKey, dict[str, Any]] = {}
        self._vmis: dict[ObjectKey, dict[str, Any]] = {}
        self._collector = Collector()
        # Instancetypes, read only once a VM without a VMI names one (its vCPU and MEM
        # columns come from there): (namespaced?, namespace or "", name) -> object.
        self._instancetypes: dict[tuple[bool, str, str], dict[str, Any]] = {}
        # Which table row (VM uid) shows which VM, so a VMI event finds its row.
        self._row_keys: dict[ObjectKey, str] = {}
        self._rows: dict[str, VmRow] = {}
        self._synced: set[str] = set()  # informers that have delivered a complete list
        self._filter: RowFilter = parse_filter("")
        self._faults_only = False
        self._faults: set[str] = set()  # row keys in an error status or RestartRequired
        self._category_counts: dict[str, int] = {}
        self._sort_column = "NAME"
        self._sort_reverse = False
        self._title_shown: Text | None = None
        # What each row was built from: the resourceVersions of the VM, its VMI and its
        # instancetype. The same versions build the same row (bar its age: _refresh_ages).
        self._sources: dict[ObjectKey, tuple[str, str, str]] = {}
        # When each row's AGE text next changes (POSIX seconds), as a heap of (due, row
        # key) and the due time per row (heap entries that disagree with it are stale).
        self._age_heap: list[tuple[float, str]] = []
        self._age_due: dict[str, float] = {}
        self._label_keys: dict[str, tuple[tuple[str, str], ...]] = {}
        # The row keys per distinct label set: a `-l` keystroke decides per set and unites
        # the sets that pass (no hashing of 10,000 label tuples per keystroke).
        self._label_groups: dict[tuple[tuple[str, str], ...], set[str]] = {}
        self._ages: dict[str, str] = {}  # the AGE each row shows (rows keep their first)

    @property
    def all_namespaces(self) -> bool:
        return self.namespace is None

    @property
    def columns(self) -> list[str]:
        columns = ["NAME", "NAMESPACE", "STATUS", RESTART_MARK, "READY", "RUN STRATEGY"]
        columns += ["VCPU", "MEM", "IP", "NODE", "AGE"]
        if not self.all_namespaces:
            columns.remove("NAMESPACE")
        return columns

    # ---- layout and life cycle ------------------------------------------------------

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(id="vm-title")
        yield Static(id="vm-banner")
        yield ResourceTable(id="vm-table")
        yield FilterInput(
            placeholder="filter: text, regex, -l key=value, ! inverts", id="vm-filter"
        )
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        hide = [c for c in HIDE_ORDER if c in self.columns]
        table.set_columns(self.columns, hide_order=hide)
        self._apply_sort()
        self._push_filter()
        table.focus()
        self._update_title()
        self._update_banner()
        for key, kind in (("vms", VMS), ("vmis", VMIS)):
            self._start_informer(key, kind)
        self.set_interval(self.AGE_REFRESH_SECONDS, self._refresh_ages, name="vm ages")
        self.set_interval(
            self.COLLECT_CHECK_SECONDS, self._collector.collect_when_idle, name="vm gc"
        )

    def on_unmount(self) -> None:
        self.stop_informers()
        self._collector.release()

    # ---- applying events (UI thread) ------------------------------------------------

    def on_informer_batch(self, message: InformerBatch) -> None:
        if message.kind in INSTANCETYPE_KINDS:
            self._on_instancetypes(message)
            return
        store = self._vms if message.kind == "vms" else self._vmis
        touched: set[ObjectKey] = set()
        for event in message.events:
            self._note_state(message.kind, event)
            if event.type == "SYNCED":
                self._synced.add(message.kind)
            if event.type in ("ADDED", "MODIFIED") and event.obj is not None:
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
        self._collector.activity()
        if any(event.type == "SYNCED" for event in message.events):
            # A complete list: out of the collector's sight, and its full passes wait
            # for a quiet moment (tui/collector.py).
            self._collector.freeze()
            self._collector.hold_full_passes()

    def _on_instancetypes(self, message: InformerBatch) -> None:
        namespaced = message.kind == INSTANCETYPES.key
        for event in message.events:
            if event.obj is None or event.type not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            namespace, name = _object_key(event.obj)
            key = (namespaced, namespace if namespaced else "", name)
            if event.type == "DELETED":
                self._instancetypes.pop(key, None)
            else:
                self._instancetypes[key] = event.obj
        # Few VMs name an instancetype and instancetypes rarely change: look at those VMs.
        users = [k for k, vm in self._vms.items() if (vm.get("spec") or {}).get("instancetype")]
        with self.app.batch_update():
            self._apply(users)

    def _instancetype_of(self, vm: dict[str, Any]) -> dict[str, Any] | None:
        """The instancetype object `vm` names, once read; the first VM that needs one
        starts reading instancetypes (both kinds; a refusal just leaves the name shown)."""
        ref = instancetype_ref(vm.get("spec") or {})
        if ref is None:
            return None
        if INSTANCETYPES.key not in self._informers:
            for kind in INSTANCETYPE_KINDS.values():
                self._start_informer(kind.key, kind, optional=True)
        namespaced, name = ref
        namespace = _object_key(vm)[0] if namespaced else ""
        return self._instancetypes.get((namespaced, namespace, name))

    def _apply(self, keys: Iterable[ObjectKey], now: datetime | None = None) -> None:
        table = self.query_one(ResourceTable)
        now = now or datetime.now(timezone.utc)
        for key in keys:
            vm = self._vms.get(key)
            old_row_key = self._row_keys.get(key)
            if vm is None:
                if old_row_key is not None:
                    table.remove(old_row_key)
                    self._drop_row(old_row_key)
                    del self._row_keys[key]
                    self._sources.pop(key, None)
                continue
            vmi = self._vmis.get(key)
            instancetype = self._instancetype_of(vm) if vmi is None else None
            source = (
                _resource_version(vm),
                _resource_version(vmi),
                _resource_version(instancetype),
            )
            if old_row_key is not None and source[0] and self._sources.get(key) == source:
                continue  # built from these very versions already
            self._sources[key] = source
            row = vm_row(vm, vmi, now=now, instancetype=instancetype)
            if old_row_key is not None and old_row_key != row.key:
                # Same name, new uid: the VM was deleted and created again.
                table.remove(old_row_key)
                self._drop_row(old_row_key)
            self._row_keys[key] = row.key
            self._put_row(row, (vm.get("metadata") or {}).get("labels"))
            table.upsert(row.key, self._cells(row), self._styles(row))

    def _put_row(self, row: VmRow, labels: Any = None) -> None:
        # Category counts (title) and the fault set (ctrl+z) are kept as rows change, so a
        # filter keystroke or a title update never walks 10,000 rows.
        self._drop_row(row.key)
        self._rows[row.key] = row
        category = row.category
        self._category_counts[category] = self._category_counts.get(category, 0) + 1
        if is_fault(category, row.restart_required):
            self._faults.add(row.key)
        # Labels as one interned, hashable value: a `-l` filter decides per distinct set.
        items = labels.items() if isinstance(labels, dict) else ()
        label_key = tuple(sorted((str(k), str(v)) for k, v in items))
        self._label_keys[row.key] = label_key
        self._label_groups.setdefault(label_key, set()).add(row.key)
        self._ages[row.key] = row.age
        self._schedule_age(row)

    def _schedule_age(self, row: VmRow, now: datetime | None = None) -> None:
        if row.created is None:
            return
        now = now or datetime.now(timezone.utc)
        age = (now - row.created).total_seconds()
        due = row.created.timestamp() + next_age_change(age)
        if self._age_due.get(row.key) != due:
            self._age_due[row.key] = due
            heapq.heappush(self._age_heap, (due, row.key))

    def _drop_row(self, key: str) -> None:
        old = self._rows.pop(key, None)
        if old is not None:
            self._category_counts[old.category] -= 1
            self._faults.discard(key)
            self._age_due.pop(key, None)
            label_key = self._label_keys.pop(key, None)
            group = self._label_groups.get(label_key) if label_key is not None else None
            if group is not None:
                group.discard(key)
                if not group:
                    del self._label_groups[label_key]
            self._ages.pop(key, None)

    def _cells(self, row: VmRow) -> list[str]:
        cells = [row.name]
        if self.all_namespaces:
            cells.append(row.namespace)
        cells += [row.status, RESTART_MARK if row.restart_required else "", row.ready]
        cells += [row.run_strategy, row.vcpu, row.memory, row.ip, row.node, row.age]
        return cells

    def _styles(self, row: VmRow) -> list[str | None]:
        # STATUS and the restart mark sit at index 1 and 2 after NAME (and NAMESPACE).
        status = 2 if self.all_namespaces else 1
        styles: list[str | None] = [None] * (10 if status == 1 else 11)
        styles[status] = CATEGORY_STYLES.get(row.category)
        styles[status + 1] = "bold yellow"
        return styles

    # ---- filter, faults only, sort (k9s keys) ---------------------------------------

    def _labels_of(self, key: str) -> dict[str, str]:
        return dict(self._label_keys.get(key, ()))

    def _label_matches(self, query: RowFilter) -> set[str]:
        """Row keys whose labels `query` (a `-l` filter) keeps: decided once per distinct
        label set, whose row keys are then united (no Python work per row)."""
        passing: set[str] = set()
        for labels, keys in self._label_groups.items():
            if query.matches("", dict(labels)):
                passing |= keys
        return passing

    def action_open_filter(self) -> None:
        """`/`: the filter line at the bottom; the list filters as you type."""
        field = self.query_one(FilterInput)
        field.display = True
        self.set_focus(field)  # now: the keys typed right after `/` are the filter's

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new_vm":
            return not self.read_only
        # esc clears a filter when there is one; otherwise it goes on to the app (back).
        if action == "clear_filter":
            return bool(self._filter.source or self._faults_only)
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        """esc: drop the filter and faults only."""
        self._faults_only = False
        self._set_filter("")
        field = self.query_one(FilterInput)
        field.value = ""
        field.display = False
        self.query_one(ResourceTable).focus()

    @on(Input.Changed, "#vm-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#vm-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        # enter keeps the filter (the title shows it) and gives the keys back to the list.
        field = self.query_one(FilterInput)
        field.display = False
        self.query_one(ResourceTable).focus()

    @on(FilterInput.Cancelled)
    def _filter_cancelled(self) -> None:
        self.action_clear_filter()

    def filter_by(self, text: str) -> None:
        """Filter as if `text` was typed after `/` (enter on a node: `^node-01$`)."""
        self.query_one(FilterInput).value = text
        self._set_filter(text)

    def _set_filter(self, text: str) -> None:
        self._filter = parse_filter(text)
        self._push_filter()
        self._update_title()

    def _push_filter(self) -> None:
        """Hand the current filter to the table, in the forms it applies fastest.

        A substring or a regex goes as the table's own text test (one comprehension over
        10,000 rows). Faults only and a label selector go as a predicate, for rows as they
        change, plus the set of keys it keeps now (labels decided per distinct label set).
        """
        table = self.query_one(ResourceTable)
        query, faults, faults_only = self._filter, self._faults, self._faults_only
        mode = query.mode if query.active else "all"
        contains = query.needle if mode == "substring" else None
        pattern = query.pattern if mode == "regex" else None
        invert = query.invert and mode in ("substring", "regex")
        predicate: Callable[[str, tuple[str, ...], str], bool] | None = None
        passing: set[str] | None = None
        if mode == "labels":
            labels_of, matches = self._labels_of, query.matches
            passing = self._label_matches(query)
            if faults_only:
                passing &= faults

                def predicate(key: str, cells: tuple[str, ...], text: str) -> bool:
                    return key in faults and matches(text, labels_of(key))
            else:

                def predicate(key: str, cells: tuple[str, ...], text: str) -> bool:
                    return matches(text, labels_of(key))
        elif faults_only:
            passing = set(faults)

            def predicate(key: str, cells: tuple[str, ...], text: str) -> bool:
                return key in faults

        table.set_filter(
            predicate, contains=contains, pattern=pattern, invert=invert, passing=passing
        )

    def action_toggle_faults(self) -> None:
        """ctrl+z: only VMs in an error status or waiting for a restart."""
        self._faults_only = not self._faults_only
        self._push_filter()
        self._update_title()
        self.refresh_bindings()

    def action_sort_by(self, column: str) -> None:
        """Sort by `column`; the same key again reverses the order (as in k9s)."""
        if column not in self.columns:
            return
        if column == self._sort_column:
            self._sort_reverse = not self._sort_reverse
        else:
            self._sort_column, self._sort_reverse = column, False
        self._apply_sort()

    def action_sort_step(self, step: int) -> None:
        """shift+left/right: sort by the column left or right of the current sort column."""
        shown = self.query_one(ResourceTable).shown_columns or self.columns
        index = shown.index(self._sort_column) if self._sort_column in shown else 0
        self._sort_column = shown[(index + step) % len(shown)]
        self._sort_reverse = False
        self._apply_sort()

    def _apply_sort(self) -> None:
        # Ties fall back to namespace and name, so equal statuses keep a stable order.
        columns = [self._sort_column]
        columns += [c for c in ("NAMESPACE", "NAME") if c in self.columns and c not in columns]
        self.query_one(ResourceTable).set_sort(columns, reverse=self._sort_reverse, key=sort_key)

    def _refresh_ages(self, now: datetime | None = None) -> None:
        """Bring the AGE cells whose text has changed up to date (kubectl's age steps).

        Only rows whose age text is due to change are looked at (a heap by due time), so
        a tick over 10,000 VMs days old costs nothing. When many are due (10,000 VMs all
        younger than 10 minutes change every second) the rows on screen go first, then
        at most AGE_REFRESH_BUDGET others, the longest due first; the rest wait a tick.
        """
        now = now or datetime.now(timezone.utc)
        deadline = now.timestamp()
        heap, due_of, ages = self._age_heap, self._age_due, self._ages
        table = self.query_one(ResourceTable)

        def refresh(key: str) -> None:
            row = self._rows[key]
            age = humanize_age(row.created, now)
            if age != ages.get(key):
                ages[key] = age
                table.update_cell(key, "AGE", age)
            self._schedule_age(row, now)

        with self.app.batch_update():
            for key in table.window_keys():
                if due_of.get(key, deadline + 1) <= deadline:
                    refresh(key)
            budget = self.AGE_REFRESH_BUDGET
            while heap and heap[0][0] <= deadline and budget > 0:
                due, key = heapq.heappop(heap)
                if due_of.get(key) != due:
                    continue  # stale: the row went, or was scheduled again
                budget -= 1
                refresh(key)

    # ---- title and banner -----------------------------------------------------------

    @property
    def synced(self) -> bool:
        return all(state == InformerState.SYNCED for state in self._states.values())

    def _update_title(self) -> None:
        # Counts k9s style, short enough for 80 columns:
        # "VMs in all namespaces [12/14]  2 running  5 stopped  1 error  </web>  faults only".
        scope = "all namespaces" if self.all_namespaces else f"namespace {plain(self.namespace)}"
        state = self._states.get("vms")
        if "vms" not in self._synced:
            # No complete list yet: a count would be a guess (the banner says why, if stuck).
            waiting = "loading…" if state in (None, InformerState.STARTING) else ""
            title = Text.assemble(("VMs", "bold"), f" in {scope}  ", (waiting, "italic"))
        else:
            total = len(self._rows)
            shown = self.query_one(ResourceTable).row_count
            count = f"[{total}]" if shown == total else f"[{shown}/{total}]"
            title = Text.assemble(("VMs", "bold"), f" in {scope} ", (count, "bold"))
            counts = self._category_counts
            for category in ("running", "transitional", "stopped", "error"):
                if counts.get(category):
                    title.append("  ")
                    title.append(f"{counts[category]} {category}", CATEGORY_STYLES[category])
        if self._filter.source:
            # What the user typed: plain text, never markup.
            title.append("  ")
            title.append(f"</{plain(self._filter.source)}>", "bold cyan")
            if self._filter.error:
                title.append(f"  {plain(self._filter.error)}", "bold red")
        if self._faults_only:
            title.append("  faults only", "bold red")
        if title != self._title_shown:
            # One line high (vm_list.tcss), so no layout: a layout repaints the whole screen.
            self._title_shown = title
            self.query_one("#vm-title", Static).update(title, layout=False)

    def _update_banner(self) -> None:
        self._show_watch_banner(
            self.query_one("#vm-banner", Static),
            lambda key: "VirtualMachines" if key == "vms" else "VirtualMachineInstances",
        )

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
            key = (row.namespace, row.name)
            self.app.push_screen(
                VmDetailsScreen(
                    self.api_client,
                    row.namespace,
                    row.name,
                    vm=self._vms.get(key),
                    vmi=self._vmis.get(key),
                )
            )

    # ---- creating (screens/create_vm.py) ----------------------------------------------------

    def action_new_vm(self) -> None:
        """n: the create form (the navigator knows where the VM goes)."""
        navigator = getattr(self.app, "navigator", None)
        if navigator is not None:
            navigator.open_create_form()

    def vm_names(self, namespace: str) -> list[str]:
        """The VM names this list's informer knows in `namespace` (the form checks them)."""
        return [name for ns, name in self._vms if ns == namespace]

    def on_node_vmi(self) -> dict[str, Any] | None:
        """`o` (screens/on_node.py) is about the VMI of the VM under the cursor."""
        row = self._rows.get(self.query_one(ResourceTable).cursor_key or "")
        return self._vmis.get((row.namespace, row.name)) if row is not None else None

    # ---- console (screens/console.py) ---------------------------------------------------

    def action_console(self) -> None:
        """s / c: the serial console of the VM under the cursor (the app keeps it open)."""
        row = self._rows.get(self.query_one(ResourceTable).cursor_key or "")
        open_console = getattr(self.app, "open_console", None)
        if row is not None and open_console is not None:
            open_console(row.namespace, row.name)
