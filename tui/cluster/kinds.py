"""The table of Kubernetes kinds kvtui knows: group, version, plural, scope, printer columns.

One table serves both sides: the cluster layer uses it to build request paths, and the demo
server (`tui.demo`) uses it to serve discovery and to know which kinds it stores.
Printer columns follow the CRDs' `additionalPrinterColumns` (KubeVirt `crds.go`, CDI markers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    priority: int = 0


@dataclass(frozen=True)
class Kind:
    """One API resource: where it lives and how it is shown."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    has_status: bool = True  # a /status subresource exists
    columns: tuple[PrinterColumn, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # Extra (non-status) subresources the server answers, e.g. "virtualmachines/start".
    subresources: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """Unique name of the kind, `plural.group` as kubectl spells it (`pods` for core)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The REST path of the collection, or of one object when `name` is given."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


def _cols(*spec: tuple) -> tuple[PrinterColumn, ...]:
    return tuple(PrinterColumn(*s) for s in spec)


AGE = ("Age", ".metadata.creationTimestamp", "date")

KUBEVIRT = "kubevirt.io"
SUBRESOURCES = "subresources.kubevirt.io"
SNAPSHOT = "snapshot.kubevirt.io"
CLONE = "clone.kubevirt.io"
EXPORT = "export.kubevirt.io"
INSTANCETYPE = "instancetype.kubevirt.io"
CDI = "cdi.kubevirt.io"
TEMPLATE = "template.openshift.io"
NAD = "k8s.cni.cncf.io"
STORAGE = "storage.k8s.io"
AUTHZ = "authorization.k8s.io"

NAMESPACES = Kind(
    "",
    "v1",
    "Namespace",
    "namespaces",
    namespaced=False,
    short_names=("ns",),
    columns=_cols(("Status", ".status.phase"), AGE),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
)
NODES = Kind(
    "",
    "v1",
    "Node",
    "nodes",
    namespaced=False,
    short_names=("no",),
    columns=_cols(AGE),
)
PODS = Kind(
    "",
    "v1",
    "Pod",
    "pods",
    short_names=("po",),
    categories=("all",),
    columns=_cols(
        ("Status", ".status.phase"),
        ("Node", ".spec.nodeName"),
        ("IP", ".status.podIP", "string", 1),
        AGE,
    ),
)
EVENTS = Kind(
    "",
    "v1",
    "Event",
    "events",
    short_names=("ev",),
    has_status=False,
    columns=_cols(
        ("Type", ".type"),
        ("Reason", ".reason"),
        ("Object", ".involvedObject.name"),
        ("Message", ".message"),
    ),
)
PVCS = Kind(
    "",
    "v1",
    "PersistentVolumeClaim",
    "persistentvolumeclaims",
    short_names=("pvc",),
    columns=_cols(
        ("Status", ".status.phase"),
        ("Capacity", ".status.capacity.storage"),
        ("StorageClass", ".spec.storageClassName"),
        AGE,
    ),
)
STORAGE_CLASSES = Kind(
    STORAGE,
    "v1",
    "StorageClass",
    "storageclasses",
    namespaced=False,
    short_names=("sc",),
    has_status=False,
    columns=_cols(("Provisioner", ".provisioner"), ("ReclaimPolicy", ".reclaimPolicy"), AGE),
)
VMS = Kind(
    KUBEVIRT,
    "v1",
    "VirtualMachine",
    "virtualmachines",
    short_names=("vm", "vms"),
    categories=("all",),
    columns=_cols(
        AGE,
        ("Status", ".status.printableStatus"),
        ("Ready", ".status.conditions[?(@.type=='Ready')].status"),
    ),
)
VMIS = Kind(
    KUBEVIRT,
    "v1",
    "VirtualMachineInstance",
    "virtualmachineinstances",
    short_names=("vmi", "vmis"),
    categories=("all",),
    has_status=False,  # KubeVirt's VMI CRD has no status subresource
    columns=_cols(
        AGE,
        ("Phase", ".status.phase"),
        ("IP", ".status.interfaces[0].ipAddress"),
        ("NodeName", ".status.nodeName"),
        ("Ready", ".status.conditions[?(@.type=='Ready')].status"),
        ("Live-Migratable", ".status.conditions[?(@.type=='LiveMigratable')].status", "string", 1),
        ("Paused", ".status.conditions[?(@.type=='Paused')].status", "string", 1),
    ),
)
VMIMS = Kind(
    KUBEVIRT,
    "v1",
    "VirtualMachineInstanceMigration",
    "virtualmachineinstancemigrations",
    short_names=("vmim", "vmims"),
    categories=("all",),
    columns=_cols(("Phase", ".status.phase"), ("VMI", ".spec.vmiName"), AGE),
)
SNAPSHOTS = Kind(
    SNAPSHOT,
    "v1beta1",
    "VirtualMachineSnapshot",
    "virtualmachinesnapshots",
    short_names=("vmsnapshot", "vmsnapshots"),
    categories=("all",),
    columns=_cols(
        ("SourceKind", ".spec.source.kind"),
        ("SourceName", ".spec.source.name"),
        ("Phase", ".status.phase"),
        ("ReadyToUse", ".status.readyToUse", "boolean"),
        ("CreationTime", ".status.creationTime", "date"),
        ("Error", ".status.error.message"),
    ),
)
SNAPSHOT_CONTENTS = Kind(
    SNAPSHOT,
    "v1beta1",
    "VirtualMachineSnapshotContent",
    "virtualmachinesnapshotcontents",
    short_names=("vmsnapshotcontent", "vmsnapshotcontents"),
    categories=("all",),
    columns=_cols(
        ("ReadyToUse", ".status.readyToUse", "boolean"),
        ("CreationTime", ".status.creationTime", "date"),
        ("Error", ".status.error.message"),
    ),
)
RESTORES = Kind(
    SNAPSHOT,
    "v1beta1",
    "VirtualMachineRestore",
    "virtualmachinerestores",
    short_names=("vmrestore", "vmrestores"),
    categories=("all",),
    columns=_cols(
        ("TargetKind", ".spec.target.kind"),
        ("TargetName", ".spec.target.name"),
        ("Complete", ".status.complete", "boolean"),
        ("RestoreTime", ".status.restoreTime", "date"),
        ("Error", ".status.error.message"),
    ),
)
CLONES = Kind(
    CLONE,
    "v1beta1",
    "VirtualMachineClone",
    "virtualmachineclones",
    short_names=("vmclone", "vmclones"),
    categories=("all",),
    columns=_cols(
        ("Phase", ".status.phase"),
        ("SourceVirtualMachine", ".spec.source.name"),
        ("TargetVirtualMachine", ".spec.target.name"),
    ),
)
EXPORTS = Kind(
    EXPORT,
    "v1",
    "VirtualMachineExport",
    "virtualmachineexports",
    short_names=("vmexport", "vmexports"),
    categories=("all",),
    columns=_cols(
        ("SourceKind", ".spec.source.kind"),
        ("SourceName", ".spec.source.name"),
        ("Phase", ".status.phase"),
    ),
)
INSTANCETYPES = Kind(
    INSTANCETYPE,
    "v1beta1",
    "VirtualMachineInstancetype",
    "virtualmachineinstancetypes",
    short_names=("vminstancetype", "vminstancetypes", "vmf", "vmfs"),
    has_status=False,
    columns=_cols(AGE),
)
CLUSTER_INSTANCETYPES = Kind(
    INSTANCETYPE,
    "v1beta1",
    "VirtualMachineClusterInstancetype",
    "virtualmachineclusterinstancetypes",
    namespaced=False,
    short_names=("vmclusterinstancetype", "vmclusterinstancetypes", "vmcf", "vmcfs"),
    has_status=False,
    columns=_cols(AGE),
)
PREFERENCES = Kind(
    INSTANCETYPE,
    "v1beta1",
    "VirtualMachinePreference",
    "virtualmachinepreferences",
    short_names=("vmpref", "vmprefs", "vmp", "vmps"),
    has_status=False,
    columns=_cols(AGE),
)
CLUSTER_PREFERENCES = Kind(
    INSTANCETYPE,
    "v1beta1",
    "VirtualMachineClusterPreference",
    "virtualmachineclusterpreferences",
    namespaced=False,
    short_names=("vmcp", "vmcps"),
    has_status=False,
    columns=_cols(AGE),
)
DATAVOLUMES = Kind(
    CDI,
    "v1beta1",
    "DataVolume",
    "datavolumes",
    short_names=("dv", "dvs"),
    categories=("all",),
    columns=_cols(
        ("Phase", ".status.phase"),
        ("Progress", ".status.progress"),
        ("Restarts", ".status.restartCount", "integer"),
        AGE,
    ),
)
DATASOURCES = Kind(
    CDI,
    "v1beta1",
    "DataSource",
    "datasources",
    short_names=("das",),
    categories=("all",),
    has_status=False,
    columns=_cols(AGE),
)
TEMPLATES = Kind(
    TEMPLATE,
    "v1",
    "Template",
    "templates",
    has_status=False,
    columns=_cols(
        ("Description", ".metadata.annotations.description"),
        ("Parameters", ".parameters"),
        ("Objects", ".objects"),
    ),
)
NADS = Kind(
    NAD,
    "v1",
    "NetworkAttachmentDefinition",
    "network-attachment-definitions",
    short_names=("net-attach-def",),
    has_status=False,
    columns=_cols(AGE),
)

KINDS: tuple[Kind, ...] = (
    NAMESPACES,
    NODES,
    PODS,
    EVENTS,
    PVCS,
    STORAGE_CLASSES,
    VMS,
    VMIS,
    VMIMS,
    SNAPSHOTS,
    SNAPSHOT_CONTENTS,
    RESTORES,
    CLONES,
    EXPORTS,
    INSTANCETYPES,
    CLUSTER_INSTANCETYPES,
    PREFERENCES,
    CLUSTER_PREFERENCES,
    DATAVOLUMES,
    DATASOURCES,
    TEMPLATES,
    NADS,
)

# The virt-api subresources (brief §4): plural -> {name: HTTP method}.
VM_SUBRESOURCES = {
    "start": "PUT",
    "stop": "PUT",
    "restart": "PUT",
    "migrate": "PUT",
    "addvolume": "PUT",
    "removevolume": "PUT",
    "expand-spec": "GET",
}
VMI_SUBRESOURCES = {
    "pause": "PUT",
    "unpause": "PUT",
    "softreboot": "PUT",
    "reset": "PUT",
    "freeze": "PUT",
    "unfreeze": "PUT",
    "addvolume": "PUT",
    "removevolume": "PUT",
    "guestosinfo": "GET",
    "userlist": "GET",
    "filesystemlist": "GET",
    "console": "GET",
}


def by_key(key: str) -> Kind:
    """Find a kind by `plural.group`, plural, singular, kind name or short name."""
    k = key.lower()
    for kind in KINDS:
        names = {kind.key, kind.plural, kind.singular, kind.kind.lower(), *kind.short_names}
        if k in names:
            return kind
    raise KeyError(key)


def by_gvk(api_version: str, kind_name: str) -> Kind:
    """Find a kind by apiVersion and kind, as written in a manifest."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    for kind in KINDS:
        if kind.group == group and kind.kind == kind_name:
            return kind
    raise KeyError(f"{api_version} {kind_name}")


def groups() -> dict[str, list[Kind]]:
    """Kinds by API group ("" for core), in table order."""
    out: dict[str, list[Kind]] = {}
    for kind in KINDS:
        out.setdefault(kind.group, []).append(kind)
    return out
