"""ResourceTable keeps its order incrementally: rows moved by bisection must land exactly
where a full sort would put them, through additions, sort-key changes, removals, re-adds,
reversal and filters, and updates must redraw the right line."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult

from tui.kubevirt.filters import sort_key
from widgets.resource_table import ResourceTable

COLUMNS = ["NAME", "STATUS", "VCPU"]
STATUSES = ["Running", "Stopped", "Starting", "ErrorUnschedulable", ""]


class OrderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(ResourceTable)
        table.set_columns(COLUMNS)
        table.set_sort(["STATUS", "VCPU", "NAME"], key=sort_key)


def expected(rows: dict[str, list[str]], reverse: bool = False, needle: str = "") -> list[str]:
    """The order a full sort gives (names are unique, so there are no ties)."""
    keys = [k for k, cells in rows.items() if needle in "\n".join(cells).casefold()]
    return sorted(
        keys,
        key=lambda k: tuple(
            sort_key(c, rows[k][COLUMNS.index(c)]) for c in ("STATUS", "VCPU", "NAME")
        ),
        reverse=reverse,
    )


async def test_random_batches_keep_the_order_a_full_sort_gives() -> None:
    rng = random.Random(20261129)
    app = OrderApp()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(ResourceTable)
        rows: dict[str, list[str]] = {}
        serial = 0
        for batch in range(40):
            # Small batches move rows one by one; every tenth is big enough for a full sort.
            for _ in range(300 if batch % 10 == 0 else rng.randint(1, 30)):
                op = rng.random()
                if op < 0.45 or not rows:
                    serial += 1
                    key = f"k{serial}"
                    rows[key] = [f"vm-{serial}", rng.choice(STATUSES), str(rng.randint(1, 16))]
                elif op < 0.8:
                    key = rng.choice(list(rows))
                    # A new sort key (status or vCPU), or the same one again.
                    rows[key] = [rows[key][0], rng.choice(STATUSES), str(rng.randint(1, 16))]
                else:
                    key = rng.choice(list(rows))
                    del rows[key]
                    table.remove(key)
                    if rng.random() < 0.3:  # gone and back under the same key in one batch
                        rows[key] = [f"again-{key}", rng.choice(STATUSES), "4"]
                    else:
                        continue
                table.upsert(key, rows[key])
            await pilot.pause()
            assert table.visible_keys() == expected(rows), f"batch {batch}"
            assert table.total_count == len(rows)

        table.set_sort(["STATUS", "VCPU", "NAME"], reverse=True, key=sort_key)
        assert table.visible_keys() == expected(rows, reverse=True)
        # Moves while reversed, then a filter over the moved rows.
        for key in list(rows)[:10]:
            rows[key][1] = "Running"
            table.upsert(key, rows[key])
        await pilot.pause()
        assert table.visible_keys() == expected(rows, reverse=True)
        table.set_filter(contains="running")
        assert table.visible_keys() == expected(rows, reverse=True, needle="running")
        table.set_filter(contains="running", invert=True)
        assert set(table.visible_keys()).isdisjoint(expected(rows, needle="running"))


async def test_equal_sort_keys_and_no_sort_columns() -> None:
    app = OrderApp()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(ResourceTable)
        table.set_sort(["STATUS"], key=sort_key)  # many rows share a sort key
        for i in range(20):
            table.upsert(f"k{i}", [f"vm-{i}", "Running" if i % 2 else "Stopped", "1"])
        await pilot.pause()
        # Rows with equal keys keep their insertion order; each one can still be moved.
        assert table.visible_keys()[:10] == [f"k{i}" for i in range(1, 20, 2)]
        table.upsert("k7", ["vm-7", "Stopped", "1"])
        table.remove("k9")
        await pilot.pause()
        keys = table.visible_keys()
        assert "k9" not in keys and keys.index("k7") > keys.index("k19")
        assert keys[-1] == "k7"  # moved in last among the equal "Stopped" rows

        table.set_columns(COLUMNS)  # no sort columns: insertion order
        for i in (3, 1, 2):
            table.upsert(f"n{i}", [f"vm-{i}", "Running", "1"])
        table.remove("n1")
        table.upsert("n1", ["vm-1", "Running", "1"])
        await pilot.pause()
        assert table.visible_keys() == ["n3", "n2", "n1"]


async def test_an_update_redraws_its_line_and_only_on_screen(screen_text) -> None:
    app = OrderApp()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(ResourceTable)
        for i in range(100):
            table.upsert(f"k{i}", [f"vm-{i:03d}", "Running", "2"])
        await pilot.pause()
        assert "vm-000" in screen_text(app)
        table.move_cursor_to_key("k3")  # the cursor follows its row: keep it off k0
        table.upsert("k0", ["vm-000", "Running", "2x"])  # same sort key ("2x" > "2", moves)
        table.upsert("k1", ["vm-001", "Running", "2"])  # no change at all
        await pilot.pause()
        assert "vm-000" not in screen_text(app)  # moved past vm-099
        table.upsert("k2", ["vm-002", "Running", "2"])
        version = table.row_version("k2")
        table.upsert("k2", ["vm-002", "Running ", "2"])  # same order, new text
        await pilot.pause()
        assert table.row_version("k2") == version + 1
        assert "Running " in table.row_text("k2")
        await pilot.press("end")
        await pilot.pause()
        assert "vm-000" in screen_text(app)
