"""A terminal widget: draws the emulated screen of a guest console and sends it keys.

The emulator (`tui.console.emulator`, hardened pyte) holds the screen; this widget only
turns its rows into Strips (Textual's Line API) and key presses into bytes. It knows nothing
of transports: bytes come in through `feed()`, bytes for the guest leave as `Terminal.Input`
messages (keys, pastes, and the emulator's answers to the guest's queries), and the screen
that owns the widget wires both to a `ConsoleTransport`.

Rendering (after Toad's terminal, notes §1.1/§1.2):
- one cached Strip per screen row, dropped only when the emulator marks the row dirty, and
  only the dirty rows' regions are refreshed;
- `feed()` parses in slices of a few milliseconds and yields, so a flood never freezes the
  UI; refreshes are coalesced to at most 60 per second (fewer while a backlog is parsed);
- the widget's own style is applied as the base of every Strip (since Textual 6 the Line
  API does not paint the background), and cached in `notify_style_update`.

Scrollback: the view is either live (following the guest) or scrolled back N lines, where it
stays put while new output arrives (a "scrolled back N lines" note shows at the top right).
The scroll position is the widget's own, not ScrollView's `virtual_size`/`scroll_y`: those are
layout reactives, and changing them for every new line would cost a layout pass per frame.

Keys: every key goes to the guest — Esc, Ctrl+C, Tab, `/` included — except the exit key
(default Ctrl+], posts `ExitRequested`). Shift+PgUp/PgDn and the mouse wheel browse the
scrollback (the wheel, clicks and drags go to the guest instead when it turned on xterm
mouse tracking, on the live screen). While scrolled back: `/` starts a search (typed into the note; Enter searches
older lines, Esc cancels), `n`/`N` find the next older/newer match, Esc or Shift+End return
to the live view; any other key returns to the live view and goes to the guest.
App-level *priority* bindings (Ctrl+Q, Ctrl+P) are checked before any widget sees the key:
the app must veto them in `App.check_action` while a Terminal has focus for them to reach
the guest.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache
from pathlib import Path

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from tui.console.emulator import Attrs, Emulator, Row
from tui.console.keys import (
    MOUSE_BUTTON_EVENT,
    WHEEL_DOWN,
    WHEEL_UP,
    encode_key,
    mouse_report,
    paste_bytes,
)

# pyte colour names → Rich's standard colour names, so Textual's ANSI theme maps them
# (pyte 0.8.2 calls yellow "brown" and misspells bright magenta background "bfightmagenta").
_ANSI = {
    "black": "black",
    "red": "red",
    "green": "green",
    "brown": "yellow",
    "yellow": "yellow",
    "blue": "blue",
    "magenta": "magenta",
    "cyan": "cyan",
    "white": "white",
    "brightblack": "bright_black",
    "brightred": "bright_red",
    "brightgreen": "bright_green",
    "brightbrown": "bright_yellow",
    "brightyellow": "bright_yellow",
    "brightblue": "bright_blue",
    "brightmagenta": "bright_magenta",
    "bfightmagenta": "bright_magenta",
    "brightcyan": "bright_cyan",
    "brightwhite": "bright_white",
}

FRAME_INTERVAL = 1 / 60
"""At most 60 redraws a second, however fast bytes arrive."""
BACKLOG_FRAME_INTERVAL = 1 / 20
"""While a backlog is being parsed, redraw less often: parsing is what empties it."""
PARSE_SLICE = 4096
PARSE_BUDGET = 0.008
"""Seconds of parsing per turn of the event loop before yielding to input and painting."""


def _color(name: str) -> str | None:
    if name == "default":
        return None
    mapped = _ANSI.get(name)
    if mapped is not None:
        return mapped
    if len(name) == 6:  # 256-colour and truecolour arrive as "rrggbb"
        return "#" + name
    return None


@lru_cache(maxsize=4096)
def style_for(attrs: Attrs) -> Style:
    """Rich style for a cell look (cached: a screen uses a handful of looks)."""
    fg, bg, bold, italics, underscore, strike, reverse, blink = attrs
    return Style(
        color=_color(fg),
        bgcolor=_color(bg),
        bold=bold or None,
        italic=italics or None,
        underline=underscore or None,
        strike=strike or None,
        reverse=reverse or None,
        blink=blink or None,
    )


def row_strip(row: Row, columns: int, base: Style) -> Strip:
    """A Row as a Strip exactly `columns` cells wide on the widget's base style.

    Pinned with `adjust_cell_length`: wcwidth (the emulator) and Rich can disagree on the
    width of some emoji, and a wrong-width row would shift the rest of the screen."""
    segments = [Segment(text, style_for(attrs)) for text, attrs in row]
    return Strip(segments).apply_style(base).adjust_cell_length(columns, base)


class Terminal(ScrollView, can_focus=True):
    """A terminal emulator widget for a guest console.

    Args:
        scrollback: lines kept after they scroll off the top.
        exit_key: the key that posts `ExitRequested` instead of going to the guest.
        backspace: what Backspace sends (DEL; some firmware wants BS, b"\\x08").
    """

    DEFAULT_CSS = """
    Terminal {
        background: $background;
        color: $foreground;
        overflow: hidden hidden;
        scrollbar-size: 0 0;
        height: 1fr;
        width: 1fr;
    }
    Terminal > .terminal--note {
        background: $warning;
        color: $background;
    }
    Terminal > .terminal--match {
        background: $accent;
        color: $background;
    }
    """
    COMPONENT_CLASSES = {"terminal--note", "terminal--match"}

    class Input(Message):
        """Bytes for the guest: keys, pastes, mouse reports, and the emulator's replies.

        `reply` is True for the emulator's automatic answers to the guest's queries (cursor
        position, device attributes, size): they must reach the guest whatever the user is
        doing (say, halfway through a command behind the exit key)."""

        def __init__(
            self, data: bytes, terminal: Terminal | None = None, *, reply: bool = False
        ) -> None:
            self.data = data
            self.terminal = terminal
            self.reply = reply
            super().__init__()

        @property
        def control(self) -> Terminal | None:
            return self.terminal

    class Resized(Message):
        """The emulated screen changed size (it follows the widget)."""

        def __init__(self, columns: int, lines: int, terminal: Terminal | None = None) -> None:
            self.columns = columns
            self.lines = lines
            self.terminal = terminal
            super().__init__()

        @property
        def control(self) -> Terminal | None:
            return self.terminal

    class ExitRequested(Message):
        """The exit key was pressed (it is not sent to the guest)."""

        def __init__(self, terminal: Terminal | None = None) -> None:
            self.terminal = terminal
            super().__init__()

        @property
        def control(self) -> Terminal | None:
            return self.terminal

    def __init__(
        self,
        *,
        scrollback: int = 10_000,
        exit_key: str = "ctrl+right_square_bracket",
        backspace: bytes = b"\x7f",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.exit_key = exit_key
        self.backspace = backspace
        self.emulator = Emulator(80, 24, scrollback=scrollback, reply=self._reply)
        self.virtual_size = Size(80, 24)
        self._strips: dict[int, Strip] = {}  # screen row → Strip (live rows)
        self._history_strips: dict[int, Strip] = {}  # absolute scrollback index → Strip
        self._base: Style | None = None
        self._note_style: Style | None = None
        self._match_style: Style | None = None
        self._cursor_row = 0
        self._back = 0  # lines scrolled back; 0 = live
        self._seen_total = 0  # scrollback.total at the last flush
        self._pending = bytearray()
        self._draining = False  # a _resume is scheduled
        self._turn_marked = False  # an _end_turn is scheduled
        self._turn_used = 0.0  # seconds parsed in this event-loop turn
        self._parse_time = 0.0  # seconds parsed since the last flush
        self._flush_handle: asyncio.TimerHandle | None = None
        self._painting = False
        self._last_flush = 0.0
        self._mouse_held = -1  # xterm number of the button held down in the guest's mouse mode
        self._search: str | None = None  # query being typed, None when not typing
        self._query = ""
        self._match: tuple[int, int, int] | None = None  # (absolute line, start, end)
        self.redraws = 0
        """Flushes that refreshed something (each is at most one repaint)."""
        self.lines_rendered = 0
        """Strips built (for the benchmark and tests)."""

    # --- public API -----------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse guest output. UI thread only; returns after a few milliseconds at most and
        finishes a big chunk in later turns of the event loop."""
        if not data:
            return
        self._pending += data
        if not self._draining:  # else a drain is already scheduled for the next turn
            self._drain()

    @property
    def size_in_cells(self) -> tuple[int, int]:
        """(columns, lines) of the emulated screen: the widget's content size."""
        return self.emulator.columns, self.emulator.lines

    def stty_command(self) -> bytes:
        """What to type into the guest's shell to tell it our size (a serial line has no
        SIGWINCH): `stty rows R cols C` and Enter."""
        columns, lines = self.size_in_cells
        return f"stty rows {lines} cols {columns}\r".encode()

    def screen_text(self) -> str:
        """The visible emulated screen as plain text (trailing blanks removed)."""
        return self.emulator.screen_text()

    def save_output(self, path: str | Path) -> None:
        """Write the session's output (scrollback, then the screen) to `path` as text."""
        text = "\n".join(self.emulator.output_lines())
        Path(path).write_text(text + "\n" if text else "", encoding="utf-8")

    def copy_screen(self) -> None:
        """Copy the selection, or the whole screen, to the clipboard (OSC 52: works over
        SSH, in terminals that allow it)."""
        text = None
        selection = self.text_selection
        if selection is not None:
            extracted = self.get_selection(selection)
            if extracted is not None:
                text = extracted[0]
        if not text:
            text = self.screen_text()
        self.app.copy_to_clipboard(text)

    @property
    def scrolled_back(self) -> int:
        """Lines the view is scrolled back from the live screen (0 = live)."""
        return self._back

    def scroll_back(self, lines: int) -> None:
        """Move the view `lines` older (negative: newer); clamped; 0 lines back = live."""
        self._flush_now()
        limit = len(self.emulator.scrollback)
        back = max(0, min(self._back + lines, limit))
        if back != self._back:
            self._back = back
            self.refresh()

    def scroll_to_live(self) -> None:
        self._search = None
        self._match = None
        self.scroll_back(-self._back)

    # --- feeding and redrawing ------------------------------------------------------------

    def _reply(self, data: bytes) -> None:
        # The emulator answers the guest's queries during feed(): they go out like keys.
        self.post_message(self.Input(data, self, reply=True))

    def _drain(self) -> None:
        """Parse pending bytes within this event-loop turn's budget; continue next turn.

        The budget is per *turn*, not per call: a transport thread may queue hundreds of
        `feed` callbacks into one turn (`call_soon_threadsafe`), and asyncio runs them all
        before any timer or paint. Past the budget, `feed` only appends and the rest is
        parsed in later turns, with painting and input handled in between."""
        pending = self._pending
        emulator = self.emulator
        loop = self._loop()
        if loop is None:  # not running in an app: finish now
            emulator.feed(bytes(pending))
            pending.clear()
            return
        if not self._turn_marked:
            # Callbacks scheduled now run in the next turn: that is when the budget resets.
            self._turn_marked = True
            self._turn_used = 0.0
            loop.call_soon(self._end_turn)
        started = time.perf_counter()
        while pending and self._turn_used + time.perf_counter() - started < PARSE_BUDGET:
            chunk = bytes(pending[:PARSE_SLICE])
            del pending[:PARSE_SLICE]
            emulator.feed(chunk)
        spent = time.perf_counter() - started
        self._turn_used += spent
        self._parse_time += spent
        if pending and not self._draining:
            self._draining = True
            loop.call_soon(self._resume)
        self._schedule_flush()

    def _end_turn(self) -> None:
        self._turn_marked = False

    def _resume(self) -> None:
        self._draining = False
        if self._pending:
            self._drain()

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        if not self.is_attached:
            return None
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None:
            return
        loop = self._loop()
        if loop is None:
            return
        now = time.perf_counter()
        # Under a flood (a backlog, or parsing took over a quarter of the time since the
        # last redraw) redraw less often: each full repaint costs as much as parsing
        # several KB, and nobody reads text scrolling that fast.
        busy = self._parse_time > 0.25 * max(now - self._last_flush, FRAME_INTERVAL)
        interval = BACKLOG_FRAME_INTERVAL if self._pending or busy else FRAME_INTERVAL
        delay = self._last_flush + interval - now
        if delay <= 0:
            self._flush_now()
        else:
            self._flush_handle = loop.call_later(delay, self._flush_now)

    def _flush_now(self) -> None:
        """Turn the emulator's dirty rows into region refreshes (at most once a frame)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._last_flush = time.perf_counter()
        self._parse_time = 0.0
        emulator = self.emulator
        dirty = emulator.take_dirty()
        x, y = emulator.cursor
        if y != self._cursor_row:
            dirty.add(self._cursor_row)
            self._cursor_row = y
        dirty.add(y)  # the cursor may have moved along the row
        scrollback = emulator.scrollback
        grown = scrollback.total - self._seen_total
        self._seen_total = scrollback.total
        if grown and self._back:
            # Scrolled back: keep showing the same lines while new ones arrive.
            self._back = min(self._back + grown, len(scrollback))
            self.refresh(Region(0, 0, self.size.width, 1))  # the note's count changed
        strips = self._strips
        for row in dirty:
            strips.pop(row, None)
        if len(self._history_strips) > 4 * max(self.size.height, 1) + 256:
            self._history_strips.clear()
        if not self.is_attached or not dirty:
            return
        self.redraws += 1
        lines = emulator.lines
        width = self.size.width
        shown = [row + self._back for row in dirty if row + self._back < lines]
        if len(shown) > lines // 2:
            self.refresh()
        elif shown:
            self.refresh(*(Region(0, row, width, 1) for row in shown))

    # --- rendering ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        # Theme or CSS change: every cached Strip carries the old base style.
        self._base = None
        self._note_style = None
        self._match_style = None
        self._strips.clear()
        self._history_strips.clear()
        super().notify_style_update()

    def _styles(self) -> Style:
        if self._base is None:
            # Widget.rich_style walks the DOM (~50 µs): once per style change, not per line.
            self._base = self.rich_style
            self._note_style = self.get_component_rich_style("terminal--note")
            self._match_style = self.get_component_rich_style("terminal--match")
        return self._base

    def render_lines(self, crop: Region) -> list[Strip]:
        self._painting = True
        try:
            return super().render_lines(crop)
        finally:
            self._painting = False

    def render_line(self, y: int) -> Strip:
        base = self._styles()
        emulator = self.emulator
        columns = emulator.columns
        scrollback = emulator.scrollback
        history = len(scrollback)
        line = history - self._back + y  # index among scrollback + screen rows
        if y >= emulator.lines:
            strip = Strip.blank(self.size.width, base)
        elif line < history:
            absolute = scrollback.dropped + line
            strip = self._history_strips.get(absolute)
            if strip is None:
                strip = row_strip(scrollback.row(line), columns, base)
                self._history_strips[absolute] = strip
                self.lines_rendered += 1
        else:
            row = line - history
            strip = self._strips.get(row)
            if strip is None:
                strip = row_strip(emulator.row(row, with_cursor=True), columns, base)
                self._strips[row] = strip
                self.lines_rendered += 1
        absolute_line = scrollback.dropped + line
        if self._match is not None and self._match[0] == absolute_line:
            strip = self._highlight(strip, line, self._match[1], self._match[2])
        selection = self.text_selection
        if selection is not None:
            span = selection.get_span(line)
            if span is not None:
                start, end = span
                if end == -1:
                    end = cell_len(self._line_text(line))
                strip = self._highlight_cells(
                    strip, start, end, self.screen.get_component_rich_style("screen--selection")
                )
        if not self._painting:
            # Offsets (for mouse selection) are read by Textual from render_line() at the
            # time of a click, never from painted frames: skip their cost when painting.
            strip = strip.apply_offsets(0, line)
        if y == 0 and (self._back or self._search is not None):
            strip = self._overlay_note(strip)
        return strip

    def _line_text(self, line: int) -> str:
        """Text of line `line` of scrollback + screen."""
        scrollback = self.emulator.scrollback
        if line < len(scrollback):
            return scrollback.text(line)
        return self.emulator.screen.text_lines()[line - len(scrollback)]

    def _highlight(self, strip: Strip, line: int, start: int, end: int) -> Strip:
        # Character offsets → cell offsets (wide characters take two cells).
        text = self._line_text(line)
        a = cell_len(text[:start])
        b = a + cell_len(text[start:end])
        return self._highlight_cells(strip, a, b, self._match_style or Style(reverse=True))

    @staticmethod
    def _highlight_cells(strip: Strip, start: int, end: int, style: Style) -> Strip:
        if end <= start:
            return strip
        left, middle, right = strip.divide([start, end, strip.cell_length])
        return Strip.join([left, middle.apply_style(style), right])

    def _overlay_note(self, strip: Strip) -> Strip:
        """The top-right note: scrolled back N lines, or the search being typed."""
        if self._search is not None:
            note = f" /{self._search}▏ "
        else:
            note = f" scrolled back {self._back} lines "
            if self._query:
                note += f"· /{self._query} (n older, N newer) "
            elif self._back:
                note += "· / search · Esc live "
        width = strip.cell_length
        note = note[-width:] if cell_len(note) > width else note
        start = max(0, width - cell_len(note))
        left = strip.crop(0, start)
        overlay = Strip([Segment(note, self._note_style)])
        return Strip.join([left, overlay]).adjust_cell_length(width, self._base)

    # --- selection ------------------------------------------------------------------------

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """Text under a mouse selection (lines are scrollback + screen, as rendered)."""
        emulator = self.emulator
        lines = emulator.scrollback.lines()
        lines.extend(emulator.screen.text_lines())
        return selection.extract("\n".join(lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    # --- size -----------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size()

    def on_mount(self) -> None:
        self._apply_size()

    def _apply_size(self) -> None:
        width, height = self.size
        if width < 1 or height < 1:
            return
        if (width, height) == self.size_in_cells:
            return
        self._flush_now()
        self.emulator.resize(width, height)
        self.virtual_size = Size(width, height)
        self._strips.clear()
        self._history_strips.clear()
        self._back = min(self._back, len(self.emulator.scrollback))
        self._seen_total = self.emulator.scrollback.total
        self.emulator.take_dirty()
        self.refresh()
        self.post_message(self.Resized(width, height, self))

    # --- input ----------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self.post_message(self.Input(data, self))

    def on_key(self, event: events.Key) -> None:
        key = event.key
        event.stop()
        event.prevent_default()
        if key == self.exit_key:
            self.post_message(self.ExitRequested(self))
            return
        if self._search is not None:
            self._search_key(event)
            return
        if key in ("shift+pageup", "shift+pagedown"):
            page = max(1, self.emulator.lines - 1)
            self.scroll_back(page if key == "shift+pageup" else -page)
            return
        if self._back:
            if key == "slash":
                self._search = ""
                self.refresh(Region(0, 0, self.size.width, 1))
                return
            if key in ("n", "N") and self._query:
                self._find(self._query, older=key == "n")
                return
            if key in ("escape", "shift+end"):
                self.scroll_to_live()
                return
            if key == "shift+home":
                self.scroll_back(len(self.emulator.scrollback))
                return
            self.scroll_to_live()  # typing returns to the live screen, like xterm
        emulator = self.emulator
        data = encode_key(
            key,
            event.character,
            app_cursor=emulator.app_cursor,
            app_keypad=emulator.app_keypad,
            backspace=self.backspace,
        )
        if data:
            self._send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        if self._search is not None:
            self._search += event.text.replace("\n", " ")
            self.refresh(Region(0, 0, self.size.width, 1))
            return
        if self._back:
            self.scroll_to_live()
        self._send(paste_bytes(event.text, self.emulator.bracketed_paste))

    # --- mouse ----------------------------------------------------------------------------
    # When the guest turned on mouse tracking (DECSET 9/1000/1002/1003, SGR form with 1006,
    # as vim's `set mouse=a`, htop or mc do), clicks, drags and the wheel are reported to it
    # as xterm reports them, and the mouse does not select text. Otherwise, and while the
    # view is scrolled back, the wheel browses the scrollback and dragging selects.

    @property
    def allow_select(self) -> bool:
        return self.emulator.mouse_mode == 0 and super().allow_select

    def _report_mouse(self, kind: str, button: int, event: events.MouseEvent) -> bool:
        """Send `event` to the guest if it tracks the mouse; True when it was sent."""
        emulator = self.emulator
        mode = emulator.mouse_mode
        if not mode or self._back:
            return False
        x, y = event.x, event.y
        if not (0 <= x < emulator.columns and 0 <= y < emulator.lines):
            if kind != "motion" and kind != "release":
                return False
            x = max(0, min(x, emulator.columns - 1))  # a drag past the edge, as xterm clamps
            y = max(0, min(y, emulator.lines - 1))
        data = mouse_report(
            mode,
            emulator.mouse_sgr,
            kind,
            button,
            x,
            y,
            shift=event.shift,
            meta=event.meta,
            ctrl=event.ctrl,
        )
        if data:
            self._send(data)
        return True

    def _held_button(self, event: events.MouseEvent) -> int:
        # Textual numbers buttons 1 left, 2 middle, 3 right; xterm 0, 1, 2.
        return event.button - 1 if event.button in (1, 2, 3) else -1

    def on_mouse_down(self, event: events.MouseDown) -> None:
        button = self._held_button(event)
        if self._report_mouse("press", button, event):
            event.stop()
            self._mouse_held = button
            self.capture_mouse()  # a drag past the widget's edge still reaches the guest

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._report_mouse("release", self._held_button(event), event):
            event.stop()
        self._mouse_held = -1
        if self.app.mouse_captured is self:
            self.capture_mouse(False)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        # The held button is our own record of press and release: Textual replays a move
        # with the old button when the capture ends, which must not read as a drag.
        if self.emulator.mouse_mode >= MOUSE_BUTTON_EVENT:
            self._report_mouse("motion", self._mouse_held, event)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        if not self._report_mouse("press", WHEEL_UP, event):
            self.scroll_back(3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if not self._report_mouse("press", WHEEL_DOWN, event):
            self.scroll_back(-3)

    # --- search ---------------------------------------------------------------------------

    def _search_key(self, event: events.Key) -> None:
        key = event.key
        if key == "escape":
            self._search = None
        elif key == "enter":
            query, self._search = self._search or "", None
            if query:
                self._query = query
                self._find(query, older=True)
        elif key == "backspace":
            self._search = (self._search or "")[:-1]
        elif event.character and event.character.isprintable():
            self._search = (self._search or "") + event.character
        self.refresh(Region(0, 0, self.size.width, 1))

    def search(self, query: str, *, older: bool = True) -> bool:
        """Find `query` (case-insensitive) from the current match or view, scroll it into
        view and highlight it. Returns whether it was found."""
        self._query = query
        return self._find(query, older=older)

    def _find(self, query: str, *, older: bool) -> bool:
        self._flush_now()
        emulator = self.emulator
        scrollback = emulator.scrollback
        lines = scrollback.lines()
        lines.extend(emulator.screen.text_lines())
        history = len(scrollback)
        needle = query.lower()
        if self._match is not None and self._match[0] >= scrollback.dropped:
            start = self._match[0] - scrollback.dropped
        else:
            # From the view: older matches from its bottom line up, newer from its top down.
            top = history - self._back
            start = top + emulator.lines if older else top - 1
        order = range(start - 1, -1, -1) if older else range(start + 1, len(lines))
        for index in order:
            column = lines[index].lower().find(needle)
            if column >= 0:
                self._match = (scrollback.dropped + index, column, column + len(query))
                # Show the match a few lines below the top, staying in scrollback mode.
                top = max(0, index - 3)
                self._back = max(1, min(history - top, history)) if history else 0
                self.refresh()
                return True
        self.app.bell()
        self.refresh(Region(0, 0, self.size.width, 1))
        return False


__all__ = ["Terminal", "row_strip", "style_for"]
