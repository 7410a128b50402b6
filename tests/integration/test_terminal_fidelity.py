"""Real full-screen programs in a real pty, drawn by the Terminal widget.

PtyTransport runs `less`, `vi`, `top`, `htop`, `nano`, ncurses line drawing, a shell; the
widget draws their output; keys typed through Pilot reach them as a user's would. The
checks are what a user would see: less's first lines and prompt, vi's `~` lines and file
name, top's header, boxes drawn with DEC line drawing under TERM=vt100/vt220.

Programs come from Debian packages `less`, `vim-tiny`, `procps`, `htop`, `nano` (installed by
`.ci/run`); outside CI a missing one skips its test (kvtest.skip_unless).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from kvtest import skip_unless
from textual import events
from textual.app import App, ComposeResult

from tui.console.base import ConsoleState, StateChange
from tui.console.pty import PtyTransport
from widgets.terminal import Terminal

SIZE = (80, 24)


class PtyApp(App[None]):
    """A Terminal wired to a PtyTransport the way the console screen wires a transport."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Any = None):
        super().__init__()
        self.argv = list(argv)
        self.env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **(env or {})}
        self.cwd = cwd
        self.transport: PtyTransport | None = None
        self.states: list[StateChange] = []

    def compose(self) -> ComposeResult:
        yield Terminal()

    @property
    def terminal(self) -> Terminal:
        return self.query_one(Terminal)

    def start(self) -> None:
        columns, lines = self.terminal.size_in_cells
        loop = asyncio.get_running_loop()
        self.transport = PtyTransport(
            self.argv, env=self.env, cwd=self.cwd, rows=lines, cols=columns
        )
        # call_soon_threadsafe, not call_from_thread: the reader thread must never wait on
        # the UI, or close() (which joins it) from the UI could stall until its timeout.
        self.transport.open(
            lambda data: loop.call_soon_threadsafe(self.terminal.feed, data),
            lambda change: loop.call_soon_threadsafe(self.states.append, change),
        )
        self.terminal.focus()

    def on_terminal_input(self, message: Terminal.Input) -> None:
        if self.transport is not None:
            self.transport.write(message.data)

    def on_terminal_resized(self, message: Terminal.Resized) -> None:
        if self.transport is not None:
            self.transport.resize(message.lines, message.columns)

    def on_unmount(self) -> None:
        if self.transport is not None:
            self.transport.close()


def need(program: str) -> str:
    path = shutil.which(program)
    skip_unless(path is not None, f"{program} is not installed")
    assert path is not None
    return path


async def until(pilot: Any, predicate: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await pilot.pause(0.05)
    app = pilot.app
    pytest.fail(
        f"timed out waiting for {what} (states: {[(s.state.name, s.reason) for s in app.states]});"
        f" the terminal shows:\n{app.terminal.screen_text()}"
    )


def lines(app: PtyApp) -> list[str]:
    """What the widget draws, row by row (its Strips, not just the emulator's buffer)."""
    terminal = app.terminal
    return [terminal.render_line(y).text.rstrip() for y in range(terminal.size.height)]


def exited(app: PtyApp) -> StateChange | None:
    return next((s for s in app.states if s.state is ConsoleState.DISCONNECTED), None)


@pytest.fixture
def numbered_file(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.txt"
    path.write_text("".join(f"line {i:03d} of the file\n" for i in range(1, 201)))
    return path


async def test_less_shows_the_first_page_and_its_prompt(numbered_file: Path) -> None:
    less = need("less")
    app = PtyApp([less, str(numbered_file)], env={"TERM": "xterm-256color", "LESS": ""})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        # The first page, and the first prompt names the file.
        await until(
            pilot,
            lambda: (
                lines(app)[0] == "line 001 of the file"
                and lines(app)[22] == "line 023 of the file"
                and "numbers.txt" in lines(app)[23]
            ),
            "less's first page and prompt",
        )
        assert app.terminal.emulator.alternate_screen
        await pilot.press("space")
        await until(pilot, lambda: lines(app)[0] == "line 024 of the file", "the next page")
        await pilot.press("G")
        await until(
            pilot,
            lambda: "(END)" in lines(app)[23] and lines(app)[22] == "line 200 of the file",
            "the last page and the end prompt",
        )
        await pilot.press("q")
        state = await until(pilot, lambda: exited(app), "less to exit")
        assert state.reason == "program exited with status 0"
        assert not app.terminal.emulator.alternate_screen


async def test_less_redraws_for_a_new_size(numbered_file: Path) -> None:
    less = need("less")
    app = PtyApp([less, str(numbered_file)], env={"TERM": "xterm-256color", "LESS": ""})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(pilot, lambda: lines(app)[0] == "line 001 of the file", "less")
        await pilot.resize_terminal(60, 12)
        # The pty learns the size (TIOCSWINSZ → SIGWINCH); less repaints 11 lines + prompt.
        await until(
            pilot,
            lambda: lines(app)[10] == "line 011 of the file" and lines(app)[11].startswith(":"),
            "less to redraw at 60x12",
        )
        assert app.terminal.size_in_cells == (60, 12)


@pytest.mark.parametrize("program", ["vim.tiny", "vi"])
async def test_vi_shows_tildes_and_the_file_name_and_edits(program: str, tmp_path: Path) -> None:
    vi = need(program)
    target = tmp_path / "notes.txt"
    app = PtyApp([vi, "-u", "NONE", "-N", str(target)], env={"TERM": "xterm-256color"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(
            pilot,
            lambda: sum(line == "~" for line in lines(app)) >= 20 and "notes.txt" in lines(app)[23],
            "vi's tilde lines and the file name",
        )
        await pilot.press("i", "h", "e", "l", "l", "o", "space", "w", "o", "r", "l", "d")
        await pilot.press("escape", "colon", "w", "q", "enter")
        state = await until(pilot, lambda: exited(app), "vi to exit")
        assert state.reason == "program exited with status 0"
        assert target.read_text() == "hello world\n"


async def test_vim_with_the_mouse_on_gets_clicks_and_the_wheel(numbered_file: Path) -> None:
    """`set mouse=a`: vim turns on xterm mouse tracking; a click moves its cursor to the
    line clicked (dd then deletes that line), the wheel scrolls vim's view, not ours."""
    vi = need("vim.tiny")
    argv = [vi, "-u", "NONE", "-N", "-c", "set mouse=a ttymouse=sgr", str(numbered_file)]
    app = PtyApp(argv, env={"TERM": "xterm-256color"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(pilot, lambda: lines(app)[0] == "line 001 of the file", "vim's first page")
        # vim turns the mouse off and on while it starts; it is settled when the cursor shows.
        emulator = app.terminal.emulator
        await until(
            pilot, lambda: emulator.mouse_mode and emulator.cursor_visible, "vim's mouse mode"
        )
        await pilot.pause(0.3)
        await pilot.click(app.terminal, offset=(3, 4))  # on "line 005 of the file"
        await pilot.press("d", "d")
        await until(pilot, lambda: lines(app)[4] == "line 006 of the file", "line 5 deleted")
        for _ in range(3):
            app.terminal.post_message(
                events.MouseScrollDown(app.terminal, 3, 3, 0, 0, 0, False, False, False)
            )
        await until(pilot, lambda: lines(app)[0] != "line 001 of the file", "vim to scroll")
        assert app.terminal.scrolled_back == 0, "the wheel went to vim"
        await pilot.press("colon", "w", "q", "enter")
        await until(pilot, lambda: exited(app), "vim to exit")
    text = numbered_file.read_text()
    assert "line 005 of the file" not in text
    assert "line 004 of the file" in text and "line 006 of the file" in text


@pytest.mark.parametrize(
    ("term", "sgr"), [("xterm-256color", True), ("linux", False)], ids=["sgr", "x10-bytes"]
)
async def test_clicking_htops_quit_label_quits_it(term: str, sgr: bool) -> None:
    """htop turns on mouse mode 1000 (with 1006 SGR under xterm, the X10 byte form under
    TERM=linux); a click on `F10 Quit` in its key bar is read by htop as F10."""
    htop = need("htop")
    app = PtyApp([htop], env={"TERM": term, "HOME": "/nonexistent"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(pilot, lambda: "Quit" in lines(app)[23], "htop's key bar")
        emulator = app.terminal.emulator
        await until(pilot, lambda: emulator.mouse_mode == 1000, "htop's mouse mode")
        assert emulator.mouse_sgr is sgr
        await pilot.click(app.terminal, offset=(lines(app)[23].index("Quit") + 1, 23))
        state = await until(pilot, lambda: exited(app), "htop to quit on the click")
        assert "status 0" in state.reason


async def test_top_shows_its_header() -> None:
    top = need("top")
    app = PtyApp([top, "-d", "1"], env={"TERM": "xterm-256color"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(
            pilot,
            lambda: (
                lines(app)[0].startswith("top - ")
                and all(word in "\n".join(lines(app)) for word in ("Tasks:", "PID", "USER"))
            ),
            "top's header and process table",
        )
        await pilot.press("q")
        await until(pilot, lambda: exited(app), "top to exit")


@pytest.mark.parametrize("term", ["xterm-256color", "vt220"])
async def test_htop_draws_its_meters_and_key_bar(term: str) -> None:
    htop = need("htop")
    app = PtyApp([htop], env={"TERM": term, "HOME": "/nonexistent"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(
            pilot,
            lambda: (
                "F10Quit" in lines(app)[23].replace(" ", "")
                and all(word in "\n".join(lines(app)) for word in ("Tasks:", "Load average:"))
            ),
            "htop's meters and key bar",
        )
        screen = "\n".join(lines(app))
        assert "lqq" not in screen and "qqq" not in screen  # no raw DEC graphics letters
        await pilot.press("f10")
        await until(pilot, lambda: exited(app), "htop to exit on F10")


async def test_nano_shows_its_title_and_shortcuts(tmp_path: Path) -> None:
    nano = need("nano")
    app = PtyApp([nano, "--ignorercfiles", "memo.txt"], env={"TERM": "xterm"}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(
            pilot,
            lambda: (
                "GNU nano" in lines(app)[0]
                and "memo.txt" in lines(app)[0]
                and "New File" in lines(app)[21]
                and "^X Exit" in "\n".join(lines(app)[-2:])
            ),
            "nano's title bar, status line and shortcuts",
        )
        await pilot.press("o", "k", "ctrl+x", "y", "enter")
        await until(pilot, lambda: exited(app), "nano to exit")
        assert (tmp_path / "memo.txt").read_text() == "ok\n"


CURSES_BOX = """
import curses
def main(screen):
    try:
        curses.curs_set(0)
    except curses.error:  # vt100 cannot hide the cursor
        pass
    win = curses.newwin(4, 12, 1, 2)
    win.box()
    win.addstr(1, 2, "boxed")
    win.refresh()
    win.getch()  # stdscr.getch() would refresh the blank stdscr over the box
curses.wrapper(main)
"""


@pytest.mark.parametrize("term", ["vt100", "vt220", "xterm-256color", "linux"])
async def test_ncurses_line_drawing_for_every_term(term: str) -> None:
    """vt100 draws boxes with SO/SI + `ESC ) 0`, vt220/xterm with `ESC ( 0`, linux with
    its own ACS: each must come out as box-drawing characters, not `lqqk`."""
    app = PtyApp([sys.executable, "-c", CURSES_BOX], env={"TERM": term, "LANG": "C", "LC_ALL": "C"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(pilot, lambda: lines(app)[4].strip(), f"the box under TERM={term}")
        assert lines(app)[1] == "  ┌──────────┐"
        assert lines(app)[2] == "  │ boxed    │"
        assert lines(app)[4] == "  └──────────┘"
        await pilot.press("x")
        await until(pilot, lambda: exited(app), "the curses program to exit")


async def test_shell_round_trip_size_and_ctrl_c() -> None:
    sh = need("sh")
    app = PtyApp([sh], env={"TERM": "xterm-256color", "PS1": "$ ", "ENV": ""})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.start()
        await until(pilot, lambda: "$" in app.terminal.screen_text(), "the prompt")
        for key in "echo hello-$((6*7))":
            await pilot.press(key)
        await pilot.press("enter")
        await until(pilot, lambda: "hello-42" in lines(app), "the echo")
        for key in "stty size":
            await pilot.press(key)
        await pilot.press("enter")
        await until(pilot, lambda: "24 80" in lines(app), "stty to report the widget's size")
        for key in "sleep 30":
            await pilot.press(key)
        await pilot.press("enter", "ctrl+c")
        await pilot.pause(0.3)
        for key in "echo interrupted":
            await pilot.press(key)
        await pilot.press("enter")
        await until(pilot, lambda: "interrupted" in lines(app), "the shell after Ctrl+C")
        await pilot.press("ctrl+d")
        state = await until(pilot, lambda: exited(app), "the shell to exit")
        assert state.reason == "program exited with status 0"
