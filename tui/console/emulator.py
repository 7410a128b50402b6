"""A hardened, faster pyte: the terminal emulator behind the console widget.

pyte 0.8.2 is the only maintained pure-Python VT emulator, and it has bugs a serial console
meets within minutes (textual-notes §1.7). This module keeps pyte's data model — a
`pyte.Screen` whose `buffer[y][x]` is a `Char` — so everything that reads pyte screens keeps
working, and replaces the parts that are wrong or slow:

- **Parser** (`TerminalParser`, instead of `pyte.ByteStream`): a VT500-style state machine
  with regex fast paths for text runs and complete CSI sequences. It understands what pyte
  mis-parses: colon sub-parameters (`CSI 38:2::r:g:b m`, `CSI 4:3 m` were printed as text),
  DCS/SOS/PM/APC strings (their payloads were printed), intermediates and private markers
  (`CSI > 4;1 m` was applied as SGR 4;1, `CSI 1;2'z` raised), charset designations and
  SO/SI under UTF-8 (DEC line drawing showed as `lqqqk` for TERM=vt100/vt220). A handler
  that raises is contained: `feed()` never raises and never loses the rest of a chunk.
- **Screen** (`TerminalScreen(pyte.Screen)`): alternate screen (`?1049/?1047/?47`); a fast
  `draw()` (pyte spends ~70 % of its time there, building every cell with
  `namedtuple._replace`; here cells are shared per (character, attributes) and written a
  line-segment at a time); zero-width code points (ZWJ, VS16, BOM) no longer cut off the
  rest of a text run; a wide character never overflows the last column nor leaves half of
  itself behind; scrolling marks only the scroll region dirty; resize keeps the cursor
  line on screen and the cursor in bounds; replies to CPR, DA1/DA2 and `CSI 18 t` (what
  `resize`, busybox and systemd use to learn the size of a serial console) go to a callback;
  REP, SU/SD, CHT/CBT, DECSTR, DECKPAM, SCOSC/SCORC which pyte lacks.
- **Scrollback**: rows scrolling off the top of the main screen are frozen into tuples of
  cells (`Cells`; the cells themselves are shared between rows by the fast draw path), not
  kept as pyte's per-cell dicts (~5× less memory), and there is no `HistoryScreen` (which
  wraps every attribute access and is 3.5× slower). Freezing a row costs a few µs; turning
  it into styled runs (`Row`, for display) is left until someone looks at it.

No Textual here: the widget (`widgets/terminal.py`) turns `Row`s into Strips.
"""

from __future__ import annotations

import codecs
import copy
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import compress, groupby, islice, repeat
from operator import itemgetter, ne
from typing import Any

import pyte
from pyte import modes as mo
from pyte.charsets import LAT1_MAP, MAPS
from pyte.screens import Char, Margins, StaticDefaultDict
from wcwidth import wcwidth as _wcwidth

__all__ = [
    "Attrs",
    "Char",
    "DEFAULT_ATTRS",
    "Emulator",
    "Row",
    "Cells",
    "cells_row",
    "cells_text",
    "freeze_row",
    "Scrollback",
    "TerminalParser",
    "TerminalScreen",
    "row_text",
]

Attrs = tuple[str, str, bool, bool, bool, bool, bool, bool]
"""A cell's look: (fg, bg, bold, italics, underscore, strikethrough, reverse, blink), as in
`pyte.screens.Char` minus `data`. Colours are pyte's: "default", a name ("red", "brown" =
yellow, "brightred"…) or "rrggbb" hex."""

Row = tuple[tuple[str, Attrs], ...]
"""One screen line as runs of equally styled text, trailing default blanks dropped."""

Cells = tuple[Char, ...]
"""One frozen screen line (a scrollback entry): its cells up to the last one written."""

DEFAULT_ATTRS: Attrs = ("default", "default", False, False, False, False, False, False)

wcwidth: Callable[[str], int] = lru_cache(maxsize=4096)(_wcwidth)

_new_char = tuple.__new__
_cell_attrs = itemgetter(1, 2, 3, 4, 5, 6, 7, 8)
_cell_data = itemgetter(0)

# Private modes (pyte stores them shifted left by 5 to tell them from ANSI modes).
DECCKM = 1 << 5
ALT_SCREEN_MODES = frozenset({47 << 5, 1047 << 5, 1049 << 5})
BRACKETED_PASTE = 2004 << 5
MOUSE_MODES = frozenset({9 << 5, 1000 << 5, 1002 << 5, 1003 << 5})
MOUSE_SGR = 1006 << 5

# 16 colours by SGR index, in pyte's names (so 38;5;1 and 31 look the same and both follow
# the UI's colour theme, instead of 38;5;1 becoming a fixed "cd0000" as in pyte).
_ANSI_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
_COLOR_16 = (*_ANSI_NAMES, *("bright" + n for n in _ANSI_NAMES))


def _xterm_256(n: int) -> str:
    """xterm's 256-colour palette entry `n` (16–255) as "rrggbb"."""
    if n < 232:
        n -= 16
        levels = (0, 95, 135, 175, 215, 255)
        r, g, b = levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
    else:
        r = g = b = 8 + 10 * (n - 232)
    return f"{r:02x}{g:02x}{b:02x}"


_COLOR_256 = (*_COLOR_16, *(_xterm_256(n) for n in range(16, 256)))

# Code points that must never reach a cell: they have no width and are not combining marks
# (ZWSP, ZWNJ, ZWJ, word joiner, BOM, variation selectors, bidi marks). pyte's draw() stopped
# at the first of them and silently dropped the rest of the run ("I ❤️ pyte" → "I ❤").
_INVISIBLE = dict.fromkeys(
    [
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x2060,
        0xFEFF,
        *range(0xFE00, 0xFE10),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)
# Controls that reach draw() (the parser strips them; this is for direct draw() callers).
_CONTROLS = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)])

ESC = "\x1b"
_EMPTY_ROW: Row = ()
_EMPTY_CELLS: Cells = ()


# --- rows ---------------------------------------------------------------------------------


def row_text(row: Row) -> str:
    """The plain text of a row (trailing blanks already dropped)."""
    return "".join(text for text, _ in row)


class _AttrsInterner(dict):
    """One shared tuple per distinct look: rows in the scrollback then cost one pointer per run."""

    def __missing__(self, key: Attrs) -> Attrs:
        self[key] = key
        return key


_intern_attrs = _AttrsInterner()


def _is_blank_run(text: str, attrs: Attrs) -> bool:
    """A run that looks exactly like empty screen: spaces with no visible decoration."""
    return (
        attrs[1] == "default"
        and not attrs[4]
        and not attrs[5]
        and not attrs[6]
        and not text.strip(" ")
    )


def _runs(cells: list[Char]) -> list[tuple[str, Attrs]]:
    """Group cells into (text, attrs) runs with the loops in C (map/compress/join).

    This runs for every row that scrolls into the scrollback, so it matters: a groupby over
    cells costs ~4× more than comparing each cell's attributes with its neighbour's."""
    if len(_intern_attrs) > 65536:  # a flood of distinct truecolours: don't grow forever
        _intern_attrs.clear()
    intern = _intern_attrs.__getitem__
    count = len(cells)
    if not count:
        return []
    text = "".join(map(_cell_data, cells))
    if len(text) != count:
        # Wide-character stubs ("") or combining marks: cell index ≠ text index.
        return [
            ("".join(map(_cell_data, group)), intern(attrs))
            for attrs, group in groupby(cells, _cell_attrs)
        ]
    looks = list(map(_cell_attrs, cells))
    starts = [0, *compress(range(1, count), map(ne, looks, islice(looks, 1, None))), count]
    return [(text[a:b], intern(looks[a])) for a, b in zip(starts, starts[1:], strict=False)]


def freeze_row(line: dict[int, Char] | None, columns: int) -> Cells:
    """pyte's row dict → `Cells` (cheap: the loops are in C), trailing default cells dropped."""
    if not line:
        return _EMPTY_CELLS
    default = getattr(line, "default", None) or Char(" ")
    width = min(max(line) + 1, columns)
    cells = list(map(line.get, range(width), repeat(default, width)))
    while cells and cells[-1] == default:
        cells.pop()
    return tuple(cells)


def cells_text(cells: Cells) -> str:
    """The text of frozen cells (wide-character stubs contribute nothing)."""
    return "".join(map(_cell_data, cells))


def cells_row(cells: Cells) -> Row:
    """Frozen cells → styled runs, for display."""
    runs = _runs(list(cells))
    while runs and _is_blank_run(*runs[-1]):
        runs.pop()
    return tuple(runs)


def compact_row(line: dict[int, Char], columns: int, cursor_x: int = -1) -> Row:
    """pyte's row dict → `Row`. `cursor_x` ≥ 0 gives the cursor cell a run of its own with
    `reverse` flipped, so the cursor shows on reversed text too (no Textual cursor style)."""
    if not line and cursor_x < 0:
        return _EMPTY_ROW
    default = getattr(line, "default", None) or Char(" ")
    width = max(line) + 1 if line else 0
    width = min(max(width, cursor_x + 1), columns)
    cells = list(map(line.get, range(width), repeat(default, width)))
    if 0 <= cursor_x < width:
        under = cells[cursor_x]
        if under.data == "" and cursor_x > 0:  # on the right half of a wide character
            cursor_x -= 1
            under = cells[cursor_x]
        cursor_cell = under._replace(reverse=not under.reverse)
        runs = _runs(cells[:cursor_x])
        runs.append((cursor_cell.data or " ", _intern_attrs[_cell_attrs(cursor_cell)]))
        runs.extend(_runs(cells[cursor_x + 1 :]))
    else:
        runs = _runs(cells)
    while runs and _is_blank_run(*runs[-1]):
        runs.pop()
    return tuple(runs)


class Scrollback:
    """Rows that scrolled off the top of the main screen, oldest first, at most `maxlen`.

    Entries are frozen `Cells`; `row(i)` gives styled runs, `text(i)` plain text. `total`
    counts every row ever added, so a viewer holding a position can tell how many rows fell
    off the front (`dropped`) and keep its place.
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        self.maxlen = maxlen
        self._rows: deque[Cells] = deque(maxlen=max(maxlen, 0))
        self.total = 0

    def append(self, cells: Cells) -> None:
        self._rows.append(cells)
        self.total += 1

    def clear(self) -> None:
        self._rows.clear()

    @property
    def dropped(self) -> int:
        """How many rows have fallen off the front since the start."""
        return self.total - len(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> Cells:
        return self._rows[index]

    def __iter__(self) -> Iterator[Cells]:
        return iter(self._rows)

    def row(self, index: int) -> Row:
        return cells_row(self._rows[index])

    def text(self, index: int) -> str:
        return cells_text(self._rows[index]).rstrip()

    def lines(self) -> list[str]:
        return [cells_text(cells).rstrip() for cells in self._rows]


# --- the screen ---------------------------------------------------------------------------


class _CellCache(dict):
    """Char per character for one set of attributes: drawing reuses cells instead of
    building a namedtuple per character (pyte's main cost)."""

    __slots__ = ("rest",)

    def __init__(self, rest: tuple[Any, ...]) -> None:
        super().__init__()
        self.rest = rest

    def __missing__(self, char: str) -> Char:
        cell = self[char] = _new_char(Char, (char, *self.rest))
        return cell


class TerminalScreen(pyte.Screen):
    """pyte.Screen with the fixes and extensions described in the module docstring.

    Args:
        columns, lines: size of the emulated screen.
        scrollback: rows kept once they scroll off the top (0 disables it).
        reply: gets the bytes a terminal answers to queries (CPR, DA, window size); route
            them to the guest, or its size probes hang.
    """

    def __init__(
        self,
        columns: int,
        lines: int,
        *,
        scrollback: int = 10_000,
        reply: Callable[[bytes], None] | None = None,
    ) -> None:
        self.scrollback = Scrollback(scrollback)
        self._keep_history = scrollback > 0
        self._reply = reply
        self._main_buffer: Any = None  # the main screen's rows while the alternate is shown
        self._alt_saved: tuple[Any, ...] | None = None  # cursor saved by ?1049h
        self._cells: dict[tuple[Any, ...], _CellCache] = {}
        self._sgr_cache: dict[tuple[Any, ...], Char] = {}
        self._last_attrs: Char | None = None
        self._last_cells: _CellCache | None = None
        self.last_char = ""  # for REP (CSI b)
        self.app_keypad = False
        self.bells = 0
        super().__init__(columns, lines)

    # --- state the UI needs ------------------------------------------------------------

    @property
    def in_alternate_screen(self) -> bool:
        return self._main_buffer is not None

    @property
    def app_cursor(self) -> bool:
        """DECCKM: cursor keys send SS3 sequences."""
        return DECCKM in self.mode

    @property
    def bracketed_paste(self) -> bool:
        return BRACKETED_PASTE in self.mode

    @property
    def cursor_visible(self) -> bool:
        # DECTCEM in mode, not cursor.hidden: pyte's restore_cursor brings back a saved
        # cursor's `hidden` flag, which xterm's DECRC does not.
        return mo.DECTCEM in self.mode

    @property
    def mouse_tracking(self) -> bool:
        return not MOUSE_MODES.isdisjoint(self.mode)

    @property
    def mouse_mode(self) -> int:
        """The mouse tracking mode the guest asked for (9, 1000, 1002, 1003), 0 for none;
        the most inclusive one wins when several are set, as in xterm."""
        modes = [m >> 5 for m in MOUSE_MODES if m in self.mode]
        return max(modes) if modes else 0

    @property
    def mouse_sgr(self) -> bool:
        """Mode 1006: mouse reports in the SGR form (`CSI < b;x;y M`)."""
        return MOUSE_SGR in self.mode

    # --- replies -----------------------------------------------------------------------

    def write_process_input(self, data: str) -> None:
        if self._reply is not None:
            self._reply(data.encode())

    def report_device_attributes(self, mode: int = 0, **kwargs: Any) -> None:
        """DA1 (`CSI c`): "VT102" like pyte; DA2 (`CSI > c`): VT220, firmware 10.

        pyte answered `CSI > c` with the primary answer and raised on `CSI > 0;1 c`."""
        if mode:
            return
        if kwargs.get("secondary"):
            self.write_process_input("\x1b[>1;10;0c")
        elif not kwargs.get("private"):
            self.write_process_input("\x1b[?6c")

    def report_device_status(self, mode: int = 0, **kwargs: Any) -> None:
        """DSR 5 (status) and 6 (CPR); `CSI ? 6 n` (DECXCPR) answers with a `?`."""
        if mode == 5:
            self.write_process_input("\x1b[0n")
        elif mode == 6:
            # After writing the last column the cursor waits at x == columns (pending wrap):
            # report the last column, as xterm does, not one beyond the screen.
            x = min(self.cursor.x, self.columns - 1) + 1
            y = self.cursor.y + 1
            if mo.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            marker = "?" if kwargs.get("private") else ""
            self.write_process_input(f"\x1b[{marker}{y};{x}R")

    def window_manipulation(self, *params: int) -> None:
        """XTWINOPS: answer 18 (text area size in characters) as `CSI 8;rows;cols t`.

        systemd sizes a serial console with it before falling back to CPR (pyte had no
        handler, so the probe timed out). The other operations (move, resize, iconify the
        window, title stack) don't apply to an embedded terminal and are ignored."""
        if params and params[0] == 18:
            self.write_process_input(f"\x1b[8;{self.lines};{self.columns}t")

    def bell(self, *args: Any) -> None:
        self.bells += 1

    # --- drawing -----------------------------------------------------------------------

    def draw(self, data: str) -> None:
        """Put text at the cursor, wrapping at the right margin when DECAWM is set."""
        if self.charset:
            data = data.translate(self.g1_charset)
        elif self.g0_charset is not LAT1_MAP:
            data = data.translate(self.g0_charset)
        if not data.isascii():
            self._draw_unicode(data)
            return
        if not data.isprintable():
            data = data.translate(_CONTROLS)
            if not data:
                return
        mode = self.mode
        if mo.IRM in mode:
            self._draw_unicode(data)
            return
        cursor = self.cursor
        attrs = cursor.attrs
        if attrs is self._last_attrs:  # SGR results are cached, so identity usually hits
            cells = self._last_cells
        else:
            rest = attrs[1:]
            cells = self._cells.get(rest)
            if cells is None:
                if len(self._cells) > 1024:  # many distinct looks: keep the cache bounded
                    self._cells.clear()
                cells = self._cells[rest] = _CellCache(rest)
            self._last_attrs = attrs
            self._last_cells = cells
        x = cursor.x
        length = len(data)
        self.last_char = data[-1]
        if x + length <= self.columns:
            # The common case: the text fits on the cursor's line.
            line = self.buffer[cursor.y]
            if line:
                first = line.get(x)
                after = line.get(x + length)
                if (first is not None and not first.data) or (after is not None and not after.data):
                    self._split_wide(line, x, x + length)
            if length == 1:
                line[x] = cells[data]
            else:
                line.update(zip(range(x, x + length), map(cells.__getitem__, data), strict=False))
            cursor.x = x + length
            self.dirty.add(cursor.y)
            return
        cell = cells.__getitem__
        columns = self.columns
        autowrap = mo.DECAWM in mode
        dirty = self.dirty
        i = 0
        while i < length:
            if x >= columns:
                if autowrap:
                    cursor.x = x
                    dirty.add(cursor.y)
                    self.carriage_return()
                    self.linefeed()
                    x = cursor.x
                else:
                    # No wrap: every further character overwrites the last column.
                    line = self.buffer[cursor.y]
                    self._split_wide(line, columns - 1, columns)
                    line[columns - 1] = cell(data[-1])
                    x = columns
                    break
            take = min(columns - x, length - i)
            line = self.buffer[cursor.y]
            if line:
                # Inline check for _split_wide (a call per draw is measurable).
                first = line.get(x)
                after = line.get(x + take)
                if (first is not None and not first.data) or (after is not None and not after.data):
                    self._split_wide(line, x, x + take)
            line.update(zip(range(x, x + take), map(cell, data[i : i + take]), strict=False))
            x += take
            i += take
        cursor.x = x
        dirty.add(cursor.y)

    def _split_wide(self, line: dict[int, Char], start: int, end: int) -> None:
        """Before cells [start, end) are overwritten: blank the other half of any wide
        character cut by the edges, so no orphan half shifts the rest of the row."""
        if start > 0:
            first = line.get(start)
            if first is not None and first.data == "":  # start is the right half
                left = line[start - 1]
                line[start - 1] = left._replace(data=" ")
        after = line.get(end)
        if after is not None and after.data == "":  # end is the right half of a wide char
            line[end] = after._replace(data=" ")

    def _draw_unicode(self, data: str) -> None:
        """The general path: widths, combining marks, insert mode."""
        data = data.translate(_INVISIBLE)
        cursor = self.cursor
        columns = self.columns
        autowrap = mo.DECAWM in self.mode
        insert = mo.IRM in self.mode
        rest = cursor.attrs[1:]
        stub = _new_char(Char, ("", *rest))
        for char in data:
            width = wcwidth(char)
            if width < 0:
                continue  # a control character: never printable
            if width == 0:
                if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me"):
                    self._combine(char)
                continue
            if cursor.x + width > columns:
                if autowrap:
                    if cursor.x < columns and width == 2:
                        # A wide character does not fit in the last column: leave it blank
                        # and wrap, as xterm does (pyte let the row overflow by one cell).
                        self.buffer[cursor.y][cursor.x] = _new_char(Char, (" ", *rest))
                    self.dirty.add(cursor.y)
                    self.carriage_return()
                    self.linefeed()
                else:
                    cursor.x = columns - width
            if insert:
                self.insert_characters(width)
            line = self.buffer[cursor.y]
            x = cursor.x
            self._split_wide(line, x, x + width)
            line[x] = _new_char(Char, (char, *rest))
            if width == 2:
                line[x + 1] = stub
            cursor.x = x + width
            self.last_char = char
        self.dirty.add(cursor.y)

    def _combine(self, mark: str) -> None:
        """Attach a combining mark to the character before the cursor."""
        cursor = self.cursor
        x, y = min(cursor.x, self.columns) - 1, cursor.y
        if x < 0:
            if y == 0:
                return
            x, y = self.columns - 1, y - 1
        line = self.buffer[y]
        if line[x].data == "" and x > 0:  # right half of a wide character
            x -= 1
        last = line[x]
        line[x] = last._replace(data=unicodedata.normalize("NFC", last.data + mark))
        self.dirty.add(y)

    def repeat_last(self, count: int = 1) -> None:
        """REP (`CSI n b`): ncurses uses it for runs (xterm-256color has `rep`)."""
        if self.last_char:
            self.draw(self.last_char * min(max(count, 1), 65535))

    # --- scrolling ----------------------------------------------------------------------

    def index(self) -> None:
        """Move down a line; at the bottom margin scroll the region up, saving the top row
        to the scrollback when the region starts at the top of the main screen."""
        cursor = self.cursor
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if cursor.y == bottom:
            self._scroll_up_region(top, bottom, 1)
        elif cursor.y < self.lines - 1:
            # Below the scroll region the cursor may still move to the last line (pyte
            # moved it *up* to the bottom margin).
            cursor.y += 1

    def _scroll_up_region(self, top: int, bottom: int, count: int) -> None:
        buffer = self.buffer
        count = min(count, bottom - top + 1)
        if top == 0 and self._main_buffer is None and self._keep_history:
            add = self.scrollback.append
            columns = self.columns
            for y in range(count):
                add(freeze_row(buffer.get(y), columns))
        if top == 0 and bottom == self.lines - 1:
            # The whole screen: one dict rebuild beats moving rows one by one.
            moved = {y - count: row for y, row in buffer.items() if y >= count}
            buffer.clear()
            buffer.update(moved)
        else:
            pop = buffer.pop
            for y in range(top, bottom + 1 - count):
                row = pop(y + count, None)
                if row is None:
                    pop(y, None)
                else:
                    buffer[y] = row
            for y in range(bottom + 1 - count, bottom + 1):
                pop(y, None)
        # Only the region moved (pyte marked every row dirty).
        self.dirty.update(range(top, bottom + 1))

    def _scroll_down_region(self, top: int, bottom: int, count: int) -> None:
        buffer = self.buffer
        count = min(count, bottom - top + 1)
        pop = buffer.pop
        for y in range(bottom, top + count - 1, -1):
            row = pop(y - count, None)
            if row is None:
                pop(y, None)
            else:
                buffer[y] = row
        for y in range(top, top + count):
            pop(y, None)
        self.dirty.update(range(top, bottom + 1))

    def next_line(self) -> None:
        """NEL (`ESC E`): CR + LF (pyte did only the LF)."""
        self.index()
        self.carriage_return()

    def reverse_index(self) -> None:
        cursor = self.cursor
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if cursor.y == top:
            self._scroll_down_region(top, bottom, 1)
        elif cursor.y > 0:
            cursor.y -= 1

    def scroll_up(self, count: int = 1, *rest: int) -> None:
        """SU (`CSI n S`): scroll the region up; the cursor stays."""
        if rest:
            return  # CSI Ps;Ps;Ps;Ps;Ps T-like forms are mouse highlight tracking: ignore
        top, bottom = self.margins or Margins(0, self.lines - 1)
        self._scroll_up_region(top, bottom, max(count, 1))

    def scroll_down(self, count: int = 1, *rest: int) -> None:
        """SD (`CSI n T`): scroll the region down; the cursor stays."""
        if rest:
            return
        top, bottom = self.margins or Margins(0, self.lines - 1)
        self._scroll_down_region(top, bottom, max(count, 1))

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        """ED. `ED 3` ("erase saved lines", sent by `clear`) is ignored on purpose: the
        scrollback is the operator's record of the console, not the guest's to wipe."""
        if how == 3:
            return
        super().erase_in_display(how, *args, **kwargs)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        line = self.buffer[self.cursor.y]
        x = min(self.cursor.x, self.columns - 1)
        if how == 0:
            self._split_wide(line, x, self.columns)
        elif how == 1:
            self._split_wide(line, 0, x + 1)
        super().erase_in_line(how, private)

    # --- tabs ---------------------------------------------------------------------------

    def forward_tab(self, count: int = 1) -> None:
        """CHT (`CSI n I`)."""
        for _ in range(max(count, 1)):
            self.tab()

    def back_tab(self, count: int = 1) -> None:
        """CBT (`CSI n Z`)."""
        for _ in range(max(count, 1)):
            stops = [s for s in self.tabstops if s < self.cursor.x]
            self.cursor.x = max(stops) if stops else 0

    # --- modes --------------------------------------------------------------------------

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        private = kwargs.get("private")
        if private:
            # DECCOLM (?3) would resize pyte's screen to 132 columns behind the widget's
            # back; xterm ignores it too unless told otherwise.
            modes = tuple(m for m in modes if m != 3)
        super().set_mode(*modes, **kwargs)
        if private:
            for mode in modes:
                if mode << 5 in ALT_SCREEN_MODES:
                    self._enter_alternate(mode)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        private = kwargs.get("private")
        if private:
            modes = tuple(m for m in modes if m != 3)
        super().reset_mode(*modes, **kwargs)
        if private:
            for mode in modes:
                if mode << 5 in ALT_SCREEN_MODES:
                    self._leave_alternate(mode)

    def _new_buffer(self) -> Any:
        return type(self.buffer)(self.buffer.default_factory)

    def _enter_alternate(self, mode: int) -> None:
        """?1049h saves the cursor and shows a cleared alternate screen; ?1047h/?47h switch
        without saving the cursor (pyte had no alternate screen: full-screen programs were
        left painted over the shell)."""
        if self._main_buffer is not None:
            return
        if mode == 1049:
            self._alt_saved = (
                self.cursor.x,
                self.cursor.y,
                self.cursor.attrs,
                self.g0_charset,
                self.g1_charset,
                self.charset,
            )
        self._main_buffer = self.buffer
        self.buffer = self._new_buffer()
        self.dirty.update(range(self.lines))

    def _leave_alternate(self, mode: int) -> None:
        if self._main_buffer is None:
            return
        self.buffer = self._main_buffer
        self._main_buffer = None
        if mode == 1049 and self._alt_saved is not None:
            x, y, attrs, g0, g1, charset = self._alt_saved
            self.cursor.x, self.cursor.y, self.cursor.attrs = x, y, attrs
            self.g0_charset, self.g1_charset, self.charset = g0, g1, charset
            self._alt_saved = None
            self.ensure_hbounds()
            self.ensure_vbounds()
        self.dirty.update(range(self.lines))

    def set_keypad(self, application: bool) -> None:
        """DECKPAM (`ESC =`) / DECKPNM (`ESC >`)."""
        self.app_keypad = application

    def soft_reset(self) -> None:
        """DECSTR (`CSI ! p`): modes and attributes back to defaults, screen kept."""
        self.mode.discard(mo.IRM)
        self.mode.discard(mo.DECOM)
        self.mode.discard(DECCKM)
        self.mode.add(mo.DECAWM)
        self.mode.add(mo.DECTCEM)
        self.cursor.hidden = False
        self.app_keypad = False
        self.margins = None
        self.charset = 0
        self.g0_charset = LAT1_MAP
        self.g1_charset = MAPS["0"]
        self.cursor.attrs = self.default_char
        self.savepoints.clear()

    def reset(self) -> None:
        """RIS (`ESC c`): also leaves the alternate screen (pyte had none)."""
        main = getattr(self, "_main_buffer", None)
        if main is not None:
            self.buffer = main
            self._main_buffer = None
        self._alt_saved = None
        self.app_keypad = False
        super().reset()

    def save_cursor(self) -> None:
        """DECSC. One slot, as in xterm: pyte stacked every save, so a guest that saves
        without restoring (a status-line loop) grew the list forever."""
        super().save_cursor()
        del self.savepoints[:-1]

    def restore_cursor(self) -> None:
        """DECRC. Restoring leaves the slot filled (xterm restores the same place again)."""
        if self.savepoints:
            saved = self.savepoints[-1]
            self.savepoints.append(saved._replace(cursor=copy.copy(saved.cursor)))
        super().restore_cursor()

    def save_cursor_sco(self, *params: int) -> None:
        """SCOSC (`CSI s`): like DECSC. With parameters it is DECSLRM (left/right margins),
        which pyte cannot do: ignored."""
        if not params or params == (0,):
            self.save_cursor()

    def restore_cursor_sco(self, *params: int) -> None:
        """SCORC (`CSI u`)."""
        if not params or params == (0,):
            self.restore_cursor()

    # --- attributes ---------------------------------------------------------------------

    def select_graphic_rendition(self, *attrs: int | tuple[int, ...], **kwargs: Any) -> None:
        """SGR, with 38/48 in both `;` and `:` forms, 16 colours of `38;5;n` kept as names,
        4:n underline styles, 21 (double underline), and no exception on short forms.
        Results are cached per (current attributes, parameters): logs repeat a few SGRs."""
        if kwargs:
            return  # CSI ? ... m and friends are not SGR
        cursor = self.cursor
        key = (cursor.attrs, attrs, mo.DECSCNM in self.mode)
        cached = self._sgr_cache.get(key)
        if cached is None:
            cached = self._apply_sgr(cursor.attrs, attrs)
            if len(self._sgr_cache) > 4096:
                self._sgr_cache.clear()
            self._sgr_cache[key] = cached
        cursor.attrs = cached

    def _apply_sgr(self, current: Char, params: tuple[int | tuple[int, ...], ...]) -> Char:
        fields = list(current)  # data, fg, bg, bold, italics, underscore, strike, reverse, blink
        if not params:
            params = (0,)
        items: list[int | tuple[int, ...]] = list(params)
        i = 0
        while i < len(items):
            p = items[i]
            i += 1
            if isinstance(p, tuple):  # colon sub-parameters: (head, sub1, sub2, ...)
                head, sub = p[0], list(p[1:])
                if head in (38, 48):
                    color = _extended_color(sub, colon=True)
                    if color is not None:
                        fields[1 if head == 38 else 2] = color
                elif head == 4:
                    fields[5] = bool(sub[0]) if sub else True
                elif head != 58:  # 58 = underline colour: not representable
                    items.insert(i, head)
                continue
            if p == 0:
                fields = list(self.default_char)
            elif p == 1:
                fields[3] = True
            elif p == 3:
                fields[4] = True
            elif p in (4, 21):
                fields[5] = True
            elif p in (5, 6):
                fields[8] = True
            elif p == 7:
                fields[7] = True
            elif p == 9:
                fields[6] = True
            elif p == 22:
                fields[3] = False
            elif p == 23:
                fields[4] = False
            elif p == 24:
                fields[5] = False
            elif p == 25:
                fields[8] = False
            elif p == 27:
                fields[7] = False
            elif p == 29:
                fields[6] = False
            elif 30 <= p <= 37:
                fields[1] = _COLOR_16[p - 30]
            elif p == 39:
                fields[1] = "default"
            elif 40 <= p <= 47:
                fields[2] = _COLOR_16[p - 40]
            elif p == 49:
                fields[2] = "default"
            elif 90 <= p <= 97:
                fields[1] = _COLOR_16[p - 90 + 8]
            elif 100 <= p <= 107:
                fields[2] = _COLOR_16[p - 100 + 8]  # pyte 0.8.2 spells 105 "bfightmagenta"
            elif p in (38, 48, 58):
                rest: list[int] = []
                for x in items[i : i + 4]:
                    if isinstance(x, tuple):
                        break
                    rest.append(x)
                mode = rest[0] if rest else None
                used = 2 if mode == 5 else 4 if mode == 2 else 1
                color = _extended_color(rest[:used], colon=False)
                i += min(used, len(rest))
                if color is not None and p != 58:
                    fields[1 if p == 38 else 2] = color
            # everything else (2 faint, 8 conceal, 53 overline, fonts…) has no pyte field
        return _new_char(Char, tuple(fields))

    # --- size ---------------------------------------------------------------------------

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Resize keeping the cursor's line on screen and the cursor in bounds.

        Shrinking drops blank rows below the cursor first, then rows from the top (into the
        scrollback, on the main screen) — pyte dropped rows from the top even when they held
        the cursor's text, and left the cursor outside the screen, so output vanished."""
        lines = max(1, lines or self.lines)
        columns = max(1, columns or self.columns)
        if lines == self.lines and columns == self.columns:
            return
        cursor = self.cursor
        cursor.x = min(cursor.x, self.columns - 1)
        cursor.y = min(cursor.y, self.lines - 1)
        drop_top = 0
        if lines < self.lines:
            excess = self.lines - lines
            below = 0
            for y in range(self.lines - 1, cursor.y, -1):
                if below == excess or self._row_has_text(self.buffer.get(y)):
                    break
                below += 1
            drop_top = excess - below
        for buffer, is_main in self._buffers():
            if drop_top and is_main and self._keep_history:
                for y in range(drop_top):
                    self.scrollback.append(freeze_row(buffer.get(y), self.columns))
            moved = {y - drop_top: row for y, row in buffer.items() if drop_top <= y}
            buffer.clear()
            for y, row in moved.items():
                if y < lines:
                    if columns < self.columns:
                        for x in [x for x in row if x >= columns]:
                            del row[x]
                        last = row.get(columns - 1)
                        if last is not None and wcwidth(last.data[:1] or " ") == 2:
                            row[columns - 1] = last._replace(data=" ")
                    buffer[y] = row
        cursor.y -= drop_top
        if columns > self.columns:
            self.tabstops.update(range((self.columns + 7) // 8 * 8, columns, 8))
        self.tabstops = {t for t in self.tabstops if t < columns}
        self.lines, self.columns = lines, columns
        self.margins = None
        self.ensure_hbounds()
        self.ensure_vbounds()
        if self._alt_saved is not None:
            x, y, *rest = self._alt_saved
            self._alt_saved = (min(x, columns - 1), max(0, min(y - drop_top, lines - 1)), *rest)
        self.dirty.update(range(lines))

    def _buffers(self) -> Iterator[tuple[Any, bool]]:
        if self._main_buffer is not None:
            yield self._main_buffer, True
            yield self.buffer, False
        else:
            yield self.buffer, True

    @staticmethod
    def _row_has_text(row: dict[int, Char] | None) -> bool:
        return bool(row) and any(c.data.strip() or c.bg != "default" for c in row.values())

    # --- reading ------------------------------------------------------------------------

    def row(self, y: int, cursor_x: int = -1) -> Row:
        """Visible row `y` as runs (see `compact_row`)."""
        line = self.buffer.get(y)
        if line is None:
            line = StaticDefaultDict(self.default_char)
        return compact_row(line, self.columns, cursor_x)

    def text_lines(self) -> list[str]:
        """The visible screen as text, one string per row, trailing blanks removed."""
        return [row_text(self.row(y)).rstrip() for y in range(self.lines)]


def _extended_color(sub: list[int], *, colon: bool) -> str | None:
    """Colour from the parameters after 38/48: [5, n] or [2, (colour space,) r, g, b]."""
    if not sub:
        return None
    if sub[0] == 5 and len(sub) >= 2:
        n = sub[1]
        return _COLOR_256[n] if 0 <= n < 256 else None
    if sub[0] == 2:
        # Colon form: 2:<colour-space>:r:g:b, but many programs omit the colour space.
        rgb = sub[-3:] if colon else sub[1:4]
        if len(rgb) == 3 and (not colon or len(sub) >= 4):
            r, g, b = (max(0, min(255, c)) for c in rgb)
            return f"{r:02x}{g:02x}{b:02x}"
    return None


# --- the parser ---------------------------------------------------------------------------

# Text runs: anything but C0, DEL and C1 controls.
_TEXT = re.compile("[^\x00-\x1f\x7f-\x9f]+")
# A complete CSI sequence: private marker, parameters (with ':' sub-parameters),
# intermediates, final byte.
_CSI = re.compile("(?:\x1b\\[|\x9b)([<=>?]?)([0-9:;]*)([ -/]*)([@-~])")

_GROUND, _ESCAPE, _ESC_INTER, _CSI_STATE, _OSC, _OSC_ESC, _STRING, _STRING_ESC = range(8)
_CHARSET, _SHARP, _PERCENT = range(8, 11)
_CAN_SUB = "\x18\x1a"
_C0_EXECUTE = "\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
_MAX_PARAMS_LEN = 256
_MAX_OSC = 4096


class TerminalParser:
    """Bytes → `TerminalScreen` calls; never raises out of `feed()`.

    The common cases (text runs, complete CSI sequences, CR/LF) take regex fast paths in
    `feed`; anything else goes through a per-character state machine (`_step`) whose state
    survives between calls, so sequences split across chunks are parsed exactly as whole
    ones. UTF-8 is decoded incrementally (invalid bytes become U+FFFD).
    """

    def __init__(self, screen: TerminalScreen) -> None:
        self.screen = screen
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._state = _GROUND
        self._marker = ""
        self._params = ""
        self._inter = ""
        self._osc: list[str] = []
        self._osc_len = 0
        self._designator = ""
        self.errors = 0  # handler exceptions contained (for tests and diagnostics)
        s = screen
        self._basic: dict[str, Callable[[], None]] = {
            "\x07": s.bell,
            "\x08": s.backspace,
            "\x09": s.tab,
            "\x0a": s.linefeed,
            "\x0b": s.linefeed,
            "\x0c": s.linefeed,
            "\x0d": s.carriage_return,
            "\x0e": s.shift_out,
            "\x0f": s.shift_in,
        }
        self._escape: dict[str, Callable[[], None]] = {
            "7": s.save_cursor,
            "8": s.restore_cursor,
            "c": s.reset,
            "D": s.index,
            "E": s.next_line,
            "M": s.reverse_index,
            "H": s.set_tab_stop,
            "=": lambda: s.set_keypad(True),
            ">": lambda: s.set_keypad(False),
        }
        self._csi: dict[str, Callable[..., None]] = {
            "@": s.insert_characters,
            "A": s.cursor_up,
            "B": s.cursor_down,
            "C": s.cursor_forward,
            "D": s.cursor_back,
            "E": s.cursor_down1,
            "F": s.cursor_up1,
            "G": s.cursor_to_column,
            "H": s.cursor_position,
            "I": s.forward_tab,
            "J": s.erase_in_display,
            "K": s.erase_in_line,
            "L": s.insert_lines,
            "M": s.delete_lines,
            "P": s.delete_characters,
            "S": s.scroll_up,
            "T": s.scroll_down,
            "X": s.erase_characters,
            "Z": s.back_tab,
            "`": s.cursor_to_column,
            "a": s.cursor_forward,
            "b": s.repeat_last,
            "c": s.report_device_attributes,
            "d": s.cursor_to_line,
            "e": s.cursor_down,
            "f": s.cursor_position,
            "g": s.clear_tab_stop,
            "h": s.set_mode,
            "l": s.reset_mode,
            "n": s.report_device_status,
            "r": s.set_margins,
            "s": s.save_cursor_sco,
            "t": s.window_manipulation,
            "u": s.restore_cursor_sco,
        }

    # --- feeding ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse bytes (any split, any content) into the screen."""
        self.feed_text(self._decoder.decode(data))

    def feed_text(self, data: str) -> None:
        screen = self.screen
        draw = screen.draw
        match_text = _TEXT.match
        match_csi = _CSI.match
        basic = self._basic
        step = self._step
        i = 0
        n = len(data)
        while i < n:
            try:
                # `i` moves past each piece *before* its handler runs, so a handler that
                # raises loses only its own sequence and the loop resumes after it.
                while i < n:
                    if self._state == _GROUND:
                        m = match_text(data, i)
                        if m is not None:
                            i = m.end()
                            draw(m.group())
                            continue
                        char = data[i]
                        if char in basic:
                            i += 1
                            basic[char]()
                            continue
                        if char == ESC or char == "\x9b":
                            m = match_csi(data, i)
                            if m is not None and len(m.group(2)) <= _MAX_PARAMS_LEN:
                                i = m.end()
                                self._dispatch_csi(*m.groups())
                                continue
                    i += 1
                    step(data[i - 1])
            except Exception:
                self.errors += 1

    def _guard(self, handler: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """Call a screen handler; a failure loses that one sequence, never the stream."""
        try:
            handler(*args, **kwargs)
        except Exception:
            self.errors += 1

    # --- the state machine --------------------------------------------------------------

    def _step(self, char: str) -> None:
        state = self._state
        if state == _GROUND:
            if char == ESC:
                self._state = _ESCAPE
            elif char == "\x9b":
                self._start_csi()
            elif char == "\x9d":
                self._start_osc()
            elif char in self._basic:
                self._guard(self._basic[char])
            elif char >= " " and not ("\x7f" <= char <= "\x9f"):
                self._guard(self.screen.draw, char)
            # other C0/C1 controls: ignored
            return
        if char in _CAN_SUB and state not in (_OSC, _STRING):
            self._state = _GROUND  # CAN/SUB abort any sequence
            return
        if state == _ESCAPE:
            self._escape_char(char)
        elif state == _CSI_STATE:
            self._csi_char(char)
        elif state in (_OSC, _OSC_ESC):
            self._osc_char(char)
        elif state in (_STRING, _STRING_ESC):
            self._string_char(char)
        elif state == _ESC_INTER:
            if char == ESC:
                self._state = _ESCAPE
            elif not " " <= char <= "/":
                self._state = _GROUND  # nF sequence (e.g. ESC SP F): ignored
        elif state == _CHARSET:
            self._state = _GROUND
            if self._designator in "()":
                self._guard(self.screen.define_charset, char, self._designator)
        elif state == _SHARP:
            self._state = _GROUND
            if char == "8":
                self._guard(self.screen.alignment_display)
        elif state == _PERCENT:
            self._state = _GROUND

    def _escape_char(self, char: str) -> None:
        if char in _CAN_SUB:
            self._state = _GROUND
        elif char == "[":
            self._start_csi()
        elif char == "]":
            self._start_osc()
        elif char in "PX^_":
            # DCS, SOS, PM, APC: a string up to ST whose payload must not be printed
            # (pyte printed it: e.g. a DECRQSS answer or sixel data showed as text).
            self._state = _STRING
        elif char in "()*+-./":
            self._designator = char
            self._state = _CHARSET
        elif char == "#":
            self._state = _SHARP
        elif char == "%":
            self._state = _PERCENT
        elif " " <= char <= "/":
            self._state = _ESC_INTER
        elif char == ESC:
            pass  # ESC ESC: the first one is dropped
        elif char < " ":
            if char in self._basic:  # C0 controls execute inside sequences
                self._guard(self._basic[char])
        else:
            self._state = _GROUND
            handler = self._escape.get(char)
            if handler is not None:
                self._guard(handler)

    def _start_csi(self) -> None:
        self._state = _CSI_STATE
        self._marker = ""
        self._params = ""
        self._inter = ""

    def _csi_char(self, char: str) -> None:
        if "0" <= char <= "?":
            if char in "<=>?":
                if self._params or self._inter or self._marker:
                    self._marker = "!"  # marker in the wrong place: ignore the sequence
                else:
                    self._marker = char
            elif self._inter:
                self._marker = "!"  # parameter after an intermediate: malformed
            elif len(self._params) < _MAX_PARAMS_LEN:
                self._params += char
            else:
                self._marker = "!"
        elif " " <= char <= "/":
            self._inter += char
        elif "@" <= char <= "~":
            self._state = _GROUND
            self._dispatch_csi(self._marker, self._params, self._inter, char)
        elif char == ESC:
            self._state = _ESCAPE  # an ESC aborts the sequence and starts a new one
        elif char < " ":
            if char in self._basic:
                self._guard(self._basic[char])
        elif char == "\x7f":
            pass
        else:
            # Not part of any CSI: abandon it and treat the character as text.
            self._state = _GROUND
            self._step(char)

    def _start_osc(self) -> None:
        self._state = _OSC
        self._osc = []
        self._osc_len = 0

    def _osc_char(self, char: str) -> None:
        if self._state == _OSC_ESC:
            self._finish_osc()
            if char != "\\":
                self._state = _ESCAPE
                self._escape_char(char)
            return
        if char in "\x07\x9c":
            self._finish_osc()
        elif char == ESC:
            self._state = _OSC_ESC
        elif char in _CAN_SUB:
            self._state = _GROUND
        elif self._osc_len < _MAX_OSC:
            self._osc.append(char)
            self._osc_len += 1

    def _finish_osc(self) -> None:
        self._state = _GROUND
        code, _, value = "".join(self._osc).partition(";")
        if code in ("0", "1"):
            self._guard(self.screen.set_icon_name, value)
        if code in ("0", "2"):
            self._guard(self.screen.set_title, value)
        # OSC 4/10/11 (colour queries), 8 (hyperlinks), 52 (clipboard), 133…: ignored.

    def _string_char(self, char: str) -> None:
        if self._state == _STRING_ESC:
            if char == "\\":
                self._state = _GROUND
            else:
                # ESC inside a string ends it (ECMA-48) and starts a new sequence.
                self._state = _ESCAPE
                self._escape_char(char)
            return
        if char == ESC:
            self._state = _STRING_ESC
        elif char in "\x07\x9c\x18\x1a":
            self._state = _GROUND

    # --- CSI dispatch -------------------------------------------------------------------

    def _dispatch_csi(self, marker: str, params: str, inter: str, final: str) -> None:
        screen = self.screen
        try:
            if final == "m" and not marker and not inter:
                screen.select_graphic_rendition(*_sgr_params(params))
                return
            if inter:
                if inter == "!" and final == "p" and not marker:
                    screen.soft_reset()
                # CSI SP q (cursor style), CSI $ p (mode query), CSI " q …: ignored
                return
            values = _int_params(params)
            if marker == "?":
                if final == "h":
                    screen.set_mode(*values, private=True)
                elif final == "l":
                    screen.reset_mode(*values, private=True)
                elif final == "J":
                    screen.erase_in_display(*values[:1])
                elif final == "K":
                    screen.erase_in_line(*values[:1])
                elif final == "n":
                    screen.report_device_status(*values[:1], private=True)
                return
            if marker == ">":
                if final == "c":
                    screen.report_device_attributes(*values[:1], secondary=True)
                return  # modifyOtherKeys (m), XTVERSION (q) …: ignored
            if marker:
                return  # '<', '=' and malformed ones
            handler = self._csi.get(final)
            if handler is None:
                return
            if final in "hlnrtSTcg":
                handler(*values)
            else:
                # One-parameter commands take the first parameter; CUP/HVP and margins two.
                count = 2 if final in "Hf" else 1
                handler(*values[:count])
        except Exception:
            self.errors += 1


@lru_cache(maxsize=1024)
def _int_params(params: str) -> tuple[int, ...]:
    """ "1;;24" → (1, 0, 24); sub-parameters keep their head; values capped at 9999 like pyte."""
    if not params:
        return ()
    out = []
    for part in params.split(";"):
        head = part.split(":", 1)[0]
        out.append(min(int(head), 9999) if head else 0)
    return tuple(out)


@lru_cache(maxsize=1024)
def _sgr_params(params: str) -> tuple[int | tuple[int, ...], ...]:
    """SGR parameters; a colon group becomes a tuple (`38:2::1:2:3` → (38, 2, 0, 1, 2, 3))."""
    if not params:
        return (0,)
    out: list[int | tuple[int, ...]] = []
    for part in params.split(";"):
        if ":" in part:
            out.append(tuple(int(x) if x else 0 for x in part.split(":")))
        else:
            out.append(int(part) if part else 0)
    return tuple(out)


# --- the convenience wrapper --------------------------------------------------------------


class Emulator:
    """A screen and its parser: what the console widget drives.

    Args:
        columns, lines: initial size.
        scrollback: rows kept after they scroll off (≥ 10,000 by default).
        reply: receives the terminal's answers to the guest's queries; send them to the guest.
    """

    def __init__(
        self,
        columns: int = 80,
        lines: int = 24,
        *,
        scrollback: int = 10_000,
        reply: Callable[[bytes], None] | None = None,
    ) -> None:
        self.screen = TerminalScreen(columns, lines, scrollback=scrollback, reply=reply)
        self.parser = TerminalParser(self.screen)
        self.bytes_fed = 0

    def feed(self, data: bytes) -> None:
        """Parse `data`. Never raises: a terminal must survive whatever the line carries."""
        self.bytes_fed += len(data)
        try:
            self.parser.feed(data)
        except Exception:  # a bug in the parser itself: reset it rather than die
            self.parser.errors += 1
            self.parser._state = _GROUND

    def set_reply(self, reply: Callable[[bytes], None] | None) -> None:
        self.screen._reply = reply

    # --- size and modes ------------------------------------------------------------------

    @property
    def columns(self) -> int:
        return self.screen.columns

    @property
    def lines(self) -> int:
        return self.screen.lines

    def resize(self, columns: int, lines: int) -> None:
        self.screen.resize(lines, columns)

    @property
    def cursor(self) -> tuple[int, int]:
        """(x, y), always on screen (pending wrap shows on the last column)."""
        s = self.screen
        return min(s.cursor.x, s.columns - 1), min(s.cursor.y, s.lines - 1)

    @property
    def cursor_visible(self) -> bool:
        return self.screen.cursor_visible

    @property
    def app_cursor(self) -> bool:
        return self.screen.app_cursor

    @property
    def app_keypad(self) -> bool:
        return self.screen.app_keypad

    @property
    def bracketed_paste(self) -> bool:
        return self.screen.bracketed_paste

    @property
    def mouse_tracking(self) -> bool:
        return self.screen.mouse_tracking

    @property
    def mouse_mode(self) -> int:
        return self.screen.mouse_mode

    @property
    def mouse_sgr(self) -> bool:
        return self.screen.mouse_sgr

    @property
    def alternate_screen(self) -> bool:
        return self.screen.in_alternate_screen

    @property
    def title(self) -> str:
        return self.screen.title

    # --- reading -------------------------------------------------------------------------

    @property
    def scrollback(self) -> Scrollback:
        return self.screen.scrollback

    def take_dirty(self) -> set[int]:
        """Rows changed since the last call (and forget them)."""
        dirty = self.screen.dirty
        rows = {y for y in dirty if 0 <= y < self.screen.lines}
        dirty.clear()
        return rows

    def row(self, y: int, *, with_cursor: bool = False) -> Row:
        """Visible row `y`; with the cursor cell marked when asked and the cursor is there."""
        x, cy = self.cursor
        cursor_x = x if with_cursor and cy == y and self.cursor_visible else -1
        return self.screen.row(y, cursor_x)

    def screen_lines(self) -> list[str]:
        return self.screen.text_lines()

    def screen_text(self) -> str:
        return "\n".join(self.screen_lines())

    def output_lines(self) -> list[str]:
        """Scrollback then screen, trailing blank lines dropped: the session's output."""
        lines = self.scrollback.lines()
        lines.extend(self.screen_lines())
        while lines and not lines[-1].strip():
            lines.pop()
        return [line.rstrip() for line in lines]
