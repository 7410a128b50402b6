"""The console screen: one VM's serial console, and the registry of every console open.

Layout, top to bottom: a header line (which VM, the transport, the state and why), a notice
line that shows up only when there is something to say (a blank screen, a takeover), the
terminal, and a footer that always names the exit key.

Keys. The terminal forwards every key to the guest (Esc, Ctrl+C, F-keys, Tab: a guest may
need any of them) except its exit key, Ctrl+] as in `virtctl console`. So the screen's own
commands sit behind that key, as telnet puts its commands behind its escape character:

    Ctrl+] q  (or Ctrl+] Ctrl+])   leave; the console stays connected in the background
    Ctrl+] r   reconnect              Ctrl+] x   disconnect and close this console
    Ctrl+] n   send Enter             Ctrl+] s   send `stty rows R cols C` (serial has no SIGWINCH)
    Ctrl+] S   send it after every resize too (on/off; never into a full-screen program)
    Ctrl+] c   copy the screen        Ctrl+] w   save the output to a file
    Ctrl+] tab next open console      Ctrl+] ]   send a literal Ctrl+] to the guest
    Ctrl+] esc (or any other key)     back to the console, nothing sent

Consoles live on after one leaves them: the app's `ConsoleRegistry` keeps one screen per VM
(installed, so Textual does not destroy it when it leaves the stack) and opening the same VM
again returns to it with its scrollback. KubeVirt allows one console session per VM and a
new one silently cuts off the old, so kvtui never opens two for one VM itself, and asks
before reconnecting a console another viewer has taken over.

The transport calls back on its own thread: bytes are buffered and handed to the UI thread
in one message per burst, so a flood of output costs one wake-up per frame, not per chunk.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from tui.cli import key_name
from tui.console.base import ConsoleState, ConsoleTransport, StateChange
from tui.console.kubevirt import TAKEN_OVER, KubevirtConsole
from tui.console.libvirt import HELD_BY_ANOTHER
from widgets.terminal import Terminal

if TYPE_CHECKING:
    from textual.app import App

DEFAULT_EXIT_KEY = "ctrl+right_square_bracket"
# Some keyboard layouts cannot type Ctrl+]: the key can be chosen (`kvtui console --exit-key`).
EXIT_KEY_ENV = "KVTUI_CONSOLE_EXIT_KEY"
BLANK_HINT_AFTER = 2.0  # seconds of silence after connecting before suggesting Enter

_STATE_STYLE = {
    ConsoleState.CONNECTING: "bold yellow",
    ConsoleState.WAITING: "bold yellow",
    ConsoleState.CONNECTED: "bold green",
    ConsoleState.DISCONNECTED: "bold red",
    ConsoleState.CLOSED: "dim",
}

# Ctrl+] then one of these (the bytes the terminal produced for the key) -> a command.
PREFIX_COMMANDS: dict[bytes, str] = {
    b"q": "leave",
    b"Q": "leave",
    b"r": "reconnect",
    b"R": "reconnect",
    b"x": "close",
    b"X": "close",
    b"n": "newline",
    b"\r": "newline",
    b"s": "stty",
    b"S": "auto_stty",
    b"c": "copy",
    b"w": "save",
    b"\t": "next",
    b"]": "literal",
    b"?": "commands",
}


def key_label(key: str) -> str:
    """A Textual key name as people write it: ctrl+right_square_bracket -> Ctrl+]."""
    names = {
        "right_square_bracket": "]",
        "left_square_bracket": "[",
        "backslash": "\\",
        "circumflex_accent": "^",
        "underscore": "_",
        "at": "@",
    }
    parts = key.split("+")
    out = [p.capitalize() if p in ("ctrl", "alt", "shift", "meta") else p for p in parts[:-1]]
    last = parts[-1]
    out.append(names.get(last, last.upper() if len(last) == 1 else last.capitalize()))
    return "+".join(out)


def _plain(text: str) -> str:
    """Cluster-supplied words with control characters made harmless (no escapes on screen)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


class ConsoleData(Message):
    """Bytes are waiting in the screen's buffer (posted once per burst, from any thread)."""


class ConsoleStateChanged(Message):
    """The transport reported a state change (posted from the transport's thread)."""

    def __init__(self, change: StateChange) -> None:
        super().__init__()
        self.change = change


class ConsoleScreen(Screen[None]):
    """One console: header, notice, terminal, footer (see the module docstring for keys)."""

    CSS_PATH = "console.tcss"
    AUTO_FOCUS = "#console-terminal"

    def __init__(
        self,
        transport: ConsoleTransport,
        *,
        namespace: str,
        vm: str,
        exit_key: str = DEFAULT_EXIT_KEY,
        registry: ConsoleRegistry | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.transport = transport
        self.namespace = namespace
        self.vm = vm
        self.exit_key = exit_key
        self.exit_label = key_label(exit_key)
        self.registry = registry
        self.change: StateChange | None = None
        self.prefix = False  # the exit key was pressed: the next key is a screen command
        self.confirm_takeover = False  # "r" after a takeover: the next "r" really does it
        self.opened = False
        self.size_text = ""
        self.auto_stty = False  # Ctrl+] S: type `stty rows R cols C` after every resize
        self.bytes_since_connect = 0
        self._buffer = bytearray()
        self._buffer_lock = threading.Lock()
        self._data_posted = False
        self._hint_timer: Timer | None = None
        self._notice: Text | None = None

    @property
    def title_text(self) -> str:
        return f"{self.namespace}/{self.vm}"

    # ---- layout and life cycle ---------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="console-header")
        yield Static(id="console-notice")
        yield Terminal(id="console-terminal", exit_key=self.exit_key)
        yield Static(id="console-footer")

    def on_mount(self) -> None:
        self._render_header()
        self._render_notice()
        self._render_footer()
        # Countdowns ("reconnecting in 4 s") move on their own between state changes.
        self.set_interval(1.0, self._render_header, name="console header")
        self.open_transport()

    def on_screen_resume(self) -> None:
        self.terminal.focus()

    def on_unmount(self) -> None:
        self.transport.close()

    def open_transport(self) -> None:
        if self.opened:
            return
        self.opened = True
        self.transport.open(self._on_data, self._on_state)

    @property
    def terminal(self) -> Terminal:
        return self.query_one("#console-terminal", Terminal)

    @property
    def state(self) -> ConsoleState | None:
        return self.change.state if self.change else None

    # ---- from the transport's thread ------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        with self._buffer_lock:
            self._buffer += data
            if self._data_posted:
                return
            self._data_posted = True
        self.post_message(ConsoleData())

    def _on_state(self, change: StateChange) -> None:
        self.post_message(ConsoleStateChanged(change))

    # ---- on the UI thread ------------------------------------------------------------------

    def on_console_data(self, message: ConsoleData) -> None:
        message.stop()
        with self._buffer_lock:
            data = bytes(self._buffer)
            self._buffer.clear()
            self._data_posted = False
        if not data:
            return
        self.bytes_since_connect += len(data)
        self.terminal.feed(data)
        if self._notice is not None and self._notice_kind == "blank":
            self._set_notice(None)

    def on_console_state_changed(self, message: ConsoleStateChanged) -> None:
        message.stop()
        change = message.change
        previous = self.state
        self.change = change
        if change.state is ConsoleState.CONNECTED and previous is not ConsoleState.CONNECTED:
            self.bytes_since_connect = 0
            self.confirm_takeover = False
            self._set_notice(None)
            if self._hint_timer is not None:
                self._hint_timer.stop()
            self._hint_timer = self.set_timer(BLANK_HINT_AFTER, self._blank_hint)
        elif change.state is ConsoleState.DISCONNECTED and change.reason == HELD_BY_ANOTHER:
            # libvirt says so before we connect: nobody is cut off unless the user insists.
            self._set_notice(
                Text.assemble(
                    ("Another viewer holds this console", "bold"),
                    " (libvirt allows one at a time). ",
                    f"{self.exit_label} r takes it over and cuts them off.",
                ),
                kind="takeover",
            )
        elif change.state is ConsoleState.DISCONNECTED and change.reason == TAKEN_OVER:
            self._set_notice(
                Text.assemble(
                    ("Another viewer opened this VM's console", "bold"),
                    " at ",
                    change.at.strftime("%H:%M:%S"),
                    " (KubeVirt allows one at a time; the newest wins). ",
                    f"{self.exit_label} r takes it back and cuts them off.",
                ),
                kind="takeover",
            )
        elif change.state is not ConsoleState.CONNECTED and self._notice_kind == "blank":
            self._set_notice(None)
        self._render_header()

    def _blank_hint(self) -> None:
        self._hint_timer = None
        if self.state is ConsoleState.CONNECTED and self.bytes_since_connect == 0:
            self._set_notice(
                Text.assemble(
                    ("Blank screen? ", "bold"),
                    "Press Enter — the guest may be waiting for input ",
                    f"(a serial console shows nothing until the guest writes). {self.exit_label} n sends Enter.",
                ),
                kind="blank",
            )

    # ---- keys (from the terminal) -------------------------------------------------------

    def on_terminal_input(self, message: Terminal.Input) -> None:
        message.stop()
        # The terminal's answers to the guest's queries (message.reply) reach the guest
        # even while a command key is awaited; keys then are the command.
        if self.prefix and not message.reply:
            self._prefix_command(message.data)
            return
        self.transport.write(message.data)

    def on_terminal_exit_requested(self, message: Terminal.ExitRequested) -> None:
        message.stop()
        if self.prefix:
            # The exit key twice: leave (virtctl's users reach for it to get out).
            self._end_prefix()
            self.action_leave()
            return
        self.prefix = True
        self._render_footer()

    def on_terminal_resized(self, message: Terminal.Resized) -> None:
        message.stop()
        self.size_text = f"{message.columns}×{message.lines}"
        self._render_header()
        if self.auto_stty:
            self._send_size()

    def _end_prefix(self) -> None:
        self.prefix = False
        self._render_footer()

    def _prefix_command(self, data: bytes) -> None:
        self._end_prefix()
        command = PREFIX_COMMANDS.get(data)
        if command is None:
            return  # Esc or any other key: back to the console, nothing sent
        if command != "reconnect":
            self.confirm_takeover = False
        getattr(self, f"action_{command}")()

    # ---- commands -----------------------------------------------------------------------------

    def action_commands(self) -> None:
        """Ctrl+] ?: keep the command footer up (it lists every command)."""
        self.prefix = True
        self._render_footer()

    def action_leave(self) -> None:
        """Back to where the console was opened from; the session keeps running."""
        if self.registry is not None:
            self.registry.leave(self)
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_close(self) -> None:
        """Disconnect and forget this console."""
        if self.registry is not None:
            self.registry.close(self)
        else:
            self.transport.close()
            if len(self.app.screen_stack) > 1:
                self.app.pop_screen()

    def action_reconnect(self) -> None:
        change = self.change
        if (
            change is not None
            and change.state is ConsoleState.DISCONNECTED
            and change.reason in (TAKEN_OVER, HELD_BY_ANOTHER)
            and not self.confirm_takeover
        ):
            # We know someone else holds it: reconnecting cuts them off. Ask once.
            self.confirm_takeover = True
            self._set_notice(
                Text.assemble(
                    ("Someone else is using this console. ", "bold"),
                    f"Reconnecting cuts them off: press {self.exit_label} r again to do it.",
                ),
                kind="takeover",
            )
            return
        self.confirm_takeover = False
        reconnect: Callable[[], None] | None = getattr(self.transport, "reconnect", None)
        if reconnect is None:
            self.notify("This console cannot reconnect.", severity="warning")
            return
        self._set_notice(None)
        reconnect()

    def action_newline(self) -> None:
        self.transport.write(b"\r")

    def action_literal(self) -> None:
        self.transport.write(b"\x1d")

    def action_stty(self) -> None:
        """Tell the guest our size: a serial line carries no window-size change."""
        if self.state is not ConsoleState.CONNECTED:
            self.notify("Not connected.", severity="warning")
            return
        self.transport.write(self.terminal.stty_command())

    def action_auto_stty(self) -> None:
        """Ctrl+] S: tell the guest the size after every resize too (and now), or stop."""
        self.auto_stty = not self.auto_stty
        if self.auto_stty:
            self.notify(
                "The size is typed into the guest after every resize "
                "(not while a full-screen program runs).",
                title="stty on resize: on",
                timeout=4,
            )
            self._send_size()
        else:
            self.notify("stty on resize: off", timeout=2)
        self._render_footer()

    def _send_size(self) -> None:
        # Typed text lands in whatever runs: only at a shell, never into vi or top (they
        # switch to the alternate screen), and only while connected.
        if self.state is ConsoleState.CONNECTED and not self.terminal.emulator.alternate_screen:
            self.transport.write(self.terminal.stty_command())

    def action_copy(self) -> None:
        self.terminal.copy_screen()
        self.notify("Screen copied to the clipboard.", timeout=2)

    def action_save(self) -> None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path.cwd() / f"kvtui-console-{self.namespace}-{self.vm}-{stamp}.txt"
        try:
            self.terminal.save_output(path)
        except OSError as exc:
            self.notify(f"Cannot save {path}: {exc.strerror}", severity="error", markup=False)
            return
        self.notify(f"Output saved to {path}", timeout=4, markup=False)

    def action_next(self) -> None:
        if self.registry is None or not self.registry.next(self):
            self.notify("No other console open.", timeout=2)

    # ---- drawing ------------------------------------------------------------------------------

    _notice_kind: str | None = None

    def _set_notice(self, text: Text | None, kind: str | None = None) -> None:
        self._notice = text
        self._notice_kind = kind if text is not None else None
        if self.is_mounted:
            self._render_notice()

    def _render_notice(self) -> None:
        notice = self.query_one("#console-notice", Static)
        notice.display = self._notice is not None
        notice.set_class(self._notice_kind == "takeover", "-warning")
        notice.update(self._notice or "")

    def state_words(self, now: datetime | None = None) -> Text:
        """The state part of the header, with live countdowns."""
        change = self.change
        if change is None:
            return Text("starting", style="dim")
        style = _STATE_STYLE[change.state]
        reason = _plain(change.reason)
        if change.state is ConsoleState.CONNECTING:
            return Text(f"{reason or 'connecting'}…", style=style)
        if change.state is ConsoleState.WAITING:
            if "waiting" in reason.lower():  # the reason already reads as the state
                return Text(reason, style=style)
            return Text.assemble(("waiting for VM", style), f": {reason}" if reason else "")
        if change.state is ConsoleState.CONNECTED:
            return Text.assemble(
                ("connected", style), (f" since {change.at.strftime('%H:%M:%S')}", "dim")
            )
        if change.state is ConsoleState.CLOSED:
            return Text("closed", style=style)
        words = Text.assemble(
            (f"disconnected at {change.at.strftime('%H:%M:%S')}", style),
            f": {reason}" if reason else "",
        )
        if change.retry_in is not None:
            left = change.retry_in - ((now or datetime.now()) - change.at).total_seconds()
            words.append(f" — reconnecting in {max(0, int(left + 0.999))} s", "italic")
        else:
            words.append(f" — {self.exit_label} r to reconnect", "italic")
        return words

    def _render_header(self) -> None:
        # The state right after the VM's name: on a narrow terminal the tail is cut, and
        # the transport's name and the size matter least.
        header = Text.assemble(
            (_plain(self.title_text), "bold"), "  ", no_wrap=True, overflow="ellipsis"
        )
        header.append_text(self.state_words())
        header.append(f"  {_plain(self.transport.name)}", "dim")
        if self.size_text:
            header.append(f"  {self.size_text}", "dim")
        self.query_one("#console-header", Static).update(header)

    def _render_footer(self) -> None:
        footer = self.query_one("#console-footer", Static)
        footer.set_class(self.prefix, "-prefix")
        key = self.exit_label
        if self.prefix:
            # Most wanted first: at 80 columns the tail is cut.
            text = Text(no_wrap=True, overflow="ellipsis")
            text.append(f"{key} ", "bold")
            for command_key, words in (
                ("q", "leave"),
                ("r", "reconnect"),
                ("n", "Enter"),
                ("s", "stty size"),
                ("tab", "next"),
                ("c", "copy"),
                ("w", "save"),
                ("x", "close"),
                ("S", f"stty on resize {'off' if self.auto_stty else 'on'}"),
                ("]", f"send {key}"),
                ("esc", "back"),
            ):
                text.append(f" {command_key}", "bold")
                text.append(f" {words} ")
        else:
            text = Text.assemble(
                (f"{key} q", "bold"),
                " leave  ",
                (f"{key} r", "bold"),
                " reconnect  ",
                (f"{key} n", "bold"),
                " Enter  ",
                (f"{key} ?", "bold"),
                " more   other keys go to the VM",
                no_wrap=True,
                overflow="ellipsis",
            )
        footer.update(text)


def _env_exit_key() -> str | None:
    value = os.environ.get(EXIT_KEY_ENV, "").strip()
    if not value:
        return None
    try:
        return key_name(value)
    except ValueError:
        return None  # a typo must not lock anyone in a console: fall back to the default


class ConsoleRegistry:
    """The open consoles of one app, one per VM: reopening a VM's console returns to it."""

    def __init__(self, app: App[Any], *, exit_key: str | None = None) -> None:
        self.app = app
        self.exit_key = exit_key or _env_exit_key() or DEFAULT_EXIT_KEY
        self._screens: dict[tuple[str, str, str], ConsoleScreen] = {}
        self._serial = 0

    def __len__(self) -> int:
        return len(self._screens)

    @property
    def screens(self) -> list[ConsoleScreen]:
        return list(self._screens.values())

    def _key(self, namespace: str, vm: str) -> tuple[str, str, str]:
        connection = getattr(self.app, "connection", None)
        return (str(getattr(connection, "server", "")), namespace, vm)

    def get(self, namespace: str, vm: str) -> ConsoleScreen | None:
        return self._screens.get(self._key(namespace, vm))

    def open(
        self,
        namespace: str,
        vm: str,
        *,
        log: str | os.PathLike[str] | None = None,
        transport: ConsoleTransport | None = None,
    ) -> ConsoleScreen:
        """Show the console of `namespace/vm`, opening it if it is not open yet."""
        screen = self.get(namespace, vm)
        if screen is None:
            if transport is None:
                transport = KubevirtConsole(
                    self.app.connection,  # type: ignore[attr-defined]
                    namespace,
                    vm,
                    log=log,
                )
            self._serial += 1
            screen = ConsoleScreen(
                transport,
                namespace=namespace,
                vm=vm,
                exit_key=self.exit_key,
                registry=self,
                name=f"console-{self._serial}",
            )
            self._screens[self._key(namespace, vm)] = screen
            assert screen.name is not None
            self.app.install_screen(screen, screen.name)
        elif log is not None:
            self.app.notify(
                "This console is already open; --log applies to new consoles only.",
                severity="warning",
            )
        self.show(screen)
        return screen

    def show(self, screen: ConsoleScreen) -> None:
        app = self.app
        if app.screen is screen:
            return
        if isinstance(app.screen, ConsoleScreen):
            # From one console to another: replace, so leaving goes back to the list.
            app.switch_screen(screen)
        else:
            app.push_screen(screen)

    def next(self, current: ConsoleScreen) -> bool:
        """Show the console after `current` (in opening order); False if it is the only one."""
        screens = self.screens
        if len(screens) < 2 or current not in screens:
            return False
        self.show(screens[(screens.index(current) + 1) % len(screens)])
        return True

    def leave(self, screen: ConsoleScreen) -> None:
        """Back to the screen under the console; the console keeps running."""
        if self.app.screen is screen and len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def close(self, screen: ConsoleScreen) -> None:
        """Disconnect, forget, and leave the console."""
        screen.transport.close()
        for key, value in list(self._screens.items()):
            if value is screen:
                del self._screens[key]
        shown = screen in self.app.screen_stack
        self.leave(screen)
        if screen in self.app.screen_stack:
            return  # under other screens: it stays installed until the app ends
        self.app.uninstall_screen(screen)
        if not shown:
            # Not being popped, so nothing else will remove it (and end its widgets).
            screen.remove()

    def close_all(self) -> None:
        """Close every transport (at exit: daemon threads would die anyway, logs get flushed)."""
        for screen in self.screens:
            screen.transport.close()
