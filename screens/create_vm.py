"""The create-VM form: `n` on the VM list, `:new`; also the template path's "customise".

Every field of issue 6 in one scrolling form that fits 80x24 (compact widgets, one line
each) and is driven by the keyboard alone: tab / shift+tab move, enter opens a select,
space ticks a checkbox, ctrl+s goes to the review step, ctrl+y previews the YAML, esc
leaves (twice when something was typed).

The screen only reads and writes widgets. Turning them into a manifest is
`tui.kubevirt.builder`'s: `VmForm` is what the widgets hold, `validate_form` says what is
wrong (each message is shown under the field it names, as the user types, once that field
was touched, and for every field after a first ctrl+s), `build_vm` makes the VM, and
`equivalent_commands` the shell commands the review shows.

What the form lists comes from the cluster, read once in a worker when the form opens and
again when the namespace changes: instancetypes and preferences (cluster and namespaced),
storage classes (the default one marked), DataSources, NetworkAttachmentDefinitions, and the
VMs, DataVolumes and PVCs of the namespace (names already taken). The VM list passes its
informer's names too, so a name taken a second ago is refused.

After the review step: a created VM replaces the creation screens by its details
(`screens.create_review.finish_create`); back from the review shows the server's 422 causes
next to the fields they name, with everything typed kept; "edit as YAML" opens the YAML
editor (`screens.create_yaml`) on the manifest.

`form_screen_for_vm(vm)` opens the form on an existing manifest (a processed template's VM):
what the form has no field for is carried over by the builder (`VmForm.base`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Label, Select, Static

from screens.create_review import GUARD_BINDINGS
from tui.cluster import kinds as K
from tui.cluster.errors import ClusterError
from tui.kubevirt.builder import (
    DISK_BUSES,
    FORM_BOOT_KINDS,
    INTERFACE_MODELS,
    RUN_STRATEGIES,
    BootSource,
    CloudInit,
    DiskSpec,
    FieldError,
    NicSpec,
    VmForm,
    boot_dv_name,
    build_vm,
    disk_dv_name,
    equivalent_commands,
    form_from_vm,
    format_labels,
    needs_start_call,
    parse_labels,
    to_yaml,
    validate_form,
)
from widgets.footer import Footer
from widgets.inputs import Input, TextArea
from widgets.resource_table import plain

__all__ = ["CreateVmScreen", "ClusterChoices", "form_screen_for_vm", "slot_of"]

DEFAULT_SC = ""  # the storage-class select's value for "the cluster's default"
NO_PREFERENCE = ""
BOOT_LABELS = {
    "container": "Container disk image (nothing persists)",
    "http": "Import from a URL (http/https) into a new disk",
    "registry": "Import from a registry (docker://) into a new disk",
    "datasource": "Clone a golden image (DataSource)",
    "clone-pvc": "Clone an existing PVC",
    "pvc": "Use an existing PVC as is",
    "blank": "Blank disk",
    "pxe": "PXE / network boot (no boot disk)",
}
# Which boot rows each boot kind shows.
BOOT_ROWS = {
    "image": ("container",),
    "url": ("http", "registry"),
    "datasource": ("datasource",),
    "clone": ("clone-pvc",),
    "claim": ("pvc",),
    "size": ("http", "registry", "datasource", "clone-pvc", "blank", "datavolume"),
    "sc": ("http", "registry", "datasource", "clone-pvc", "blank", "datavolume"),
    "bus": ("container", "http", "registry", "datasource", "clone-pvc", "pvc", "blank"),
    "pxe": ("pxe",),
}
SIMPLE_SLOTS = (
    "name",
    "namespace",
    "labels",
    "instancetype",
    "preference",
    "memory",
    "run_strategy",
)
_ROW_FIELD = re.compile(r"^(disks|nics)\[(\d+)\]")
SOURCE_SLOT_FIELDS = ("boot.kind", "boot.image", "boot.url", "boot.name", "boot.namespace")


def slot_of(field_id: str) -> str:
    """Where the form shows an error for `field_id` ("disks[1].size" -> "disk-1")."""
    match = _ROW_FIELD.match(field_id)
    if match:
        return f"{match.group(1)[:-1]}-{match.group(2)}"
    if field_id in ("sockets", "cores", "threads"):
        return "cpu"
    if field_id.startswith("cloud_init"):
        return "cloud-init"
    if field_id in SOURCE_SLOT_FIELDS or field_id == "boot.claim":
        return "boot-source"
    if field_id.startswith("boot."):
        return "boot-disk"
    if field_id in SIMPLE_SLOTS:
        return field_id
    return "general"


def _sub_label(field_id: str) -> str:
    """The part of a field id worth naming in a shared slot: "disks[0].size" -> "size"."""
    if field_id in SIMPLE_SLOTS or field_id in ("cloud_init", "boot.kind", "general", ""):
        return ""
    last = field_id.rsplit(".", 1)[-1]
    return re.sub(r"\[\d+\]$", "", last).replace("_", " ")


# --------------------------------------------------------------------------------------
# What the cluster offers
# --------------------------------------------------------------------------------------


@dataclass
class ClusterChoices:
    """Lists read from the cluster for the form's selects (any may stay empty)."""

    namespaces: list[str] = field(default_factory=list)
    instancetypes: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    preferences: list[tuple[str, str]] = field(default_factory=list)
    storage_classes: list[str] = field(default_factory=list)
    default_storage_class: str | None = None
    datasources: list[tuple[str, str]] = field(default_factory=list)
    networks: list[tuple[str, str]] = field(default_factory=list)  # NADs: (label, value)
    pvcs: list[str] = field(default_factory=list)
    vm_names: set[str] = field(default_factory=set)
    volume_names: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _items(ops: Any, kind: K.Kind, ns: str | None, problems: list[str]) -> list[dict]:
    try:
        return list(ops.list(kind, ns).get("items") or [])
    except ClusterError as err:
        if err.status != 404:
            problems.append(f"{kind.plural}: {err}")
        return []


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _ns(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _size_label(obj: dict[str, Any]) -> str:
    spec = obj.get("spec") or {}
    cpu = (spec.get("cpu") or {}).get("guest")
    memory = (spec.get("memory") or {}).get("guest")
    parts = []
    if cpu:
        parts.append(f"{cpu} CPU")
    if memory:
        parts.append(str(memory))
    return ", ".join(parts)


def load_choices(ops: Any, namespace: str, *, namespaces: bool = True) -> ClusterChoices:
    """Everything the form lists, from the cluster (blocking: call from a worker)."""
    out = ClusterChoices()
    problems = out.problems
    if namespaces:
        out.namespaces = sorted(
            n for n in (_name(o) for o in _items(ops, K.NAMESPACES, None, problems)) if n
        )
    for kind, ns, scope in (
        (K.CLUSTER_INSTANCETYPES, None, "cluster"),
        (K.INSTANCETYPES, namespace, namespace),
    ):
        for obj in sorted(_items(ops, kind, ns, problems), key=_name):
            size = _size_label(obj)
            label = f"{_name(obj)}  ({scope}{', ' + size if size else ''})"
            out.instancetypes.append((label, f"{kind.kind}/{_name(obj)}"))
    for kind, ns, scope in (
        (K.CLUSTER_PREFERENCES, None, "cluster"),
        (K.PREFERENCES, namespace, namespace),
    ):
        for obj in sorted(_items(ops, kind, ns, problems), key=_name):
            out.preferences.append((f"{_name(obj)}  ({scope})", f"{kind.kind}/{_name(obj)}"))
    for obj in sorted(_items(ops, K.STORAGE_CLASSES, None, problems), key=_name):
        out.storage_classes.append(_name(obj))
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        for key in (
            "storageclass.kubernetes.io/is-default-class",
            "storageclass.beta.kubernetes.io/is-default-class",
        ):
            if str(annotations.get(key)).lower() == "true" and out.default_storage_class is None:
                out.default_storage_class = _name(obj)
    for obj in sorted(_items(ops, K.DATASOURCES, None, problems), key=lambda o: (_ns(o), _name(o))):
        value = f"{_ns(obj)}/{_name(obj)}"
        out.datasources.append((value, value))
    # The VM's own namespace's networks first: "Add NIC" takes the first one.
    nads = _items(ops, K.NADS, None, problems)
    for obj in sorted(nads, key=lambda o: (_ns(o) != namespace, _ns(o), _name(o))):
        value = _name(obj) if _ns(obj) == namespace else f"{_ns(obj)}/{_name(obj)}"
        out.networks.append((f"{value} (bridge network)", value))
    if namespace:
        out.vm_names = {_name(o) for o in _items(ops, K.VMS, namespace, problems)}
        pvcs = [_name(o) for o in _items(ops, K.PVCS, namespace, problems)]
        dvs = [_name(o) for o in _items(ops, K.DATAVOLUMES, namespace, problems)]
        out.pvcs = sorted(set(pvcs))
        out.volume_names = set(pvcs) | set(dvs)
    return out


# --------------------------------------------------------------------------------------
# Small widgets
# --------------------------------------------------------------------------------------


def _input(id: str, value: str = "", placeholder: str = "", **kwargs: Any) -> Input:
    return Input(value, placeholder=placeholder, id=id, compact=True, **kwargs)


def _select(
    id: str, options: Iterable[tuple[str, str]], value: Any = Select.NULL, **kwargs: Any
) -> Select:
    return Select(list(options), value=value, id=id, compact=True, **kwargs)


def _row(label: str, *widgets: Widget, id: str | None = None, classes: str = "") -> Horizontal:
    return Horizontal(
        Label(label, classes="field-label"), *widgets, id=id, classes=f"form-row {classes}"
    )


def _error(slot: str) -> Static:
    err = Static(id=f"err-{slot}", classes="field-error")
    err.display = False
    return err


def _options_with(
    options: list[tuple[str, str]], value: str | None, label: str
) -> list[tuple[str, str]]:
    """`options`, plus `value` (labelled `label`) when it is not among them."""
    if value and value not in [v for _, v in options]:
        return [*options, (label, value)]
    return options


def _set_options(select: Select, options: list[tuple[str, str]], keep: Any) -> None:
    """New options for `select`, keeping its value when that is still one of them (quietly:
    a list refreshed from the cluster is not the user changing the field)."""
    with select.prevent(Select.Changed):
        select.set_options(options)
        if keep is not Select.NULL and keep in [v for _, v in options]:
            select.value = keep
        # The same value again runs no watcher: redraw its (maybe relabelled) option.
        select.mutate_reactive(Select.value)


class DiskRow(Vertical):
    """One extra disk: name, blank (size, storage class) or existing PVC (claim), bus."""

    def __init__(self, disk: DiskSpec, sc_options: list[tuple[str, str]]) -> None:
        super().__init__(classes="item-row")
        self.disk = disk  # the starting values; sources the form does not edit are kept
        self.sc_options = sc_options

    @property
    def editable(self) -> bool:
        return self.disk.source in ("blank", "pvc")

    def compose(self) -> ComposeResult:
        d = self.disk
        if not self.editable:
            what = d.image or d.claim_name or d.source
            with Horizontal(classes="form-row"):
                yield Label("Disk", classes="field-label")
                yield Static(
                    Text.assemble(
                        plain(d.name), " ", (f"({d.source}: {plain(str(what))}, kept as is)", "dim")
                    ),
                    classes="kept",
                )
                yield Button("Remove", classes="remove", compact=True)
            yield Static(classes="field-error row-error")
            return
        with Horizontal(classes="form-row"):
            yield Label("Disk", classes="field-label")
            yield Input(d.name, placeholder="name", classes="disk-name", compact=True)
            yield Select(
                [("new blank disk", "blank"), ("existing PVC", "pvc")],
                value=d.source,
                allow_blank=False,
                classes="disk-source",
                compact=True,
            )
            yield Input(
                d.size or "", placeholder="size, e.g. 10Gi", classes="disk-size", compact=True
            )
            yield Input(
                d.claim_name or "" if d.source == "pvc" else "",
                placeholder="PVC name",
                classes="disk-claim",
                compact=True,
            )
        with Horizontal(classes="form-row"):
            yield Label("", classes="field-label")
            yield Select(
                [(b, b) for b in DISK_BUSES],
                value=d.bus if d.bus in DISK_BUSES else "virtio",
                allow_blank=False,
                classes="disk-bus",
                compact=True,
            )
            yield Select(
                _options_with(self.sc_options, d.storage_class, d.storage_class or ""),
                value=d.storage_class or DEFAULT_SC,
                allow_blank=False,
                classes="disk-sc",
                compact=True,
            )
            yield Button("Remove", classes="remove", compact=True)
        yield Static(classes="field-error row-error")

    def on_mount(self) -> None:
        self.query_one(".row-error", Static).display = False
        self.sync()

    def sync(self) -> None:
        if not self.editable:
            return
        blank = self.query_one(".disk-source", Select).value == "blank"
        self.query_one(".disk-size", Input).display = blank
        self.query_one(".disk-sc", Select).display = blank
        self.query_one(".disk-claim", Input).display = not blank

    def spec(self) -> DiskSpec:
        if not self.editable or not self.query(".disk-source"):
            return self.disk  # kept as is, or not composed yet
        source = str(self.query_one(".disk-source", Select).value)
        sc = self.query_one(".disk-sc", Select).value
        return DiskSpec(
            name=self.query_one(".disk-name", Input).value.strip(),
            source=source,
            size=self.query_one(".disk-size", Input).value.strip() or None
            if source == "blank"
            else None,
            bus=str(self.query_one(".disk-bus", Select).value),
            claim_name=(self.query_one(".disk-claim", Input).value.strip() or None)
            if source == "pvc"
            else (self.disk.claim_name if self.disk.source == "blank" else None),
            storage_class=(str(sc) or None)
            if source == "blank" and sc is not Select.NULL
            else None,
            boot_order=self.disk.boot_order,
            device=self.disk.device,
        )

    def set_storage_classes(self, options: list[tuple[str, str]]) -> None:
        self.sc_options = options
        if self.editable:
            select = self.query_one(".disk-sc", Select)
            _set_options(select, options, select.value)


class NicRow(Vertical):
    """One NIC: name, network (pod or a NAD), binding, model, MAC."""

    def __init__(self, nic: NicSpec, networks: list[tuple[str, str]]) -> None:
        super().__init__(classes="item-row")
        self.nic = nic
        self.networks = networks

    def _network_options(self) -> list[tuple[str, str]]:
        options = [("pod network", "pod"), *self.networks]
        return _options_with(options, self.nic.network, self.nic.network)

    def compose(self) -> ComposeResult:
        n = self.nic
        bindings = [("masquerade", "masquerade"), ("bridge", "bridge")]
        bindings = _options_with(bindings, n.binding, n.binding)
        with Horizontal(classes="form-row"):
            yield Label("NIC", classes="field-label")
            yield Input(n.name, placeholder="name", classes="nic-name", compact=True)
            yield Select(
                self._network_options(),
                value=n.network,
                allow_blank=False,
                classes="nic-network",
                compact=True,
            )
            yield Select(
                bindings, value=n.binding, allow_blank=False, classes="nic-binding", compact=True
            )
        with Horizontal(classes="form-row"):
            yield Label("", classes="field-label")
            models = _options_with([(m, m) for m in INTERFACE_MODELS], n.model, n.model)
            yield Select(
                models, value=n.model, allow_blank=False, classes="nic-model", compact=True
            )
            yield Input(n.mac or "", placeholder="MAC (optional)", classes="nic-mac", compact=True)
            yield Button("Remove", classes="remove", compact=True)
        yield Static(classes="field-error row-error")

    def on_mount(self) -> None:
        self.query_one(".row-error", Static).display = False

    def spec(self) -> NicSpec:
        if not self.query(".nic-name"):
            return self.nic  # not composed yet
        return NicSpec(
            name=self.query_one(".nic-name", Input).value.strip(),
            network=str(self.query_one(".nic-network", Select).value),
            binding=str(self.query_one(".nic-binding", Select).value),
            model=str(self.query_one(".nic-model", Select).value),
            mac=self.query_one(".nic-mac", Input).value.strip() or None,
            boot_order=self.nic.boot_order,
        )

    def set_networks(self, networks: list[tuple[str, str]]) -> None:
        self.networks = networks
        select = self.query_one(".nic-network", Select)
        current = select.value
        self.nic = NicSpec(**{**self.nic.__dict__, "network": str(current)})
        _set_options(select, self._network_options(), current)


# --------------------------------------------------------------------------------------
# The YAML preview (ctrl+y)
# --------------------------------------------------------------------------------------


class YamlPreviewScreen(ModalScreen[str | None]):
    """The manifest the form makes now. Dismisses with "edit" (take it into the YAML
    editor), "review", or None."""

    BINDINGS = [
        Binding("escape,ctrl+y,q", "close", "Back to the form"),
        Binding("e", "choose('edit')", "Edit as YAML"),
        Binding("ctrl+s", "choose('review')", "Review & create", priority=True),
        Binding("ctrl+c", "copy", "Copy", show=False),
    ]
    DEFAULT_CSS = """
    YamlPreviewScreen { align: center middle; }
    YamlPreviewScreen #preview-box {
        width: 100%; height: 100%; border: round $primary; background: $surface;
    }
    YamlPreviewScreen #preview-note { height: auto; padding: 0 1; }
    YamlPreviewScreen #preview-scroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, text: str, note: Text) -> None:
        super().__init__()
        self.text = text
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="preview-box"):
            yield Static(self.note, id="preview-note")
            with VerticalScroll(id="preview-scroll"):
                yield Static(Syntax(self.text, "yaml", theme="ansi_dark", word_wrap=True))
            yield Footer()

    def on_mount(self) -> None:
        self.query_one("#preview-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_choose(self, what: str) -> None:
        self.dismiss(what)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("The YAML is on the clipboard (OSC 52).", title="Copied")


# --------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------


class CreateVmScreen(Screen[None]):
    """Create a VM from a form. See the module doc."""

    CSS_PATH = "create_vm.tcss"
    CREATION_STEP = True  # closed by create_review.finish_create once the VM exists
    # Straight to the name: focusing the scroll container first would restyle the whole
    # form twice (focus and blur restyle a widget with all its children).
    AUTO_FOCUS = "#f-name"
    BINDINGS = [
        Binding("ctrl+s", "review", "Review & create", priority=True),
        Binding("ctrl+y", "preview", "YAML", priority=True),
        Binding("escape", "leave", "Back"),
        *GUARD_BINDINGS,
    ]

    def __init__(
        self,
        namespace: str | None = None,
        *,
        form: VmForm | None = None,
        origin: str = "the form",
        known_vm_names: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        """`namespace`: where the VM goes (the form's starting value); `form`: starting
        values (a template's VM through `form_from_vm`); `known_vm_names(ns)`: VM names a
        live informer knows in `ns` (the VM list's), checked as the user types."""
        super().__init__()
        if form is None:
            form = VmForm(
                namespace=namespace or "default",
                start_after_create=True,
                boot=BootSource("container"),
            )
        elif namespace and not form.namespace:
            form.namespace = namespace
        self.initial = form
        self.origin = origin
        self.known_vm_names = known_vm_names
        self.choices = ClusterChoices()
        self.touched: set[str] = set()
        self.submitted = False
        self.server_errors: dict[str, list[str]] = {}
        self.errors: list[FieldError] = []
        self.local_errors: list[FieldError] = []
        self._leave_armed = False
        self._dirty = False
        self._loaded_namespace: str | None = None
        self._ns_timer: Any = None
        self._file_cache: dict[tuple[str, float], str] = {}
        self._baseline: dict[int, Any] = {}
        self._by_id: dict[str, Any] = {}
        self._shown: dict[int, list[str]] = {}  # error widget -> the messages it shows
        self.choices_loaded = 0  # completed loads (tests)

    # ---- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        f = self.initial
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        yield Static(
            Text.assemble(
                ("New VM", "bold"),
                (f"  from {plain(self.origin)}", "dim"),
                ("   ctrl+s review · ctrl+y YAML · esc back", "dim"),
            ),
            id="create-title",
        )
        with VerticalScroll(id="create-body", can_focus=False):
            yield Static("Identity", classes="section")
            yield _row("Name", _input("f-name", f.name, "lowercase, digits, '-' (e.g. web-01)"))
            yield _error("name")
            yield _row("Namespace", _input("f-namespace", f.namespace, "namespace"))
            yield _error("namespace")
            yield _row("Description", _input("f-description", f.description, "optional"))
            yield _row(
                "Labels", _input("f-labels", format_labels(f.labels), "key=value, key2=value2")
            )
            yield _error("labels")

            yield Static("Size", classes="section")
            mode = "instancetype" if f.instancetype is not None else "custom"
            yield _row(
                "Size",
                _select(
                    "f-size-mode",
                    [("Custom CPU and memory", "custom"), ("Instancetype", "instancetype")],
                    mode,
                    allow_blank=False,
                ),
            )
            it_value = self._matcher_value(f.instancetype)
            yield _row(
                "Instancetype",
                _select(
                    "f-instancetype",
                    _options_with([], it_value, it_value or ""),
                    it_value or Select.NULL,
                    prompt="choose an instancetype",
                ),
                id="row-instancetype",
            )
            yield _error("instancetype")
            yield _row(
                "CPU",
                Label("sockets", classes="mini-label"),
                _input("f-sockets", str(f.sockets) if f.sockets else "", "1", classes="count"),
                Label("cores", classes="mini-label"),
                _input("f-cores", str(f.cores) if f.cores else "", "1", classes="count"),
                Label("threads", classes="mini-label"),
                _input("f-threads", str(f.threads) if f.threads else "", "1", classes="count"),
                id="row-cpu",
            )
            yield _error("cpu")
            yield _row(
                "Memory",
                _input("f-memory", f.memory or "2Gi", "e.g. 2Gi, 2048Mi, 2G"),
                id="row-memory",
            )
            yield _error("memory")
            pref_value = self._matcher_value(f.preference)
            yield _row(
                "Preference",
                _select(
                    "f-preference",
                    _options_with([("none", NO_PREFERENCE)], pref_value, pref_value or ""),
                    pref_value or NO_PREFERENCE,
                    allow_blank=False,
                ),
            )
            yield _error("preference")

            yield Static("Boot source", classes="section")
            boot = f.boot
            kinds = [(BOOT_LABELS[k], k) for k in FORM_BOOT_KINDS]
            if boot.kind not in FORM_BOOT_KINDS:
                kinds.append(
                    (
                        f"as in the template ({boot.kind}: {boot.dv_name or boot.disk_name})",
                        boot.kind,
                    )
                )
            yield _row("Boot from", _select("f-boot-kind", kinds, boot.kind, allow_blank=False))
            yield _row(
                "Image",
                _input("f-boot-image", boot.image or "", "e.g. quay.io/containerdisks/fedora:41"),
                id="row-boot-image",
            )
            yield _row(
                "URL",
                _input("f-boot-url", boot.url or "", "https://…/disk.qcow2 or docker://…"),
                id="row-boot-url",
            )
            ds_value = (
                f"{boot.namespace}/{boot.name}" if boot.kind == "datasource" and boot.name else None
            )
            if ds_value and ds_value.startswith("None/"):
                ds_value = ds_value[5:]
            yield _row(
                "DataSource",
                _select(
                    "f-boot-datasource",
                    _options_with([], ds_value, ds_value or ""),
                    ds_value or Select.NULL,
                    prompt="choose a golden image",
                ),
                id="row-boot-datasource",
            )
            clone = f"{boot.namespace}/{boot.name}" if boot.kind == "clone-pvc" else ""
            yield _row(
                "PVC to clone",
                _input("f-boot-clone", clone, "namespace/pvc-name"),
                id="row-boot-clone",
            )
            yield _row(
                "PVC",
                _input("f-boot-claim", boot.claim or "", "an existing PVC in the namespace"),
                id="row-boot-claim",
            )
            yield _error("boot-source")
            yield _row(
                "Disk size",
                _input(
                    "f-boot-size",
                    boot.size or ("30Gi" if boot.kind in ("http", "registry", "blank") else ""),
                    "e.g. 30Gi (clones: optional)",
                ),
                id="row-boot-size",
            )
            yield _row(
                "Storage class",
                _select(
                    "f-boot-sc",
                    _options_with(
                        [("cluster default", DEFAULT_SC)],
                        boot.storage_class,
                        boot.storage_class or "",
                    ),
                    boot.storage_class or DEFAULT_SC,
                    allow_blank=False,
                ),
                id="row-boot-sc",
            )
            yield _row(
                "Disk bus",
                _select(
                    "f-boot-bus",
                    [(b, b) for b in DISK_BUSES],
                    boot.bus if boot.bus in DISK_BUSES else "virtio",
                    allow_blank=False,
                ),
                id="row-boot-bus",
            )
            yield Static(
                Text(
                    "No boot disk: the first NIC boots first (bootOrder 1). Add a blank disk below to install onto; it boots next.",
                    style="italic",
                ),
                id="row-boot-pxe",
                classes="note",
            )
            yield _error("boot-disk")

            yield Static("Extra disks", classes="section")
            with Vertical(id="disks"):
                for disk in f.disks:
                    yield DiskRow(disk, self._sc_options())
            yield Button("Add disk", id="add-disk", compact=True)

            yield Static("Network interfaces", classes="section")
            with Vertical(id="nics"):
                for nic in f.nics:
                    yield NicRow(nic, self.choices.networks)
            yield Button("Add NIC", id="add-nic", compact=True)

            yield Static("Cloud-init", classes="section")
            ci = f.cloud_init
            ci_mode = "none" if ci is None else ("raw" if ci.raw_user_data else "user")
            yield _row(
                "Cloud-init",
                _select(
                    "f-ci-mode",
                    [
                        ("none", "none"),
                        ("user, password, SSH key", "user"),
                        ("raw user data", "raw"),
                    ],
                    ci_mode,
                    allow_blank=False,
                ),
            )
            yield _row(
                "User",
                _input("f-ci-user", (ci.user or "") if ci else "", "e.g. fedora"),
                id="row-ci-user",
            )
            yield _row(
                "Password",
                _input(
                    "f-ci-password", (ci.password or "") if ci else "", "optional", password=True
                ),
                id="row-ci-password",
            )
            keys = "\n".join(ci.ssh_keys) if ci else ""
            yield _row(
                "SSH key",
                _input(
                    "f-ci-ssh", keys, "paste a public key, or a path like ~/.ssh/id_ed25519.pub"
                ),
                id="row-ci-ssh",
            )
            yield _row(
                "From file",
                _input("f-ci-file", "", "path to user data, enter loads it"),
                id="row-ci-file",
            )
            raw_area = TextArea(
                (ci.raw_user_data or "") if ci else "", id="f-ci-raw", compact=True, soft_wrap=True
            )
            yield raw_area
            yield _error("cloud-init")

            yield Static("Run", classes="section")
            strategies = [(s, s) for s in RUN_STRATEGIES]
            strategy = f.run_strategy if f.run_strategy in RUN_STRATEGIES else "Halted"
            yield _row(
                "Run strategy", _select("f-run-strategy", strategies, strategy, allow_blank=False)
            )
            yield _error("run_strategy")
            yield Checkbox(
                "Start the VM after creating it", f.start_after_create, id="f-start", compact=True
            )
            yield _error("general")
            with Horizontal(id="buttons"):
                yield Button("Review & create", id="btn-review", variant="primary", compact=True)
                yield Button("YAML preview", id="btn-yaml", compact=True)
                yield Button("Cancel", id="btn-cancel", compact=True)
        yield Footer()

    @staticmethod
    def _matcher_value(matcher: tuple[str, str] | None) -> str | None:
        return f"{matcher[0]}/{matcher[1]}" if matcher else None

    def _sc_options(self) -> list[tuple[str, str]]:
        default = self.choices.default_storage_class
        options = [(f"cluster default ({default})" if default else "cluster default", DEFAULT_SC)]
        for sc in self.choices.storage_classes:
            options.append((f"{sc} (default)" if sc == default else sc, sc))
        return options

    def _w(self, selector: str, _type: Any = None) -> Any:
        """The widget with this `#id` (looked up once: a query walks the whole form, and
        the form reads every field on each key press)."""
        widget = self._by_id.get(selector[1:])
        if widget is None:
            found = self.query(selector)
            widget = found.first() if found else None
            if widget is not None:
                self._by_id[selector[1:]] = widget
        return widget

    def _rows(self, kind: type) -> list[Any]:
        holder = self._w("#disks" if kind is DiskRow else "#nics")
        return [row for row in holder.children if isinstance(row, kind)] if holder else []

    def on_mount(self) -> None:
        self._by_id = {w.id: w for w in self.query("*") if w.id}
        self._sync_visibility()
        self._record_baseline(self)
        self._load(self.initial.namespace, first=True)
        self.revalidate()

    # ---- the cluster's lists ---------------------------------------------------------------

    def _ops(self) -> Any:
        from screens.lifecycle import _operations_for

        return _operations_for(self.app)

    @work(thread=True, exclusive=True, group="create-form-load")
    def _load(self, namespace: str, first: bool = False) -> None:
        choices = load_choices(self._ops(), namespace, namespaces=first)
        self.app.call_from_thread(self._loaded, namespace, choices, first)

    def _loaded(self, namespace: str, choices: ClusterChoices, first: bool) -> None:
        if not self.is_attached:
            return
        if not first:
            choices.namespaces = self.choices.namespaces
        self.choices = choices
        self._loaded_namespace = namespace
        self.choices_loaded += 1
        navigator = getattr(self.app, "navigator", None)
        names = sorted({*choices.namespaces, *getattr(navigator, "namespaces", [])})
        self._w("#f-namespace", Input).suggester = SuggestFromList(names, case_sensitive=True)
        self._w("#f-boot-claim", Input).suggester = SuggestFromList(
            choices.pvcs, case_sensitive=True
        )

        it = self._w("#f-instancetype", Select)
        keep = it.value
        options = _options_with(
            choices.instancetypes, None if keep is Select.NULL else str(keep), str(keep)
        )
        _set_options(it, options, keep)
        pref = self._w("#f-preference", Select)
        keep = pref.value
        options = _options_with(
            [("none", NO_PREFERENCE), *choices.preferences], str(keep) if keep else None, str(keep)
        )
        _set_options(pref, options, keep)
        ds = self._w("#f-boot-datasource", Select)
        keep = ds.value
        _set_options(
            ds,
            _options_with(
                choices.datasources, None if keep is Select.NULL else str(keep), str(keep)
            ),
            keep,
        )
        sc = self._w("#f-boot-sc", Select)
        keep = sc.value
        _set_options(
            sc, _options_with(self._sc_options(), str(keep) if keep else None, str(keep)), keep
        )
        for row in self._rows(DiskRow):
            row.set_storage_classes(self._sc_options())
        for nic in self._rows(NicRow):
            nic.set_networks(choices.networks)
        if choices.problems:
            self.notify(
                "Some lists could not be read: " + "; ".join(choices.problems[:3]),
                title="Create VM",
                severity="warning",
                markup=False,
            )
        self.revalidate()

    # ---- reading the widgets -----------------------------------------------------------------

    def _value(self, selector: str) -> str:
        widget = self.query_one(selector)
        if isinstance(widget, Select):
            value = widget.value
            return "" if value is Select.NULL or value is None else str(value)
        if isinstance(widget, TextArea):
            return widget.text
        return widget.value  # type: ignore[attr-defined,no-any-return]

    def _count(self, selector: str, field_id: str, problems: list[FieldError]) -> int | None:
        text = self._value(selector).strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            problems.append(FieldError(field_id, f"'{text}' is not a whole number"))
            return None

    @staticmethod
    def _matcher(value: str) -> tuple[str, str] | None:
        if not value:
            return None
        kind, _, name = value.partition("/")
        return (kind, name)

    def _read_file(self, path: str) -> str:
        """A small file the user named (an SSH key, user data). Raises OSError/ValueError."""
        full = os.path.expanduser(path)
        stat = os.stat(full)
        if stat.st_size > 64 * 1024:
            raise ValueError(f"{path} is larger than 64 KiB")
        key = (full, stat.st_mtime)
        if key not in self._file_cache:
            with open(full, encoding="utf-8") as handle:
                self._file_cache[key] = handle.read()
        return self._file_cache[key]

    def _ssh_keys(self, problems: list[FieldError]) -> list[str]:
        text = self._value("#f-ci-ssh").strip()
        if not text:
            return []
        if text.startswith(("/", "~", "./", "../")):
            try:
                content = self._read_file(text)
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                problems.append(FieldError("cloud_init.ssh_keys", f"cannot read {text}: {reason}"))
                return []
            return [
                line.strip()
                for line in content.splitlines()
                if line.strip() and not line.startswith("#")
            ]
        return [text]

    def current_form(self) -> tuple[VmForm, list[FieldError]]:
        """The form as the widgets hold it, and what could not even be read (a count that
        is not a number, labels without '=', an unreadable key file)."""
        problems: list[FieldError] = []
        base = self.initial
        labels: dict[str, str] = {}
        try:
            labels = parse_labels(self._value("#f-labels"))
        except ValueError as exc:
            problems.append(FieldError("labels", str(exc)))
        custom = self._value("#f-size-mode") == "custom"
        kind = self._value("#f-boot-kind")
        boot = BootSource(
            kind,
            disk_name=base.boot.disk_name,
            device=base.boot.device,
            boot_order=base.boot.boot_order,
            dv_name=base.boot.dv_name,
        )
        if kind == base.boot.kind and kind not in FORM_BOOT_KINDS:
            boot = BootSource(**base.boot.__dict__)
        if kind == "container":
            boot.image = self._value("#f-boot-image").strip() or None
        elif kind in ("http", "registry"):
            boot.url = self._value("#f-boot-url").strip() or None
        elif kind == "datasource":
            value = self._value("#f-boot-datasource")
            ns, _, name = value.rpartition("/")
            boot.name, boot.namespace = name or None, ns or None
        elif kind == "clone-pvc":
            value = self._value("#f-boot-clone").strip()
            ns, _, name = value.rpartition("/")
            boot.name, boot.namespace = (
                name or None,
                ns or self._value("#f-namespace").strip() or None,
            )
        elif kind == "pvc":
            boot.claim = self._value("#f-boot-claim").strip() or None
        if kind in BOOT_ROWS["size"]:
            boot.size = self._value("#f-boot-size").strip() or None
            boot.storage_class = self._value("#f-boot-sc") or None
        if kind in BOOT_ROWS["bus"]:
            boot.bus = self._value("#f-boot-bus") or "virtio"
        if boot.kind != base.boot.kind and base.boot.kind == "pxe":
            boot.boot_order = 1
        ci_mode = self._value("#f-ci-mode")
        cloud_init: CloudInit | None = None
        old_ci = base.cloud_init or CloudInit()
        if ci_mode == "user":
            cloud_init = CloudInit(
                user=self._value("#f-ci-user").strip() or None,
                password=self._value("#f-ci-password") or None,
                ssh_keys=self._ssh_keys(problems),
                network_data=old_ci.network_data,
                disk_name=old_ci.disk_name,
            )
        elif ci_mode == "raw":
            cloud_init = CloudInit(
                raw_user_data=self._value("#f-ci-raw"),
                network_data=old_ci.network_data,
                disk_name=old_ci.disk_name,
            )
        form = VmForm(
            name=self._value("#f-name").strip(),
            namespace=self._value("#f-namespace").strip(),
            description=self._value("#f-description"),
            labels=labels,
            instancetype=None
            if custom
            else self._matcher(self._value("#f-instancetype"))
            or ("VirtualMachineClusterInstancetype", ""),
            preference=self._matcher(self._value("#f-preference")),
            sockets=self._count("#f-sockets", "sockets", problems) if custom else None,
            cores=self._count("#f-cores", "cores", problems) if custom else None,
            threads=self._count("#f-threads", "threads", problems) if custom else None,
            memory=(self._value("#f-memory").strip() or None) if custom else None,
            boot=boot,
            disks=[row.spec() for row in self._rows(DiskRow)],
            nics=[row.spec() for row in self._rows(NicRow)],
            cloud_init=cloud_init,
            run_strategy=self._value("#f-run-strategy") or "Halted",
            start_after_create=self._w("#f-start", Checkbox).value,
            termination_grace_period=base.termination_grace_period,
            base=base.base,
        )
        return form, problems

    def taken_names(self, namespace: str) -> set[str]:
        names = set(self.choices.vm_names) if namespace == self._loaded_namespace else set()
        if self.known_vm_names is not None:
            try:
                names |= set(self.known_vm_names(namespace))
            except Exception:  # noqa: BLE001 - a courtesy check; the server decides anyway
                pass
        return names

    def taken_volumes(self, namespace: str) -> set[str]:
        return set(self.choices.volume_names) if namespace == self._loaded_namespace else set()

    # ---- checking as the user types --------------------------------------------------------------

    def revalidate(self) -> list[FieldError]:
        """Validate the widgets' form now; draw the errors of touched slots. All errors."""
        if not self.is_mounted:
            return []
        form, problems = self.current_form()
        errors = problems + validate_form(
            form,
            taken_names=self.taken_names(form.namespace),
            taken_volumes=self.taken_volumes(form.namespace),
        )
        self.errors = errors
        by_slot: dict[str, list[str]] = {}
        for error in errors:
            slot = slot_of(error.field)
            label = _sub_label(error.field)
            by_slot.setdefault(slot, []).append(
                f"{label}: {error.message}" if label else error.message
            )
        for slot, messages in self.server_errors.items():
            by_slot.setdefault(slot, []).extend(messages)
        for slot in self._all_slots():
            shown = self.submitted or slot in self.touched or slot in self.server_errors
            self._show(slot, by_slot.get(slot, []) if shown else [])
        return errors

    def _all_slots(self) -> list[str]:
        slots = [*SIMPLE_SLOTS, "cpu", "boot-source", "boot-disk", "cloud-init", "general"]
        slots += [f"disk-{i}" for i in range(len(self._rows(DiskRow)))]
        slots += [f"nic-{i}" for i in range(len(self._rows(NicRow)))]
        return slots

    def _error_widget(self, slot: str) -> Static | None:
        match = re.match(r"^(disk|nic)-(\d+)$", slot)
        if match:
            rows = self._rows(DiskRow if match.group(1) == "disk" else NicRow)
            index = int(match.group(2))
            found = rows[index].query(".row-error") if index < len(rows) else None
            return found.first(Static) if found else None  # None until the row is composed
        found = self._w(f"#err-{slot}")
        return found if isinstance(found, Static) else None

    def _show(self, slot: str, messages: list[str]) -> None:
        widget = self._error_widget(slot)
        if widget is None:
            return
        if self._shown.get(id(widget)) == messages:
            return  # unchanged: an update would lay the whole form out again
        self._shown[id(widget)] = list(messages)
        if messages:
            text = Text()
            for i, message in enumerate(messages):
                if i:
                    text.append("\n")
                text.append("✗ ", style="bold red")
                text.append(plain(message), style="red")
            widget.update(text)
        widget.display = bool(messages)

    def _slot_of_widget(self, widget: Widget) -> str:
        for ancestor in (widget, *widget.ancestors):
            if isinstance(ancestor, (DiskRow, NicRow)):
                rows = list(self._rows(type(ancestor)))
                prefix = "disk" if isinstance(ancestor, DiskRow) else "nic"
                return f"{prefix}-{rows.index(ancestor)}" if ancestor in rows else "general"
        wid = widget.id or ""
        mapping = {
            "f-name": "name",
            "f-namespace": "namespace",
            "f-labels": "labels",
            "f-instancetype": "instancetype",
            "f-preference": "preference",
            "f-sockets": "cpu",
            "f-cores": "cpu",
            "f-threads": "cpu",
            "f-memory": "memory",
            "f-run-strategy": "run_strategy",
            "f-boot-size": "boot-disk",
            "f-boot-sc": "boot-disk",
            "f-boot-bus": "boot-disk",
        }
        if wid in mapping:
            return mapping[wid]
        if wid.startswith("f-boot"):
            return "boot-source"
        if wid.startswith("f-ci"):
            return "cloud-init"
        return "general"

    _FIELD_TYPES = (Input, Select, Checkbox, TextArea)

    def _record_baseline(self, root: Widget) -> None:
        """Each field's starting value: the Changed events Textual posts for those as the
        widgets mount are not the user's doing."""
        for widget in root.query("*"):
            if isinstance(widget, self._FIELD_TYPES):
                self._baseline[id(widget)] = self._widget_value(widget)

    @staticmethod
    def _widget_value(widget: Widget) -> Any:
        if isinstance(widget, TextArea):
            return widget.text
        return getattr(widget, "value", None)

    def _changed_by(self, widget: Widget) -> None:
        if not self.is_mounted:
            return
        key = id(widget)
        if key in self._baseline:
            if self._widget_value(widget) == self._baseline[key]:
                return  # the value it started with (a mount-time event)
            del self._baseline[key]
        self._dirty = True
        self._leave_armed = False
        slot = self._slot_of_widget(widget)
        self.touched.add(slot)
        self.server_errors.pop(slot, None)
        if widget.id == "f-namespace":
            if self._ns_timer is not None:
                self._ns_timer.stop()
            self._ns_timer = self.set_timer(0.4, self._namespace_settled)
        self._sync_visibility()
        self.revalidate()

    def _namespace_settled(self) -> None:
        namespace = self._value("#f-namespace").strip()
        if namespace and namespace != self._loaded_namespace:
            self._load(namespace)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        self._changed_by(event.input)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        select = event.select
        if select.has_class("disk-source"):
            for row in select.ancestors:
                if isinstance(row, DiskRow):
                    row.sync()
        if select.has_class("nic-network") and event.value not in ("pod", Select.NULL):
            # A NAD takes bridge (masquerade is for the pod network only).
            for row in select.ancestors:
                if isinstance(row, NicRow):
                    binding = row.query_one(".nic-binding", Select)
                    if binding.value == "masquerade":
                        binding.value = "bridge"
        if select.has_class("nic-network") and event.value == "pod":
            for row in select.ancestors:
                if isinstance(row, NicRow):
                    binding = row.query_one(".nic-binding", Select)
                    if binding.value == "bridge":
                        binding.value = "masquerade"
        if select.id == "f-boot-kind":
            size = self._w("#f-boot-size", Input)
            if event.value in ("http", "registry", "blank") and not size.value:
                size.value = "30Gi"
        if select.id == "f-size-mode" and event.value == "instancetype":
            it = self._w("#f-instancetype", Select)
            values = [v for _, v in self.choices.instancetypes]
            if it.value is Select.NULL and "VirtualMachineClusterInstancetype/u1.medium" in values:
                it.value = "VirtualMachineClusterInstancetype/u1.medium"
        self._changed_by(select)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._changed_by(event.checkbox)

    @on(TextArea.Changed)
    def _text_changed(self, event: TextArea.Changed) -> None:
        self._changed_by(event.text_area)

    @on(Input.Submitted, "#f-ci-file")
    def _load_user_data(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            return
        try:
            text = self._read_file(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.server_errors["cloud-init"] = [f"cannot read {path}: {reason}"]
            self.revalidate()
            return
        self._w("#f-ci-raw", TextArea).text = text
        self.notify(f"Loaded {path} ({len(text)} characters)", title="User data", markup=False)

    def _sync_visibility(self) -> None:
        custom = self._value("#f-size-mode") == "custom"
        self._w("#row-instancetype").display = not custom
        self._w("#row-cpu").display = custom
        self._w("#row-memory").display = custom
        kind = self._value("#f-boot-kind")
        for row, kinds in BOOT_ROWS.items():
            self.query_one(f"#row-boot-{row}").display = kind in kinds
        ci_mode = self._value("#f-ci-mode")
        for row in ("user", "password", "ssh"):
            self.query_one(f"#row-ci-{row}").display = ci_mode == "user"
        self._w("#row-ci-file").display = ci_mode == "raw"
        self._w("#f-ci-raw").display = ci_mode == "raw"

    # ---- adding and removing disks and NICs ----------------------------------------------------

    @on(Button.Pressed, "#add-disk")
    async def action_add_disk(self) -> None:
        used = {row.spec().name for row in self._rows(DiskRow)}
        n = 1
        while f"disk{n}" in used:
            n += 1
        row = DiskRow(DiskSpec(f"disk{n}", "blank", "10Gi"), self._sc_options())
        await self._w("#disks", Vertical).mount(row)
        self.touched.add(f"disk-{len(self._rows(DiskRow)) - 1}")
        self._row_added(row, ".disk-name")

    @on(Button.Pressed, "#add-nic")
    async def action_add_nic(self) -> None:
        used = {row.spec().name for row in self._rows(NicRow)}
        n = 1
        while f"nic{n}" in used:
            n += 1
        pod_taken = any(row.spec().network == "pod" for row in self._rows(NicRow))
        # The pod network once, then a network of the VM's namespace (listed first) when
        # there is one: a NAD elsewhere must be asked for.
        local = [value for _label, value in self.choices.networks if "/" not in value]
        network = local[0] if pod_taken and local else "pod"
        binding = "masquerade" if network == "pod" else "bridge"
        row = NicRow(NicSpec(f"nic{n}", network, binding), self.choices.networks)
        await self._w("#nics", Vertical).mount(row)
        self._row_added(row, ".nic-name")

    def _row_added(self, row: Widget, selector: str) -> None:
        """A new disk or NIC row is there: its fields start as they are, focus its name."""
        self._record_baseline(row)
        found = row.query(selector)
        if found:
            found.first().focus()
        row.scroll_visible()
        self._dirty = True
        self.revalidate()

    @on(Button.Pressed, ".remove")
    def _remove_row(self, event: Button.Pressed) -> None:
        for row in event.button.ancestors:
            if isinstance(row, (DiskRow, NicRow)):
                add = "#add-disk" if isinstance(row, DiskRow) else "#add-nic"
                self.server_errors = {
                    k: v for k, v in self.server_errors.items() if not re.match(r"^(disk|nic)-", k)
                }
                row.remove()
                self.query_one(add).focus()
                self._dirty = True
                self.call_after_refresh(self.revalidate)
                break

    @on(Button.Pressed, "#btn-review")
    def _review_pressed(self) -> None:
        self._review_typed()

    @on(Button.Pressed, "#btn-yaml")
    def _yaml_pressed(self) -> None:
        self._preview_typed()

    @on(Button.Pressed, "#btn-cancel")
    def _cancel_pressed(self) -> None:
        self.app.pop_screen()

    # ---- leaving, previewing, reviewing -------------------------------------------------------

    def action_ignore_key(self) -> None:
        """q, :, digits, [ ] -: typed into a field, or nothing (see GUARD_BINDINGS)."""

    def action_leave(self) -> None:
        if self._dirty and not self._leave_armed:
            self._leave_armed = True
            self.notify(
                "Press esc again to throw this form away.", title="Leave the form?", timeout=4
            )
            return
        self.app.pop_screen()

    def action_preview(self) -> None:
        """ctrl+y: once the keys typed before it are in their fields (see `_after_typed`)."""
        self._after_typed(self._preview_typed)

    def _after_typed(self, callback: Callable[[], None]) -> None:
        # ctrl+s / ctrl+y are priority bindings: they run as soon as the app reads them,
        # while keys typed just before (a paste, a fast typist, a busy machine) still wait
        # in the focused field's queue. Queue behind them, so the form is read as typed.
        from screens.create_yaml import after_typed_keys

        after_typed_keys(self, callback)

    def _preview_typed(self) -> None:
        if not self.is_attached or self.app.screen is not self:
            return
        form, _ = self.current_form()
        errors = self.revalidate()
        vm = build_vm(form)
        note = Text("The VM this form makes now", style="bold")
        if errors:
            note.append(
                f"  ({len(errors)} problem{'s' * (len(errors) != 1)} to fix first)",
                style="bold red",
            )
        note.append("   e edit as YAML · ctrl+s review · esc back", style="dim")
        self.app.push_screen(YamlPreviewScreen(to_yaml(vm), note), self._previewed)

    def _previewed(self, choice: str | None) -> None:
        if choice == "edit":
            form, _ = self.current_form()
            self.edit_as_yaml(build_vm(form))
        elif choice == "review":
            self._review_typed()

    def edit_as_yaml(self, vm: dict[str, Any]) -> None:
        """Take `vm` into the YAML editor for hand edits; it goes on to the review itself."""
        try:
            from screens.create_yaml import CreateYamlScreen
        except ImportError:  # pragma: no cover - the YAML path is part of kvtui
            self.notify("The YAML editor is not available.", severity="error")
            return
        namespace = str((vm.get("metadata") or {}).get("namespace") or "default")
        self.app.push_screen(
            CreateYamlScreen(
                to_yaml(vm), namespace=namespace, origin=f"{self.origin} (edited as YAML)"
            )
        )

    def action_review(self) -> None:
        """ctrl+s: check everything, then the review step (after the keys typed before)."""
        self._after_typed(self._review_typed)

    def _review_typed(self) -> None:
        if not self.is_attached or self.app.screen is not self:
            return
        self.submitted = True
        errors = self.revalidate()
        if errors:
            first = errors[0]
            self._focus_slot(slot_of(first.field))
            self.notify(
                f"{len(errors)} problem{'s' * (len(errors) != 1)} to fix first: {first.message}",
                title="Not ready",
                severity="warning",
                markup=False,
            )
            return
        form, _ = self.current_form()
        vm = build_vm(form)
        from screens.create_review import CreateReviewScreen

        self.app.push_screen(
            CreateReviewScreen(
                vm,
                origin=self.origin,
                start_after=needs_start_call(form),
                commands=equivalent_commands(vm),
            ),
            lambda result: self._reviewed(result, form, vm),
        )

    def _focus_slot(self, slot: str) -> None:
        widget = self._error_widget(slot)
        target: Widget | None = None
        match = re.match(r"^(disk|nic)-(\d+)$", slot)
        if match and widget is not None:
            row = next(a for a in widget.ancestors if isinstance(a, (DiskRow, NicRow)))
            target = row.query(Input).first() if row.query(Input) else row.query(Button).first()
        else:
            ids = {
                "name": "#f-name",
                "namespace": "#f-namespace",
                "labels": "#f-labels",
                "instancetype": "#f-instancetype",
                "preference": "#f-preference",
                "cpu": "#f-sockets",
                "memory": "#f-memory",
                "run_strategy": "#f-run-strategy",
                "boot-disk": "#f-boot-size",
                "cloud-init": "#f-ci-mode",
                "boot-source": "#f-boot-kind",
            }
            if slot == "boot-source":
                kind = self._value("#f-boot-kind")
                ids["boot-source"] = {
                    "container": "#f-boot-image",
                    "http": "#f-boot-url",
                    "registry": "#f-boot-url",
                    "datasource": "#f-boot-datasource",
                    "clone-pvc": "#f-boot-clone",
                    "pvc": "#f-boot-claim",
                }.get(kind, "#f-boot-kind")
            if slot == "cloud-init" and self._value("#f-ci-mode") == "user":
                ids["cloud-init"] = "#f-ci-user"
            selector = ids.get(slot)
            target = self.query_one(selector) if selector else None
        if widget is not None:
            widget.scroll_visible(animate=False)
        if target is not None and target.display:
            # The field last, so that it is on screen (its message is just below it).
            target.focus(scroll_visible=False)
            row = target.parent if isinstance(target.parent, Horizontal) else target
            row.scroll_visible(animate=False)

    def _reviewed(self, result: Any, form: VmForm, vm: dict[str, Any]) -> None:
        from screens.create_review import Back, Created, EditYaml, finish_create

        if isinstance(result, Created):
            finish_create(self.app, result)
            return
        if isinstance(result, EditYaml):
            self.edit_as_yaml(result.manifest)
            return
        if isinstance(result, Back) and result.error is not None:
            self.show_server_error(result.error, form, vm)

    def show_server_error(self, error: ClusterError, form: VmForm, vm: dict[str, Any]) -> None:
        """Put the server's causes next to the fields they name (the rest under the form)."""
        self.server_errors = {}
        if error.causes:
            for cause in error.causes:
                field_id = form_field_for(cause.field, vm, form)
                slot = slot_of(field_id)
                label = _sub_label(field_id)
                text = f"server: {cause.message}"
                self.server_errors.setdefault(slot, []).append(
                    f"{label}: {text}" if label else text
                )
        elif error.status == 409 and (error.reason == "AlreadyExists"):
            self.server_errors["name"] = [f"server: {error.summary}"]
        else:
            self.server_errors["general"] = [f"server: {error}"]
        self.revalidate()
        first = next(iter(self.server_errors))
        self._focus_slot(first)
        self.notify(str(error), title="Not created", severity="error", timeout=10, markup=False)


# --------------------------------------------------------------------------------------
# Server causes -> form fields
# --------------------------------------------------------------------------------------

_INDEXED = re.compile(r"^(?P<list>[A-Za-z]+)\[(?P<i>\d+)\](?:\.(?P<rest>.*))?$")


def form_field_for(path: str, vm: dict[str, Any], form: VmForm) -> str:
    """The form's field id for a server cause's field path (best effort; "" when none)."""
    p = path.strip()
    if p.startswith("metadata.name"):
        return "name"
    if p.startswith("metadata.namespace"):
        return "namespace"
    if p.startswith("metadata.labels"):
        return "labels"
    if p.startswith("spec.instancetype"):
        return "instancetype"
    if p.startswith("spec.preference"):
        return "preference"
    if p.startswith(("spec.runStrategy", "spec.running")):
        return "run_strategy"
    spec = vm.get("spec") or {}
    tspec = (spec.get("template") or {}).get("spec") or {}
    devices = (tspec.get("domain") or {}).get("devices") or {}
    if p.startswith("spec.dataVolumeTemplates["):
        match = _INDEXED.match(p.removeprefix("spec."))
        if match:
            dvts = spec.get("dataVolumeTemplates") or []
            i = int(match.group("i"))
            dv = ((dvts[i] if i < len(dvts) else {}).get("metadata") or {}).get("name")
            rest = match.group("rest") or ""
            sub = "size" if "storage" in rest or "resources" in rest else "kind"
            if dv and dv == boot_dv_name(form):
                return "boot.size" if sub == "size" else "boot.url"
            for j, disk in enumerate(form.disks):
                if dv == disk_dv_name(form, disk):
                    return f"disks[{j}].size"
        return "boot.kind"
    inner = p.removeprefix("spec.template.spec.")
    if "memory" in inner and inner.startswith("domain."):
        return "memory"
    if inner.startswith("domain.cpu."):
        last = inner.rsplit(".", 1)[-1]
        return last if last in ("sockets", "cores", "threads") else "sockets"
    for pattern, items in (
        (r"^domain\.devices\.disks\[(\d+)\](.*)$", devices.get("disks") or []),
        (r"^volumes\[(\d+)\](.*)$", tspec.get("volumes") or []),
    ):
        match = re.match(pattern, inner)
        if match:
            i = int(match.group(1))
            name = (items[i] if i < len(items) else {}).get("name")
            return _disk_field(name, match.group(2), form)
    for pattern, items in (
        (r"^domain\.devices\.interfaces\[(\d+)\](.*)$", devices.get("interfaces") or []),
        (r"^networks\[(\d+)\](.*)$", tspec.get("networks") or []),
    ):
        match = re.match(pattern, inner)
        if match:
            i = int(match.group(1))
            name = (items[i] if i < len(items) else {}).get("name")
            rest = match.group(2)
            index = next((j for j, n in enumerate(form.nics) if n.name == name), i)
            if "bootOrder" in rest:
                sub = "boot_order"
            elif "macAddress" in rest:
                sub = "mac"
            elif "model" in rest:
                sub = "model"
            elif pattern.startswith("^networks") or "multus" in rest:
                sub = "network"
            elif "masquerade" in rest or "bridge" in rest or "binding" in rest:
                sub = "binding"
            else:
                sub = "name"
            return f"nics[{index}].{sub}"
    return ""


def _disk_field(name: str | None, rest: str, form: VmForm) -> str:
    """The field id of disk (or volume) `name`; `rest` is the cause's path below it."""
    sub = "bus" if "bus" in rest else "boot_order" if "bootOrder" in rest else "disk"
    if form.cloud_init is not None and name == form.cloud_init.disk_name:
        return "cloud_init"
    if form.boot.kind != "pxe" and name == form.boot.disk_name:
        if "containerDisk" in rest:
            return "boot.image"
        if "persistentVolumeClaim" in rest:
            return "boot.claim"
        return f"boot.{sub}"
    for j, disk in enumerate(form.disks):
        if disk.name == name:
            return f"disks[{j}].{sub}"
    return ""


def form_screen_for_vm(vm: dict[str, Any], origin: str = "a template") -> CreateVmScreen:
    """The form filled from an existing VM manifest (the template path's "customise")."""
    form = form_from_vm(vm)
    return CreateVmScreen(form.namespace or None, form=form, origin=origin)
