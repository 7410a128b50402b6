"""One VM in depth: Overview, YAML, Disks, NICs, Snapshots and Events, live.

The screen runs informers scoped to the VM's namespace (VMs, VMIs, launcher pods, events,
snapshots, DataVolumes). Their listeners only post a message; the UI thread then redraws
the tabs from the informers' caches, at most once per batch. Nothing here waits on the
network, and every string that came from the cluster is drawn as plain `Text` (or as YAML
dumped by PyYAML, which escapes control characters) — never as markup.

Keys: `1`–`6` pick a tab (`y` the YAML tab, as k9s's y), `ctrl+y` copies the YAML
(OSC 52, works over SSH), `esc` goes back; the lifecycle keys of the list work here too.
"""

from __future__ import annotations

from typing import Any

import yaml
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from screens.lifecycle import LifecycleMixin, Target
from screens.on_node import ShowOnNodeMixin
from screens.watching import InformerFactory, Watching
from tui.cluster import kinds as K
from tui.cluster.informer import Informer, InformerEvent, InformerState
from tui.kubevirt.details import (
    disks,
    events_for,
    launcher_pod,
    nics,
    overview,
    snapshots_for,
)
from tui.kubevirt.progress import DONE, FAILED, Step, creation_steps, in_progress
from widgets.footer import Footer
from widgets.resource_table import plain

TABS = ("overview", "yaml", "disks", "nics", "snapshots", "events")
TAB_TITLES = {
    "overview": "Overview",
    "yaml": "YAML",
    "disks": "Disks",
    "nics": "NICs",
    "snapshots": "Snapshots",
    "events": "Events",
}


class DetailsBatch(Message):
    """An informer of the details screen delivered events (carried to the UI thread)."""

    def __init__(self, key: str, events: list[InformerEvent]) -> None:
        super().__init__()
        self.key = key
        self.events = events


def _t(value: Any, style: str = "") -> Text:
    """Cluster text, inert: controls made visible, never parsed as markup."""
    return Text(plain("" if value is None else value), style=style)


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, expand=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _progress(steps: list[Step]) -> Table:
    """A new VM's way to Running: DataVolume import bars, then Starting and Running."""
    marks = {DONE: ("✓", "green"), FAILED: ("✗", "bold red"), "active": ("▸", "yellow")}
    table = _table("", "", "", "")
    table.show_header = False
    label = table.columns[1]
    label.no_wrap, label.overflow, label.max_width = True, "ellipsis", 34
    for step in steps:
        mark, style = marks.get(step.state, ("·", "dim"))
        bar: RenderableType = Text("")
        if step.fraction is not None and step.label not in ("Starting", "Running"):
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                ProgressBar(total=100, completed=step.fraction * 100, width=24),
                Text(f"{step.fraction * 100:5.1f}%"),
            )
        table.add_row(Text(mark, style=style), _t(step.label, style), bar, _t(step.detail, "dim"))
    return table


class VmDetailsScreen(ShowOnNodeMixin, LifecycleMixin, Watching, Screen):
    """Details of the VM `namespace/name`, kept live by namespace-scoped informers."""

    # Set by the create path: show the way to Running even once every step is done.
    follow_creation = False

    CSS_PATH = "vm_details.tcss"
    BATCH_MESSAGE = DetailsBatch
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("y", "show_tab('yaml')", "YAML", show=False),
        Binding("ctrl+y", "copy_yaml", "Copy YAML"),
        *[
            Binding(str(i + 1), f"show_tab('{tab}')", TAB_TITLES[tab], show=False)
            for i, tab in enumerate(TABS)
        ],
    ]

    def __init__(
        self,
        api_client: Any,
        namespace: str,
        name: str,
        *,
        informer_factory: InformerFactory = Informer,
        vm: dict[str, Any] | None = None,
        vmi: dict[str, Any] | None = None,
    ) -> None:
        """`vm`, `vmi`: what the opener already holds (the VM list's row), drawn at once
        instead of "loading…" until this screen's own informers have listed."""
        super().__init__()
        self.api_client = api_client
        self.namespace = namespace
        self.vm_name = name
        self._initial = {"vms": vm, "vmis": vmi}
        self._init_watching(informer_factory)
        self._redraw_pending = False
        self._yaml_text = ""

    # ---- layout and life cycle ------------------------------------------------------

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(id="details-title")
        with TabbedContent(id="details-tabs"):
            for i, tab in enumerate(TABS):
                with TabPane(f"{i + 1} {TAB_TITLES[tab]}", id=f"tab-{tab}"):
                    with VerticalScroll(classes="details-scroll"):
                        yield Static(id=f"details-{tab}", classes="details-body")
        yield Footer()

    def on_mount(self) -> None:
        self._update_title()
        for key, kind, selector in (
            ("vms", K.VMS, None),
            ("vmis", K.VMIS, None),
            ("pods", K.PODS, "kubevirt.io=virt-launcher"),
            ("events", K.EVENTS, None),
            ("snapshots", K.SNAPSHOTS, None),
            ("datavolumes", K.DATAVOLUMES, None),
        ):
            self._start_informer(key, kind, label_selector=selector)
        self._redraw()

    def on_unmount(self) -> None:
        self.stop_informers()

    def on_details_batch(self, message: DetailsBatch) -> None:
        relevant = False
        for event in message.events:
            self._note_state(message.key, event)
            relevant = relevant or self._concerns_this_vm(message.key, event.obj)
        if not relevant:
            # The informers watch the whole namespace: another VM's import progress or events
            # must not redraw six tabs (YAML highlighting included) several times a second.
            return
        # Many batches can arrive together (six informers): draw once after them.
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_after_refresh(self._redraw)
        self.refresh_bindings()

    def _concerns_this_vm(self, key: str, obj: dict[str, Any] | None) -> bool:
        """Whether an informer event can change what this screen shows."""
        if obj is None:  # SYNCED, STATE: loading and the banner
            return True
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        me = self.vm_name
        launcher = f"virt-launcher-{me}-"
        if key in ("vms", "vmis"):
            return name == me
        if key == "pods":
            return (
                name.startswith(launcher)
                or (meta.get("labels") or {}).get("vm.kubevirt.io/name") == me
            )
        if key == "events":
            involved = obj.get("involvedObject") or obj.get("regarding") or {}
            other = str(involved.get("name") or "") if isinstance(involved, dict) else ""
            return other == me or other.startswith(launcher)
        if key == "snapshots":
            source = (obj.get("spec") or {}).get("source") or {}
            return isinstance(source, dict) and source.get("name") == me
        if key == "datavolumes":
            owners = meta.get("ownerReferences") or []
            return name in self._volume_names() or any(
                isinstance(ref, dict) and ref.get("name") == me for ref in owners
            )
        return True

    def _volume_names(self) -> set[str]:
        """DataVolume and PVC names the VM's spec refers to."""
        spec = (self.vm or {}).get("spec") or {}
        names = {
            str((t.get("metadata") or {}).get("name") or "")
            for t in spec.get("dataVolumeTemplates") or []
            if isinstance(t, dict)
        }
        template = (spec.get("template") or {}).get("spec") or {}
        for volume in template.get("volumes") or []:
            if not isinstance(volume, dict):
                continue
            for source, field in (("dataVolume", "name"), ("persistentVolumeClaim", "claimName")):
                ref = volume.get(source)
                if isinstance(ref, dict) and ref.get(field):
                    names.add(str(ref[field]))
        return names

    # ---- data from the caches ---------------------------------------------------------

    def _items(self, key: str) -> list[dict[str, Any]]:
        informer = self._informers.get(key)
        return list(informer.items()) if informer is not None else []

    def _get(self, key: str) -> dict[str, Any] | None:
        informer = self._informers.get(key)
        return informer.get(self.namespace, self.vm_name) if informer is not None else None

    @property
    def vm(self) -> dict[str, Any] | None:
        return self._get_or_initial("vms")

    @property
    def vmi(self) -> dict[str, Any] | None:
        return self._get_or_initial("vmis")

    def _get_or_initial(self, key: str) -> dict[str, Any] | None:
        found = self._get(key)
        if found is None and self._states.get(key) != InformerState.SYNCED:
            return self._initial.get(key)  # until our own list says otherwise
        return found

    def on_node_vmi(self) -> dict[str, Any] | None:
        """`o` (screens/on_node.py): this VM's VMI."""
        return self.vmi

    def lifecycle_targets(self) -> list[Target]:
        vm = self.vm
        return [(vm, self.vmi)] if vm is not None else []

    # ---- drawing ----------------------------------------------------------------------

    def _update_title(self) -> None:
        vm = self.vm
        status = ((vm or {}).get("status") or {}).get("printableStatus") or ""
        title = Text.assemble(
            ("VM ", "bold"),
            _t(self.namespace),
            "/",
            _t(self.vm_name, "bold"),
        )
        if status:
            title.append("  ")
            title.append(plain(status), style="italic")
        elif self._states.get("vms") == InformerState.SYNCED:
            title.append("  (not found: deleted?)", style="bold red")
        else:
            title.append("  loading…", style="italic")
        self.query_one("#details-title", Static).update(title)

    def _redraw(self) -> None:
        self._redraw_pending = False
        if not self.is_mounted:
            return
        vm, vmi = self.vm, self.vmi
        with self.app.batch_update():
            self._update_title()
            if vm is None:
                waiting = self._states.get("vms") != InformerState.SYNCED
                text = Text(
                    "Loading…" if waiting else "This VM does not exist (any more).", style="italic"
                )
                for tab in TABS:
                    self.query_one(f"#details-{tab}", Static).update(text)
                return
            pods = self._items("pods")
            dvs = self._items("datavolumes")
            pod = launcher_pod(vmi, pods)
            steps = creation_steps(vm, vmi, dvs)
            if not (self.follow_creation or in_progress(steps)):
                steps = []
            self.query_one("#details-overview", Static).update(
                self._overview(overview(vm, vmi, pod, dvs), steps)
            )
            self._yaml_text = yaml.safe_dump(vm, sort_keys=False, allow_unicode=False)
            self.query_one("#details-yaml", Static).update(
                Syntax(self._yaml_text, "yaml", theme="ansi_dark", word_wrap=False)
            )
            self.query_one("#details-disks", Static).update(self._disks(vm, vmi, dvs))
            self.query_one("#details-nics", Static).update(self._nics(vm, vmi))
            self.query_one("#details-snapshots", Static).update(
                self._snapshots(snapshots_for(vm, self._items("snapshots")))
            )
            self.query_one("#details-events", Static).update(
                self._events(events_for(vm, vmi, pod, self._items("events")), self.size.width)
            )

    @staticmethod
    def _overview(info: dict[str, Any], steps: list[Step] | None = None) -> RenderableType:
        parts: list[RenderableType] = []
        headline = Text()
        headline.append("Status: ", style="bold")
        headline.append(plain(info["status"]))
        parts.append(headline)
        if steps:
            parts.append(_progress(steps))
        for line in info["explanation"]:
            parts.append(Text("  ") + _t(line, "italic"))
        facts = _table("", "")
        facts.show_header = False
        for label, value in info["facts"]:
            facts.add_row(Text(label, style="bold"), _t(value))
        parts += [Text(""), facts]
        if info["conditions"]:
            conds = _table("Condition", "Status", "Reason", "Message")
            for c in info["conditions"]:
                conds.add_row(_t(c["type"]), _t(c["status"]), _t(c["reason"]), _t(c["message"]))
            parts += [Text(""), conds]
        for title, mapping in (("Labels", info["labels"]), ("Annotations", info["annotations"])):
            if mapping:
                table = _table(title, "")
                for key, value in mapping.items():
                    table.add_row(_t(key), _t(value))
                parts += [Text(""), table]
        return Group(*parts)

    @staticmethod
    def _disks(vm: dict[str, Any], vmi: dict[str, Any] | None, dvs: list[dict[str, Any]]) -> Table:
        table = _table("Name", "Type", "Bus", "Boot", "Source", "Size", "State")
        rows = disks(vm, vmi, dvs)
        for d in rows:
            table.add_row(
                *(_t(d[k]) for k in ("name", "type", "bus", "boot", "source", "size", "state"))
            )
        if not rows:
            table.add_row(Text("No disks.", style="italic"))
        return table

    @staticmethod
    def _nics(vm: dict[str, Any], vmi: dict[str, Any] | None) -> Table:
        table = _table("Name", "Binding", "Model", "MAC", "Network", "IP", "Link")
        rows = nics(vm, vmi)
        for n in rows:
            table.add_row(
                *(_t(n[k]) for k in ("name", "binding", "model", "mac", "network", "ip", "link"))
            )
        if not rows:
            table.add_row(Text("No network interfaces.", style="italic"))
        return table

    @staticmethod
    def _snapshots(rows: list[dict[str, str]]) -> RenderableType:
        if not rows:
            return Text("No snapshots of this VM.", style="italic")
        table = _table("Name", "Phase", "Ready", "Created", "Error")
        for s in rows:
            table.add_row(*(_t(s[k]) for k in ("name", "phase", "ready", "created", "error")))
        return table

    NARROW_EVENTS = 120
    """Below this width an event takes two lines (its message under it), not a table row:
    at 80 columns the table left the message one column."""

    @classmethod
    def _events(cls, rows: list[dict[str, str]], width: int = 0) -> RenderableType:
        if not rows:
            return Text("No events for this VM, its VMI or its launcher pod.", style="italic")
        if 0 < width < cls.NARROW_EVENTS:
            parts: list[RenderableType] = []
            for e in rows:
                style = "bold yellow" if e["type"] == "Warning" else ""
                head = Text.assemble(
                    _t(e["last"], "dim"), "  ", _t(e["type"], style), "  ", _t(e["reason"], "bold")
                )
                head.append("  ")
                head.append_text(_t(e["object"], "dim"))
                parts += [head, Padding(_t(e["message"]), (0, 0, 0, 3))]
            return Group(*parts)
        table = _table("Last seen", "Type", "Reason", "Object", "Message")
        for e in rows:
            style = "bold yellow" if e["type"] == "Warning" else ""
            table.add_row(
                _t(e["last"]),
                _t(e["type"], style),
                _t(e["reason"]),
                _t(e["object"]),
                _t(e["message"]),
            )
        return table

    # ---- keys -------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_resize(self) -> None:
        # The events tab lays out by width (a table, or two lines per event when narrow).
        if not self._redraw_pending and self.vm is not None:
            self._redraw_pending = True
            self.call_after_refresh(self._redraw)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"

    def action_copy_yaml(self) -> None:
        if self._yaml_text:
            self.app.copy_to_clipboard(self._yaml_text)
            self.notify("The VM's YAML is on the clipboard (OSC 52).", title="Copied")
