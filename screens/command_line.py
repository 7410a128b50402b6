"""The `:` prompt at the bottom of the screen, k9s style.

A modal screen over the current view holding one input line: `tab` completes (aliases, then
namespaces or contexts), `up`/`down` walk the lines entered before, `enter` dismisses with
the line, `esc` with None. What the line means is the caller's business (`screens.navigator`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.navigation import VIEWS, common_prefix, view_named
from widgets.inputs import Input
from widgets.resource_table import plain

Completer = Callable[[str], list[str]]


# Marks a key the line has handled (or passed on): the screen sends it no second time.
SEEN_BY_LINE = "_kvtui_seen_by_line"


class CommandInput(Input):
    """The input line; tab and up/down are ours, not focus moves or cursor jumps."""

    BINDINGS = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
    ]

    async def _on_key(self, event: events.Key) -> None:
        setattr(event, SEEN_BY_LINE, True)
        await super()._on_key(event)

    def action_complete(self) -> None:
        screen = self.screen
        if isinstance(screen, CommandLineScreen):
            screen.complete()

    def action_history(self, step: int) -> None:
        screen = self.screen
        if isinstance(screen, CommandLineScreen):
            screen.walk_history(step)


class CommandLineScreen(ModalScreen[str | None]):
    """Ask for one `:` line. Dismisses with the text (without ':') or None on esc."""

    DEFAULT_CSS = """
    CommandLineScreen {
        align: left bottom;
        background: $background 0%;
    }
    CommandLineScreen #command-box {
        height: auto;
        width: 100%;
        background: $panel;
    }
    CommandLineScreen #command-candidates {
        height: auto;
        max-height: 3;
        padding: 0 1;
        color: $text-muted;
    }
    /* By id: Input's own `:focus` rule (a tall border) outranks a type selector, and a
       border on a 1-line input hides the very text being typed. */
    CommandLineScreen #command-input {
        border: none;
        height: 1;
        padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        *,
        completer: Completer | None = None,
        history: list[str] | None = None,
        initial: str = "",
    ) -> None:
        super().__init__()
        self._completer = completer or (lambda _text: [])
        self._history = list(history or [])
        self._history_index = len(self._history)
        self._initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            yield Static(id="command-candidates")
            yield CommandInput(
                value=self._initial,
                placeholder="vm, ns, tmpl, dv, ctx … (tab completes, esc cancels)",
                id="command-input",
                select_on_focus=False,
            )

    def on_mount(self) -> None:
        self.query_one("#command-candidates", Static).display = False
        self.set_focus(self.query_one(CommandInput))

    def on_key(self, event: events.Key) -> None:
        """Keys typed with the `:` (one terminal read: fast typing, a paste, slow SSH) come
        to this screen before its line had the focus: they are the line's, in order."""
        if not getattr(event, SEEN_BY_LINE, False):
            event.stop()
            event.prevent_default()
            self.input._forward_event(events.Key(event.key, event.character))  # noqa: SLF001

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    def complete(self) -> None:
        """Fill in what every candidate shares; list the candidates when several remain."""
        text = self.input.value
        candidates = self._completer(text)
        shown = self.query_one("#command-candidates", Static)
        if not candidates:
            shown.update(Text("no completion", style="italic"))
            shown.display = True
            return
        if len(candidates) == 1:
            # A unique command gets a space so the argument can follow at once.
            self._set(candidates[0] + (" " if " " not in candidates[0] else ""))
            shown.display = False
            return
        prefix = common_prefix(candidates)
        if len(prefix) > len(text):
            self._set(prefix)
        shown.update(Text(plain("  ".join(candidates)), no_wrap=False))
        shown.display = True

    def walk_history(self, step: int) -> None:
        """Up/down through earlier lines; past the newest is an empty line again."""
        if not self._history:
            return
        self._history_index = max(0, min(len(self._history), self._history_index + step))
        if self._history_index == len(self._history):
            self._set("")
        else:
            self._set(self._history[self._history_index])

    def _set(self, value: str) -> None:
        self.input.value = value
        self.input.cursor_position = len(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip().lstrip(":").strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class NavigationCommands(Provider):
    """Textual's command palette (ctrl+p) offers the `:` commands: views, contexts, quit.

    It reads the app's `navigator` (see screens.navigator); an app without one offers nothing.
    """

    def _commands(self) -> list[tuple[str, str, str]]:
        """(title, help, `:` line) for every command worth offering now."""
        navigator = getattr(self.app, "navigator", None)
        if navigator is None:
            return []
        out: list[tuple[str, str, str]] = []
        for view in VIEWS:
            if view.name in ("q", "ctx"):
                continue
            out.append((f"{view.title}  :{view.name}", view.help, view.name))
        out.append(
            (f"{view_named('vm').title} in all namespaces  :vm -A", "every namespace", "vm -A")
        )
        for namespace in navigator.favourites.namespaces:
            out.append(
                (f"VMs in {namespace}  :vm {namespace}", "a recent namespace", f"vm {namespace}")
            )
        out.append(("Contexts  :ctx", view_named("ctx").help, "ctx"))
        for context in self.app.connection.contexts():  # type: ignore[attr-defined]
            out.append(
                (
                    f"Switch context to {context}  :ctx {context}",
                    "kubeconfig context",
                    f"ctx {context}",
                )
            )
        out.append(("Quit kvtui  :q", "leave", "q"))
        return out

    async def discover(self) -> Hits:
        navigator = getattr(self.app, "navigator", None)
        for title, help_text, line in self._commands():
            yield DiscoveryHit(plain(title), partial(navigator.run, line), help=help_text)

    async def search(self, query: str) -> Hits:
        navigator = getattr(self.app, "navigator", None)
        matcher = self.matcher(query)
        for title, help_text, line in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(plain(title)),
                    partial(navigator.run, line),
                    help=help_text,
                )
