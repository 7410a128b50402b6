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

from screens.command_line import NavigationCommands
from screens.navigator import Navigator
from widgets.resource_table import plain

if TYPE_CHECKING:
    from screens.console import ConsoleRegistry
    from tui.cli import ConsoleTarget, CreateTarget, Settings
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
    # Navigation follows k9s (`../shared/anchors.md` §3); the Navigator does the work.
    COMMANDS = App.COMMANDS | {NavigationCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("colon", "command_line", "Command", key_display=":"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "back", "Back", show=False),
        Binding("left_square_bracket", "history_back", "History back", show=False, key_display="["),
        Binding(
            "right_square_bracket",
            "history_forward",
            "History forward",
            show=False,
            key_display="]",
        ),
        Binding("minus", "history_last", "Last view", show=False, key_display="-"),
        *(
            Binding(
                str(d),
                f"favourite({d})",
                "All namespaces" if d == 0 else f"Favourite namespace {d}",
                show=False,
            )
            for d in range(10)
        ),
    ]

    def __init__(
        self,
        connection: Connection,
        settings: Settings,
        *,
        kubevirt_version: str | None = None,
        console: ConsoleTarget | None = None,
        create: CreateTarget | None = None,
        **kwargs: Any,
    ) -> None:
        """`console`: a VM whose console opens at start (`kvtui console NS/VM`);
        `create`: a manifest opened in the YAML editor at start (`kvtui create -f FILE`)."""
        super().__init__(**kwargs)
        self.console_target = console
        self.create_target = create
        self._consoles: ConsoleRegistry | None = None
        self.connection = connection
        self.settings = settings
        self.kubevirt_version = kubevirt_version
        self.navigator = Navigator(self)

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
        self.navigator.start()
        if self.console_target is not None:
            # Over the first view, so leaving the console lands on the VM list.
            self.open_console_target(self.console_target)
        if self.create_target is not None:
            # Over the first view, so leaving the editor lands on the VM list.
            from screens.create_yaml import CreateYamlScreen

            self.push_screen(
                CreateYamlScreen(
                    self.create_target.text,
                    namespace=self.navigator.create_namespace(),
                    origin=self.create_target.origin,
                )
            )

    # ---- navigation keys: the Navigator (screens/navigator.py) does the work ----------

    def action_command_line(self) -> None:
        self.navigator.open_command_line()

    def action_help(self) -> None:
        self.navigator.help()

    def action_back(self) -> None:
        self.navigator.escape()

    def action_history_back(self) -> None:
        self.navigator.back()

    def action_history_forward(self) -> None:
        self.navigator.forward()

    def action_history_last(self) -> None:
        self.navigator.last()

    def action_favourite(self, digit: int) -> None:
        self.navigator.favourite(digit)

    # ---- consoles (screens/console.py) ----------------------------------------------

    @property
    def consoles(self) -> ConsoleRegistry:
        """The open consoles, one per VM; reopening one returns to it with its scrollback."""
        if self._consoles is None:
            from screens.console import ConsoleRegistry

            self._consoles = ConsoleRegistry(self)
        return self._consoles

    def open_console(self, namespace: str, name: str, *, log: Any = None) -> None:
        """Show the serial console of VM `namespace/name`, opening it if needed."""
        self.consoles.open(namespace, name, log=log)

    def open_console_target(self, target: ConsoleTarget) -> None:
        if target.exit_key:
            self.consoles.exit_key = target.exit_key
        self.open_console(target.namespace, target.name, log=target.log)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a console's terminal has focus every key belongs to the guest: ctrl+q,
        # ctrl+p (priority bindings, checked before the focused widget sees the key), ctrl+c,
        # tab and the app's letter keys must not fire; a veto lets the key through to it.
        if self._consoles is not None and self._terminal_focused():
            return False
        return super().check_action(action, parameters)

    def _terminal_focused(self) -> bool:
        from widgets.terminal import Terminal

        return isinstance(self.focused, Terminal)


def node_app(uris: list[str], **options: Any) -> App[int]:
    """The `kvtui node` application (screens/node_app.py): libvirt's view of this machine.

    `options`: discover, proc_root, interval, notes, read_only (see `run_node_app`).
    """
    from screens.node_app import run_node_app

    return run_node_app(uris, **options)
