"""One libvirt domain in depth (`kvtui node`, enter on a row), and its serial log.

Tabs (keys `1`–`8`): Overview, XML (highlighted; `/` searches, `n`/`N` move between
matches), Stats (vCPUs, balloon memory, CPU time), Block (sizes and I/O per disk),
Interfaces (MAC, addresses, counters), Job (`virsh domjobinfo`: live-migration progress),
Guest agent, Monitor (read-only QEMU monitor queries, run only when `m` is pressed).

libvirt is asked in a worker thread, every refresh interval for the live tabs; the XML is
read once (ctrl+r reads it again). Each part that fails says why in its own place: the test
driver and domains without a guest agent are normal, not errors. Everything shown is text
from a daemon in a pod: drawn as plain `Text` or `Syntax`, never as markup.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Log, Static, TabbedContent, TabPane

from screens.node_list import confirm_mutation, open_domain_console, open_serial_log
from tui.node import details as D
from tui.node.domains import domain_facts
from tui.node.model import DomainRow, NodeModel
from widgets.footer import Footer
from widgets.inputs import Input
from widgets.resource_table import plain

TABS = ("overview", "xml", "stats", "block", "interfaces", "job", "agent", "monitor")
TAB_TITLES = {
    "overview": "Overview",
    "xml": "XML",
    "stats": "Stats",
    "block": "Block",
    "interfaces": "Interfaces",
    "job": "Job",
    "agent": "Guest agent",
    "monitor": "Monitor",
}
LIVE_TABS = ("overview", "stats", "block", "interfaces", "job")


def _t(value: Any, style: str = "") -> Text:
    return Text(plain("" if value is None else value), style=style)


MONITOR_HINT = "Press m to run the read-only QEMU monitor queries: " + ", ".join(
    title for title, _command, _hmp in D.MONITOR_QUERIES
)


def sections_text(sections: list[D.Section]) -> str:
    lines: list[str] = []
    for section in sections:
        lines.append(section.title)
        lines += [f"{label}  {value}" for label, value in section.rows]
        lines += [t for t in (section.text, section.error) if t]
    return "\n".join(lines)


def render_sections(sections: list[D.Section]) -> RenderableType:
    """Sections as titled two-column tables; an error shows in its section, in italics."""
    parts: list[RenderableType] = []
    for section in sections:
        parts.append(Text(plain(section.title), style="bold underline"))
        if section.rows:
            table = Table(box=None, show_header=False, pad_edge=False, expand=False)
            table.add_column(style="bold", no_wrap=True)
            table.add_column(overflow="fold")
            for label, value in section.rows:
                table.add_row(_t(label), _t(value))
            parts.append(table)
        if section.text:
            parts.append(_t(section.text))
        if section.error:
            parts.append(_t(section.error, "italic yellow"))
        if not section.rows and not section.text and not section.error:
            parts.append(_t("nothing reported", "dim italic"))
        parts.append(Text(""))
    return Group(*parts)


class XmlSearch(Input):
    """The `/` search line of the XML tab (esc closes it)."""

    BINDINGS = [Binding("escape", "close", "Close search", show=False)]

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        screen = self.screen
        if isinstance(screen, NodeDetailsScreen):
            screen.search_xml("")
            screen.query_one("#tab-xml-scroll").focus()


class NodeDetailsScreen(Screen):
    """Details of one domain; `key` is the model's row key (connection + UUID)."""

    DEFAULT_CSS = """
    NodeDetailsScreen #nd-title { height: 1; padding: 0 1; }
    NodeDetailsScreen #nd-tabs { height: 1fr; }
    NodeDetailsScreen TabPane { padding: 0; }
    NodeDetailsScreen .nd-scroll { height: 1fr; }
    NodeDetailsScreen .nd-body { width: auto; min-width: 100%; padding: 0 1; }
    NodeDetailsScreen #nd-search { display: none; height: 1; border: none; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        *[
            Binding(str(i + 1), f"show_tab('{tab}')", TAB_TITLES[tab], show=False)
            for i, tab in enumerate(TABS)
        ],
        Binding("x", "show_tab('xml')", "XML", show=False),
        Binding("slash", "search", "Search XML", key_display="/"),
        Binding("n", "next_match(1)", "Next match", show=False),
        Binding("N", "next_match(-1)", "Previous match", show=False),
        Binding("m", "monitor", "Monitor queries"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("s", "console", "Console"),
        Binding("l", "serial_log", "Serial log"),
        Binding("z", "mutate('suspend')", "Suspend"),
        Binding("Z", "mutate('resume')", "Resume"),
        Binding("ctrl+k", "mutate('destroy')", "Destroy"),
    ]

    def __init__(self, model: NodeModel, key: str) -> None:
        super().__init__()
        self.model = model
        self.key = key
        self.xml_text = ""
        self.matches: list[int] = []  # line numbers (0-based) holding the search term
        self.match_index = 0
        self.search_term = ""
        self.loaded: set[str] = set()
        self.texts: dict[str, str] = {}
        self._last_error = ""
        self.errors: dict[str, str] = {}
        self.cluster: Any = None  # a NodeCluster of its own (else the app's, in kvtui node)

    # ---- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="nd-title")
        with TabbedContent(id="nd-tabs"):
            for i, tab in enumerate(TABS):
                with TabPane(f"{i + 1} {TAB_TITLES[tab]}", id=f"tab-{tab}"):
                    with VerticalScroll(classes="nd-scroll", id=f"tab-{tab}-scroll"):
                        yield Static(
                            Text("loading…", style="italic"), id=f"nd-{tab}", classes="nd-body"
                        )
        yield XmlSearch(placeholder="search the XML (enter: keep, esc: close)", id="nd-search")
        yield Footer()

    def on_mount(self) -> None:
        self._update_title()
        self.query_one("#nd-monitor", Static).update(Text(MONITOR_HINT))
        self.load(initial=True)
        self.set_interval(max(1.0, self.model.interval), self._tick, name="node details refresh")

    @property
    def row(self) -> DomainRow | None:
        for row in self.model.rows():
            if row.key == self.key:
                return row
        return None

    def _tick(self) -> None:
        self._update_title()
        self.load(initial=False)

    def _update_title(self) -> None:
        row = self.row
        if row is None:
            text = Text("This domain is gone (undefined, or its launcher was removed).", "bold red")
        else:
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(plain(f"{row.namespace}/{row.vm}" if row.namespace else row.vm), "bold")
            text.append("  ")
            state_style = "dim" if row.stale else "bold"
            text.append(plain(row.state_text + (" (stale)" if row.stale else "")), state_style)
            if row.vmi_uid:
                text.append(f"  VMI {plain(row.vmi_uid)}", "dim")
            text.append(f"  {plain(row.source)}", "dim")  # "launcher PID" or the URI
        self.query_one("#nd-title", Static).update(text)

    # ---- loading (worker thread) ------------------------------------------------------------

    @work(thread=True, exclusive=True, group="node-details")
    def load(self, initial: bool = False, monitor: bool = False) -> None:
        row = self.row
        if row is None:
            return
        if row.stale:
            source = self.model.source(row.uri)
            error = source.error if source is not None else "gone"
            self.app.call_from_thread(self._show_error, f"{row.source} is not connected: {error}")
            return
        source = self.model.source(row.uri)
        try:
            if source is None:
                raise RuntimeError(f"{row.source} is gone")
            dom = source.domain(row.uuid)
            xml = D.xml(dom) if initial or not self.xml_text else None
            facts = domain_facts(xml) if xml is not None else row.facts
            results: dict[str, list[D.Section]] = {}
            if monitor:
                results["monitor"] = D.monitor(dom)
            else:
                results["overview"] = [
                    D.overview(dom, facts, launcher_pid=row.launcher_pid, uri=row.uri),
                    self._console_section(row, facts),
                ]
                cluster = self._cluster_section(row)
                if cluster is not None:
                    results["overview"].insert(1, cluster)
                results["stats"] = D.stats(dom)
                results["block"] = D.block(dom, facts)
                results["interfaces"] = D.interfaces(dom, facts)
                results["job"] = [D.job(dom)]
                if initial:
                    results["agent"] = [D.guest_agent(dom)]
        except Exception as exc:  # noqa: BLE001 - shown on the screen, in words
            message = D.explain(exc)
            self.app.call_from_thread(self._show_error, message)
            return
        self._last_error = ""
        self.app.call_from_thread(self._show, results, xml)

    def _cluster_section(self, row: DomainRow) -> D.Section | None:
        cluster = self.cluster if self.cluster is not None else getattr(self.app, "cluster", None)
        if cluster is None:
            return None
        section = D.Section(f"Cluster ({cluster.context})")
        info = cluster.lookup(row.vmi_uid, row.namespace, row.vm)
        if info is None:
            section.error = cluster.error or "the cluster's VMI list is not in yet"
        elif not info.found:
            section.error = (
                "no VMI with this uid or name in the cluster: an orphaned domain "
                "(its VMI was deleted while the launcher lives on)?"
            )
        else:
            section.rows += [
                ("VMI", f"{info.namespace}/{info.vmi}"),
                ("VM", info.vm or "- (a VMI without a VirtualMachine)"),
                ("Phase", info.phase),
                ("Node", info.node + ("  (not this node!)" if info.elsewhere else "")),
            ]
            if info.migration:
                section.rows.append(("Migration", info.migration))
        return section

    def _console_section(self, row: DomainRow, facts: Any) -> D.Section:
        target = D.console_target(
            facts, launcher_pid=row.launcher_pid, proc_root=self.model.proc_root
        )
        section = D.Section("Console")
        how = {
            "unix": "KubeVirt serial socket (direct, as virt-handler)",
            "libvirt": "libvirt console stream (virsh console)",
        }
        section.rows.append(("Route", how.get(target.kind, "none")))
        if target.socket:
            section.rows.append(("Socket", target.socket))
        if target.log:
            section.rows.append(("Serial log", target.log))
        if target.note:
            section.error = target.note
        return section

    def _show(self, results: dict[str, list[D.Section]], xml: str | None) -> None:
        if not self.is_mounted:
            return  # the user left while libvirt answered
        for tab, sections in results.items():
            self.query_one(f"#nd-{tab}", Static).update(render_sections(sections))
            self.texts[tab] = sections_text(sections)
            self.loaded.add(tab)
        if xml is not None:
            self.xml_text = xml
            self._render_xml()

    def _show_error(self, message: str) -> None:
        if not self.is_mounted:
            return
        for tab in LIVE_TABS:
            if tab not in self.loaded:
                self.query_one(f"#nd-{tab}", Static).update(_t(message, "italic yellow"))
        if message != self._last_error:  # once per new problem, not once per refresh
            self._last_error = message
            self.notify(f"libvirt: {message}", severity="warning", markup=False, timeout=4)

    # ---- XML and its search -------------------------------------------------------------

    def _render_xml(self) -> None:
        raw = self.xml_text.replace("\t", "    ").rstrip("\n")
        text = "\n".join(plain(line) for line in raw.split("\n"))
        syntax = Syntax(text, "xml", theme="ansi_dark", word_wrap=False, line_numbers=True)
        if self.search_term:
            needle = self.search_term.casefold()
            for number, line in enumerate(text.split("\n")):
                start = line.casefold().find(needle)
                while start >= 0:
                    syntax.stylize_range(
                        "reverse bold", (number + 1, start), (number + 1, start + len(needle))
                    )
                    start = line.casefold().find(needle, start + 1)
        self.query_one("#nd-xml", Static).update(syntax)

    def search_xml(self, term: str) -> None:
        self.search_term = term
        lines = self.xml_text.split("\n")
        needle = term.casefold()
        self.matches = [i for i, line in enumerate(lines) if needle and needle in line.casefold()]
        self.match_index = 0
        self._render_xml()
        self._scroll_to_match()

    def _scroll_to_match(self) -> None:
        if not self.matches:
            return
        line = self.matches[self.match_index % len(self.matches)]
        self.query_one("#tab-xml-scroll", VerticalScroll).scroll_to(
            y=max(0, line - 3), animate=False
        )

    def action_search(self) -> None:
        self.action_show_tab("xml")
        field = self.query_one(XmlSearch)
        field.display = True
        field.focus()

    @on(Input.Changed, "#nd-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search_xml(event.value)
        count = len(self.matches)
        if event.value and not count:
            self.notify(f"No match for {event.value!r}", timeout=1.5, markup=False)

    @on(Input.Submitted, "#nd-search")
    def _search_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(XmlSearch).display = False
        self.query_one("#tab-xml-scroll").focus()
        if self.matches:
            self.notify(
                f"{len(self.matches)} matching line{'s' if len(self.matches) != 1 else ''} "
                "(n / N to move)",
                timeout=2,
            )

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            return
        self.match_index = (self.match_index + step) % len(self.matches)
        self._scroll_to_match()

    # ---- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mutate" and self.model.read_only:
            return False
        return super().check_action(action, parameters)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load(initial=True)

    def action_monitor(self) -> None:
        self.action_show_tab("monitor")
        self.query_one("#nd-monitor", Static).update(Text("asking QEMU…", style="italic"))
        self.load(monitor=True)

    def action_console(self) -> None:
        row = self.row
        if row is not None:
            open_domain_console(self, self.model, row)

    def action_serial_log(self) -> None:
        row = self.row
        if row is not None:
            open_serial_log(self, self.model, row)

    def action_mutate(self, action: str) -> None:
        row = self.row
        if row is not None:
            confirm_mutation(self, self.model, row, action, done=lambda: self.load(initial=False))

    @property
    def tab_text(self) -> dict[str, str]:
        """What each tab shows, as plain text (for tests): the XML, and every loaded section."""
        out = {tab: self.texts.get(tab, "") for tab in TABS}
        out["xml"] = self.xml_text
        if "monitor" not in self.texts:
            out["monitor"] = MONITOR_HINT
        return out


# ---- the serial log --------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[@-_]|\r")


def clean_log_text(data: bytes) -> list[str]:
    """Guest output as lines of inert text: escape sequences dropped, controls made visible."""
    text = _ANSI.sub("", data.decode("utf-8", errors="replace"))
    return [plain(line) for line in text.split("\n")]


class SerialLogScreen(Screen):
    """`tail -f` of a domain's serial log (KubeVirt's virt-serial0-log)."""

    DEFAULT_CSS = """
    SerialLogScreen #log-title { height: 1; padding: 0 1; background: $panel; }
    SerialLogScreen Log { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q", "back", "Back"), Binding("f", "follow", "Follow")]
    POLL_SECONDS = 0.5

    def __init__(self, path: str, *, title: str) -> None:
        super().__init__()
        self.path = path
        self.title_text = title
        self.read_at = 0
        self.follow = True

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield Log(id="log-body", highlight=False, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self._title("")
        self._read_initial()
        self.set_interval(self.POLL_SECONDS, self._poll, name="serial log tail")

    def _title(self, note: str) -> None:
        text = Text.assemble(
            ("serial log ", "bold"),
            (plain(self.title_text), "bold"),
            "  ",
            (plain(self.path), "dim"),
        )
        if note:
            text.append(f"  {plain(note)}", "italic yellow")
        self.query_one("#log-title", Static).update(text)

    def _read_initial(self) -> None:
        try:
            data = D.read_log_tail(self.path)
            self.read_at = os.stat(self.path).st_size
        except OSError as exc:
            self._title(f"cannot read: {exc.strerror or exc}")
            return
        self._append(data)

    def _poll(self) -> None:
        try:
            size = os.stat(self.path).st_size
        except OSError as exc:
            self._title(f"cannot read: {exc.strerror or exc}")
            return
        if size < self.read_at:  # truncated or rotated: start again
            self.read_at = 0
        if size == self.read_at:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                os.lseek(fd, self.read_at, os.SEEK_SET)
                data = os.read(fd, min(size - self.read_at, 1 << 20))
            finally:
                os.close(fd)
        except OSError as exc:
            self._title(f"cannot read: {exc.strerror or exc}")
            return
        self.read_at += len(data)
        self._title("")
        self._append(data)

    def _append(self, data: bytes) -> None:
        if not data:
            return
        # Log.write continues the last line: a prompt without a newline shows at once.
        self.query_one(Log).write("\n".join(clean_log_text(data)))

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self.notify("Following" if log.auto_scroll else "Not following", timeout=1.5)

    def action_back(self) -> None:
        self.app.pop_screen()

    @property
    def text(self) -> str:
        return "\n".join(str(line) for line in self.query_one(Log).lines)
