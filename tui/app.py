"""The Textual application: a switchboard between the cluster connection and the screens.

It holds what every screen needs (the Connection, the Settings, KubeVirt's version), the
global key bindings, and the context bar each screen shows at the top. Screens do the
work; this module stays small on purpose (see the README's Design section).

This is the only module under `tui/` that imports Textual, screens or widgets
(tests/unit/test_import_rules.py keeps it that way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from screens.vm_list import VmListScreen
from widgets.resource_table import plain

if TYPE_CHECKING:
    from tui.cli import Settings
    from tui.cluster.connection import Connection


class ContextBar(Horizontal):
    """One line at the top of every screen: which cluster, context and namespace this is.

    Kept to one line so it costs a single row on an 80x24 terminal. The READ-ONLY badge is
    its own widget so it can be styled loudly from app.tcss.
    """

    def compose(self) -> ComposeResult:
        app = self.app
        assert isinstance(app, KvtuiApp)
        yield Static(app.context_text(), id="context-info")
        if app.settings.readonly:
            yield Static(Text(" READ-ONLY "), id="readonly-badge")


class KvtuiApp(App[int]):
    """kvtui: one Connection, one set of Settings, a stack of screens."""

    CSS_PATH = "app.tcss"
    TITLE = "kvtui"
    # ctrl+q (quit) and ctrl+p (command palette) come from Textual's App bindings.
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(
        self,
        connection: Connection,
        settings: Settings,
        *,
        kubevirt_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connection = connection
        self.settings = settings
        self.kubevirt_version = kubevirt_version

    @property
    def all_namespaces(self) -> bool:
        return self.settings.namespace is None

    def context_text(self) -> Text:
        """The context bar's text. Every value is cluster- or kubeconfig-supplied: plain text only."""
        parts: list[tuple[str, str]] = [
            ("kvtui", "bold"),
            ("  ctx ", "dim"),
            (plain(self.connection.context), "bold"),
            ("  ", ""),
            (plain(self.connection.server), ""),
        ]
        if self.kubevirt_version:
            parts += [("  KubeVirt ", "dim"), (plain(self.kubevirt_version), "")]
        namespace = "all" if self.all_namespaces else plain(self.settings.namespace or "")
        parts += [("  ns ", "dim"), (namespace, "bold")]
        if self.settings.demo:
            parts += [("  (demo)", "italic")]
        return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")

    def context_bar(self) -> ContextBar:
        """A fresh context bar for a screen to compose (widgets cannot be shared by screens)."""
        return ContextBar(id="context-bar")

    def on_mount(self) -> None:
        self.push_screen(
            VmListScreen(self.connection.api_client, namespace=self.settings.namespace)
        )
