"""The `kvtui node` application: libvirt's view of this machine's VMs, no cluster needed.

It owns a `NodeModel` (threads talking to libvirt), tells the screens when it changed (one
message per burst, however many sources report at once), and holds the open consoles like
the cluster app does (screens/console.py), so `s` on a domain reuses the console screen.

`run_node_app(uris=..., discover=..., proc_root=...)` builds one for tests and for the CLI.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message

from screens.node_list import NodeListScreen
from tui.node.cluster import NodeCluster
from tui.node.model import DEFAULT_INTERVAL, NodeModel


class NodeChanged(Message):
    """The model has news (posted from libvirt's threads, at most one pending)."""


class NodeApp(App[int]):
    """kvtui node: one domain list over every libvirt connection."""

    TITLE = "kvtui node"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        model: NodeModel,
        *,
        notes: list[str] | None = None,
        cluster: NodeCluster | None = None,
        **kwargs: Any,
    ) -> None:
        """`cluster`: VMIs to correlate the domains with (`--kubeconfig`), or None."""
        super().__init__(**kwargs)
        self.model = model
        self.cluster = cluster
        self.notes = list(notes or [])
        self._pending = False
        self._pending_lock = threading.Lock()
        self._consoles: Any = None
        model.listener = self._model_changed
        if cluster is not None:
            cluster.listener = self._model_changed

    # ---- the model, from its threads ----------------------------------------------------

    def _model_changed(self) -> None:
        with self._pending_lock:
            if self._pending:
                return
            self._pending = True
        try:
            self.post_message(NodeChanged())
        except Exception:  # noqa: BLE001 - the app is shutting down
            pass

    def on_node_changed(self, _message: NodeChanged) -> None:
        with self._pending_lock:
            self._pending = False
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_from_model", None)
            if refresh is None or not screen.is_mounted:
                continue
            try:
                refresh()
            except NoMatches:
                # A change that lands while Textual tears the screen down (on quit): its
                # widgets are already gone and there is nothing left to draw.
                continue

    # ---- life cycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(NodeListScreen(self.model, notes=self.notes, cluster=self.cluster))
        self.model.start()
        if self.cluster is not None:
            self.cluster.start()

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Quiet the model's threads first: their news would only land on screens being torn down.
        self.model.signal_stop()
        super().exit(*args, **kwargs)

    def on_unmount(self) -> None:
        if self._consoles is not None:
            self._consoles.close_all()
        if self.cluster is not None:
            self.cluster.stop()
        self.model.stop()

    # ---- consoles (screens/console.py) ---------------------------------------------------

    @property
    def consoles(self) -> Any:
        if self._consoles is None:
            from screens.console import ConsoleRegistry

            self._consoles = ConsoleRegistry(self)
        return self._consoles

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Inside a console every key belongs to the guest (see tui/app.py).
        from widgets.terminal import Terminal

        if self._consoles is not None and isinstance(self.focused, Terminal):
            return False
        return super().check_action(action, parameters)

    def action_help(self) -> None:
        from screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))


def run_node_app(
    uris: list[str] | tuple[str, ...] = (),
    *,
    discover: bool = False,
    proc_root: str | os.PathLike[str] = "/proc",
    interval: float = DEFAULT_INTERVAL,
    notes: list[str] | None = None,
    rediscover_every: float = 5.0,
    read_only: bool = False,
    cluster: Any = None,
) -> NodeApp:
    """A NodeApp over `uris` (and discovered launchers); call `.run()` or `.run_test()`.

    `cluster`: a kubeconfig `Connection` (or a ready NodeCluster) to correlate with.
    """
    model = NodeModel(
        list(uris),
        discover_launchers=discover,
        proc_root=proc_root,
        interval=interval,
        rediscover_every=rediscover_every,
        read_only=read_only,
    )
    if cluster is not None and not isinstance(cluster, NodeCluster):
        cluster = NodeCluster(cluster)
    return NodeApp(model, notes=notes, cluster=cluster)
