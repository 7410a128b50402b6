"""A table of rows keyed by a stable identity, whose every cell is plain, inert text.

The widget knows nothing of Kubernetes: a screen hands it column names and, per row, a key
(a uid) with a list of strings. It is a Line-API widget (a `ScrollView` drawing one `Strip`
per visible line, as Toolong draws log lines) over its own row model, because Textual's
DataTable costs O(rows) per removal and per shrinking cell (textual-notes §2.6), which
makes one watch tick at 10,000 VMs take most of a second.

    set_columns(names, sort_by=..., hide_order=...)   upsert(key, cells, styles)
    remove(key)   clear()   keys()   visible_keys()   cell(key, column)   row_text(key)
    set_filter(predicate)   set_sort(columns, reverse, key)   cursor_key   marked_keys

Costs: `upsert` of a row whose filter result and sort key did not change is O(columns) and
redraws one line (only when it is on screen). A row that appears, vanishes or moves marks
the order dirty; the order (an index list of keys: filtered, then sorted on cached per-row
sort keys) is rebuilt once per batch, not once per row. A filter keystroke walks a cached
list of (key, search text) pairs, only the last hits when it narrows the last substring,
and redraws the lines only when the rows on screen change. Column widths are kept as a count
of rows per width, so a shrinking cell never re-measures the column. Drawing is
O(visible lines) with an LRU cache of rendered lines keyed by (row key, row version, ...).

Cells come from the cluster and are untrusted: a VM called `[bold red]x[/]` or one holding
escape bytes must show literally. Cells are never parsed as markup, and control characters
are swapped for visible stand-ins before they reach the terminal.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import ne, or_
from typing import Any, ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.errors import StyleSyntaxError
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.inputs import keys_follow_focus

# Unicode characters that reorder or break text (bidi overrides and isolates, line and
# paragraph separators): harmless to the terminal but able to make a cell lie about its
# content ("Trojan Source"), so they are shown as U+FFFD too.
_SPOOFING = frozenset(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x2028, 0x2029]
)
REPLACEMENT = "\ufffd"
ELLIPSIS = "…"
MARKER = "●"  # drawn in the gutter of a marked row
GUTTER = 2  # marker + space, always reserved so marking never shifts the columns
GAP = 2  # spaces between columns
_ABSENT = object()  # in _moved: a row not placed in the sorted order yet
MAX_COLUMN_WIDTH = 40  # a 63-character VM name should not push every other column away

# (key, cells, casefolded search text) -> keep the row?
RowFilter = Callable[[str, tuple[str, ...], str], bool]
# (column name, cell text) -> something comparable with every other result for that column
SortKey = Callable[[str, str], Any]


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        # Caret notation (ESC -> ^[, NUL -> ^@) as `cat -v` prints it: recognisable, inert.
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    if 0x80 <= code <= 0x9F or code in _SPOOFING:
        # C1 controls (e.g. CSI as one byte, U+009B) act like ESC sequences on some terminals.
        return REPLACEMENT
    return char


# One character class for everything `_visible` rewrites: a regex search runs in C, where a
# per-character Python test costs ~20 us a cell and dominated loading 10,000 rows.
_UNSAFE_RE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _needs_cleaning(value: str) -> bool:
    return _UNSAFE_RE.search(value) is not None


def plain(value: object) -> str:
    """`value` as a string with every control or spoofing character made visible and inert."""
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE_RE.search(text) is None:  # the common case: no copy, no per-char work
        return text
    return _UNSAFE_RE.sub(lambda match: _visible(match.group()), text)


def _width(text: str) -> int:
    """Cells `text` takes on screen; ASCII (nearly every cell) is its length."""
    return len(text) if text.isascii() else cell_len(text)


def plain_cell(value: object, style: str | None = None) -> Text:
    """A cell as a Rich Text that can never be read as markup or terminal control."""
    return Text(plain(value), style=style or "", no_wrap=True, overflow="ellipsis", end="")


def search_text(cells: Iterable[str]) -> str:
    """The text a filter searches: cells casefolded, joined by a newline.

    Sanitised cells cannot hold a newline (it shows as `^J`), so a match never spans two
    cells by accident, and `^`/`$` with re.MULTILINE anchor at cell edges.
    """
    return "\n".join(cells).casefold()


def _default_sort_key(_column: str, text: str) -> Any:
    return text.casefold()


@lru_cache(maxsize=256)
def _parse_style(name: str) -> Style:
    try:
        return Style.parse(name)
    except StyleSyntaxError:
        # A screen bug, not the cluster's text (styles never come from the cluster): draw plain.
        return Style.null()


def _fit(text: str, width: int) -> str:
    """`text` padded or cut to exactly `width` cells, an ellipsis marking a cut."""
    length = cell_len(text)
    if length == width:
        return text
    if length < width:
        return text + " " * (width - length)
    if width <= 0:
        return ""
    return set_cell_size(text, width - 1) + ELLIPSIS


class Column(NamedTuple):
    """A column as DataTable callers knew it: `label` is its name."""

    label: str
    key: str


@dataclass(slots=True)
class _Row:
    cells: tuple[str, ...]
    styles: tuple[str | None, ...]
    version: int
    text: str  # search_text(cells)
    sort_key: Any


class ResourceTable(ScrollView, can_focus=True):
    """Rows by stable key; updates redraw only the lines that changed and are visible."""

    DEFAULT_CSS = """
    ResourceTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .resource-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .resource-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .resource-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .resource-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .resource-table--marked {
            color: $warning;
            text-style: bold;
        }
        & > .resource-table--sorted {
            color: $accent;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "resource-table--header",
        "resource-table--cursor",
        "resource-table--marked",
        "resource-table--sorted",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        # k9s/vi users move with j/k, jump with g/G and page with ctrl+f/ctrl+b.
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("home,g", "cursor_top", "Top", show=False),
        Binding("end,G", "cursor_bottom", "Bottom", show=False),
        Binding("enter", "select", "Select", show=False),
        Binding("space", "toggle_mark", "Mark", show=False),
        Binding("ctrl+backslash", "clear_marks", "Clear marks", show=False),
    ]

    # Style names a screen may use for cells besides any Rich style ("bold red").
    STYLE_NAMES: ClassVar[dict[str, str]] = {
        "running": "bold green",
        "transitional": "yellow",
        "stopped": "dim",
        "error": "bold red",
        "warning": "bold yellow",
    }

    class Highlighted(Message):
        """The cursor moved to another row (`key` None: the table is empty)."""

        def __init__(self, table: ResourceTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> ResourceTable:
            return self.table

    class Selected(Message):
        """The user chose the row under the cursor (enter, or a click on the cursor row)."""

        def __init__(self, table: ResourceTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> ResourceTable:
            return self.table

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._columns: list[str] = []
        self._rows: dict[str, _Row] = {}
        # Per column, how many rows have a cell of each width: the column's width is the
        # largest key, so a shrinking cell costs a dict update, not a re-measure.
        self._width_counts: list[Counter[int]] = []
        self._widths: list[int] | None = None  # None: recompute before drawing
        self._measured: list[int] = []  # the last widths laid out
        self._hide_order: list[int] = []
        self._max_widths: list[int] = []
        self._shown_columns: list[int] = []
        self._layout_width = -1  # the viewport width the shown columns were chosen for
        self._layout_gen = 0  # bumped whenever the geometry of every line changes
        self._filter: RowFilter | None = None
        self._filter_keys: set[str] | frozenset[str] | None = None  # what _filter keeps
        self._contains: str | None = None
        self._pattern: re.Pattern[str] | None = None
        self._invert = False
        self._passing: set[str] | None = None  # keys the filter keeps; None: all
        self._sort_columns: list[int] = []
        self._sort_reverse = False
        self._sort_key: SortKey = _default_sort_key
        # Every row key in ascending sort order, filtered or not, and beside it each one's
        # sort key as it was when placed: a filter keystroke only walks it (O(rows)). Rows
        # that come, go or change sort keys are noted in _moved (key -> the sort key it is
        # placed under, or _ABSENT) and moved by bisection when the batch is applied; a
        # full sort (set_sort, or most rows moved) only when _resort says so.
        self._sorted_all: list[str] = []
        self._sorted_sk: list[Any] = []
        self._moved: dict[str, Any] = {}
        self._resort = False
        # Where each row was last drawn (its virtual line), so an update finds its line in
        # O(1); stale entries only cost a redraw of a line that did not need one.
        self._drawn: dict[str, int] = {}
        self._order: list[str] = []  # what is shown: _sorted_all through the filter
        self._order_dirty = False
        self._passing_stale = False  # _passing to be derived from the next order
        # _passing is set(_order), built only when something needs it (an upsert, a
        # remove): a filter keystroke then never builds a 10,000-key set.
        self._passing_lazy = False
        # (key, search text) per row in _sorted_all's order, kept while no row's text and
        # no row's place changes (_data_gen counts those changes): the filter walks this
        # list, not the row dict (~5x faster at 10,000 rows, whose objects are scattered
        # among the manifests). _hits are the pairs the last pure substring filter kept,
        # (needle, invert) it was: a keystroke that only narrows that filter (one more
        # character; one less under `!`) tests those rows alone.
        self._data_gen = 0
        self._pairs: list[tuple[str, str]] | None = None
        self._hits: list[tuple[str, str]] = []
        self._hits_gen = -1
        self._hits_needle: tuple[str, bool] | None = None
        # A row's content changed while the order was dirty (its line was not redrawn
        # then), or the header changed: the next order redraws every line.
        self._repaint_all = False
        self._style_cache: dict[str, Style] = {}
        self._rebuild_scheduled = False
        self._cursor = 0
        self._cursor_key: str | None = None
        self._marked: set[str] = set()
        self._line_cache: LRUCache[tuple[Any, ...], Strip] = LRUCache(1024)
        self._update_count = 0  # cells changed by upsert: lets tests see skipped no-ops

    # ---- columns --------------------------------------------------------------------

    def set_columns(
        self,
        names: Sequence[str],
        *,
        sort_by: Sequence[str] = (),
        hide_order: Sequence[str] = (),
        max_widths: Mapping[str, int] | None = None,
    ) -> None:
        """Replace the columns (and drop all rows).

        Rows stay ordered by the `sort_by` columns. When the columns do not fit the width,
        those in `hide_order` are hidden, first one first, before scrolling sideways.
        `max_widths` caps columns below the table-wide MAX_COLUMN_WIDTH (longer cells end
        in an ellipsis), so a column of rare long values leaves room for the others.
        """
        caps = max_widths or {}
        self._max_widths = [caps.get(plain(n), MAX_COLUMN_WIDTH) for n in names]
        self._columns = [plain(n) for n in names]
        self._sort_columns = [self._column_index(n) for n in sort_by]
        self._sort_reverse = False
        self._hide_order = [self._column_index(n) for n in hide_order]
        self.clear()

    @property
    def column_names(self) -> list[str]:
        """Every column's name, hidden ones included."""
        return list(self._columns)

    @property
    def ordered_columns(self) -> list[Column]:
        """The columns as DataTable exposed them (`label`), for callers written against it."""
        return [Column(name, str(i)) for i, name in enumerate(self._columns)]

    @property
    def shown_columns(self) -> list[str]:
        """The columns drawn at the current width (narrow terminals hide some)."""
        self._ensure_layout()
        return [self._columns[i] for i in self._shown_columns]

    def _column_index(self, name: str) -> int:
        try:
            return self._columns.index(name)
        except ValueError:
            raise KeyError(f"no column {name!r}") from None

    # ---- rows -----------------------------------------------------------------------

    def upsert(
        self, key: str, cells: Sequence[str], styles: Sequence[str | None] | None = None
    ) -> None:
        """Add the row `key`, or update it; a row that did not change costs a comparison."""
        if len(cells) != len(self._columns):
            raise ValueError(f"{len(cells)} cells for {len(self._columns)} columns")
        new_styles = tuple(styles) if styles is not None else (None,) * len(cells)
        if len(new_styles) != len(cells):
            raise ValueError(f"{len(new_styles)} styles for {len(cells)} cells")
        try:
            # One C-speed scan of the whole row; nearly every row has nothing to clean.
            clean = _UNSAFE_RE.search("".join(cells)) is None
        except TypeError:  # a cell that is not a str
            clean = False
        new_cells = tuple(cells) if clean else tuple(map(plain, cells))
        old = self._rows.get(key)
        if old is not None and old.cells == new_cells and old.styles == new_styles:
            return
        if old is None:
            for counts, text in zip(self._width_counts, new_cells, strict=True):
                counts[_width(text)] += 1
            self._invalidate_widths()
            self._update_count += len(new_cells)
        else:
            for index, (before, after) in enumerate(zip(old.cells, new_cells, strict=True)):
                if before != after:
                    self._count_width(index, before, after)
            self._update_count += sum(
                map(or_, map(ne, old.cells, new_cells), map(ne, old.styles, new_styles))
            )
        text = search_text(new_cells)
        if old is None or old.text != text:
            self._touch()
        passes = self._passes(key, new_cells, text)
        passing = self._passing_keys()
        old_passes = old is not None and (passing is None or key in passing)
        if passing is not None:
            if passes:
                passing.add(key)
            else:
                passing.discard(key)
        sort_key = self._row_sort_key(new_cells)
        version = old.version + 1 if old is not None else 0
        self._rows[key] = _Row(new_cells, new_styles, version, text, sort_key)
        if old is None:
            self._moved.setdefault(key, _ABSENT)
            self._mark_order_dirty()
        elif old.sort_key != sort_key:
            self._moved.setdefault(key, old.sort_key)
            self._mark_order_dirty()
        elif old_passes != passes:
            self._mark_order_dirty()
        elif passes and not self._order_dirty:
            self._refresh_key(key)
        if self._order_dirty:
            self._repaint_all = True  # its line is drawn with the new order

    def update_cell(self, key: str, column: str, value: str) -> None:
        """Change one cell of row `key` (its style stays): `upsert` with the other cells."""
        row = self._rows[key]
        cells = list(row.cells)
        cells[self._column_index(column)] = value
        self.upsert(key, cells, row.styles)

    def window_keys(self) -> list[str]:
        """The keys of the rows on screen now, top to bottom."""
        self._ensure_order()
        if not self.is_mounted:
            return []
        top = round(self.scroll_y)
        return self._order[top : top + self._data_height]

    def remove(self, key: str) -> None:
        """Remove row `key`; removing a row that is not there is not an error."""
        old = self._rows.pop(key, None)
        if old is None:
            return
        for counts, text in zip(self._width_counts, old.cells, strict=True):
            width = _width(text)
            counts[width] -= 1
            if not counts[width]:
                del counts[width]
                self._invalidate_widths()
        self._marked.discard(key)
        passing = self._passing_keys()
        if passing is not None:
            passing.discard(key)
        self._touch()
        self._moved.setdefault(key, old.sort_key)
        self._drawn.pop(key, None)
        self._mark_order_dirty()

    def clear(self) -> None:
        """Drop all rows and marks; keep the columns, the filter and the sort."""
        self._rows.clear()
        self._width_counts = [Counter() for _ in self._columns]
        self._widths = None
        self._marked.clear()
        self._passing_lazy = False
        if self._passing is not None:
            self._passing = set()
        self._touch()
        self._sorted_all = []
        self._sorted_sk = []
        self._moved.clear()
        self._resort = False
        self._drawn.clear()
        self._order = []
        self._cursor = 0
        self._cursor_key = None
        self._order_dirty = False
        self._line_cache.clear()
        self._layout_gen += 1
        self._update_virtual_size()
        self.refresh()

    def keys(self) -> Iterator[str]:
        """The keys of every row held (filtered out or not), in no particular order."""
        return iter(list(self._rows))

    def visible_keys(self) -> list[str]:
        """The keys of the rows the filter keeps, in display order."""
        self._ensure_order()
        return list(self._order)

    @property
    def row_count(self) -> int:
        """How many rows are shown (the filter applied)."""
        self._ensure_order()
        return len(self._order)

    @property
    def total_count(self) -> int:
        """How many rows the table holds, filtered out or not."""
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def cell(self, key: str, column: str) -> str:
        """The text of row `key`, column `column` (after sanitising)."""
        try:
            return self._rows[key].cells[self._columns.index(column)]
        except (KeyError, ValueError) as exc:
            raise KeyError(f"{key!r}/{column!r}") from exc

    def row_text(self, key: str) -> list[str]:
        """All cells of row `key` as shown."""
        return list(self._rows[key].cells)

    def row_version(self, key: str) -> int:
        """How many times row `key` changed since it was added (0: never)."""
        return self._rows[key].version

    def _count_width(self, index: int, before: str, after: str) -> None:
        counts = self._width_counts[index]
        old_width, new_width = _width(before), _width(after)
        if old_width == new_width:
            return
        counts[old_width] -= 1
        if not counts[old_width]:
            del counts[old_width]
        counts[new_width] += 1
        widths = self._widths
        if widths is not None and (new_width > widths[index] or old_width not in counts):
            self._invalidate_widths()  # the column may have grown or shrunk: measure lazily

    # ---- filter and sort ------------------------------------------------------------

    def set_filter(
        self,
        predicate: RowFilter | None = None,
        *,
        contains: str | None = None,
        pattern: re.Pattern[str] | None = None,
        invert: bool = False,
        passing: Iterable[str] | None = None,
    ) -> None:
        """Show only the rows that pass; no arguments: every row.

        The text test: `contains` keeps rows whose casefolded search text (see
        `search_text`) holds it, `pattern` rows it finds a match in (`invert`: rows that do
        not). `predicate(key, cells, search_text)` must agree as well. `passing`, when the
        caller knows it, is the set of keys `predicate` keeps now (a label selector over
        interned label sets is far cheaper than a call per row): the bulk pass then tests
        membership, and `predicate` is called only for rows that change.

        The bulk pass is one comprehension over the sorted keys with no Python call per
        row: at 10,000 rows that is the difference between ~1 ms and ~8 ms per keystroke.
        """
        self._filter = predicate
        self._contains = contains.casefold() if contains else None
        self._pattern = pattern
        self._invert = invert
        rows = self._rows
        if predicate is None:
            self._filter_keys = None
        elif passing is not None:
            self._filter_keys = passing if isinstance(passing, (set, frozenset)) else set(passing)
        else:
            test = predicate
            self._filter_keys = {k for k, r in rows.items() if test(k, r.cells, r.text)}
        self._passing_lazy = False
        if self._contains is None and pattern is None and predicate is None:
            self._passing = None
        else:
            # Filtered while the order is rebuilt, in one pass over the sorted keys.
            self._passing = set()
            self._passing_stale = True
        self._mark_order_dirty(now=True)

    def _passes(self, key: str, cells: tuple[str, ...], text: str) -> bool:
        needle = self._contains
        if needle is not None and (needle in text) == self._invert:
            return False
        pattern = self._pattern
        if pattern is not None and (pattern.search(text) is not None) == self._invert:
            return False
        return self._filter is None or bool(self._filter(key, cells, text))

    def set_sort(
        self, columns: Sequence[str], *, reverse: bool = False, key: SortKey | None = None
    ) -> None:
        """Order rows by `columns` (first decides, the rest break ties), `key` per cell."""
        self._sort_columns = [self._column_index(n) for n in columns]
        self._sort_reverse = reverse
        if key is not None:
            self._sort_key = key
        for row in self._rows.values():
            row.sort_key = self._row_sort_key(row.cells)
        self._resort = True
        self._touch()
        self._repaint_all = True
        self._layout_gen += 1  # the header shows the sort column
        self._mark_order_dirty(now=True)

    @property
    def sort_columns(self) -> list[str]:
        return [self._columns[i] for i in self._sort_columns]

    @property
    def sort_reverse(self) -> bool:
        return self._sort_reverse

    def _row_sort_key(self, cells: tuple[str, ...]) -> Any:
        if not self._sort_columns:
            return None
        sort_key = self._sort_key
        return tuple(sort_key(self._columns[i], cells[i]) for i in self._sort_columns)

    def _mark_order_dirty(self, now: bool = False) -> None:
        self._order_dirty = True
        if now:
            self._ensure_order()
            return
        self._schedule_update()

    def _invalidate_widths(self) -> None:
        self._widths = None
        self._schedule_update()

    def _schedule_update(self) -> None:
        # A batch of upserts rebuilds the order and the layout once, after the batch, and
        # before the next frame: so no line is drawn from a half-applied batch.
        if not self._rebuild_scheduled and self.is_mounted:
            self._rebuild_scheduled = True
            self.call_later(self._scheduled_update)

    def _scheduled_update(self) -> None:
        self._rebuild_scheduled = False
        self._ensure_order()
        self._ensure_layout()

    def _touch(self) -> None:
        """A row's search text or place changed: the cached pairs and hits are stale."""
        self._data_gen += 1
        self._pairs = None

    def _passing_keys(self) -> set[str] | None:
        """The keys the filter keeps (None: all), built from the order when it is lazy."""
        if self._passing_lazy:
            self._passing_lazy = False
            self._passing = set(self._order)
        return self._passing

    def _sorted_pairs(self) -> list[tuple[str, str]]:
        pairs = self._pairs
        if pairs is None:
            rows = self._rows
            pairs = self._pairs = [(k, rows[k].text) for k in self._sorted_all]
        return pairs

    def _filter_hits(self) -> list[tuple[str, str]]:
        """The (key, text) pairs, in ascending order, that pass the filter: comprehensions,
        no call per row; over the last hits alone when the filter only narrowed."""
        needle, pattern, invert = self._contains, self._pattern, self._invert
        allowed = self._filter_keys
        pure = needle is not None and pattern is None and allowed is None
        base: list[tuple[str, str]] | None = None
        if pure and self._hits_needle is not None and self._hits_gen == self._data_gen:
            assert needle is not None
            old, old_invert = self._hits_needle
            # "web" keeps a subset of what "we" kept; "!web" a subset of what "!webs" kept.
            if old_invert == invert and ((needle in old) if invert else (old in needle)):
                base = self._hits
        pairs = base if base is not None else self._sorted_pairs()
        if allowed is not None:
            pairs = [p for p in pairs if p[0] in allowed]
        if pattern is not None:
            search = pattern.search
            if invert:
                pairs = [p for p in pairs if search(p[1]) is None]
            else:
                pairs = [p for p in pairs if search(p[1]) is not None]
        elif needle is not None:
            if invert:
                pairs = [p for p in pairs if needle not in p[1]]
            else:
                pairs = [p for p in pairs if needle in p[1]]
        self._hits, self._hits_gen = pairs, self._data_gen
        self._hits_needle = (needle, invert) if pure and needle is not None else None
        return pairs

    def _update_sorted(self) -> None:
        """Bring _sorted_all up to date: move the rows in _moved, or sort everything."""
        rows, moved = self._rows, self._moved
        self._moved = {}
        self._touch()
        if not self._sort_columns:
            self._resort = False
            self._sorted_all = list(rows)  # insertion order
            self._sorted_sk = [None] * len(self._sorted_all)
            return
        if not self._resort and len(moved) <= max(64, len(rows) // 8):
            keys, sks = self._sorted_all, self._sorted_sk
            try:
                for key, placed in moved.items():
                    if placed is _ABSENT:
                        continue
                    i = bisect_left(sks, placed)
                    while keys[i] != key:  # rows with equal sort keys: find this one
                        i += 1
                        if sks[i] != placed:
                            raise LookupError(key)
                    del keys[i], sks[i]
                for key in moved:
                    row = rows.get(key)
                    if row is not None:
                        i = bisect_right(sks, row.sort_key)
                        keys.insert(i, key)
                        sks.insert(i, row.sort_key)
                return
            except (LookupError, TypeError):  # a bug or an odd sort key: sort it all
                pass
        self._resort = False
        keys = sorted(rows, key=lambda k: rows[k].sort_key)
        self._sorted_all = keys
        self._sorted_sk = [rows[k].sort_key for k in keys]

    def _ensure_order(self) -> None:
        if not self._order_dirty:
            return
        self._order_dirty = False
        passing = self._passing_keys()  # from the order still in place, if lazy
        if self._resort or self._moved:
            self._update_sorted()
        if self._passing_stale:
            self._passing_stale = False
            order = [pair[0] for pair in self._filter_hits()]
            self._passing_lazy = True  # set(order), when something needs it
        elif passing is None:
            order = list(self._sorted_all)
        else:
            order = [key for key in self._sorted_all if key in passing]
        if self._sort_reverse:
            order.reverse()
        old_order, old_cursor = self._order, self._cursor
        self._order = order
        # Keep the cursor on the same resource, not on the same line number.
        before = self._cursor_key
        position = self._index_of(before) if before is not None else None
        if position is not None:
            self._cursor = position
        else:
            self._cursor = max(0, min(self._cursor, len(order) - 1))
        self._cursor_key = order[self._cursor] if order else None
        # Redraw the lines only when what they show changed: a filter keystroke that
        # keeps the rows on screen (typing a prefix every name shares) redraws nothing
        # but the scrollbar; Textual restyles every line of a full refresh (~5 ms).
        repaint = (
            self._repaint_all
            or self._cursor != old_cursor
            or self._cursor_key != before
            or not self._same_window(old_order, order)
        )
        self._repaint_all = False
        if repaint:
            self._drawn.clear()  # every line is drawn again (refresh below)
        self._update_virtual_size(repaint=repaint)
        if repaint:
            self.refresh()
        if self._cursor_key != before:
            self.post_message(self.Highlighted(self, self._cursor_key))
        self._scroll_cursor_into_view()

    # ---- cursor and marks -----------------------------------------------------------

    def _same_window(self, old: list[str], new: list[str]) -> bool:
        """Whether the rows on screen are the same in both orders (same lines)."""
        if not self.is_mounted:
            return False
        top = round(self.scroll_y)
        end = top + self._data_height
        return old[top:end] == new[top:end]

    def _index_of(self, key: str) -> int | None:
        """Where row `key` is among the shown rows (a C-speed scan), None if not shown."""
        row = self._rows.get(key)
        if row is None:
            return None
        if self._passing_lazy:
            # No set to ask: the row's own test says whether the scan can find it.
            if not self._passes(key, row.cells, row.text):
                return None
        elif self._passing is not None and key not in self._passing:
            return None
        try:
            return self._order.index(key)
        except ValueError:
            return None

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or None when no row is shown."""
        self._ensure_order()
        return self._cursor_key

    @property
    def cursor_row(self) -> int:
        """The cursor's line among the shown rows (0 at the top)."""
        self._ensure_order()
        return self._cursor

    def move_cursor_to_key(self, key: str) -> bool:
        """Put the cursor on row `key`; False when it is not shown."""
        self._ensure_order()
        position = self._index_of(key)
        if position is None:
            return False
        self._move_cursor(position)
        return True

    @property
    def marked_keys(self) -> frozenset[str]:
        """The rows the user marked (space); actions apply to all of them."""
        return frozenset(self._marked)

    def set_marked(self, key: str, marked: bool = True) -> None:
        """Mark or unmark row `key` (rows not held are ignored)."""
        if key not in self._rows:
            return
        if marked:
            self._marked.add(key)
        else:
            self._marked.discard(key)
        self._refresh_key(key)

    def clear_marks(self) -> None:
        """Unmark every row."""
        marked, self._marked = self._marked, set()
        for key in marked:
            self._refresh_key(key)

    def _move_cursor(self, position: int) -> None:
        self._ensure_order()
        if not self._order:
            return
        position = max(0, min(position, len(self._order) - 1))
        before_key, before = self._cursor_key, self._cursor
        self._cursor = position
        self._cursor_key = self._order[position]
        self.refresh_line(before + 1)
        self.refresh_line(position + 1)
        self._scroll_cursor_into_view()
        if self._cursor_key != before_key:
            self.post_message(self.Highlighted(self, self._cursor_key))

    @property
    def _data_height(self) -> int:
        # Lines for rows: the viewport minus the header (and a horizontal scrollbar).
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        if not self.is_mounted:
            return
        top = round(self.scroll_y)
        height = self._data_height
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._move_cursor(self.cursor_row - self._data_height)

    def action_page_down(self) -> None:
        self._move_cursor(self.cursor_row + self._data_height)

    def action_cursor_top(self) -> None:
        self._move_cursor(0)

    def action_cursor_bottom(self) -> None:
        self._move_cursor(self.row_count - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def action_toggle_mark(self) -> None:
        """Mark or unmark the cursor row and step down, so repeated space marks a run."""
        key = self.cursor_key
        if key is None:
            return
        self.set_marked(key, key not in self._marked)
        self._move_cursor(self._cursor + 1)

    def action_clear_marks(self) -> None:
        self.clear_marks()

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        position = round(self.scroll_y) + offset.y - 1
        if position >= self.row_count:
            return
        if position == self._cursor and event.chain >= 2:
            self.action_select()
        else:
            self._move_cursor(position)

    async def _on_key(self, event: events.Key) -> None:
        # Keys of one read in typing order, and after `/` into the filter (widgets/inputs.py).
        if await keys_follow_focus(self, event):
            return
        await super()._on_key(event)

    # ---- drawing --------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._forget_styles()

    def _on_focus(self, event: events.Focus) -> None:
        self._forget_styles()

    def _on_blur(self, event: events.Blur) -> None:
        self._forget_styles()

    def _forget_styles(self) -> None:
        self._line_cache.clear()
        self._style_cache.clear()
        self.refresh()

    def _style(self, part: str) -> Style:
        """The widget's style ("") or a component's, looked up once per style change."""
        style = self._style_cache.get(part)
        if style is None:
            style = self.rich_style
            if part:
                style = self.get_component_rich_style(part)
            self._style_cache[part] = style
        return style

    def _on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_cursor_into_view()

    def _refresh_key(self, key: str) -> None:
        # Only a row on screen needs drawing again: render_line notes where each row was
        # drawn, which needs no key -> position map rebuilt on every reorder.
        if not self.is_mounted:
            return
        if self._order_dirty:
            self._repaint_all = True  # drawn with the new order
            return
        line = self._drawn.get(key)
        if line is not None:
            self.refresh_line(line)

    def _ensure_widths(self) -> list[int]:
        if self._widths is None:
            widths = [
                min(cap, max(cell_len(name) + 1, max(counts, default=0)))
                for name, counts, cap in zip(
                    self._columns, self._width_counts, self._max_widths, strict=True
                )
            ]
            if widths != self._measured:
                self._measured = widths
                self._layout_width = -1  # widths changed: choose the shown columns again
            self._widths = widths
        return self._widths

    def _ensure_layout(self, available: int | None = None) -> None:
        widths = self._ensure_widths()
        if available is None:
            available = self.scrollable_content_region.width if self.is_mounted else 0
        if available == self._layout_width:
            return
        self._layout_width = available
        shown = set(range(len(self._columns)))

        def total() -> int:
            return GUTTER + sum(widths[i] for i in shown) + GAP * max(0, len(shown) - 1)

        for index in self._hide_order:
            if available <= 0 or total() <= available:
                break
            shown.discard(index)
        shown_columns = sorted(shown)
        self._shown_columns = shown_columns
        self._layout_gen += 1
        self._update_virtual_size()
        self.refresh()

    def _line_width(self) -> int:
        widths = self._ensure_widths()
        shown = self._shown_columns
        return GUTTER + sum(widths[i] for i in shown) + GAP * max(0, len(shown) - 1)

    def _update_virtual_size(self, repaint: bool = True) -> None:
        if not self.is_mounted:
            return
        self._ensure_layout()
        size = Size(self._line_width(), len(self._order) + 1)
        if size != self.virtual_size:
            # Not `self.virtual_size = size`: that reactive lays out the whole screen, and a
            # layout repaints every widget on it (~9 ms at 160x48) on each filter keystroke.
            # The scrollbars are updated here; if one appears or goes, its own reactive
            # asks for the layout that this then needs.
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
            if repaint:
                self.refresh()

    def render_line(self, y: int) -> Strip:
        """Line `y` of the widget: the header on top, then the rows from the scroll offset."""
        self._ensure_order()
        width = self.scrollable_content_region.width
        self._ensure_layout(width)
        scroll_x, scroll_y = self.scroll_offset
        base = self._style("")
        if y == 0:
            strip = self._header_strip()
        else:
            position = scroll_y + y - 1
            if position >= len(self._order):
                return Strip.blank(width, base)
            key = self._order[position]
            self._drawn[key] = position + 1
            strip = self._row_strip(key, position == self._cursor)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header_strip(self) -> Strip:
        cache_key = ("header", self._layout_gen, self._sort_reverse)
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        style = self._style("") + self._style("resource-table--header")
        sorted_style = style + self._style("resource-table--sorted")
        widths = self._ensure_widths()
        primary = self._sort_columns[0] if self._sort_columns else None
        segments = [Segment(" " * GUTTER, style)]
        for n, index in enumerate(self._shown_columns):
            if n:
                segments.append(Segment(" " * GAP, style))
            name = self._columns[index]
            if index == primary:
                # The sort column says so, and which way: k9s marks it the same way.
                arrow = "↓" if self._sort_reverse else "↑"
                segments.append(Segment(_fit(name + arrow, widths[index]), sorted_style))
            else:
                segments.append(Segment(_fit(name, widths[index]), style))
        strip = Strip(segments, self._line_width())
        self._line_cache[cache_key] = strip
        return strip

    def _row_strip(self, key: str, is_cursor: bool) -> Strip:
        row = self._rows[key]
        marked = key in self._marked
        cache_key = (key, row.version, self._layout_gen, is_cursor, marked)
        cached = self._line_cache.get(cache_key)
        if cached is not None:
            return cached
        style = self._style("")
        if marked:
            style += self._style("resource-table--marked")
        if is_cursor:
            style += self._style("resource-table--cursor")
        widths = self._ensure_widths()
        names = self.STYLE_NAMES
        # One segment per run of equally styled text, not one per cell and gap: Textual's
        # per-line work (styles, colour filters, cropping) goes by segment, and costs far
        # more than building the line.
        segments: list[Segment] = []
        run = [(MARKER if marked else " ") + " " * (GUTTER - 1)]
        run_style = style
        cells, cell_styles = row.cells, row.styles
        for n, index in enumerate(self._shown_columns):
            cell_style = cell_styles[index]
            if cell_style:
                # The cell's colour shows under the cursor too (a red error stays red).
                segment_style = style + _parse_style(names.get(cell_style, cell_style))
            else:
                segment_style = style
            if n:
                if run_style is not style:
                    segments.append(Segment("".join(run), run_style))
                    run, run_style = [], style
                run.append(" " * GAP)
            if segment_style is not run_style:
                segments.append(Segment("".join(run), run_style))
                run, run_style = [], segment_style
            run.append(_fit(cells[index], widths[index]))
        segments.append(Segment("".join(run), run_style))
        strip = Strip([s for s in segments if s.text], self._line_width())
        self._line_cache[cache_key] = strip
        return strip
