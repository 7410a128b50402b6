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
