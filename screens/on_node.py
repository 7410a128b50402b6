"""`o` in the cluster views: the VM's libvirt domain on this machine, in the node view.

When kvtui runs on a KubeVirt node (as root, with libvirt-python), a VM whose VMI's domain
is found here (tui/node/links.py: launcher discovery plus the VMI uid in the domain's
KubeVirt metadata) gets the `o` key on the VM list and the VM details. It opens the node
view's domain details (screens/node_details.py: XML, stats, block, interfaces, job, agent,
monitor, console) inside the running app, over a node model of that one launcher's daemon
and a VMI informer for the cluster section; both stop when the screen is left. Those
screens load only when `o` is pressed (screens/on_node_details.py): the cluster app's
start does not pay for them.

The key is offered only for such VMs: anywhere else it is hidden, and `?` help says why
(the reason from tui/node/links.py, or "not found on this machine").
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from screens.live_keys import LiveKeysMixin
from tui.kubevirt.untrusted import as_dict, as_str
from tui.node.links import LocalDomain, NodeLinks

_APP_ATTRIBUTE = "_kvtui_node_links"
# The first scan of /proc waits this long: the first lists come first.
FIRST_SCAN_DELAY = 1.0


def links_for(app: Any) -> NodeLinks:
    """The app's NodeLinks (made on first use: the real /proc, libvirt's launcher URIs)."""
    links = getattr(app, _APP_ATTRIBUTE, None)
    if links is None:
        links = NodeLinks(first_delay=FIRST_SCAN_DELAY)
        if getattr(getattr(app, "settings", None), "demo", False) and not links.reason:
            links.reason = "the demo cluster's VMs run on no machine"
        setattr(app, _APP_ATTRIBUTE, links)
    return links


def use_links(app: Any, links: NodeLinks) -> None:
    """Give `app` its NodeLinks (tests: a fake /proc and a test driver's URI)."""
    setattr(app, _APP_ATTRIBUTE, links)


class NodeLinksChanged(Message):
    """A scan of this machine's launchers found a different set of domains."""


class ShowOnNodeMixin(LiveKeysMixin):
    """The `o` key; screens provide `on_node_vmi()`: the VMI the key is about, or None."""

    BINDINGS = [Binding("o", "show_on_node", "On node", tooltip="The domain on this machine")]

    def on_node_vmi(self) -> dict[str, Any] | None:
        return None

    def local_domain(self) -> LocalDomain | None:
        """The domain of `on_node_vmi()` on this machine, per the last scan."""
        vmi = self.on_node_vmi()
        if not vmi:
            return None
        uid = as_str(as_dict(vmi.get("metadata")).get("uid"))
        links = links_for(self.app)
        links.hint(uid, as_str(as_dict(vmi.get("status")).get("nodeName")))
        return links.find(uid)

    def why_not_on_node(self) -> str:
        """Why `o` is not offered now, in words (for `?` help)."""
        links = links_for(self.app)
        if links.reason:
            return links.reason
        if not links.scanned:
            return "still looking for virt-launcher daemons on this machine"
        if self.on_node_vmi() is None:
            return "this VM has no VMI (it is not running)"
        last = links.last
        if last is None:
            return "still looking for virt-launcher daemons on this machine"
        where = f"{last.launchers} launcher{'s' if last.launchers != 1 else ''}"
        if last.errors:
            where += f"; {len(last.errors)} could not be asked: {last.errors[0]}"
        if last.denied:
            where += f"; {last.denied} process roots could not be read"
        return f"its VMI's domain is not on this machine (looked in {where})"

    def help_notes(self) -> list[str]:
        """`?` help (screens/help.py): why `o` is missing, when it is."""
        if self.local_domain() is not None:
            return []
        return [f"o  show the VM on this node: {self.why_not_on_node()}"]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_on_node":
            return True if self.local_domain() is not None else False
        return super().check_action(action, parameters)

    def _live_keys(self) -> tuple[bool | None, ...]:
        return (*super()._live_keys(), self.local_domain() is not None)

    def on_mount(self) -> None:
        links = links_for(self.app)
        self._links_unsubscribe = links.subscribe(lambda: self.post_message(NodeLinksChanged()))

    def on_unmount(self) -> None:
        unsubscribe = getattr(self, "_links_unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe()

    def on_node_links_changed(self, _message: NodeLinksChanged) -> None:
        self.refresh_bindings()

    def action_show_on_node(self) -> None:
        domain = self.local_domain()
        if domain is None:
            self.notify(
                f"Not on this node: {self.why_not_on_node()}.", severity="warning", markup=False
            )
            return
        open_on_node(self, domain)


# ---- pressing it (the node screens load only then) ---------------------------------------


def open_on_node(screen: Screen, domain: LocalDomain) -> None:
    """Push the node view's details of `domain` (the cluster section when there is a cluster)."""
    from screens.on_node_details import OneLauncherModel, OnNodeDetailsScreen

    app: Any = screen.app
    read_only = bool(getattr(getattr(app, "settings", None), "readonly", False))
    links = links_for(app)
    model = OneLauncherModel(domain, proc_root=links.proc_root, read_only=read_only)
    cluster = None
    connection = getattr(app, "connection", None)
    if connection is not None:
        from tui.node.cluster import NodeCluster

        cluster = NodeCluster(connection, node_name=links.node_name)
    app.push_screen(OnNodeDetailsScreen(model, cluster))
