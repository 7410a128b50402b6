"""Filtering and ordering list rows the way k9s does: pure functions, no Textual.

The `/` filter of a list takes, like k9s:

- plain text: a case-insensitive substring of any visible cell (`web`, `vm-prod`);
- a regular expression when the text holds a regex metacharacter (`. * + ? [ ] ( ) { } | ^
  $ \\`), matched case-insensitively against every visible cell, `^`/`$` at cell edges
  (`^web-\\d+$`, `Running|Starting`). A plain name with a dot (`10.0.0.5`) is then a regex
  too, which only widens the match by the odd character, as in k9s. An invalid regex is
  reported (`error`), and filters nothing, so typing `[` on the way to `[a-z]` hides no row;
- `-l key=value,key2!=v` a label selector (the API server's syntax: `in`, `notin`, `!key`);
- a leading `!` inverts any of the above (`!Running`, `!-l tier=db`).

Sorting: `sort_key(column, text)` orders cells naturally: ages (`5m10s` < `2h` < `3d`) in
the AGE column, quantities (`512Mi` < `2Gi`, `500m` < `2`), IP addresses by value, text
with embedded numbers by number (`vm-2` < `vm-10`); empty cells last.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from tui.kubevirt.quantity import parse_quantity
from tui.kubevirt.selectors import SelectorError, parse_label_selector

REGEX_CHARS = frozenset(".*+?[](){}|^$\\")
AGE_COLUMNS = frozenset({"AGE", "LAST SEEN", "DURATION"})
# Statuses that need a look, whatever their category says (ctrl+z "faults only").
FAULT_CATEGORIES = frozenset({"error"})

T = TypeVar("T")


def fold(text: str) -> str:
    """Case-folded text for substring matching (ß matches SS, as users expect)."""
    return text.casefold()


def search_text(cells: Iterable[str]) -> str:
    """The text a filter searches: cells casefolded, one per line."""
    return "\n".join(cells).casefold()


@dataclass(frozen=True)
class RowFilter:
    """A parsed `/` filter. `matches(search_text, labels)` decides for one row."""

    source: str = ""
    mode: str = "all"  # "all", "substring", "regex" or "labels"
    invert: bool = False
    error: str | None = None
    _needle: str = ""
    _regex: re.Pattern[str] | None = field(default=None, compare=False)
    _labels: Callable[[Mapping[str, str]], bool] | None = field(default=None, compare=False)

    @property
    def needle(self) -> str:
        """The casefolded substring a "substring" filter looks for."""
        return self._needle

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """The compiled expression of a "regex" filter (case-insensitive, multiline)."""
        return self._regex

    @property
    def active(self) -> bool:
        """Whether the filter can hide rows at all."""
        return self.mode != "all" and self.error is None

    def matches(self, text: str, labels: Mapping[str, str] | None = None) -> bool:
        """Does the row with search text `text` (see `search_text`) and `labels` pass?"""
        if not self.active:
            return True
        if self.mode == "substring":
            found = self._needle in text
        elif self.mode == "regex":
            assert self._regex is not None
            found = self._regex.search(text) is not None
        else:
            assert self._labels is not None
            found = self._labels(labels or {})
        return found != self.invert


def parse_filter(source: str) -> RowFilter:
    """Parse what the user typed after `/`. Never raises: problems land in `error`."""
    text = source.strip()
    invert = text.startswith("!")
    if invert:
        text = text[1:].lstrip()
    if not text:
        return RowFilter(source, "all", invert)
    if text == "-l" or text.startswith("-l "):
        selector = text[2:].strip()
        if not selector:
            return RowFilter(source, "all", invert, "-l needs a selector: -l app=web")
        try:
            matcher = parse_label_selector(selector)
        except SelectorError as exc:
            return RowFilter(source, "labels", invert, str(exc))
        return RowFilter(source, "labels", invert, _labels=matcher)
    if REGEX_CHARS.intersection(text):
        try:
            regex = re.compile(text, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            return RowFilter(source, "regex", invert, f"invalid regex: {exc}")
        return RowFilter(source, "regex", invert, _regex=regex)
    return RowFilter(source, "substring", invert, _needle=fold(text))


# ---- natural ordering ---------------------------------------------------------------

_AGE_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_AGE_UNITS = (365 * 86400, 86400, 3600, 60, 1)
_PARTS_RE = re.compile(r"(\d+)")


def parse_age(text: str) -> int | None:
    """Seconds in a kubectl age (`4d5h`, `45s`, `2y10d`); None when it is not one."""
    match = _AGE_RE.match(text)
    if not match or not text:
        return None
    return sum(int(v) * unit for v, unit in zip(match.groups(), _AGE_UNITS, strict=True) if v)


def natural_text_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """Text with numbers ordered by value: vm-2 < vm-10; case-insensitive."""
    folded = fold(text)
    if not any(c.isdigit() for c in folded):
        return ((1, 0, folded),)
    parts: list[tuple[int, int, str]] = []
    for n, part in enumerate(_PARTS_RE.split(folded)):
        if not part:
            continue
        # Odd parts are the digit runs; (0, value) sorts numbers before letters, as ls -v.
        parts.append((0, int(part), "") if n % 2 else (1, 0, part))
    return tuple(parts)


@lru_cache(maxsize=1 << 16)
def sort_key(column: str, text: str) -> tuple[Any, ...]:
    """A key that orders cells of `column` naturally; keys of one column always compare.

    The first element ranks the kind of value (number, address, text, empty) so a column
    mixing `4` and `u1.small` (vCPUs, or an instancetype's name) still sorts.
    """
    value = text.strip()
    if not value:
        return (3,)
    if column in AGE_COLUMNS:
        seconds = parse_age(value)
        if seconds is not None:
            return (0, Decimal(seconds))
    if value[0].isdigit() or value[0] in "+-.:":
        address = _address(value)
        if address is not None:
            return (1, address)
        try:
            return (0, parse_quantity(value))
        except (ValueError, ArithmeticError):
            pass
    return (2, natural_text_key(value))


def _address(value: str) -> int | None:
    if "." not in value and ":" not in value:
        return None
    try:
        address = ipaddress.ip_address(value.split("/", 1)[0])
    except ValueError:
        return None
    # IPv4 as its IPv4-mapped IPv6 value, so v4 and v6 compare in one column.
    if address.version == 4:
        return int(address) + 0xFFFF00000000
    return int(address)


# ---- faults, and applying everything to a list ------------------------------------


def is_fault(category: str, restart_required: bool = False) -> bool:
    """ctrl+z "faults only": an error status, or a change that waits for a restart."""
    return category in FAULT_CATEGORIES or restart_required


def filter_and_sort(
    rows: Iterable[T],
    cells: Callable[[T], Sequence[str]],
    *,
    query: RowFilter | None = None,
    labels: Callable[[T], Mapping[str, str]] | None = None,
    keep: Callable[[T], bool] | None = None,
    columns: Sequence[str] = (),
    sort_by: Sequence[str] = (),
    reverse: bool = False,
) -> list[T]:
    """The rows `query` and `keep` pass, ordered by the `sort_by` columns.

    The whole pipeline in one pure function (the table widget does the same work row by
    row, incrementally); used by tests and by anything listing rows without a widget.
    """
    indices = [list(columns).index(name) for name in sort_by]
    kept = []
    for row in rows:
        values = cells(row)
        if keep is not None and not keep(row):
            continue
        if query is not None and not query.matches(
            search_text(values), labels(row) if labels else None
        ):
            continue
        kept.append((tuple(sort_key(columns[i], values[i]) for i in indices), row))
    kept.sort(key=lambda pair: pair[0], reverse=reverse)
    return [row for _, row in kept]
