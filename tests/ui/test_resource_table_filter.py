"""ResourceTable's filter keystrokes take shortcuts: a substring that only narrows the last
one tests just the rows that matched before, the set of kept keys is built only when
needed, and lines are redrawn only when the rows on screen change. Whatever the path, the
rows shown must be exactly those a filter from scratch keeps, in sorted order, and the
screen must show them (no timing here: benchmarks/list_scale.py measures the speed)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from textual.app import App, ComposeResult

from tui.kubevirt.filters import sort_key
from widgets.resource_table import ResourceTable, search_text

COLUMNS = ["NAME", "STATUS", "VCPU"]
STATUSES = ["Running", "Stopped", "Starting", "ErrorUnschedulable"]


class FilterApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(COLUMNS)
        table.set_sort(["NAME"], key=sort_key)


def expected(
    rows: dict[str, list[str]], keep: Callable[[str, str], bool], reverse: bool = False
) -> list[str]:
    """What a filter from scratch shows: every row `keep(key, search text)` passes, sorted."""
    keys = [k for k, cells in rows.items() if keep(k, search_text(cells))]
    return sorted(keys, key=lambda k: sort_key("NAME", rows[k][0]), reverse=reverse)


def make_rows(count: int, rng: random.Random) -> dict[str, list[str]]:
    return {
        f"k{i}": [f"web-{i:04d}" if i % 3 else f"db-{i:04d}", rng.choice(STATUSES), str(i % 8)]
        for i in range(count)
    }


def contains(needle: str, invert: bool = False) -> Callable[[str, str], bool]:
    return lambda _key, text: (needle.casefold() in text) != invert


async def test_typing_deleting_and_switching_filters_match_a_fresh_filter() -> None:
    rng = random.Random(7)
    app = FilterApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        rows = make_rows(600, rng)
        for key, cells in rows.items():
            table.upsert(key, cells)
        await pilot.pause()

        def check(keep: Callable[[str, str], bool], where: str) -> None:
            assert table.visible_keys() == expected(rows, keep, table.sort_reverse), where
            assert table.row_count == len(table.visible_keys())

        # Typing: each keystroke narrows the last (only its hits are tested again).
        typed = "web-01"
        for n in range(1, len(typed) + 1):
            table.set_filter(contains=typed[:n])
            check(contains(typed[:n]), f"typed {typed[:n]!r}")
        # Deleting characters widens: rows hidden a keystroke ago come back.
        for n in range(len(typed) - 1, 0, -1):
            table.set_filter(contains=typed[:n])
            check(contains(typed[:n]), f"deleted back to {typed[:n]!r}")
        # A different text that is no extension of the last one.
        table.set_filter(contains="we")
        table.set_filter(contains="db")
        check(contains("db"), "switched we -> db")

        # Inverted: a shorter needle narrows ("!web" keeps fewer rows than "!web-0").
        for needle in ("web-00", "web-0", "web-", "web", "webx"):
            table.set_filter(contains=needle, invert=True)
            check(contains(needle, invert=True), f"!{needle}")
        # From inverted back to plain with the same needle: no narrowing across modes.
        table.set_filter(contains="web")
        table.set_filter(contains="web", invert=True)
        table.set_filter(contains="web-0")
        check(contains("web-0"), "!web then web-0")

        # A regex after a substring, then a substring after a regex.
        table.set_filter(contains="web-00")
        pattern = re.compile(r"^(web|db)-0\d1\d$", re.IGNORECASE | re.MULTILINE)
        table.set_filter(pattern=pattern)
        check(lambda _k, text: pattern.search(text) is not None, "regex")
        table.set_filter(pattern=pattern, invert=True)
        check(lambda _k, text: pattern.search(text) is None, "inverted regex")
        table.set_filter(contains="web-001")
        check(contains("web-001"), "substring after regex")

        # A label-style filter (predicate + the keys it keeps), then typing on from there.
        chosen = {k for k in rows if int(k[1:]) % 5 == 0}
        table.set_filter(lambda key, _cells, _text: key in chosen, passing=chosen)
        check(lambda key, _text: key in chosen, "predicate")
        table.set_filter(lambda key, _cells, _text: key in chosen, contains="web", passing=chosen)
        check(lambda key, text: key in chosen and "web" in text, "predicate + web")
        table.set_filter(contains="web-0")
        check(contains("web-0"), "web-0 after the predicate")
        table.set_filter(contains="web-00")
        check(contains("web-00"), "web-00 after the predicate")

        # Reversed order, narrowing while reversed.
        table.set_sort(["NAME"], reverse=True, key=sort_key)
        table.set_filter(contains="web-0")
        table.set_filter(contains="web-01")
        check(contains("web-01"), "reversed web-01")
        table.set_sort(["NAME"], key=sort_key)

        table.set_filter()
        check(lambda _k, _t: True, "no filter")


async def test_changes_between_keystrokes_are_not_missed_by_narrowing() -> None:
    rng = random.Random(11)
    app = FilterApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        rows = make_rows(300, rng)
        for key, cells in rows.items():
            table.upsert(key, cells)
        await pilot.pause()
        table.set_filter(contains="run")
        for step in range(30):
            # Rows change between keystrokes: some start or stop matching, some go, some come.
            for _ in range(rng.randint(1, 8)):
                op = rng.random()
                key = rng.choice(list(rows))
                if op < 0.6:
                    rows[key] = [rows[key][0], rng.choice(STATUSES), rows[key][2]]
                    table.upsert(key, rows[key])
                elif op < 0.8:
                    del rows[key]
                    table.remove(key)
                else:
                    new = f"n{step}-{rng.randint(0, 10**6)}"
                    rows[new] = [f"web-9{step:03d}", rng.choice(STATUSES), "1"]
                    table.upsert(new, rows[new])
            needle = ("run", "runn", "running", "r", "ru")[step % 5]
            table.set_filter(contains=needle)
            assert table.visible_keys() == expected(rows, contains(needle)), step
            # An upsert right after a keystroke sees the kept keys as the filter decided.
            key = rng.choice(list(rows))
            rows[key] = [rows[key][0], "Running", rows[key][2]]
            table.upsert(key, rows[key])
            await pilot.pause()
            assert table.visible_keys() == expected(rows, contains(needle)), f"{step} after"
            assert key in table.visible_keys()


async def test_screen_follows_filter_even_when_the_window_is_unchanged(screen_text) -> None:
    app = FilterApp()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(ResourceTable)
        for i in range(200):
            table.upsert(f"k{i}", [f"vm-{i:03d}", "Running", "2"])
        await pilot.pause()
        table.set_filter(contains="vm-")  # every row still shown: nothing to redraw
        await pilot.pause()
        assert "vm-000" in screen_text(app)
        # A row on screen changes in the same batch as one added off screen (the order is
        # dirty, so its line waits for the new order); then a keystroke that keeps the
        # window: the changed line must still be drawn.
        table.upsert("k500", ["vm-500", "Running", "2"])
        table.upsert("k1", ["vm-001", "Stopped", "2"])
        table.set_filter(contains="vm")
        await pilot.pause()
        text = screen_text(app)
        assert "Stopped" in text and "vm-001" in text
        # Marking a row while the order is dirty, then a keystroke keeping the window.
        table.upsert("k501", ["vm-501", "Running", "2"])
        table.set_marked("k2")
        table.set_filter(contains="v")
        await pilot.pause()
        assert "● vm-002" in screen_text(app)
        # A keystroke that changes the window redraws it; the screen shows exactly the
        # rows of the window (the cursor stays on its row, vm-190, wherever that goes).
        for needle in ("vm-19", "vm-1", "vm-0", "vm-00"):
            table.set_filter(contains=needle)
            await pilot.pause()
            shown = re.findall(r"vm-\d{3}", screen_text(app))
            window = [table.cell(key, "NAME") for key in table.window_keys()]
            assert shown == window and window, needle
            assert all(needle in name for name in shown), needle
