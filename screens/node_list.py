"""`kvtui node`: every libvirt domain on this machine, across the launchers' daemons, live.

The rows come from `tui.node.model.NodeModel`, whose threads talk to libvirt; the app tells
this screen when the model changed and the screen redraws from a snapshot. Nothing here
waits on libvirt except the confirmed mutations, which run in a worker thread.

Columns: NAMESPACE and VM (KubeVirt's `<namespace>_<vm>` taken apart; plain domains show
their name under VM), STATE with virsh's reason, vCPUs, memory current/max, UPTIME
(`~` when kvtui only saw it running, not starting), CPU% (of the domain's vCPUs) and block
and network rates with sparklines, the VMI uid, the launcher pid and the connection.

Keys (k9s-like): enter details, `/` filter, shift+N/P/S/C/M/U sort, `s`/`c` console,
`l` serial log, `e` events, `z` suspend, `Z` resume, `ctrl+k` destroy (each asks first:
KubeVirt owns these domains), `+`/`-` refresh faster/slower, `ctrl+x` forget vanished
launchers. With a cluster (`--kubeconfig`), CLUSTER and NODE columns join each domain to its
VMI (tui/node/cluster.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from screens.dialogs import Confirmation, ConfirmDialog
from screens.vm_list import FilterInput
from tui.kubevirt.filters import RowFilter, parse_age, parse_filter, sort_key
from tui.node.cluster import ClusterInfo, NodeCluster
from tui.node.details import ACTIONS, console_target, explain, perform
from tui.node.domains import (
    STATE_CATEGORY,
    STATES,
    human_duration,
    human_kib,
    human_rate,
    sparkline,
)
from tui.node.model import DomainRow, NodeModel, SourceState
from widgets.footer import Footer
from widgets.inputs import Input
from widgets.resource_table import ResourceTable, plain

COLUMNS = [
    "NAMESPACE",
    "VM",
    "STATE",
    "VCPU",
    "MEM",
    "UPTIME",
    "CPU%",
    "BLOCK/s",
    "NET/s",
    "VMI UID",
    "PID",
    "SOURCE",
]
CLUSTER_COLUMNS = ["CLUSTER", "NODE"]  # with --kubeconfig: the VMI's phase and node
# Dropped first on a narrow terminal: 80 columns keep namespace, VM, state, CPU and memory.
HIDE_ORDER = (
    "SOURCE",
    "VMI UID",
    "PID",
    "NODE",
    "VCPU",
    "UPTIME",
    "BLOCK/s",
    "NET/s",
    "MEM",
    "CLUSTER",
)
SORT_KEYS = {"N": "VM", "P": "NAMESPACE", "S": "STATE", "C": "CPU%", "M": "MEM", "U": "UPTIME"}
INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SPARK_WIDTH = 8

CATEGORY_STYLES: dict[str, str | None] = {
    "running": "bold green",
    "transitional": "yellow",
    "stopped": "dim",
    "error": "bold red",
}

KUBEVIRT_WARNING = (
    "KubeVirt owns these domains: virt-launcher and virt-handler may undo this or mark the "
    "VMI failed. Prefer virtctl (or kvtui's cluster view) unless you are troubleshooting."
)

_SUFFIX = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "Mi": 1024**2, "Gi": 1024**3}


def node_sort_key(column: str, text: str) -> tuple[Any, ...]:
    """Numbers in rate, CPU, memory and uptime cells order by value, not by text."""
    token = text.strip().split(" ", 1)[0].split("/", 1)[0].lstrip("~").rstrip("%")
    if column == "UPTIME" and token:
        seconds = parse_age(token)
        if seconds is not None:
            return (0, seconds)
    if column in ("CPU%", "BLOCK/s", "NET/s", "MEM", "VCPU", "PID") and token:
        for suffix in ("Mi", "Gi", "B", "K", "M", "G", ""):
            if token.endswith(suffix) and (suffix or token[-1:].isdigit()):
                number = token[: len(token) - len(suffix)] if suffix else token
                try:
                    return (0, float(number) * _SUFFIX.get(suffix, 1))
                except ValueError:
                    break
    return sort_key(column, text)


def _rate_cell(value: float | None, history: tuple[float, ...]) -> str:
    if value is None:
        return ""
    return f"{human_rate(value):>6} {sparkline(history, SPARK_WIDTH)}"


def row_cells(row: DomainRow, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    uptime = ""
    if row.running_since is not None and not row.stale:
        uptime = human_duration(now - row.running_since)
        if uptime and not row.since_exact:
            uptime = "~" + uptime
    cpu = ""
    if row.cpu is not None:
        cpu = f"{row.cpu:5.1f}% {sparkline(row.cpu_history, SPARK_WIDTH)}"
    memory = human_kib(row.memory_kib)
    if row.max_memory_kib and row.max_memory_kib != row.memory_kib:
        memory = f"{memory}/{human_kib(row.max_memory_kib)}"
    state = row.state_text
    if row.stale:
        state = f"{state} (stale)"
    return [
        row.namespace or "-",
        row.vm,
        state,
        str(row.vcpus or ""),
        memory,
        uptime,
        cpu,
        _rate_cell(row.block_rate, row.block_history),
        _rate_cell(row.net_rate, row.net_history),
        row.vmi_uid,
        str(row.launcher_pid or ""),
        row.source,
    ]


def cluster_cells(info: ClusterInfo | None) -> list[str]:
    if info is None:
        return ["…", ""]
    return [info.summary, info.node]


def row_styles(row: DomainRow, info: ClusterInfo | None = None, width: int = 0) -> list[str | None]:
    width = width or len(COLUMNS)
    if row.stale:
        return ["dim"] * width
    styles: list[str | None] = [None] * width
    styles[2] = CATEGORY_STYLES.get(STATE_CATEGORY.get(row.state, ""))
    if width > len(COLUMNS) and info is not None:
        trouble = not info.found or info.elsewhere
        styles[3] = (
            "bold red" if trouble else ("bold green" if info.phase == "Running" else "yellow")
        )
    return styles


def interval_step(current: float, step: int) -> float:
    """The next refresh interval up (+1: slower) or down (-1: faster) the ladder."""
    if step > 0:
        return next((v for v in INTERVALS if v > current), INTERVALS[-1])
    return next((v for v in reversed(INTERVALS) if v < current), INTERVALS[0])


class NodeListScreen(Screen):
    """The domains of every source, live; the start screen of `kvtui node`."""

    DEFAULT_CSS = """
    NodeListScreen #node-header { height: 1; padding: 0 1; background: $panel; }
    NodeListScreen #node-title { height: 1; padding: 0 1; }
    NodeListScreen #node-banner {
        height: auto; max-height: 4; padding: 0 1; background: $warning; color: $text;
        text-style: bold; display: none;
    }
    NodeListScreen #node-banner.-error { background: $error; }
    NodeListScreen #node-table { height: 1fr; }
    NodeListScreen #node-status { height: 1; padding: 0 1; color: $text-muted; }
    NodeListScreen #node-filter { display: none; height: 1; border: none; padding: 0 1; }
    """
    BINDINGS = [
        Binding("enter", "details", "Details", show=False),
        Binding("slash", "open_filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("s", "console", "Console"),
        Binding("c", "console", "Console", show=False),
        Binding("l", "serial_log", "Serial log"),
        Binding("z", "mutate('suspend')", "Suspend"),
        Binding("Z", "mutate('resume')", "Resume"),
        Binding("ctrl+k", "mutate('destroy')", "Destroy"),
        Binding("e", "events", "Events"),
        Binding("plus", "interval(-1)", "Faster", key_display="+"),
        Binding("minus", "interval(1)", "Slower", key_display="-"),
        Binding("ctrl+x", "forget_gone", "Forget vanished", show=False),
        *(
            Binding(key, f"sort_by('{column}')", f"Sort by {column.lower()}", show=False)
            for key, column in SORT_KEYS.items()
        ),
    ]

    def __init__(
        self,
        model: NodeModel,
        *,
        notes: list[str] | None = None,
        cluster: NodeCluster | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.model = model
        self.cluster = cluster
        # CLUSTER and NODE go after STATE when a cluster is there to ask.
        self.columns = COLUMNS[:3] + (CLUSTER_COLUMNS if cluster else []) + COLUMNS[3:]
        self.notes = list(notes or [])
        self._rows: dict[str, DomainRow] = {}
        self._filter: RowFilter = parse_filter("")
        self._sort_column = "NAMESPACE"
        self._sort_reverse = False

    # ---- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="node-header")
        yield Static(id="node-title")
        yield Static(id="node-banner")
        yield ResourceTable(id="node-table")
        yield FilterInput(placeholder="filter: text or regex, ! inverts", id="node-filter")
        yield Static(id="node-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.table
        table.set_columns(self.columns, hide_order=[c for c in HIDE_ORDER if c in self.columns])
        self._apply_sort()
        table.focus()
        self.refresh_from_model()
        # Uptimes move on their own between model updates.
        self.set_interval(1.0, self._tick_uptimes, name="node uptimes")

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#node-table", ResourceTable)

    # ---- from the model ---------------------------------------------------------------

    def refresh_from_model(self) -> None:
        rows = {row.key: row for row in self.model.rows()}
        table = self.table
        now = time.time()
        with self.app.batch_update():
            for key in set(self._rows) - set(rows):
                table.remove(key)
            for row in rows.values():
                self._upsert(table, row, now)
            self._rows = rows
            self._update_header()
            self._update_title()
            self._update_banner()
            self._update_status()

    def _upsert(self, table: ResourceTable, row: DomainRow, now: float) -> None:
        cells = row_cells(row, now)
        info = None
        if self.cluster is not None:
            info = self.cluster_info(row)
            cells[3:3] = cluster_cells(info)
        table.upsert(row.key, cells, row_styles(row, info, len(self.columns)))

    def _tick_uptimes(self) -> None:
        """Once a second: the uptimes move (the rows as last read; the model is not asked)."""
        table = self.table
        now = time.time()
        with self.app.batch_update():
            for row in self._rows.values():
                if row.running_since is not None and not row.stale:
                    self._upsert(table, row, now)

    def cluster_info(self, row: DomainRow) -> ClusterInfo | None:
        if self.cluster is None:
            return None
        return self.cluster.lookup(row.vmi_uid, row.namespace, row.vm)

    def _update_header(self) -> None:
        sources = self.model.sources_list()
        lost = sum(1 for s in sources if s.state is SourceState.LOST)
        header = Text.assemble(("kvtui node", "bold"), no_wrap=True, overflow="ellipsis")
        header.append(f"  {len(sources)} libvirt connection{'s' if len(sources) != 1 else ''}")
        if lost:
            header.append(f" ({lost} lost)", "bold red")
        header.append(f"  refresh every {self.model.interval:g}s", "dim")
        if self.model.discover_launchers:
            header.append("  discovering launchers", "dim")
        if self.cluster is not None:
            header.append(f"  cluster {plain(self.cluster.context)}", "dim")
            if not self.cluster.synced:
                header.append(f" ({self.cluster.state.value})", "bold yellow")
        self.query_one("#node-header", Static).update(header)

    def _update_title(self) -> None:
        total = len(self._rows)
        shown = self.table.row_count
        count = f"[{total}]" if shown == total else f"[{shown}/{total}]"
        title = Text.assemble(("Domains", "bold"), " on this node ", (count, "bold"))
        counts: dict[tuple[int, str], int] = {}
        for row in self._rows.values():
            word = "stale" if row.stale else STATES.get(row.state, "?")
            order = 99 if row.stale else row.state
            counts[(order, word)] = counts.get((order, word), 0) + 1
        for (order, word), count in sorted(counts.items()):
            category = STATE_CATEGORY.get(order, "")
            style = "dim" if word == "stale" else CATEGORY_STYLES.get(category)
            title.append("  ")
            title.append(f"{count} {word}", style or "")
        if self._filter.source:
            title.append("  ")
            title.append(f"</{plain(self._filter.source)}>", "bold cyan")
            if self._filter.error:
                title.append(f"  {plain(self._filter.error)}", "bold red")
        self.query_one("#node-title", Static).update(title)

    def banner_lines(self) -> tuple[list[str], bool]:
        """What the banner says, and whether it is an error (red) rather than a warning."""
        lines: list[str] = []
        error = False
        for source in self.model.sources_list():
            if source.state is not SourceState.LOST:
                continue
            count = sum(1 for row in self._rows.values() if row.source == source.label)
            where = "launcher gone" if source.gone else "retrying"
            since = ""
            if source.lost_at is not None:
                since = time.strftime(" at %H:%M:%S", time.localtime(source.lost_at))
            what = (
                f"{source.label}: libvirt daemon vanished{since}: {source.error}"
                if count
                else f"cannot connect to {source.label}: {source.error}"
            )
            extra = ""
            if count:
                extra = (
                    " — its domain is greyed"
                    if count == 1
                    else f" — its {count} domains are greyed"
                )
            lines.append(f"{what}{extra} ({where})")
            error = True
        sources = self.model.sources_list()
        discovery = self.model.discovery
        if discovery is not None:
            if not self.model.uris or not discovery.launchers and not sources:
                lines.extend(discovery.notes)
            if self.model.discover_launchers and not discovery.launchers and not self.model.uris:
                lines.append(
                    "no virt-launcher libvirt daemons found on this machine "
                    "(looked for run/libvirt/virtqemud-sock and libvirt-sock in every process's "
                    "mount namespace); add one with --uri"
                )
        if self.cluster is not None and self.cluster.error and not self.cluster.synced:
            lines.append(f"cluster {self.cluster.context}: {self.cluster.error}")
        lines.extend(self.notes)
        if not sources and not lines:
            lines.append("no libvirt connections: give one with --uri")
        return lines, error

    def _update_banner(self) -> None:
        banner = self.query_one("#node-banner", Static)
        lines, error = self.banner_lines()
        banner.display = bool(lines)
        banner.set_class(error, "-error")
        banner.update(Text("\n".join(plain(line) for line in lines)))

    def _update_status(self) -> None:
        events = self.model.recent_events()
        text = Text(no_wrap=True, overflow="ellipsis")
        if events:
            last = events[-1]
            text.append(time.strftime("%H:%M:%S ", time.localtime(last.at)), "dim")
            text.append(plain(last.text))
            text.append(f"  ({plain(last.source)})", "dim")
        self.query_one("#node-status", Static).update(text)

    # ---- the row under the cursor ---------------------------------------------------------

    def selected(self) -> DomainRow | None:
        return self._rows.get(self.table.cursor_key or "")

    def on_resource_table_selected(self, message: Any) -> None:
        message.stop()
        self.action_details()

    def action_details(self) -> None:
        row = self.selected()
        if row is None:
            return
        from screens.node_details import NodeDetailsScreen

        self.app.push_screen(NodeDetailsScreen(self.model, row.key))

    def action_console(self) -> None:
        row = self.selected()
        if row is not None:
            open_domain_console(self, self.model, row)

    def action_serial_log(self) -> None:
        row = self.selected()
        if row is not None:
            open_serial_log(self, self.model, row)

    def action_mutate(self, action: str) -> None:
        row = self.selected()
        if row is not None:
            confirm_mutation(self, self.model, row, action)

    def action_events(self) -> None:
        self.app.push_screen(NodeEventsScreen(self.model))

    def action_interval(self, step: int) -> None:
        value = self.model.set_interval(interval_step(self.model.interval, step))
        self.notify(f"Statistics refresh every {value:g} s", timeout=2)
        self._update_header()

    def action_forget_gone(self) -> None:
        count = self.model.forget_gone()
        self.notify(f"Forgot {count} vanished launcher{'s' if count != 1 else ''}.", timeout=3)
        self.refresh_from_model()

    # ---- filter and sort --------------------------------------------------------------------

    def action_open_filter(self) -> None:
        field = self.query_one(FilterInput)
        field.display = True
        self.set_focus(field)  # now: the keys typed right after `/` are the filter's

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self._filter.source)
        if action == "mutate" and self.model.read_only:
            return False  # --readonly: the keys are gone from the footer too
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        self._set_filter("")
        field = self.query_one(FilterInput)
        field.value = ""
        field.display = False
        self.table.focus()

    @on(Input.Changed, "#node-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#node-filter")
    def _filter_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(FilterInput).display = False
        self.table.focus()

    @on(FilterInput.Cancelled)
    def _filter_cancelled(self) -> None:
        self.action_clear_filter()

    def _set_filter(self, text: str) -> None:
        self._filter = parse_filter(text)
        query = self._filter
        if query.active and query.mode == "substring":
            self.table.set_filter(None, contains=query.needle, invert=query.invert)
        elif query.active:
            self.table.set_filter(lambda key, cells, text: query.matches(text, None))
        else:
            self.table.set_filter(None)
        self._update_title()

    def action_sort_by(self, column: str) -> None:
        if column == self._sort_column:
            self._sort_reverse = not self._sort_reverse
        else:
            self._sort_column, self._sort_reverse = column, column in ("CPU%", "MEM")
        self._apply_sort()

    def _apply_sort(self) -> None:
        columns = [self._sort_column]
        columns += [c for c in ("NAMESPACE", "VM", "SOURCE") if c not in columns]
        self.table.set_sort(columns, reverse=self._sort_reverse, key=node_sort_key)


# ---- shared by the list and the details screen ----------------------------------------------


def open_domain_console(screen: Screen, model: NodeModel, row: DomainRow) -> None:
    """The domain's serial console in the console screen: KubeVirt's socket, or openConsole."""
    app: Any = screen.app
    if row.stale:
        screen.notify(
            f"{row.source} is not connected: its domains' consoles are out of reach.",
            severity="warning",
            markup=False,
        )
        return
    target = console_target(row.facts, launcher_pid=row.launcher_pid, proc_root=model.proc_root)
    namespace = row.namespace or "libvirt"
    registry = app.consoles
    if registry.get(namespace, row.vm) is not None:
        registry.open(namespace, row.vm)
        return
    if target.kind == "unix":
        if target.note:
            screen.notify(
                f"No serial console socket: {target.note}. `l` shows the serial log.",
                severity="warning",
                markup=False,
                timeout=8,
            )
            return
        from tui.console.libvirt import UnixSocketConsole

        transport: Any = UnixSocketConsole(target.socket)
    elif target.kind == "libvirt":
        from tui.console.libvirt import LibvirtStreamConsole

        source = model.source(row.uri)
        connection = source.connection if source is not None else None
        if connection is not None:
            transport = LibvirtStreamConsole(None, row.uuid, connection=connection)
        else:
            transport = LibvirtStreamConsole(row.uri, row.uuid)
    else:
        screen.notify(f"No console: {target.note}", severity="warning", markup=False)
        return
    registry.open(namespace, row.vm, transport=transport)


def open_serial_log(screen: Screen, model: NodeModel, row: DomainRow) -> None:
    target = console_target(row.facts, launcher_pid=row.launcher_pid, proc_root=model.proc_root)
    if not target.log:
        screen.notify(
            "This domain's serial device writes no log file (KubeVirt's do: virt-serial0-log).",
            severity="warning",
        )
        return
    from screens.node_details import SerialLogScreen

    screen.app.push_screen(SerialLogScreen(target.log, title=f"{row.namespace or '-'}/{row.vm}"))


def confirm_mutation(
    screen: Screen,
    model: NodeModel,
    row: DomainRow,
    action: str,
    done: Callable[[], None] | None = None,
) -> None:
    """Ask (with KubeVirt's ownership warning), then suspend/resume/destroy in a worker."""
    label, command, dangerous = ACTIONS[action]
    source = model.source(row.uri)
    if row.stale or source is None:
        screen.notify(f"{row.source} is not connected.", severity="warning", markup=False)
        return
    if source.read_only:
        screen.notify(
            f"{row.source} is connected read-only: {label.lower()} is not possible.",
            severity="warning",
            markup=False,
        )
        return
    shown = f"{row.namespace}/{row.vm}" if row.namespace else row.vm

    def commands(_option: bool) -> list[str]:
        return [f"virsh -c '{row.uri}' {command.format(name=row.name)}"]

    notes = [KUBEVIRT_WARNING] if row.kubevirt else []

    def decided(answer: Confirmation | None) -> None:
        if answer is not None:
            _run_mutation(screen, model, row, action, done)

    screen.app.push_screen(
        ConfirmDialog(
            f"{label} this libvirt domain?",
            [shown],
            commands,
            dangerous=dangerous,
            notes=notes,
        ),
        decided,
    )


def _run_mutation(
    screen: Screen,
    model: NodeModel,
    row: DomainRow,
    action: str,
    done: Callable[[], None] | None,
) -> None:
    @work(thread=True, exclusive=False, group="node-mutation")
    def run(self: Screen) -> None:
        label = ACTIONS[action][0]
        try:
            source = model.source(row.uri)
            if source is None:
                raise RuntimeError(f"{row.source} is gone")
            perform(source.domain(row.uuid), action)
        except Exception as exc:  # noqa: BLE001 - say it, in words
            message = f"{label} {row.name} failed: {explain(exc)}"
            self.app.call_from_thread(
                self.notify, message, severity="error", markup=False, timeout=8
            )
            return
        if source is not None:
            source.wake(relist=True)
        self.app.call_from_thread(
            self.notify, f"{label}: {row.name} done.", markup=False, timeout=3
        )
        if done is not None:
            self.app.call_from_thread(done)

    run(screen)


class NodeEventsScreen(Screen):
    """Lifecycle events and daemons coming and going, newest first (`virsh event --loop`)."""

    DEFAULT_CSS = """
    NodeEventsScreen #events-title { height: 1; padding: 0 1; }
    NodeEventsScreen #events-table { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, model: NodeModel) -> None:
        super().__init__()
        self.model = model

    def compose(self) -> ComposeResult:
        yield Static(id="events-title")
        yield ResourceTable(id="events-table")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(["#", "TIME", "SOURCE", "EVENT"], hide_order=["#", "SOURCE"])
        table.set_sort(["#"], reverse=True, key=sort_key)
        table.focus()
        self.refresh_from_model()

    def refresh_from_model(self) -> None:
        events = {str(event.seq): event for event in self.model.recent_events()}
        table = self.query_one(ResourceTable)
        for key in set(table.keys()) - set(events):
            table.remove(key)  # the model keeps the last 200
        for key, event in events.items():
            if key not in table:
                stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
                millis = int(event.at * 1000) % 1000
                table.upsert(key, [key, f"{stamp}.{millis:03d}", event.source, event.text])
        title = Text.assemble(
            ("Events", "bold"), f" on this node [{len(events)}]", ("  newest first", "dim")
        )
        self.query_one("#events-title", Static).update(title)

    def action_back(self) -> None:
        self.app.pop_screen()
