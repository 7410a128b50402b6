"""The Terminal widget under Pilot: what it draws is what was fed, keys become the right
bytes, the exit key exits, scrollback browsing holds still, resizes are reported."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.strip import Strip

from widgets.terminal import FRAME_INTERVAL, Terminal

SIZE = (60, 12)


class TerminalApp(App[None]):
    """One Terminal filling the screen; records the messages it posts."""

    def __init__(self, **terminal: Any) -> None:
        super().__init__()
        self.terminal_args = terminal
        self.sent: list[bytes] = []
        self.replies: list[bool] = []  # Input.reply of each message in `sent`
        self.resized: list[tuple[int, int]] = []
        self.exits = 0

    def compose(self) -> ComposeResult:
        yield Terminal(**self.terminal_args)

    def on_mount(self) -> None:
        self.query_one(Terminal).focus()

    def on_terminal_input(self, message: Terminal.Input) -> None:
        self.sent.append(message.data)
        self.replies.append(message.reply)

    def on_terminal_resized(self, message: Terminal.Resized) -> None:
        self.resized.append((message.columns, message.lines))

    def on_terminal_exit_requested(self, message: Terminal.ExitRequested) -> None:
        self.exits += 1


def term(app: App[Any]) -> Terminal:
    return app.query_one(Terminal)


def drawn(terminal: Terminal) -> list[str]:
    """The lines as the widget draws them (its Strips), trailing blanks removed."""
    return [terminal.render_line(y).text.rstrip() for y in range(terminal.size.height)]


def cell_style(strip: Strip, x: int) -> Style:
    """The style of the cell at column `x` of a strip."""
    for segment in strip.divide([x, x + 1])[1]:
        if segment.text:
            return segment.style or Style()
    raise AssertionError(f"no cell at {x}")


async def settle(pilot: Any) -> None:
    await pilot.pause(FRAME_INTERVAL * 3)


async def test_follows_its_size_and_reports_it() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert term(app).size_in_cells == SIZE
        assert app.resized[-1] == SIZE
        assert term(app).stty_command() == b"stty rows 12 cols 60\r"
        await pilot.resize_terminal(80, 20)
        await settle(pilot)
        assert term(app).size_in_cells == (80, 20)
        assert app.resized[-1] == (80, 20)


async def test_draws_what_was_fed(screen_text: Any) -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"Welcome to the guest\r\nlogin: ")
        await settle(pilot)
        assert drawn(t)[:2] == ["Welcome to the guest", "login:"]
        assert t.screen_text().splitlines()[:2] == ["Welcome to the guest", "login:"]
        assert "Welcome to the guest" in screen_text(app)
        assert all(t.render_line(y).cell_length == SIZE[0] for y in range(SIZE[1]))


async def test_colours_and_attributes() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(
            b"\x1b[31mred\x1b[0m \x1b[1;3;4;9mbisu\x1b[0m \x1b[7mrev\x1b[0m "
            b"\x1b[38;5;208m208\x1b[0m \x1b[38;2;1;2;3mtc\x1b[0m \x1b[93;44mby\x1b[0m\r\n"
        )
        await settle(pilot)
        strip = t.render_line(0)
        assert strip.text.startswith("red bisu rev 208 tc by")
        assert cell_style(strip, 0).color.name == "red"
        bisu = cell_style(strip, 4)
        assert bisu.bold and bisu.italic and bisu.underline and bisu.strike
        assert cell_style(strip, 9).reverse
        assert cell_style(strip, 13).color.triplet.hex == "#ff8700"
        assert cell_style(strip, 17).color.triplet.hex == "#010203"
        by = cell_style(strip, 20)
        assert (by.color.name, by.bgcolor.name) == ("bright_yellow", "blue")
        # Default cells carry the widget's own colours (Textual 6+ doesn't paint them).
        assert cell_style(strip, 40).bgcolor == t.rich_style.bgcolor


async def test_wide_characters_and_combining_marks_keep_the_row_width() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed("日本語 e\u0301 ok\r\n".encode())
        await settle(pilot)
        strip = t.render_line(0)
        assert strip.text.rstrip() == "日本語 \u00e9 ok"
        assert strip.cell_length == SIZE[0]


async def test_alternate_screen() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"$ less file\r\n\x1b[?1049h\x1b[H\x1b[2JPAGER CONTENT")
        await settle(pilot)
        assert drawn(t)[0] == "PAGER CONTENT"
        t.feed(b"\x1b[?1049l$ ")
        await settle(pilot)
        assert drawn(t)[:2] == ["$ less file", "$"]


async def test_cursor_is_drawn_reversed_and_visible_on_reversed_text() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"ab")
        await settle(pilot)
        assert cell_style(t.render_line(0), 2).reverse
        t.feed(b"\x1b[7mcd\x1b[1D")
        await settle(pilot)
        assert not cell_style(t.render_line(0), 3).reverse
        assert cell_style(t.render_line(0), 2).reverse
        t.feed(b"\x1b[?25l")
        await settle(pilot)
        assert cell_style(t.render_line(0), 3).reverse  # hidden cursor: text as it is


async def test_typing_sends_bytes() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "s", "space", "slash", "enter", "ctrl+c", "escape", "tab", "up")
        await pilot.press("f5", "alt+x", "ctrl+d")
        await settle(pilot)
        assert app.sent == [
            b"l",
            b"s",
            b" ",
            b"/",
            b"\r",
            b"\x03",
            b"\x1b",
            b"\t",
            b"\x1b[A",
            b"\x1b[15~",
            b"\x1bx",
            b"\x04",
        ]


async def test_application_cursor_mode_changes_arrow_keys() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        term(app).feed(b"\x1b[?1h")
        await pilot.press("up", "left")
        term(app).feed(b"\x1b[?1l")
        await pilot.press("up")
        await settle(pilot)
        assert app.sent == [b"\x1bOA", b"\x1bOD", b"\x1b[A"]


async def test_backspace_as_real_terminals_send_it() -> None:
    """Backspace arrives with DEL, Ctrl+H as "backspace" with BS: each sends what it is."""
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        term(app).post_message(events.Key("backspace", "\x7f"))
        term(app).post_message(events.Key("backspace", "\x08"))
        await settle(pilot)
        assert app.sent == [b"\x7f", b"\x08"]


async def test_backspace_byte_is_configurable() -> None:
    app = TerminalApp(backspace=b"\x08")
    async with app.run_test(size=SIZE) as pilot:
        term(app).post_message(events.Key("backspace", "\x7f"))
        await settle(pilot)
        assert app.sent == [b"\x08"]


async def test_kitty_protocol_keys_without_characters() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("ctrl+a", "alt+b", "escape", "ctrl+right_square_bracket"):
            term(app).post_message(events.Key(key, None))
        await settle(pilot)
        assert app.sent == [b"\x01", b"\x1bb", b"\x1b"]
        assert app.exits == 1


async def test_exit_key_posts_exit_and_is_not_sent() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "ctrl+right_square_bracket", "b")
        await settle(pilot)
        assert app.exits == 1
        assert app.sent == [b"a", b"b"]


async def test_exit_key_is_configurable_and_ctrl_bracket_then_goes_to_the_guest() -> None:
    app = TerminalApp(exit_key="ctrl+x")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+right_square_bracket", "ctrl+x")
        await settle(pilot)
        assert app.exits == 1
        assert app.sent == [b"\x1d"]


async def test_paste_is_bracketed_when_the_guest_asks() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.post_message(events.Paste("echo a\necho b"))
        await settle(pilot)
        t.feed(b"\x1b[?2004h")
        t.post_message(events.Paste("x\n"))
        await settle(pilot)
        assert app.sent == [b"echo a\recho b", b"\x1b[200~x\r\x1b[201~"]


async def test_replies_to_the_guest_are_sent() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        term(app).feed(b"\x1b[18t\x1b7\x1b[999;999H\x1b[6n\x1b8")
        await settle(pilot)
        assert app.sent == [b"\x1b[8;12;60t", b"\x1b[12;60R"]


async def test_replies_are_flagged_and_keys_and_pastes_are_not() -> None:
    """The console screen tells the emulator's answers from what the user typed by the flag,
    so a key or a paste that looks like a cursor report is still the user's."""
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"\x1b[6n")
        await settle(pilot)
        await pilot.press("a")
        t.post_message(events.Paste("\x1b[12;60R"))
        await settle(pilot)
        assert app.sent == [b"\x1b[1;1R", b"a", b"\x1b[12;60R"]
        assert app.replies == [True, False, False]


def mouse_event(cls: Any, t: Terminal, x: int, y: int, button: int = 0) -> Any:
    return cls(t, x, y, 0, 0, button, False, False, False)


async def test_mouse_goes_to_a_guest_that_tracks_it() -> None:
    """vim's `set mouse=a`, htop, mc: DECSET 1000 (+1006 SGR): clicks and the wheel are
    reported, not selected or scrolled; DECRST gives the mouse back to the user."""
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(numbered(0, 50) + b"\x1b[?1000h\x1b[?1006h")
        await settle(pilot)
        await pilot.click(t, offset=(4, 2))
        await settle(pilot)
        assert app.sent == [b"\x1b[<0;5;3M", b"\x1b[<0;5;3m"]
        assert app.replies == [False, False]
        assert app.screen.get_selected_text() is None, "no selection while the guest tracks"
        app.sent.clear()
        t.post_message(mouse_event(events.MouseScrollUp, t, 1, 1))
        t.post_message(mouse_event(events.MouseScrollDown, t, 1, 1))
        await settle(pilot)
        assert app.sent == [b"\x1b[<64;2;2M", b"\x1b[<65;2;2M"]
        assert t.scrolled_back == 0, "the wheel went to the guest"

        # X10 byte encoding when 1006 is off; right button.
        app.sent.clear()
        t.feed(b"\x1b[?1006l")
        await settle(pilot)
        await pilot.click(t, offset=(0, 0), button=3)
        await settle(pilot)
        assert app.sent == [b"\x1b[M\x22!!", b"\x1b[M#!!"]

        # Tracking off: the wheel browses the scrollback again, clicks send nothing.
        app.sent.clear()
        t.feed(b"\x1b[?1000l")
        await settle(pilot)
        await pilot.click(t, offset=(4, 2))
        t.post_message(mouse_event(events.MouseScrollUp, t, 1, 1))
        await settle(pilot)
        assert app.sent == []
        assert t.scrolled_back == 3


async def test_drags_are_reported_in_button_event_mode() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"\x1b[?1002h\x1b[?1006h")
        await settle(pilot)
        t.post_message(mouse_event(events.MouseDown, t, 1, 1, button=1))
        t.post_message(mouse_event(events.MouseMove, t, 2, 1, button=1))
        t.post_message(mouse_event(events.MouseMove, t, 3, 1, button=1))
        t.post_message(mouse_event(events.MouseUp, t, 3, 1, button=1))
        t.post_message(mouse_event(events.MouseMove, t, 5, 1))  # no button held: not in 1002
        await settle(pilot)
        drag = [b"\x1b[<0;2;2M", b"\x1b[<32;3;2M", b"\x1b[<32;4;2M", b"\x1b[<0;4;2m"]
        assert app.sent == drag
        assert app.mouse_captured is None, "the capture for the drag is released"


def numbered(start: int, count: int) -> bytes:
    return b"".join(b"line %d\r\n" % i for i in range(start, start + count))


async def test_scrollback_browsing_does_not_yank(screen_text: Any) -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(numbered(0, 100))
        await settle(pilot)
        assert drawn(t)[-2] == "line 99"
        await pilot.press("shift+pageup")
        await settle(pilot)
        assert t.scrolled_back == 11
        before = drawn(t)[1:]
        assert before[0] == "line 79"
        assert "scrolled back 11 lines" in screen_text(app)
        t.feed(numbered(100, 30))  # output while scrolled back
        await settle(pilot)
        assert drawn(t)[1:] == before
        assert t.scrolled_back == 41
        assert "scrolled back 41 lines" in screen_text(app)
        assert app.sent == []  # browsing sends nothing
        await pilot.press("shift+pagedown")
        await settle(pilot)
        assert t.scrolled_back == 30
        await pilot.press("escape")  # back to live, not sent
        await settle(pilot)
        assert t.scrolled_back == 0
        assert drawn(t)[-2] == "line 129"
        assert app.sent == []


async def test_typing_while_scrolled_back_returns_to_live_and_is_sent() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(numbered(0, 50))
        await pilot.press("shift+pageup", "q")
        await settle(pilot)
        assert t.scrolled_back == 0
        assert app.sent == [b"q"]


async def test_mouse_wheel_scrolls_the_scrollback() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(numbered(0, 50))
        await settle(pilot)
        t.post_message(events.MouseScrollUp(t, 1, 1, 0, 0, 0, False, False, False))
        await settle(pilot)
        assert t.scrolled_back == 3
        t.post_message(events.MouseScrollDown(t, 1, 1, 0, 0, 0, False, False, False))
        await settle(pilot)
        assert t.scrolled_back == 0


async def test_search_in_scrollback(screen_text: Any) -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(numbered(0, 40) + b"needle one\r\n" + numbered(40, 40) + b"needle two\r\n")
        t.feed(numbered(80, 40))
        await settle(pilot)
        await pilot.press("shift+pageup", "slash", "n", "e", "e", "d", "l", "e")
        await settle(pilot)
        assert "/needle" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert "needle two" in drawn(t)
        await pilot.press("n")
        await settle(pilot)
        assert "needle one" in drawn(t)
        await pilot.press("N")
        await settle(pilot)
        assert "needle two" in drawn(t)
        assert app.sent == []


async def test_slash_goes_to_the_guest_on_the_live_screen() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "n")
        await settle(pilot)
        assert app.sent == [b"/", b"n"]


async def test_a_flood_does_not_block_and_redraws_are_capped() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        data = numbered(0, 120_000)  # ~1.5 MB
        started = time.perf_counter()
        t.feed(data)
        assert time.perf_counter() - started < 0.25  # parsed in slices, not all at once
        redraws = t.redraws
        while t._pending:  # noqa: SLF001 - the backlog is the point of the test
            await pilot.pause(0.05)
        elapsed = time.perf_counter() - started
        await settle(pilot)
        assert drawn(t)[-2] == "line 119999"
        assert len(t.emulator.scrollback) == 10_000
        assert t.redraws - redraws <= 60 * (elapsed + FRAME_INTERVAL * 3) + 2


async def test_random_bytes_never_crash_the_widget() -> None:
    app = TerminalApp()
    rnd = random.Random(42)
    alphabet = [
        b"\x1b",
        b"[",
        b"?",
        b"1049",
        b"h",
        b"l",
        b";",
        b"m",
        b"\x1bP",
        b"\x1b]",
        b"\x07",
        b"\\",
        b"\r\n",
        "日".encode(),
        b"\xff",
        b"x" * 30,
        b"\x0e",
        b"\x1b(0",
    ]
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        for _ in range(200):
            chunk = b"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40)))
            if rnd.random() < 0.5:
                chunk = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 60)))
            t.feed(chunk)
            if rnd.random() < 0.1:
                await pilot.pause()
        t.feed(b"\x18\x1b[?1049l\x1b(B\x0f\x1b[0m\x1b[2J\x1b[Hstill alive")
        await settle(pilot)
        assert drawn(t)[0] == "still alive"


HOSTILE = st.sampled_from(
    [
        b"\x1b",
        b"[",
        b"]",
        b"P",
        b"?",
        b";",
        b":",
        b"38;5;",
        b"48;2;1;2;3",
        b"1;3;4;5;7;9m",
        b"m",
        b"H",
        b"1049h",
        b"1049l",
        b"1000h",
        b"1006h",
        b"(0",
        b"\x0e",
        b"\x07",
        b"\x9b",
        "日本".encode(),
        "e\u0301".encode(),
        "👩\u200d👩".encode(),
        b"\xef\xb8\x8f",
        b"\r\n",
        b"\x08",
        b"\t",
        b"x" * 25,
        b"\x18",
        b"6n",
        b"18t",
        b"@",
        b"K",
        b"J",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(st.binary(max_size=80) | st.lists(HOSTILE, max_size=30).map(b"".join)),
    size=st.tuples(st.integers(1, 30), st.integers(1, 8)),
)
def test_hypothesis_random_bytes_draw_as_full_width_strips(
    chunks: list[bytes], size: tuple[int, int]
) -> None:
    """Whatever bytes arrive (and whatever size the widget is given between them), every
    row the widget would draw — screen, cursor row and scrollback — is a Strip of exactly
    the screen's width, and drawing never raises."""
    from widgets.terminal import row_strip

    base = Style(color="white", bgcolor="black")
    replies: list[bytes] = []
    emulator = Terminal().emulator
    emulator.screen._reply = replies.append  # noqa: SLF001 - the reply hook, without an app
    for index, chunk in enumerate(chunks):
        emulator.feed(chunk)
        if index == len(chunks) // 2:
            emulator.resize(*size)
    columns = emulator.columns
    for y in range(emulator.lines):
        strip = row_strip(emulator.row(y, with_cursor=True), columns, base)
        assert strip.cell_length == columns
    scrollback = emulator.scrollback
    for line in range(len(scrollback)):
        assert row_strip(scrollback.row(line), columns, base).cell_length == columns
    x, y = emulator.cursor
    assert 0 <= x < columns and 0 <= y < emulator.lines
    assert all(isinstance(reply, bytes) and reply.startswith(b"\x1b[") for reply in replies)


async def test_save_output_and_copy(tmp_path: Path) -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(numbered(0, 30) + b"$ ")
        await settle(pilot)
        target = tmp_path / "console.log"
        t.save_output(target)
        lines = target.read_text().splitlines()
        assert lines[0] == "line 0" and lines[29] == "line 29" and lines[-1] == "$"
        t.copy_screen()
        assert app.clipboard == t.screen_text()
        assert app.clipboard.splitlines()[0] == "line 19"


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_theme_change_redraws_with_the_new_base_style(theme: str) -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"text")
        await settle(pilot)
        app.theme = theme
        await settle(pilot)
        assert cell_style(t.render_line(0), 10).bgcolor == t.rich_style.bgcolor


class VetoApp(TerminalApp):
    """The recipe for the real app: veto the priority bindings while a Terminal has focus."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("quit", "command_palette") and isinstance(self.focused, Terminal):
            return False
        return super().check_action(action, parameters)


async def test_priority_app_bindings_need_a_veto_to_reach_the_guest() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")  # the command palette takes it
        await settle(pilot)
        assert app.sent == []
    app = VetoApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", "ctrl+q")
        await settle(pilot)
        assert app.sent == [b"\x10", b"\x11"]
        assert app.is_running


async def test_a_transport_thread_flood_leaves_the_ui_responsive() -> None:
    """Hundreds of feeds queued into one event-loop turn (call_soon_threadsafe from a reader
    thread) are parsed over many turns, with redraws and key presses in between."""
    import asyncio
    import threading

    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        await settle(pilot)
        loop = asyncio.get_running_loop()
        data = numbered(0, 200_000)
        chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
        thread = threading.Thread(
            target=lambda: [loop.call_soon_threadsafe(t.feed, chunk) for chunk in chunks]
        )
        redraws = t.redraws
        thread.start()
        thread.join()
        await pilot.pause(0.1)
        assert t._pending  # noqa: SLF001 - still parsing...
        assert t.redraws > redraws  # ...yet it has redrawn in the meantime
        await pilot.press("x")
        await pilot.pause(0.05)
        assert app.sent == [b"x"]
        while t._pending:  # noqa: SLF001
            await pilot.pause(0.05)
        await settle(pilot)
        assert drawn(t)[-2] == "line 199999"


async def test_mouse_selection_is_copied() -> None:
    app = TerminalApp()
    async with app.run_test(size=SIZE) as pilot:
        t = term(app)
        t.feed(b"hello world\r\nsecond line\r\n")
        await settle(pilot)
        await pilot.mouse_down(t, offset=(6, 0))
        await pilot.hover(t, offset=(5, 1))  # Textual's selection includes the end cell
        await pilot.mouse_up(t, offset=(5, 1))
        await settle(pilot)
        assert app.screen.get_selected_text() == "world\nsecond"
        t.copy_screen()
        assert app.clipboard == "world\nsecond"
        assert app.sent == []  # selecting sends nothing to the guest
