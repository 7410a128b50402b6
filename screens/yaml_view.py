"""A read-only YAML view of any object (k9s's `y`), where a list has nothing better to open.

The object is the one the list held when the user opened it (the title says when); the text
is PyYAML's dump, which escapes control characters, drawn through Rich's Syntax: cluster
text never becomes markup or terminal control. `ctrl+y` copies it (OSC 52), `esc` goes back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from widgets.footer import Footer
from widgets.resource_table import plain


def _editable(obj: dict[str, Any]) -> dict[str, Any]:
    obj = dict(obj)
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)  # noise, as `kubectl get -o yaml` shows since 1.21
    obj["metadata"] = meta
    return obj


class YamlViewScreen(Screen):
    """One object's YAML, scrollable with the usual keys."""

    DEFAULT_CSS = """
    YamlViewScreen #yaml-title { height: 1; padding: 0 1; }
    YamlViewScreen #yaml-scroll { height: 1fr; }
    YamlViewScreen #yaml-body { width: auto; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+y", "copy", "Copy YAML"),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
        Binding("g", "scroll('home')", "Top", show=False),
        Binding("G", "scroll('end')", "Bottom", show=False),
    ]

    def __init__(self, obj: dict[str, Any], *, kind: str = "") -> None:
        super().__init__()
        self.obj = obj
        meta = obj.get("metadata") or {}
        self.kind = kind or str(obj.get("kind") or "Object")
        self.namespace = str(meta.get("namespace") or "")
        self.object_name = str(meta.get("name") or "")
        self.text = yaml.safe_dump(_editable(obj), sort_keys=False, allow_unicode=False)
        self.taken = datetime.now().strftime("%H:%M:%S")

    def compose(self) -> ComposeResult:
        context_bar = getattr(self.app, "context_bar", None)
        if context_bar is not None:
            yield context_bar()
        where = f"{self.namespace}/{self.object_name}" if self.namespace else self.object_name
        yield Static(
            Text.assemble(
                (f"{plain(self.kind)} ", "bold"),
                (plain(where), "bold"),
                (f"  YAML as of {self.taken}", "dim"),
                no_wrap=True,
                overflow="ellipsis",
            ),
            id="yaml-title",
        )
        with VerticalScroll(id="yaml-scroll"):
            yield Static(Syntax(self.text, "yaml", theme="ansi_dark"), id="yaml-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#yaml-scroll").focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#yaml-scroll", VerticalScroll)
        {
            "down": scroll.scroll_down,
            "up": scroll.scroll_up,
            "home": scroll.scroll_home,
            "end": scroll.scroll_end,
        }[where]()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("The YAML is on the clipboard (OSC 52).", title="Copied")
