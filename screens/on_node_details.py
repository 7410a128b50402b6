"""The node view's domain details inside the cluster app (`o` on a VM: screens/on_node.py).

`OnNodeDetailsScreen` is screens/node_details.py's screen over a model of its own: one
launcher's daemon (the one the domain was found through) and a VMI informer for the
cluster section. It starts both when shown and stops both when left; the model's news
reaches it as a message (libvirt's threads never touch the UI).
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from screens.node_details import NodeDetailsScreen
from tui.node.links import LocalDomain
from tui.node.model import NodeModel, SourceState
from widgets.resource_table import plain


class OneLauncherModel(NodeModel):
    """A node model over one launcher's daemon (the one the domain was found through)."""

    def __init__(self, domain: LocalDomain, **kwargs: Any) -> None:
        super().__init__([], **kwargs)
        self.domain = domain

    def start(self) -> None:
        super().start()
        self._add(self.domain.uri, self.domain.launcher)


class NodeModelChanged(Message):
    """The node model has news (posted from libvirt's threads, at most one pending)."""


class OnNodeDetailsScreen(NodeDetailsScreen):
    """NodeDetailsScreen in the cluster app: owns its model and cluster, stops them on leaving."""

    def __init__(self, model: OneLauncherModel, cluster: Any = None) -> None:
        super().__init__(model, model.domain.key)
        self.cluster = cluster
        self._pending = False
        self._pending_lock = threading.Lock()

    def _changed(self) -> None:
        """From the model's (or the informer's) threads: one message per burst."""
        with self._pending_lock:
            if self._pending:
                return
            self._pending = True
        self.post_message(NodeModelChanged())

    def on_mount(self) -> None:
        self.model.listener = self._changed
        self.model.start()
        if self.cluster is not None:
            self.cluster.listener = self._changed
            self.cluster.start()

    def on_node_model_changed(self, _message: NodeModelChanged) -> None:
        with self._pending_lock:
            self._pending = False
        self._update_title()
        if "overview" not in self.loaded and self.row is not None:
            self.load(initial=True)  # the first list is in: fill the tabs now, not at the tick

    def _update_title(self) -> None:
        if self.row is not None:
            super()._update_title()
            return
        source = self.model.source(self.model.domain.uri)
        label = self.model.domain.launcher.label
        if source is None or source.state is SourceState.CONNECTING:
            text = Text(f"connecting to {label}…", "italic")
        elif source.state is SourceState.LOST:
            text = Text(f"{label}: {plain(source.error)}", "bold red")
        else:
            super()._update_title()  # connected and listed, yet not there: gone
            return
        self.query_one("#nd-title", Static).update(text)

    def on_unmount(self) -> None:
        model, cluster = self.model, self.cluster
        model.signal_stop()
        if cluster is not None:
            cluster.stop()
        # Joining libvirt's threads may wait on a slow daemon: not on the UI thread.
        threading.Thread(target=model.stop, name="node model stop", daemon=True).start()
