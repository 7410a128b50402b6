"""Navigation on the demo cluster: every `:` view, drill-down, history, favourites, help,
context switching and the command palette, pressed as a user presses them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screens.command_line import CommandLineScreen
from screens.help import HelpScreen
from screens.resource_list import ContextListScreen, ResourceListScreen
from screens.vm_list import VmListScreen
from tui.cli import Settings
from tui.cluster.connection import Connection
from widgets.resource_table import ResourceTable

SIZE = (160, 48)


def make_app(kubeconfig: Path, context: str | None = None, **settings: Any) -> Any:
    from tui.app import KvtuiApp

    connection = Connection.from_kubeconfig(str(kubeconfig), context)
    settings.setdefault("namespace", None)
    settings.setdefault("demo", True)
    return KvtuiApp(
        connection, Settings(**settings), kubevirt_version=connection.kubevirt_version()
    )


def table(app: Any) -> ResourceTable:
    return app.screen.query_one(ResourceTable)


def names(app: Any) -> set[str]:
    t = table(app)
    return {t.cell(k, "NAME") for k in t.keys()}


def row(app: Any, name: str) -> dict[str, str] | None:
    t = table(app)
    columns = [str(c.label) for c in t.ordered_columns]
    for key in t.keys():
        cells = t.row_text(key)
        if cells[0] == name:
            return dict(zip(columns, cells, strict=True))
    return None


def move_to(t: ResourceTable, key: str) -> None:
    # The table is being re-implemented; either cursor API will do.
    if hasattr(t, "move_cursor_to_key"):
        t.move_cursor_to_key(key)
    else:
        t.move_cursor(row=t.get_row_index(key))


async def until(pilot: Any, predicate: Any, what: str, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    pytest.fail(f"timed out waiting for {what}")


async def command(pilot: Any, line: str) -> None:
    """Type `:line` and enter, waiting (not sleeping) for the prompt to come and go."""
    await pilot.press("colon")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandLineScreen), "the prompt")
    await pilot.press(*line, "enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, CommandLineScreen), "no prompt")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("vmi", None),
        ("ns", "vm-prod"),
        ("tmpl", "fedora-server-small"),
        ("it", "u1.small"),
        ("pref", "dev-linux"),
        ("dv", "fedora"),
        ("snap", None),
        ("vmim", None),
        ("ev", None),
        ("node", None),
    ],
)
async def test_every_view_opens_with_seeded_data(
    kubeconfig: Path, line: str, expected: str | None, screen_text, wait_for
) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await command(pilot, line)
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen))
        assert app.screen.view.name == line
        if expected:
            await wait_for(pilot, lambda: expected in names(app), what=expected)
        else:
            await wait_for(pilot, lambda: table(app).row_count > 0, what=f"rows of :{line}")


async def test_templates_show_os_workload_flavor(kubeconfig: Path, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "tmpl")
        cells = await wait_for(pilot, lambda: row(app, "fedora-server-small"))
        assert cells["NAMESPACE"] == "openshift"
        assert "fedora" in cells["OS"]
        assert cells["WORKLOAD"] == "server"
        assert cells["FLAVOR"] == "small"


async def test_datavolumes_show_phase_and_progress(kubeconfig: Path, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "dv -A")
        cells = await wait_for(pilot, lambda: row(app, "fedora"))
        assert cells["PHASE"]
        await wait_for(pilot, lambda: "%" in (row(app, "fedora") or {}).get("PROGRESS", ""))
        assert "█" in row(app, "fedora")["PROGRESS"] or "░" in row(app, "fedora")["PROGRESS"]


async def test_namespace_enter_shows_its_vms_and_esc_comes_back(
    kubeconfig: Path, screen_text, wait_for
) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "ns")
        await wait_for(pilot, lambda: "vm-prod" in names(app))
        t = table(app)
        target = next(k for k in t.keys() if t.cell(k, "NAME") == "vm-prod")
        move_to(t, target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        assert app.screen.namespace == "vm-prod"
        await wait_for(pilot, lambda: "VMs in namespace vm-prod" in screen_text(app))
        assert "ns vm-prod" in screen_text(app), "the header names the namespace"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen))
        assert app.screen.view.name == "ns"


async def test_vm_command_with_namespace_and_all(kubeconfig: Path, screen_text, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "vm vm-dev")
        await wait_for(pilot, lambda: "VMs in namespace vm-dev" in screen_text(app))
        await command(pilot, "vm -A")
        await wait_for(pilot, lambda: "VMs in all namespaces" in screen_text(app))


async def test_unknown_command_says_so(kubeconfig: Path, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await command(pilot, "bogus")
        notes = await wait_for(pilot, lambda: list(app._notifications))
        assert any("Unknown command 'bogus'" in n.message for n in notes)
        assert isinstance(app.screen, VmListScreen), "the view stays"


async def test_command_line_esc_cancels_and_tab_completes(kubeconfig: Path, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", "t", "m")
        await pilot.press("tab")
        assert app.screen.input.value == "tmpl "
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, VmListScreen)
        await pilot.press("colon", "d", "v", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen))
        await pilot.press("colon", "up")
        assert app.screen.input.value == "dv", "up recalls the last line"
        await pilot.press("escape")


async def test_history_back_forward_last(kubeconfig: Path, wait_for) -> None:
    app = make_app(kubeconfig)

    def view() -> str:
        screen = app.screen
        return "vm" if isinstance(screen, VmListScreen) else screen.view.name

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await command(pilot, "dv")
        await command(pilot, "ev")
        await wait_for(pilot, lambda: view() == "ev")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: view() == "dv")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: view() == "vm")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: view() == "dv")
        await pilot.press("minus")
        await wait_for(pilot, lambda: view() == "vm")
        await pilot.press("minus")
        await wait_for(pilot, lambda: view() == "dv")


async def test_favourite_namespaces(kubeconfig: Path, screen_text, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await command(pilot, "vm vm-prod")
        await command(pilot, "vm vm-dev")
        await wait_for(pilot, lambda: "VMs in namespace vm-dev" in screen_text(app))
        await pilot.press("2")
        await wait_for(pilot, lambda: "VMs in namespace vm-prod" in screen_text(app))
        await pilot.press("0")
        await wait_for(pilot, lambda: "VMs in all namespaces" in screen_text(app))
        await command(pilot, "dv")
        await pilot.press("1")
        await wait_for(pilot, lambda: "DataVolumes in namespace vm-prod" in screen_text(app))


async def test_help_lists_bindings_of_the_view(kubeconfig: Path, screen_text, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = app.screen.text()
        for expected in ("Global", ":", "Command", "?", "esc", "[", "History back", "j", "0"):
            assert expected in text, expected
        assert "History back" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await command(pilot, "ns")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ResourceListScreen) and app.screen.view.name == "ns",
            what="the namespace view",
        )
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Open" in app.screen.text(), "the namespace view's enter is listed"


async def test_ctx_switches_context_and_header(kubeconfig: Path, screen_text, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "ctx kvtui-demo " in screen_text(app))
        await command(pilot, "ctx")
        await wait_for(pilot, lambda: isinstance(app.screen, ContextListScreen))
        assert {"kvtui-demo", "kvtui-demo-viewer"} <= names(app)
        await command(pilot, "ctx kvtui-demo-viewer")
        await wait_for(pilot, lambda: app.connection.context == "kvtui-demo-viewer")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await wait_for(pilot, lambda: "ctx kvtui-demo-viewer" in screen_text(app))
        assert "ns vm-dev" in screen_text(app), "the viewer context's namespace"
        await wait_for(pilot, lambda: table(app).row_count > 0, what="vm-dev VMs as viewer")
        await command(pilot, "ctx nosuch")
        assert app.connection.context == "kvtui-demo-viewer"


async def test_command_palette_offers_views(kubeconfig: Path, wait_for) -> None:
    app = make_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Templates")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResourceListScreen))
        assert app.screen.view.name == "tmpl"


@pytest.mark.parametrize("size", [(80, 24), SIZE])
async def test_command_line_shows_what_is_typed(
    kubeconfig: Path, size: tuple[int, int], screen_text, wait_for
) -> None:
    """The prompt's text is on screen as it is typed (a focused Input's border once hid it)."""
    app = make_app(kubeconfig)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandLineScreen), "the prompt")
        await pilot.press(*"tmpl")
        await wait_for(pilot, lambda: "tmpl" in screen_text(app).splitlines()[-1], what="text")
