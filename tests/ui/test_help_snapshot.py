"""SVG snapshots of the `?` help at 80x24 and 160x48.

The help is drawn over a fixed stand-in view (its own bindings, a table's movement keys, the
app's navigation keys), so the picture changes only when the help's layout does, not each
time a view gains a key. Regenerate with `pytest --snapshot-update` after inspecting the report.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from screens.help import HelpScreen
from widgets.footer import Footer


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


class ShadowingView(Screen):
    BINDINGS = [Binding("1", "tab(1)", "Overview"), Binding("2", "tab(2)", "YAML")]

    def compose(self) -> ComposeResult:
        yield Static("a view")

    def action_tab(self, _n: int) -> None:
        pass


class ShadowingApp(App[None]):
    BINDINGS = [
        Binding("1", "favourite(1)", "Favourite namespace 1"),
        Binding("2", "favourite(2)", "Favourite namespace 2", priority=True),
        Binding("3", "favourite(3)", "Favourite namespace 3"),
    ]

    def on_mount(self) -> None:
        self.push_screen(ShadowingView())

    def action_favourite(self, _n: int) -> None:
        pass


async def test_help_leaves_out_keys_a_nearer_binding_takes() -> None:
    """On the VM details `1` picks a tab; help must not also promise favourite namespace 1."""
    from screens.help import binding_groups

    app = ShadowingApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        groups = dict(binding_groups(app.screen))
        assert ("1", "Overview") in groups["View"]
        global_keys = dict(groups["Global"])
        assert "1" not in global_keys
        assert global_keys["2"] == "Favourite namespace 2", "a priority binding still wins"
        assert global_keys["3"] == "Favourite namespace 3"
