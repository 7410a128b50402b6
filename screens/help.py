"""`?`: every key the current view answers to, grouped by where it comes from.

The list is read from Textual's own binding chain of the screen underneath (focused widget,
its parents, the screen, the app), so it can never drift from what the keys really do.
"""

from __future__ import annotations

from rich.columns import Columns
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# Textual's key names -> what the user presses.
KEY_NAMES = {
    "escape": "esc",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "minus": "-",
    "colon": ":",
    "question_mark": "?",
    "slash": "/",
    "space": "space",
    "enter": "enter",
}

# Every Textual screen binds these; they are not what the view offers, so help leaves them out.
SCREEN_PLUMBING = {
    "app.focus_next",
    "app.focus_previous",
    "focus_next",
    "focus_previous",
    "screen.copy_text",
    "copy_text",
}


def key_label(key: str, display: str | None = None) -> str:
    """A readable key name: 'left_square_bracket' -> '['; 'ctrl+p' stays."""
    if display:
        return display
    return KEY_NAMES.get(key, key)


def binding_groups(screen: Screen) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group title, [(keys, description), ...]), ...] for the bindings active on `screen`.

    Bindings to the same action are joined ("j, down"); app bindings come last as "Global".
    A global key that the view or a widget already binds is left out (on the VM details, `1`
    picks a tab: favourite namespace 1 does not apply there), unless the global binding has
    priority and so wins. (A widget's key that the view binds too stays: the table's enter
    "selects", which is the view's "Open".)
    """
    app = screen.app
    groups: dict[str, dict[str, tuple[list[str], str]]] = {}
    taken: set[str] = set()  # keys bound by nodes nearer the focus
    for node, bindings in screen._modal_binding_chain:  # noqa: SLF001 - no public per-node chain
        here: set[str] = set()
        if node is app:
            title = "Global"
        elif node is screen:
            title = "View"
        else:
            title = type(node).__name__.replace("Table", " table")
        group = groups.setdefault(title, {})
        for key, binding in bindings:
            if binding.system and binding.action not in ("command_palette", "quit"):
                continue
            if node is screen and binding.action in SCREEN_PLUMBING:
                continue
            if node is app and key in taken and not binding.priority:
                continue
            state = app._check_action_state(binding.action, node)  # noqa: SLF001
            if state is False:
                continue
            here.add(key)
            description = binding.description or binding.action.replace("_", " ")
            label = key_label(key, binding.key_display)
            keys, _ = group.setdefault(binding.action, ([], description))
            if label not in keys:
                keys.append(label)
        taken |= here
    # The view's own keys first, then the focused widget's, then the global ones.
    rank = {"View": 0, "Global": 2}
    ordered = sorted(groups.items(), key=lambda item: rank.get(item[0], 1))
    return [
        (title, [(", ".join(keys), description) for keys, description in actions.values()])
        for title, actions in ordered
        if actions
    ]


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; esc, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen #help-box {
        width: 90%;
        max-width: 110;
        height: 90%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target
        self.groups = binding_groups(target)
        # Keys the view leaves out now, and why (`help_notes()`, e.g. screens/on_node.py's `o`).
        notes = getattr(target, "help_notes", None)
        self.notes: list[str] = list(notes()) if callable(notes) else []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(self._render_groups(), id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "Keys — esc closes"

    def _render_groups(self) -> Columns:
        # One small table per group, flowed side by side: at 160 columns every key fits on
        # one screen, at 80 they stack and the box scrolls.
        tables = []
        for title, entries in self.groups:
            table = Table.grid(padding=(0, 1))
            table.add_column(style="bold", no_wrap=True)
            table.add_column(no_wrap=True)
            table.add_row(Text(title, style="bold underline"), "")
            for keys, description in entries:
                table.add_row(Text(keys), Text(description))
            tables.append(table)
        if self.notes:
            table = Table.grid(padding=(0, 1))
            table.add_column(no_wrap=False, max_width=60)
            table.add_row(Text("Not offered here", style="bold underline"))
            for note in self.notes:
                table.add_row(Text(note, style="dim"))
            tables.append(table)
        return Columns(tables, padding=(1, 3))

    def text(self) -> str:
        """The help as plain lines (for tests and for copying)."""
        lines = []
        for title, entries in self.groups:
            lines.append(title)
            lines += [f"  {keys}  {description}" for keys, description in entries]
        if self.notes:
            lines.append("Not offered here")
            lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
