"""Keys that arrive in one terminal read (a paste, a macro, fast typing over slow SSH).

The key that opens a text field and the keys after it come queued together: the ones after
it must land in the field, never on the list (where `s`, `b`, `d` are actions).
"""

from __future__ import annotations

from test_vm_list import SIZE, ScreenApp, ev, informer_for, scripted, table_of, vm
from textual import events

from screens.vm_list import FilterInput, VmListScreen
from widgets.resource_table import ResourceTable

__all__ = ["scripted"]  # the fixture, re-exported for pytest


def burst(app: ScreenApp, text: str, first: tuple[str, str | None]) -> None:
    app.post_message(events.Key(*first))
    for char in text:
        app.post_message(events.Key(char, char))


async def test_filter_gets_the_keys_typed_with_the_slash(scripted: None, wait_for) -> None:
    app = ScreenApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        informer_for("virtualmachines").send(
            ev("ADDED", vm("web-1")), ev("ADDED", vm("db-1")), ev("SYNCED")
        )
        table = table_of(app)
        await wait_for(pilot, lambda: table.row_count == 2)
        screen = app.screen
        assert isinstance(screen, VmListScreen)
        pushed: list[object] = []
        app.screen_stack_changed = pushed.append  # type: ignore[attr-defined]
        burst(app, "dbs", ("slash", "/"))
        for _ in range(5):
            await pilot.pause()
        assert screen.query_one(FilterInput).value == "dbs"
        assert app.screen is screen, "no key reached the list (s opens a console)"
        assert table.row_count == 0  # "dbs" matches nothing


async def test_command_line_gets_the_keys_typed_with_the_colon(kubeconfig, wait_for) -> None:
    from test_vm_list import connect, kvtui_app

    from screens.command_line import CommandInput, CommandLineScreen

    connection = connect(kubeconfig)
    app = kvtui_app(connection, demo=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_of(app))
            await wait_for(pilot, lambda: table.row_count > 0, what="the VMs")
            burst(app, "vmi", ("colon", ":"))  # `m` alone would migrate the cursor's VM
            prompt = await wait_for(
                pilot, lambda: isinstance(app.screen, CommandLineScreen) and app.screen
            )
            await wait_for(pilot, lambda: prompt.query_one(CommandInput).value == "vmi")
    finally:
        connection.close()
