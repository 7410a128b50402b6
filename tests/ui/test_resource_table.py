"""ResourceTable: keyed rows, minimal updates, and cells that are always inert plain text."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.resource_table import REPLACEMENT, ResourceTable, plain, plain_cell

MARKUP = "[bold red]x[/]"


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(id="t")

    def on_mount(self) -> None:
        self.query_one(ResourceTable).set_columns(
            ["NAME", "NAMESPACE", "STATUS"], sort_by=("NAMESPACE", "NAME")
        )


def test_plain_makes_controls_visible() -> None:
    assert plain("vm-1") == "vm-1"
    assert plain("a\x1b[31mred") == "a^[[31mred"  # ESC: caret notation, inert
    assert plain("bell\x07\x00") == "bell^G^@"
    assert plain("line\nbreak\ttab\r") == "line^Jbreak^Itab^M"
    assert plain("del\x7f") == "del^?"
    assert plain("c1\x9b31m") == f"c1{REPLACEMENT}31m"  # single-byte CSI
    assert plain("evil\u202etxt.exe") == f"evil{REPLACEMENT}txt.exe"  # bidi override
    assert plain(42) == "42"
    assert plain("名前 🖥") == "名前 🖥"  # ordinary Unicode is untouched


def test_plain_cell_is_never_markup() -> None:
    cell = plain_cell(MARKUP, "green")
    assert cell.plain == MARKUP
    assert not cell.spans
    assert str(cell.style) == "green"


async def test_upsert_update_remove_and_order(screen_text) -> None:
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.upsert("u2", ["zeta", "b", "Running"], [None, None, "green"])
        table.upsert("u1", ["alpha", "b", "Stopped"])
        table.upsert("u3", ["omega", "a", "Starting"])
        await pilot.pause()
        # Sorted by namespace then name, whatever the insertion order.
        assert table.visible_keys() == ["u3", "u1", "u2"]
        assert table.row_count == 3

        updates = table._update_count
        table.upsert("u1", ["alpha", "b", "Stopped"])  # nothing changed: no update at all
        assert table._update_count == updates
        table.upsert("u1", ["alpha", "b", "Running"], [None, None, "green"])
        assert table._update_count == updates + 1  # one cell
        assert table.cell("u1", "STATUS") == "Running"

        table.remove("u2")
        table.remove("u2")  # idempotent
        await pilot.pause()
        assert sorted(table.keys()) == ["u1", "u3"]
        text = screen_text(app)
        assert "alpha" in text and "omega" in text and "zeta" not in text


async def test_cursor_stays_on_its_row_when_rows_are_inserted_above() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.upsert("b", ["b", "ns", "Running"])
        table.upsert("c", ["c", "ns", "Running"])
        await pilot.pause()
        table.focus()
        await pilot.press("down")
        assert table.cursor_key == "c"
        table.upsert("a", ["a", "ns", "Running"])
        await pilot.pause()
        assert table.cursor_key == "c"


async def test_markup_and_escape_bytes_show_literally(screen_text) -> None:
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.upsert("evil", [MARKUP, "\x1b]0;pwned\x07ns", "[link=http://x]y[/link]"])
        await pilot.pause()
        text = screen_text(app)
        assert MARKUP in text
        assert "^[]0;pwned^Gns" in text
        assert "[link=http://x]y[/link]" in text
        assert "\x1b" not in text and "\x07" not in text
        assert table.cell("evil", "NAME") == MARKUP


async def test_set_columns_resets(screen_text) -> None:
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.upsert("x", ["x", "ns", "Running"])
        table.set_columns(["ONLY"])
        table.upsert("y", ["y"])
        await pilot.pause()
        assert list(table.keys()) == ["y"]
        assert "ONLY" in screen_text(app)
        table.clear()
        assert list(table.keys()) == [] and table.row_count == 0


# ---- the Line-API table: cursor keys, marks, sort, filter, widths, scale ------------


class ManyApp(App[None]):
    """A table with `count` rows named row-00000..., keyed k0..."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.messages: list[tuple[str, str | None]] = []

    def compose(self) -> ComposeResult:
        yield ResourceTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(["NAME", "STATUS", "NODE"], sort_by=("NAME",), hide_order=("NODE",))
        for i in range(self.count):
            status = "Running" if i % 2 else "Stopped"
            table.upsert(f"k{i}", [f"row-{i:05d}", status, f"node-{i % 3}"], [None, "error", None])
        table.focus()

    def on_resource_table_highlighted(self, message: ResourceTable.Highlighted) -> None:
        self.messages.append(("highlighted", message.key))

    def on_resource_table_selected(self, message: ResourceTable.Selected) -> None:
        self.messages.append(("selected", message.key))


async def test_cursor_keys_move_and_scroll(screen_text) -> None:
    app = ManyApp(100)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        await pilot.pause()
        assert table.cursor_key == "k0"
        await pilot.press("j", "j", "down")
        assert table.cursor_key == "k3"
        await pilot.press("k", "up")
        assert table.cursor_key == "k1"
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_key == "k99"
        assert "row-00099" in screen_text(app), "the cursor row is scrolled into view"
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor_key == "k0" and "row-00000" in screen_text(app)
        await pilot.press("pagedown")
        assert table.cursor_row == table._data_height  # noqa: SLF001 - one page down
        await pilot.press("pageup", "end")
        assert table.cursor_key == "k99"
        await pilot.press("home", "enter")
        await pilot.pause()
        assert ("selected", "k0") in app.messages
        assert ("highlighted", "k99") in app.messages


async def test_space_marks_and_moves_down() -> None:
    app = ManyApp(5)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        await pilot.pause()
        await pilot.press("space", "space", "j", "space")
        assert table.marked_keys == {"k0", "k1", "k3"}
        await pilot.press("k", "space")  # back onto k3: unmark
        assert table.marked_keys == {"k0", "k1"}
        table.remove("k1")
        assert table.marked_keys == {"k0"}, "a row that goes takes its mark with it"
        await pilot.press("ctrl+backslash")
        assert table.marked_keys == frozenset()


async def test_sort_reverse_and_natural_keys() -> None:
    from tui.kubevirt.filters import sort_key

    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        for i in (10, 2, 1):
            table.upsert(f"u{i}", [f"vm-{i}", "ns", "Running"])
        table.set_sort(["NAME"], key=sort_key)
        assert table.visible_keys() == ["u1", "u2", "u10"]
        table.set_sort(["NAME"], reverse=True, key=sort_key)
        assert table.visible_keys() == ["u10", "u2", "u1"]
        # A changed sort cell moves its row once the batch is applied.
        table.upsert("u1", ["vm-99", "ns", "Running"])
        await pilot.pause()
        assert table.visible_keys() == ["u1", "u10", "u2"]


async def test_filter_contains_invert_and_predicate(screen_text) -> None:
    app = ManyApp(30)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ResourceTable)
        await pilot.pause()
        table.set_filter(contains="ROW-0001")  # case-insensitive
        assert table.visible_keys() == [f"k{i}" for i in range(10, 20)]
        assert table.row_count == 10 and table.total_count == 30
        table.set_filter(contains="running", invert=True)
        assert all(int(k[1:]) % 2 == 0 for k in table.visible_keys())
        table.set_filter(lambda key, cells, text: cells[2] == "node-0")
        assert table.row_count == 10
        # New and changed rows go through the same filter.
        table.upsert("new", ["row-x", "Running", "node-0"])
        table.upsert("k0", ["row-00000", "Stopped", "node-1"])
        await pilot.pause()
        assert "new" in table.visible_keys() and "k0" not in table.visible_keys()
        cursor = table.cursor_key
        table.set_filter()
        assert table.row_count == 31
        await pilot.pause()
        # The cursor stays on its row, scrolled into view; the first row is a key away.
        assert table.cursor_key == cursor
        assert table.cell(cursor, "NAME") in screen_text(app)
        await pilot.press("home")
        assert "row-00000" in screen_text(app)


async def test_widths_follow_content_and_narrow_screens_hide_columns(screen_text) -> None:
    app = ManyApp(3)
    async with app.run_test(size=(56, 12)) as pilot:
        table = app.query_one(ResourceTable)
        await pilot.pause()
        assert table.shown_columns == ["NAME", "STATUS", "NODE"]
        table.upsert("k0", ["x" * 70, "Running", "node-0"])
        await pilot.pause()
        text = screen_text(app)
        assert "x" * 39 + "…" in text, "a long cell is cut at the column's bound"
        assert table.shown_columns == ["NAME", "STATUS"], "NODE goes first when narrow"
        table.upsert("k0", ["short", "Running", "node-0"])
        await pilot.pause()
        assert table.shown_columns == ["NAME", "STATUS", "NODE"], "widths shrink back"


async def test_wide_rows_scroll_sideways(screen_text) -> None:
    class Wide(App[None]):
        def compose(self) -> ComposeResult:
            yield ResourceTable()

        def on_mount(self) -> None:
            table = self.query_one(ResourceTable)
            table.set_columns(["A", "B", "C"])
            table.upsert("r", ["a" * 30, "b" * 30, "END-" + "c" * 20])
            table.focus()

    app = Wide()
    async with app.run_test(size=(50, 8)) as pilot:
        await pilot.pause()
        assert "END-" not in screen_text(app)
        for _ in range(50):
            await pilot.press("right")
        await pilot.pause()
        assert "END-" in screen_text(app)


async def test_ten_thousand_rows_stay_responsive(screen_text) -> None:
    import time

    app = ManyApp(0)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(ResourceTable)
        start = time.perf_counter()
        for i in range(10_000):
            table.upsert(f"k{i}", [f"row-{i:05d}", "Running", f"node-{i % 7}"])
        await pilot.pause()
        assert table.row_count == 10_000
        load = time.perf_counter() - start
        # One watch tick: 5% of rows change a cell, 1% go, 1% come.
        start = time.perf_counter()
        for i in range(0, 10_000, 20):
            table.upsert(f"k{i}", [f"row-{i:05d}", "Stopped", f"node-{i % 7}"])
        for i in range(0, 10_000, 100):
            table.remove(f"k{i}")
            table.upsert(f"n{i}", [f"new-{i:05d}", "Starting", "node-0"])
        await pilot.pause()
        tick = time.perf_counter() - start
        start = time.perf_counter()
        table.set_filter(contains="row-0999")
        await pilot.pause()
        filtered = time.perf_counter() - start
        assert table.row_count == 10
        await pilot.press("G")
        assert "row-09999" in screen_text(app)
        # No time bounds here (shared machines make them flaky): benchmarks/list_scale.py
        # measures speed. DataTable needed ~1 s to load and ~0.6 s a tick.
        assert load > 0 and tick > 0 and filtered > 0


async def test_capped_and_hidden_columns_leave_room_for_the_last_one(screen_text, wait_for) -> None:
    """The events view at 80 columns: names hidden first, a long reason cut with an ellipsis,
    and the message still on screen."""
    from tui.kubevirt import listing

    columns = ["NAME", "NAMESPACE", "TYPE", "REASON", "OBJECT", "MESSAGE", "LAST SEEN"]
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.set_columns(
            columns,
            hide_order=listing.hide_columns("ev", columns),
            max_widths=listing.column_caps("ev", columns),
        )
        table.upsert(
            "e1",
            [
                "testvm.17c3a5f0e1d2c3b4",
                "default",
                "Normal",
                "KubeletHasSufficientMemory",
                "virtualmachineinstance/testvm",
                "boot done",
                "5s",
            ],
        )
        await wait_for(pilot, lambda: "boot done" in screen_text(app), what="the message")
        assert "NAME" not in table.shown_columns and "MESSAGE" in table.shown_columns
        assert "KubeletHasSufficientM…" in screen_text(app)
