"""The VM list's shortcuts for large clusters: ages re-derived only when due, rows rebuilt
only for new resourceVersions, the footer rebuilt only when the live keys change, and the
`/` filter (invert, regex, label selector) still right as rows change and go."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from test_vm_list import SIZE, ScreenApp, ev, informer_for, row_by_name, scripted, table_of, vm

from screens.vm_list import FilterInput, VmListScreen, next_age_change
from tui.kubevirt.vm import human_duration

__all__ = ["scripted"]  # the fixture, re-exported for pytest


def test_next_age_change_is_never_late() -> None:
    samples = list(range(0, 700)) + list(range(590, 40_000, 7)) + [8 * 3600 - 1, 8 * 3600]
    samples += list(range(0, 20 * 86400, 997)) + [8 * 86400 - 1, 8 * 86400, 3 * 365 * 86400]
    for age in samples:
        change = next_age_change(age + 0.5)
        assert change > age + 0.5
        # Between now and the due time the text stays what it is: re-deriving is not late.
        assert human_duration(change - 1) == human_duration(age + 0.5), age
    assert next_age_change(-5) == 0.0


def created(seconds_ago: float, now: datetime) -> str:
    return (now - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_ages_refresh_when_due_and_old_rows_cost_nothing(scripted: None, wait_for) -> None:
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        now = datetime.now(timezone.utc)
        young = vm("young", creationTimestamp=created(100, now))
        old = vm("old", creationTimestamp=created(30 * 86400 + 5, now))
        informer_for("virtualmachines").send(ev("ADDED", young), ev("ADDED", old), ev("SYNCED"))
        table = table_of(app)
        await wait_for(pilot, lambda: row_by_name(table, "old") is not None)
        screen = app.screen
        assert isinstance(screen, VmListScreen)
        assert row_by_name(table, "young")["AGE"] in ("100s", "101s", "102s")
        assert row_by_name(table, "old")["AGE"] == "30d"

        # 30 s on: the young row reads its new age; the month-old one is not even looked at.
        later = now + timedelta(seconds=30)
        old_key = screen._row_keys[("ns1", "old")]
        version = table.row_version(old_key)
        screen._refresh_ages(later)
        assert row_by_name(table, "young")["AGE"] in ("2m10s", "2m11s", "2m12s")
        assert table.row_version(old_key) == version
        # A day on, the old row's text changes, and the change is drawn.
        screen._refresh_ages(now + timedelta(days=1))
        assert row_by_name(table, "old")["AGE"] == "31d"
        # A deleted row leaves nothing due behind.
        informer_for("virtualmachines").send(ev("DELETED", young))
        await wait_for(pilot, lambda: row_by_name(table, "young") is None)
        screen._refresh_ages(now + timedelta(days=2))
        assert row_by_name(table, "old")["AGE"] == "32d"


async def test_unchanged_resource_versions_are_not_rebuilt(scripted: None, wait_for) -> None:
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vms = informer_for("virtualmachines")
        first = vm("web", resourceVersion="5")
        vms.send(ev("ADDED", first), ev("SYNCED"))
        table = table_of(app)
        await wait_for(pilot, lambda: row_by_name(table, "web") is not None)
        screen = app.screen
        assert isinstance(screen, VmListScreen)
        built = screen._rows[screen._row_keys[("ns1", "web")]]
        # The same version again (a relist, a replay): the row object is the same one.
        vms.send(ev("MODIFIED", vm("web", resourceVersion="5")))
        await pilot.pause()
        assert screen._rows[screen._row_keys[("ns1", "web")]] is built
        # A new version is read again.
        changed = vm("web", status="Running", resourceVersion="6")
        vms.send(ev("MODIFIED", changed))
        await wait_for(pilot, lambda: row_by_name(table, "web")["STATUS"] == "Running")


async def test_footer_is_rebuilt_only_when_live_keys_change(scripted: None, wait_for) -> None:
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        refreshes: list[Any] = []
        screen.bindings_updated_signal.subscribe(screen, refreshes.append)
        vms = informer_for("virtualmachines")
        vms.send(ev("ADDED", vm("a")), ev("ADDED", vm("b")), ev("SYNCED"))
        table = table_of(app)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.pause()
        settled = len(refreshes)
        assert settled >= 1  # rows came: start etc. became live
        # Changes that leave the cursor VM's possible actions as they were: no rebuild.
        for n in range(5):
            vms.send(ev("MODIFIED", vm("b", resourceVersion=str(n + 10))))
            await pilot.pause()
        vms.send(ev("MODIFIED", vm("a", labels={"x": "y"})))
        await pilot.pause()
        assert len(refreshes) == settled
        # The cursor VM starts running: stop, restart... become live, start does not.
        vms.send(ev("MODIFIED", vm(table.cell(table.cursor_key, "NAME"), status="Running")))
        await wait_for(pilot, lambda: len(refreshes) > settled)


async def test_filters_stay_right_as_rows_change_and_go(scripted: None, wait_for) -> None:
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vms = informer_for("virtualmachines")
        vms.send(
            *(
                ev("ADDED", vm(f"vm-{i}", labels={"tier": "web" if i % 2 else "db"}))
                for i in range(20)
            ),
            ev("SYNCED"),
        )
        table = table_of(app)
        await wait_for(pilot, lambda: table.row_count == 20)
        screen = app.screen
        assert isinstance(screen, VmListScreen)

        def names() -> list[str]:
            return [table.cell(k, "NAME") for k in table.visible_keys()]

        await pilot.press("slash")
        field = screen.query_one(FilterInput)

        async def typed(text: str) -> None:
            field.value = text
            await pilot.pause()

        await typed("-l tier=web")
        assert sorted(names()) == sorted(f"vm-{i}" for i in range(1, 20, 2))
        # A row changes its labels and another goes: the label filter follows both.
        vms.send(
            ev("MODIFIED", vm("vm-2", labels={"tier": "web"})),
            ev("MODIFIED", vm("vm-3", labels={"tier": "db"})),
            ev("DELETED", vm("vm-5")),
        )
        await wait_for(pilot, lambda: "vm-2" in names())
        assert "vm-3" not in names() and "vm-5" not in names()
        await typed("!-l tier=web")
        assert "vm-3" in names() and "vm-2" not in names() and "vm-5" not in names()
        assert len(names()) == 10
        # A regex with anchors at cell edges, then inverted.
        await typed("^vm-1\\d$")
        assert names() == [f"vm-{i}" for i in range(10, 20)]
        await typed("!^vm-1\\d$")
        assert sorted(names()) == sorted(f"vm-{i}" for i in range(10) if i != 5)
        # A new row that matches appears in the filtered view; one that stops matching goes.
        vms.send(ev("ADDED", vm("vm-x")), ev("DELETED", vm("vm-1")))
        await wait_for(pilot, lambda: "vm-x" in names())
        assert "vm-1" not in names()
        await typed("")
        assert table.row_count == 19  # 20, less vm-5 and vm-1, plus vm-x


async def test_a_complete_list_is_frozen_and_full_passes_held_until_the_screen_goes(
    scripted: None, wait_for
) -> None:
    import gc

    gc.unfreeze()
    thresholds = gc.get_threshold()
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() == 0
        informer_for("virtualmachines").send(ev("ADDED", vm("a")), ev("SYNCED"))
        table = table_of(app)
        await wait_for(pilot, lambda: table.row_count == 1)
        # The list is in: what is alive now is out of the full collections' way, and
        # full passes wait for a quiet moment (young passes as before).
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[:2] == thresholds[:2]
        assert gc.get_threshold()[2] > 10**6
    # The screen went: everything is back in the collector's sight, on Python's policy.
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
