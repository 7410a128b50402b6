"""SVG snapshots of the `?` help at 80x24 and 160x48.

The help is drawn over a fixed stand-in view (its own bindings, a table's movement keys, the
app's navigation keys), so the picture changes only when the help's layout does, not each
time a view gains a key. Regenerate with `pytest --snapshot-update` after inspecting the report.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from screens.help import HelpScreen


class StandInView(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("t", "start", "Start"),
        Binding("x", "stop", "Stop"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("a view")
        yield Footer()

    def on_mount(self) -> None:
        self.app.push_screen(HelpScreen(self))


class HelpApp(App[None]):
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("colon", "command_line", "Command", key_display=":"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "back", "Back", show=False),
        Binding("left_square_bracket", "history_back", "History back", key_display="["),
        Binding("right_square_bracket", "history_forward", "History forward", key_display="]"),
        Binding("minus", "history_last", "Last view", key_display="-"),
        Binding("0", "favourite(0)", "All namespaces"),
        Binding("1", "favourite(1)", "Favourite namespace 1"),
    ]

    def on_mount(self) -> None:
        self.push_screen(StandInView())


def test_help_80x24(snap_compare) -> None:
    """Help at the smallest supported terminal: groups stack and the box scrolls."""
    assert snap_compare(HelpApp(), terminal_size=(80, 24))


def test_help_160x48(snap_compare) -> None:
    """Help on a large terminal: the groups sit side by side."""
    assert snap_compare(HelpApp(), terminal_size=(160, 48))
