"""`kvtui node --kubeconfig`: each libvirt domain next to what the cluster says about its VMI.

One VMI informer over all namespaces (tui.cluster.informer: list+watch on its own thread)
keeps the cluster's side current; `lookup(row)` joins a domain to its VMI by the uid
KubeVirt writes into the domain's metadata, falling back to `<namespace>_<name>`. The
join is where troubleshooting starts:

- the VMI says Running on this node: all is well (shown as its phase and node);
- the VMI is on *another* node: a leftover domain after a migration, or the wrong node;
- no VMI at all: an orphaned domain (its VMI was deleted but the launcher lives on);
- the VMI is owned by a VirtualMachine: its name is shown (`ownerReferences`).

Cluster data is untrusted text; callers draw it plainly. Nothing here imports Textual.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.cluster.informer import Informer, InformerState
from tui.cluster.kinds import VMIS
from tui.kubevirt.untrusted import as_dict, as_list, as_str


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster's word on one domain."""

    found: bool
    namespace: str = ""
    vmi: str = ""
    vm: str = ""  # the owning VirtualMachine, when there is one
    phase: str = ""
    node: str = ""
    migration: str = ""  # "node-a -> node-b (Running)" when the VMI has a migration state
    elsewhere: bool = False  # the VMI runs on another node than this one

    @property
    def summary(self) -> str:
        """The list's CLUSTER cell: `Running`, `Running on node-2!`, `no VMI`."""
        if not self.found:
            return "no VMI"
        text = self.phase or "?"
        if self.elsewhere:
            text += f" on {self.node}!"
        if self.migration:
            text += " migrating"
        return text


def this_node() -> str:
    """This machine's name as Kubernetes likely calls it (the short hostname)."""
    return socket.gethostname().split(".", 1)[0]


def vmi_info(vmi: dict[str, Any], node_name: str) -> ClusterInfo:
    meta = as_dict(vmi.get("metadata"))
    status = as_dict(vmi.get("status"))
    owner = next(
        (
            as_str(ref.get("name"))
            for ref in as_list(meta.get("ownerReferences"))
            if isinstance(ref, dict) and ref.get("kind") == "VirtualMachine"
        ),
        "",
    )
    node = as_str(status.get("nodeName"))
    migration = ""
    state = as_dict(status.get("migrationState"))
    if state and not state.get("completed") and not state.get("failed"):
        source = as_str(state.get("sourceNode"))
        target = as_str(state.get("targetNode"))
        migration = f"{source} -> {target}"
    short = node.split(".", 1)[0]
    return ClusterInfo(
        found=True,
        namespace=as_str(meta.get("namespace")),
        vmi=as_str(meta.get("name")),
        vm=owner,
        phase=as_str(status.get("phase")),
        node=node,
        migration=migration,
        elsewhere=bool(node and node_name and short != node_name.split(".", 1)[0]),
    )


class NodeCluster:
    """The VMIs of a cluster, kept current, looked up by a domain's VMI uid or name."""

    def __init__(
        self,
        connection: Any,
        *,
        node_name: str | None = None,
        informer_factory: Callable[..., Informer] = Informer,
    ) -> None:
        self.connection = connection
        self.node_name = node_name if node_name is not None else this_node()
        self.listener: Callable[[], None] = lambda: None
        self._informer = informer_factory(connection, VMIS, None)
        self._by_uid: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._listed = False  # a complete list arrived once: keep using it while disconnected

    @property
    def context(self) -> str:
        return str(getattr(self.connection, "context", "") or "")

    @property
    def state(self) -> InformerState:
        return self._informer.state

    @property
    def error(self) -> str:
        error = self._informer.last_error
        if error is None:
            return ""
        return " ".join(str(getattr(error, "summary", "") or error).split())

    def start(self) -> None:
        self._unsubscribe = self._informer.add_listener(self._events)
        self._informer.start()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._informer.stop()

    def _events(self, events: Any) -> None:
        if any(getattr(event, "type", "") == "SYNCED" for event in events):
            self._listed = True
        by_uid = {}
        for vmi in self._informer.items():
            uid = as_str(as_dict(vmi.get("metadata")).get("uid"))
            if uid:
                by_uid[uid] = vmi
        with self._lock:
            self._by_uid = by_uid
        self.listener()

    @property
    def synced(self) -> bool:
        return self._informer.synced

    def lookup(self, uid: str, namespace: str, name: str) -> ClusterInfo | None:
        """The VMI behind a domain; None until the cluster's first complete list is in."""
        if not self._listed:
            return None
        with self._lock:
            vmi = self._by_uid.get(uid) if uid else None
        if vmi is None and namespace and name:
            vmi = self._informer.get(namespace, name)
            if vmi is not None and uid:
                other = as_str(as_dict(vmi.get("metadata")).get("uid"))
                if other and other != uid:
                    vmi = None  # same name, another VMI: this domain's VMI is gone
        if vmi is None:
            return ClusterInfo(found=False)
        return vmi_info(vmi, self.node_name)
