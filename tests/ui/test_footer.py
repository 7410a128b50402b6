"""The one-widget key footer: what it shows, what it leaves out, and what a click does."""

from __future__ import annotations

from typing import Any

from kvtest import pilot_wait_for, screen_text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from widgets.footer import Footer, footer_keys


class KeysView(Screen):
    BINDINGS = [
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("t", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("ctrl+k", "force", "Force stop"),
        Binding("enter", "start", "Open"),  # a second key of one action: not shown again
        Binding("h", "hidden", "Hidden", show=False),
        Binding("b", "bracket", "[b]bold[/b]"),
        Binding("left", "move('left')", "Left", group=Binding.Group("Move")),
        Binding("right", "move('right')", "Right", group=Binding.Group("Move")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("a view")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return None if self.running else True  # None: shown, but not live
        if action == "stop":
            return True if self.running else None
        return True

    def action_start(self) -> None:
        self.ran.append("start")
        self.running = True
        self.refresh_bindings()

    def action_stop(self) -> None:
        self.ran.append("stop")
        self.running = False
        self.refresh_bindings()

    def action_force(self) -> None:
        self.ran.append("force")

    def action_bracket(self) -> None:
        self.ran.append("bracket")

    def action_move(self, where: str) -> None:
        self.ran.append(where)


class KeysApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.bells = 0

    def on_mount(self) -> None:
        self.push_screen(KeysView())

    def bell(self) -> None:
        self.bells += 1


def last_line(app: Any) -> str:
    return screen_text(app).splitlines()[-1]


async def test_shows_each_action_once_in_order_with_the_palette_on_the_right() -> None:
    app = KeysApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        line = last_line(app)
        assert line.startswith(" ? Help  t Start  x Stop  ^k Force stop  b [b]bold[/b]  ←  → Move ")
        assert "Open" not in line and "Hidden" not in line
        assert line.rstrip().endswith("▏ ^p palette")
        assert len(line) == 120
        keys, palette = footer_keys(app.screen)
        assert [k.key for k in keys][:3] == ["question_mark", "t", "x"]
        assert palette is not None and palette.key == "ctrl+p"


async def test_a_key_that_does_not_fit_is_left_out_whole() -> None:
    app = KeysApp()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        line = last_line(app)
        assert line == " ? Help  t Start  x Stop   ▏ ^p palette "
        await pilot.resize_terminal(60, 10)
        await pilot_wait_for(pilot, lambda: "Force stop" in last_line(app), what="wider footer")
        assert last_line(app).startswith(" ? Help  t Start  x Stop  ^k Force stop  ")


async def test_click_runs_the_key_and_a_disabled_key_rings_the_bell() -> None:
    app = KeysApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KeysView)
        footer = screen.query_one(Footer)
        line = last_line(app)
        # Stop is shown but not live while stopped: a click rings the bell and runs nothing.
        await pilot.click(footer, offset=(line.index("Stop"), 0))
        await pilot.pause()
        assert screen.ran == [] and app.bells == 1
        await pilot.click(footer, offset=(line.index("Start"), 0))
        await pilot_wait_for(pilot, lambda: screen.ran == ["start"], what="start ran")
        # The live keys changed: the footer follows (Start is disabled now, Stop is not).
        keys = {k.description: k.enabled for k in footer_keys(screen)[0]}
        assert keys["Start"] is False and keys["Stop"] is True
        await pilot.click(footer, offset=(last_line(app).index("Stop"), 0))
        await pilot_wait_for(pilot, lambda: screen.ran == ["start", "stop"], what="stop ran")
        # A key of a group, and a key whose text looks like markup (drawn as typed).
        await pilot.click(footer, offset=(last_line(app).index("→"), 0))
        await pilot_wait_for(pilot, lambda: screen.ran[-1] == "right", what="group key ran")
        await pilot.click(footer, offset=(last_line(app).index("[b]bold"), 0))
        await pilot_wait_for(pilot, lambda: screen.ran[-1] == "bracket", what="bracket ran")
        # The gap between the keys and the palette is nothing.
        before = list(screen.ran)
        await pilot.click(footer, offset=(100, 0))
        await pilot.pause()
        assert screen.ran == before


async def test_hover_names_the_key_in_a_tooltip() -> None:
    app = KeysApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        plain_bg = footer.render().spans  # as drawn without a hover
        await pilot.hover(footer, offset=(last_line(app).index("→"), 0))
        await pilot.pause()
        assert footer.tooltip == "Right"
        assert footer.render().spans != plain_bg, "the hovered key is highlighted"
        await pilot.hover(footer, offset=(100, 0))
        await pilot.pause()
        assert footer.tooltip is None
