"""The key footer: the bindings that apply now, drawn as one line by one widget.

Textual's Footer mounts a widget per key and rebuilds all of them whenever the bindings
change (a focus move, the cursor onto a VM in another state, a screen settling). On the VM
list that was 19 widgets each styled with two virtual nodes, rebuilt six times while the
first screen settles: about two thirds of kvtui's CPU time to its first full list of 1,000
VMs (benchmarks/list_scale.py: 1.0 s, 0.3 s without it). This footer reads the screen's
active bindings when it draws, draws them as one line of text, and finds the key under the
mouse on a click. It looks like Textual's (same CSS variables, same key display) but drops
a key that does not fit whole instead of cutting it, and keeps the command palette key on
the right edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

_DIM = Style(dim=True)


@dataclass(frozen=True)
class FooterKey:
    """One key as the footer draws it; `key` is None for a binding group's label."""

    key: str | None
    key_display: str
    description: str
    enabled: bool = True
    tooltip: str = ""


def footer_keys(screen: Screen) -> tuple[list[FooterKey], FooterKey | None]:
    """The shown keys of `screen` in footer order, and the command palette key (or None).

    As Textual's Footer: bindings with `show`, one per action (the first key bound to it),
    consecutive bindings of one group drawn as their keys and the group's description.
    """
    app = screen.app
    active = screen.active_bindings
    by_action: dict[str, tuple] = {}
    for _node, binding, enabled, tooltip in active.values():
        if binding.show:
            by_action.setdefault(binding.action, (binding, enabled, tooltip))
    shown = list(by_action.values())
    keys: list[FooterKey] = []
    index = 0
    while index < len(shown):
        binding, enabled, tooltip = shown[index]
        group = binding.group
        end = index + 1
        while group is not None and end < len(shown) and shown[end][0].group == group:
            end += 1
        if group is not None and end - index > 1:
            for member, member_enabled, member_tip in shown[index:end]:
                keys.append(
                    FooterKey(
                        member.key,
                        app.get_key_display(member),
                        "",
                        member_enabled,
                        member_tip or member.description,
                    )
                )
            keys.append(FooterKey(None, "", group.description))
        else:
            keys.append(
                FooterKey(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    enabled,
                    tooltip or binding.tooltip,
                )
            )
        index = end
    palette = None
    if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
        _node, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
        palette = FooterKey(
            binding.key,
            app.get_key_display(binding),
            binding.description,
            enabled,
            tooltip or binding.tooltip or binding.description,
        )
    return keys, palette


class Footer(Widget, can_focus=False):
    """The bindings of the current screen that apply now, in one line at the bottom."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "footer-key--key",
        "footer-key--description",
        "footer-key--hover",
        "footer-key--separator",
    }
    DEFAULT_CSS = """
    Footer {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .footer-key--hover {
            background: $block-hover-background;
        }
        .footer-key--separator {
            color: $foreground 20%;
        }
    }
    """

    def __init__(
        self,
        *,
        show_command_palette: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.show_command_palette = show_command_palette
        # What the last drawing put where: (first cell, end cell, key), for the mouse.
        self._placed: list[tuple[int, int, FooterKey]] = []
        self._hover: FooterKey | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen) -> None:
        self.refresh()

    def render(self) -> Text:
        keys, palette = footer_keys(self.screen)
        if not self.show_command_palette:
            palette = None
        key_style = self.get_component_rich_style("footer-key--key", partial=True)
        text_style = self.get_component_rich_style("footer-key--description", partial=True)
        hover_style = self.get_component_rich_style("footer-key--hover", partial=True)

        def piece(item: FooterKey) -> Text:
            extra = Style() if item.enabled else _DIM
            if item == self._hover:  # equal, not the same: each drawing makes new ones
                extra += hover_style
            if item.key is None:  # a group's label
                return Text.assemble((f"{item.description} ", text_style), end="")
            drawn = Text(end="")
            drawn.append(f" {item.key_display} ", key_style + extra)
            if item.description:
                drawn.append(f"{item.description} ", text_style + extra)
            return drawn

        right = piece(palette) if palette is not None else None
        room = self.size.width - (1 + right.cell_len if right is not None else 0)
        line = Text(end="", no_wrap=True)
        placed: list[tuple[int, int, FooterKey]] = []
        for item in keys:
            drawn = piece(item)
            if line.cell_len + drawn.cell_len > room:
                break  # whole keys only: a cut one would read as another key
            if item.key is not None:
                placed.append((line.cell_len, line.cell_len + drawn.cell_len, item))
            line.append_text(drawn)
        if palette is not None and right is not None:
            line.append(" " * max(0, room - line.cell_len))
            line.append("▏", self.get_component_rich_style("footer-key--separator", partial=True))
            placed.append((line.cell_len, line.cell_len + right.cell_len, palette))
            line.append_text(right)
        self._placed = placed
        return line

    def _key_at(self, x: int) -> FooterKey | None:
        for start, end, item in self._placed:
            if start <= x < end:
                return item
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._key_at(event.x)
        if item != self._hover:
            self._hover = item
            self.tooltip = item.tooltip if item is not None and item.tooltip else None
            self.refresh()

    def on_leave(self, _event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        item = self._key_at(event.x)
        if item is None or item.key is None:
            return
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()
