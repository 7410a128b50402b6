"""A table of rows keyed by a stable identity, whose every cell is plain, inert text.

The widget knows nothing of Kubernetes: a screen hands it column names and, per row, a key
(a uid) with a list of strings. Its public API is deliberately small so a Line-API table for
10,000+ rows can replace this DataTable-based one without touching screens:

    set_columns(names, sort_by=...)    upsert(key, cells, styles)    remove(key)    clear()
    cursor_key                          keys()                        cell(key, column)

Cells come from the cluster and are untrusted: a VM called `[bold red]x[/]` or one holding
escape bytes must show literally. So cells are always `rich.text.Text` (never markup), and
control characters are swapped for visible stand-ins before they reach the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist
from typing_extensions import Self

# Unicode characters that reorder or break text (bidi overrides and isolates, line and
# paragraph separators): harmless to the terminal but able to make a cell lie about its
# content ("Trojan Source"), so they are shown as U+FFFD too.
_SPOOFING = frozenset(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x2028, 0x2029]
)
REPLACEMENT = "\ufffd"


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


def _needs_cleaning(value: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or ord(c) in _SPOOFING for c in value)


def plain(value: object) -> str:
    """`value` as a string with every control or spoofing character made visible and inert."""
    text = value if isinstance(value, str) else str(value)
    if not _needs_cleaning(text):  # the common case: no copy, no per-char work
        return text
    return "".join(_visible(c) for c in text)


def plain_cell(value: object, style: str | None = None) -> Text:
    """A table cell that can never be read as markup or terminal control."""
    return Text(plain(value), style=style or "", no_wrap=True, overflow="ellipsis", end="")


class ResourceTable(DataTable):
    """Rows by stable key; updates touch only the cells that changed.

    Use only the methods listed in the module docstring: they are the contract a faster
    implementation will keep. The DataTable underneath is an implementation detail.
    """

    DEFAULT_CSS = """
    ResourceTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        # k9s/vi users move with j/k and jump with g/G; arrows and pgup/pgdn come from DataTable.
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(
            name=name,
            id=id,
            classes=classes,
            cursor_type="row",
            zebra_stripes=False,
            cursor_foreground_priority="renderable",
        )
        self._column_names: list[str] = []
        self._sort_by: list[int] = []
        # What each row currently shows, to skip updates that change nothing.
        self._shown: dict[str, tuple[tuple[str, str | None], ...]] = {}
        self._sort_pending = False

    # ---- the public API -------------------------------------------------------------

    def set_columns(self, names: Sequence[str], *, sort_by: Sequence[str] = ()) -> None:
        """Replace the columns (and drop all rows); rows stay ordered by `sort_by` columns."""
        self.clear(columns=True)
        self._column_names = list(names)
        self._sort_by = [self._column_names.index(n) for n in sort_by]
        for index, column in enumerate(self._column_names):
            self.add_column(plain_cell(column), key=str(index))

    def upsert(
        self, key: str, cells: Sequence[str], styles: Sequence[str | None] | None = None
    ) -> None:
        """Add the row `key`, or update the cells of it that changed."""
        if len(cells) != len(self._column_names):
            raise ValueError(f"{len(cells)} cells for {len(self._column_names)} columns")
        styles = list(styles) if styles is not None else [None] * len(cells)
        if len(styles) != len(cells):
            raise ValueError(f"{len(styles)} styles for {len(cells)} cells")
        new = tuple((plain(c), s) for c, s in zip(cells, styles, strict=True))
        old = self._shown.get(key)
        if old == new:
            return
        self._shown[key] = new
        if old is None:
            self.add_row(*(plain_cell(c, s) for c, s in new), key=key)
            self._schedule_sort()
            return
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            if before == after:
                continue
            column_key = str(index)
            # Growing a column is cheap; re-measuring it on shrink is O(rows), so a column
            # only grows (see textual-notes §2.6).
            wider = cell_len(after[0]) > self.columns[column_key].content_width
            self.update_cell(key, column_key, plain_cell(*after), update_width=wider)
            if index in self._sort_by and before[0] != after[0]:
                self._schedule_sort()

    def remove(self, key: str) -> None:
        """Remove row `key`; removing a row that is not there is not an error."""
        if self._shown.pop(key, None) is None:
            return
        try:
            self.remove_row(key)
        except RowDoesNotExist:  # pragma: no cover - _shown and the table agree
            pass

    def clear(self, columns: bool = False) -> Self:
        """Drop all rows (and the columns too when `columns`)."""
        self._shown.clear()
        if columns:
            self._column_names = []
            self._sort_by = []
        return super().clear(columns=columns)

    def keys(self) -> Iterator[str]:
        """The keys of the rows shown, in no particular order."""
        return iter(self._shown)

    def cell(self, key: str, column: str) -> str:
        """The text shown in row `key`, column `column` (after sanitising)."""
        try:
            return self._shown[key][self._column_names.index(column)][0]
        except (KeyError, ValueError) as exc:
            raise CellDoesNotExist(f"{key!r}/{column!r}") from exc

    def row_text(self, key: str) -> list[str]:
        """All cells of row `key` as shown."""
        return [text for text, _ in self._shown[key]]

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    # ---- keeping order --------------------------------------------------------------

    def _schedule_sort(self) -> None:
        # Many upserts arrive in one batch; sort once after them, not once per row.
        if self._sort_by and not self._sort_pending:
            self._sort_pending = True
            self.call_later(self._sort_rows)

    def _sort_rows(self) -> None:
        self._sort_pending = False
        if not self.row_count:
            return
        selected = self.cursor_key
        columns = [str(i) for i in self._sort_by]

        def sort_key(values: object) -> tuple[str, ...]:
            cells = values if isinstance(values, tuple) else (values,)
            return tuple(cell.plain.casefold() for cell in cells)  # type: ignore[union-attr]

        self.sort(*columns, key=sort_key)
        # Keep the cursor on the same resource, not on the same line number.
        if selected is not None and selected in self._shown:
            self.move_cursor(row=self.get_row_index(selected), animate=False, scroll=False)
