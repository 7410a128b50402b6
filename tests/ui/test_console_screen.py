"""The console screen in the app (Pilot): from the VM list to a shell and back, every key to the
guest, the commands behind the exit key, the states in the header, several consoles at once.

The demo tests use the real chain (VM list -> KubevirtConsole -> demo websocket -> simulated
guest -> Terminal). The scripted ones put a `ScriptedTransport` behind the screen to drive
states and see exactly which bytes the screen sends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from screens.console import ConsoleScreen, key_label
from screens.vm_list import VmListScreen
from tui.cli import ConsoleTarget, Settings
from tui.cluster.connection import Connection
from tui.console.base import ConsoleState, ConsoleTransport, StateChange
from tui.console.kubevirt import TAKEN_OVER, KubevirtConsole
from widgets.resource_table import ResourceTable
from widgets.terminal import Terminal

SIZE = (100, 30)
EXIT = "ctrl+right_square_bracket"


class ScriptedTransport(ConsoleTransport):
    """A console the test drives: it reports what the test says and records what is written."""

    name = "scripted"

    def __init__(self, *, connect: bool = True) -> None:
        self.connect = connect
        self.written: list[bytes] = []
        self.reconnects = 0
        self.closed = False
        self.on_data: Callable[[bytes], None] | None = None
        self.on_state: Callable[[StateChange], None] | None = None

    def open(
        self, on_data: Callable[[bytes], None], on_state: Callable[[StateChange], None]
    ) -> None:
        self.on_data, self.on_state = on_data, on_state
        self.state(ConsoleState.CONNECTING, "connecting")
        if self.connect:
            self.state(ConsoleState.CONNECTED, "connected")

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.state(ConsoleState.CLOSED, "closed")

    def reconnect(self) -> None:
        self.reconnects += 1

    # -- the test's side: calls come from another thread, as from a real transport

    def _from_thread(self, fn: Callable[[], None]) -> None:
        thread = threading.Thread(target=fn)
        thread.start()
        thread.join()

    def state(self, state: ConsoleState, reason: str = "", retry_in: float | None = None) -> None:
        assert self.on_state is not None
        change = StateChange(state, reason, retry_in=retry_in)
        self._from_thread(lambda: self.on_state(change))  # type: ignore[misc]

    def data(self, data: bytes) -> None:
        assert self.on_data is not None
        self._from_thread(lambda: self.on_data(data))  # type: ignore[misc]

    @property
    def sent(self) -> bytes:
        return b"".join(self.written)


# ---- helpers ---------------------------------------------------------------------------------


def kvtui_app(kubeconfig: Path, namespace: str | None = "default", **kwargs: Any) -> Any:
    from tui.app import KvtuiApp

    connection = Connection.from_kubeconfig(str(kubeconfig))
    return KvtuiApp(
        connection,
        Settings(namespace=namespace, all_namespaces=namespace is None),
        kubevirt_version=connection.kubevirt_version(),
        **kwargs,
    )


def console_screen(app: Any) -> ConsoleScreen:
    screen = app.screen
    assert isinstance(screen, ConsoleScreen), f"not a console: {screen!r}"
    return screen


def terminal_text(app: Any) -> str:
    return console_screen(app).terminal.screen_text()


def header(app: Any) -> str:
    """The header line's text ("" until the screen is composed)."""
    found = app.screen.query("#console-header")
    return str(found.first().render()) if found else ""


async def type_text(pilot: Any, text: str) -> None:
    """Type like a user: one key press per character (Pilot names some characters)."""
    names = {" ": "space", "$": "dollar_sign", "(": "left_parenthesis", ")": "right_parenthesis"}
    names.update({"*": "asterisk", "-": "minus", "/": "slash", ".": "full_stop"})
    await pilot.press(*(names.get(ch, ch) for ch in text))


async def shell(pilot: Any, app: Any, wait_for: Any) -> None:
    """From the guest's login prompt (or a shell an earlier test left) to a shell prompt."""
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: terminal_text(app).rstrip().endswith(("login:", "$")),
        what="login prompt after Enter",
    )
    if terminal_text(app).rstrip().endswith("login:"):
        await type_text(pilot, "fedora")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Password:" in terminal_text(app), what="Password:")
        await type_text(pilot, "fedora")
        await pilot.press("enter")
        await wait_for(pilot, lambda: terminal_text(app).rstrip().endswith("$"), what="prompt")


@pytest.fixture
def consoles_closed() -> Iterator[list[Any]]:
    """Apps whose consoles must be closed at the end (threads of real transports)."""
    apps: list[Any] = []
    yield apps
    for app in apps:
        for screen in app.consoles.screens:
            screen.transport.close()
            join = getattr(screen.transport, "join", None)
            if join is not None:
                assert join(5)


# ---- the whole way, on the demo ----------------------------------------------------------------


async def test_s_opens_the_console_and_a_shell_answers(
    kubeconfig: Path, wait_for, screen_text, consoles_closed: list[Any]
) -> None:
    app = kvtui_app(kubeconfig)
    consoles_closed.append(app)
    async with app.run_test(size=SIZE) as pilot:
        table = await wait_for(
            pilot,
            lambda: isinstance(app.screen, VmListScreen) and app.screen.query_one(ResourceTable),
        )
        await wait_for(
            pilot,
            lambda: any(table.cell(k, "STATUS") == "Running" for k in table.keys()),
            what="testvm Running in the list",
        )
        await pilot.press("s")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen)
        assert isinstance(screen.focused, Terminal), "keys go to the terminal at once"
        await wait_for(pilot, lambda: "connected since" in header(app), what="connected")
        text = header(app)
        assert text.startswith("default/testvm  connected since") and "KubeVirt websocket" in text
        footer = str(screen.query_one("#console-footer").render())
        assert "Ctrl+] q leave" in footer, "the way out is always on screen"

        await shell(pilot, app, wait_for)
        await type_text(pilot, "echo hello-$((6*7))")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "\nhello-42" in terminal_text(app), what="hello-42")
        assert "hello-42" in screen_text(app)
        await type_text(pilot, "exit")  # leave the shared guest at its login prompt
        await pilot.press("enter")
        await wait_for(pilot, lambda: terminal_text(app).rstrip().endswith("login:"))

        # The exit key, then q: back to the list; the console stays connected behind it.
        await pilot.press(EXIT, "q")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen), what="the VM list")
        transport = screen.transport
        assert isinstance(transport, KubevirtConsole)
        assert transport.state is ConsoleState.CONNECTED

        # s again: the same console, scrollback intact, no second connection (no takeover).
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen is screen, what="the same console screen")
        assert "hello-42" in terminal_text(app)
        assert transport.connections == 1 and len(app.consoles) == 1

        # Ctrl+] x: disconnect and forget.
        await pilot.press(EXIT, "x")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        assert len(app.consoles) == 0
        assert transport.join(5)


async def test_header_while_waiting_and_after_a_refusal(
    kubeconfig: Path, wait_for, consoles_closed: list[Any]
) -> None:
    app = kvtui_app(kubeconfig, namespace=None)
    consoles_closed.append(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        app.open_console("vm-prod", "ml-train-01")  # unschedulable: never Running
        await wait_for(pilot, lambda: "waiting for the VM" in header(app), what="waiting")
        assert "(ErrorUnschedulable), giving up in " in header(app)
        waiting = console_screen(app)

        app.open_console("default", "no-such-vm")
        await wait_for(pilot, lambda: "disconnected at" in header(app), what="refused")
        text = header(app)
        assert "VM default/no-such-vm not found" in text and "Ctrl+] r to reconnect" in text
        # Opening a second console replaced the first on screen; tab brings it back.
        await pilot.press(EXIT, "tab")
        await wait_for(pilot, lambda: app.screen is waiting, what="the other console")
        assert "waiting for the VM" in header(app)


async def test_takeover_by_another_viewer_is_said_and_not_fought(
    kubeconfig: Path, wait_for, consoles_closed: list[Any]
) -> None:
    app = kvtui_app(kubeconfig)
    consoles_closed.append(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        app.open_console("default", "testvm")
        await wait_for(pilot, lambda: "connected since" in header(app), what="connected")
        mine = console_screen(app).transport
        assert isinstance(mine, KubevirtConsole)

        other = KubevirtConsole(Connection.from_kubeconfig(str(kubeconfig)), "default", "testvm")
        other.open(lambda data: None, lambda change: None)
        try:
            await wait_for(pilot, lambda: TAKEN_OVER in header(app), what="takeover reported")
            notice = str(console_screen(app).query_one("#console-notice").render())
            assert "Another viewer opened this VM's console" in notice
            await pilot.pause(1.5)
            assert mine.connections == 1, "no automatic reconnect after a takeover"

            # Ctrl+] r asks first; the second Ctrl+] r takes it back.
            await pilot.press(EXIT, "r")
            await pilot.pause(0.3)
            notice = str(console_screen(app).query_one("#console-notice").render())
            assert "press Ctrl+] r again" in notice
            assert mine.connections == 1
            await pilot.press(EXIT, "r")
            await wait_for(pilot, lambda: mine.connections == 2, what="reconnected")
            await wait_for(pilot, lambda: "connected since" in header(app))
        finally:
            other.close()
            other.join(5)


async def test_kvtui_console_starts_in_the_console_and_leaves_to_the_list(
    kubeconfig: Path, wait_for, tmp_path: Path, consoles_closed: list[Any]
) -> None:
    log = tmp_path / "console.log"
    app = kvtui_app(kubeconfig, console=ConsoleTarget("default", "testvm", log=log))
    consoles_closed.append(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen), what="console first")
        await wait_for(pilot, lambda: "connected since" in header(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "login:" in terminal_text(app), what="login prompt")
        # The exit key twice also leaves (what virtctl users will press).
        await pilot.press(EXIT, EXIT)
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen), what="the VM list")
    for screen in app.consoles.screens:
        screen.transport.close()
        assert screen.transport.join(5)
    assert b"login:" in log.read_bytes()


def test_cli_console_builds_the_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tui.cli as cli

    seen: dict[str, Any] = {}

    def fake_start(settings: Settings, console: ConsoleTarget | None = None) -> int:
        seen["settings"], seen["console"] = settings, console
        return 0

    monkeypatch.setattr(cli, "start", fake_start)
    log = tmp_path / "x.log"
    args = ["console", "vms/web-01", "--demo", "--log", str(log), "--exit-key", "Ctrl+G"]
    assert cli.main(args) == 0
    assert seen["console"] == ConsoleTarget("vms", "web-01", log, "ctrl+g")
    assert seen["settings"].demo
    assert log.exists(), "the log file is checked (and created) before the UI starts"
    assert cli.main(["console", "web-01", "-n", "vms"]) == 0
    assert seen["console"] == ConsoleTarget("vms", "web-01")
    assert cli.main(["console", "a/b/c"]) == 2
    assert cli.main(["console", "ns/vm", "--log", str(tmp_path / "no" / "dir" / "f")]) == 1


# ---- scripted transports: keys, commands, states ---------------------------------------------


async def open_scripted(
    app: Any, pilot: Any, wait_for: Any, vm: str = "vm1", **kwargs: Any
) -> tuple[ConsoleScreen, ScriptedTransport]:
    await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
    transport = ScriptedTransport(**kwargs)
    screen = app.consoles.open("ns1", vm, transport=transport)
    await wait_for(pilot, lambda: app.screen is screen and screen.change is not None)
    return screen, transport


async def test_every_key_goes_to_the_guest(kubeconfig: Path, wait_for) -> None:
    app = kvtui_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        screen, transport = await open_scripted(app, pilot, wait_for)
        keys = ["ctrl+q", "ctrl+p", "ctrl+c", "escape", "q", "tab", "colon", "question_mark"]
        keys += ["s", "left_square_bracket", "1", "ctrl+d", "ctrl+z", "slash"]
        await pilot.press(*keys)
        await wait_for(pilot, lambda: len(transport.sent) >= len(keys))
        assert transport.sent == b"\x11\x10\x03\x1bq\t:?s[1\x04\x1a/"
        assert app.screen is screen and app.is_running, "no app action fired"


async def test_commands_behind_the_exit_key(kubeconfig: Path, wait_for) -> None:
    app = kvtui_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        screen, transport = await open_scripted(app, pilot, wait_for)
        footer = screen.query_one("#console-footer")
        await pilot.press(EXIT)
        assert screen.prefix and footer.has_class("-prefix")
        assert "r reconnect" in str(footer.render())
        await pilot.press("n")
        assert not screen.prefix
        await pilot.press(EXIT, "s", EXIT, "right_square_bracket", EXIT, "escape", EXIT, "z")
        await pilot.pause(0.1)
        columns, lines = screen.terminal.size_in_cells
        assert transport.sent == b"\r" + f"stty rows {lines} cols {columns}\r".encode() + b"\x1d"
        await pilot.press(EXIT, "r")
        await wait_for(pilot, lambda: transport.reconnects == 1)
        # The terminal's replies to the guest's queries pass even while a command is awaited.
        await pilot.press(EXIT)
        transport.data(b"\x1b[6n")
        await wait_for(pilot, lambda: transport.sent.endswith(b"R"), what="cursor report")
        assert screen.prefix
        await pilot.press("escape")
        assert transport.sent.count(b"\x1b") == 1  # the reply's ESC; esc cancelled, unsent


async def test_stty_on_every_resize_is_optional_and_spares_full_screen_programs(
    kubeconfig: Path, wait_for
) -> None:
    app = kvtui_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        screen, transport = await open_scripted(app, pilot, wait_for)
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.2)
        assert transport.sent == b"", "off by default: typing into the guest is a choice"
        await pilot.press(EXIT, "S")
        await wait_for(pilot, lambda: b"stty rows" in transport.sent, what="stty at once")
        assert screen.auto_stty
        await pilot.resize_terminal(90, 26)

        def last() -> bytes:
            return transport.sent.rsplit(b"stty", 1)[-1]

        def told() -> bool:
            columns, lines = screen.terminal.size_in_cells
            return columns < 100 and last() == f" rows {lines} cols {columns}\r".encode()

        await wait_for(pilot, told, what="stty with the new size")
        columns, lines = screen.terminal.size_in_cells
        # A full-screen program (the alternate screen) gets no typed text.
        transport.data(b"\x1b[?1049h")
        await pilot.pause(0.1)
        sent = transport.sent
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: screen.terminal.size_in_cells[0] != columns)
        await pilot.pause(0.2)
        assert transport.sent == sent
        await pilot.press(EXIT, "S")
        assert not screen.auto_stty


async def test_states_in_the_header_and_hostile_reasons(kubeconfig: Path, wait_for) -> None:
    app = kvtui_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        screen, transport = await open_scripted(app, pilot, wait_for, connect=False)
        assert "connecting…" in header(app)
        assert header(app).startswith("ns1/vm1  connecting…  scripted")
        transport.state(ConsoleState.WAITING, "the VM is not running yet (giving up in 4:59)", 1.0)
        await wait_for(pilot, lambda: "waiting for VM: the VM is not running" in header(app))
        transport.state(ConsoleState.WAITING, "waiting for the VM to run, giving up in 4:58", 1.0)
        await wait_for(pilot, lambda: "ns1/vm1  waiting for the VM to run, giving" in header(app))
        transport.state(ConsoleState.CONNECTED, "connected")
        await wait_for(pilot, lambda: "connected since" in header(app))
        hostile = "[bold red]x[/] \x1b[2J"
        transport.state(ConsoleState.DISCONNECTED, f"network: {hostile}", retry_in=30)
        await wait_for(pilot, lambda: "disconnected at" in header(app))
        text = header(app)
        assert "network: [bold red]x[/] ?[2J" in text and "\x1b" not in text
        assert "reconnecting in 30 s" in text or "reconnecting in 29 s" in text
        transport.state(ConsoleState.DISCONNECTED, "VM stopped")
        await wait_for(pilot, lambda: "VM stopped — Ctrl+] r to reconnect" in header(app))


async def test_blank_screen_hint_comes_and_goes(kubeconfig: Path, wait_for) -> None:
    app = kvtui_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        screen, transport = await open_scripted(app, pilot, wait_for)
        notice = screen.query_one("#console-notice")
        assert not notice.display
        await wait_for(pilot, lambda: notice.display, timeout=5, what="the hint")
        assert "Blank screen? Press Enter" in str(notice.render())
        size = screen.terminal.size_in_cells
        transport.data(b"login: ")
        await wait_for(pilot, lambda: not notice.display, what="hint gone")
        assert screen.terminal.size_in_cells == size, "the notice floats: no resize"
        assert "login:" in screen.terminal.screen_text()


async def test_reopening_returns_to_the_console_and_tab_cycles(kubeconfig: Path, wait_for) -> None:
    app = kvtui_app(kubeconfig)
    async with app.run_test(size=SIZE) as pilot:
        first, t1 = await open_scripted(app, pilot, wait_for, vm="vm1")
        t1.data(b"first-output\r\n")
        await pilot.press(EXIT, "q")
        second, t2 = await open_scripted(app, pilot, wait_for, vm="vm2")
        t1.data(b"while-away\r\n")  # a console in the background keeps its screen up to date
        await pilot.pause(0.2)
        await pilot.press(EXIT, "tab")
        await wait_for(pilot, lambda: app.screen is first)
        await wait_for(pilot, lambda: "while-away" in first.terminal.screen_text())
        assert "first-output" in first.terminal.screen_text()
        await pilot.press(EXIT, "tab")
        await wait_for(pilot, lambda: app.screen is second)
        # Leaving from a switched-to console still lands on the list.
        await pilot.press(EXIT, "q")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
        assert app.consoles.open("ns1", "vm1") is first
        await wait_for(pilot, lambda: app.screen is first)
        assert not t1.closed and not t2.closed and len(app.consoles) == 2


async def test_exit_key_is_configurable(kubeconfig: Path, wait_for) -> None:
    app = kvtui_app(kubeconfig, console=None)
    async with app.run_test(size=SIZE) as pilot:
        app.consoles.exit_key = "ctrl+g"
        screen, transport = await open_scripted(app, pilot, wait_for)
        assert "Ctrl+G q leave" in str(screen.query_one("#console-footer").render())
        await pilot.press(EXIT)  # Ctrl+] is now an ordinary key for the guest
        await wait_for(pilot, lambda: transport.sent == b"\x1d")
        await pilot.press("ctrl+g", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))


def test_key_labels() -> None:
    assert key_label("ctrl+right_square_bracket") == "Ctrl+]"
    assert key_label("ctrl+g") == "Ctrl+G"
    assert key_label("f12") == "F12"
    assert key_label("alt+backslash") == "Alt+\\"
