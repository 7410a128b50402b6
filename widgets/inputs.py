"""Input and TextArea that apply editing keys in the order they were typed.

Textual (8.2, issue Textualize/textual#6605, fix proposed in PR #6631) inserts printable
characters in the focused widget's own key handler, but runs bound keys (backspace, delete,
arrows, home/end, ctrl+k, ...) only after the key event has bubbled up to the app. When
several keys arrive in one terminal read, as they do over a slow SSH link, from a paste or
a keyboard macro, or on a busy machine, the next character is inserted before the bound key
acts: typing `a`, backspace, `b` leaves `a` instead of `b`. That loses what the user typed.

These subclasses run the widget's own (non-priority) bindings inline in their key handler,
with the same action resolution the app would use, so every key applies in order. Bindings of
ancestors (screen keys) still bubble as before: only the widget's own editing keys move.
Use them everywhere kvtui takes typed text.

The same burst has a second trap on the lists: the app hands every key of the read to the
widget focused when it reads them, and `/` opens the filter only when it has bubbled up to
the app, after the list has taken the keys behind it. `/web` typed fast filtered nothing,
and `/dbs` ran the list's `d`, `b` (soft reboot) and `s` (console). `keys_follow_focus` is
for such a widget: it runs the bindings at once, in order, and passes on a key that comes
after the focus has moved (the action must move it at once: `Screen.set_focus`).
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input as _Input
from textual.widgets import TextArea as _TextArea

__all__ = ["Input", "TextArea", "keys_follow_focus", "run_own_bindings"]


async def run_own_bindings(widget: Widget, event: events.Key) -> bool:
    """Run `widget`'s own binding for this key now; True (and the event stopped) if one ran."""
    bindings = widget._bindings.key_to_bindings.get(event.key, ())  # noqa: SLF001
    for binding in bindings:
        if binding.priority:
            continue  # the app ran priority bindings before the key reached the widget
        if await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return True
    return False


async def keys_follow_focus(widget: Widget, event: events.Key) -> bool:
    """For a widget that takes keys while focused; True (and the event stopped) when done.

    A key that reaches `widget` after an earlier key of the same read moved the focus (or
    the screen) is passed to where the focus is now, as the app would have sent it. Any
    other key runs its binding (the focus chain's, as the app checks them when the key
    bubbles up) here and now, so a binding that moves the focus does it before the next
    key of the read is looked at.
    """
    app = widget.app
    target = app.screen.focused or app.screen
    if target is not widget:
        event.stop()
        event.prevent_default()
        target._forward_event(events.Key(event.key, event.character))  # noqa: SLF001
        return True
    if await app._check_bindings(event.key):  # noqa: SLF001 - the app's own binding check
        event.stop()
        event.prevent_default()
        return True
    return False


class Input(_Input):
    """Textual's Input, with its editing keys applied in typing order."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_bindings(self, event):
            self._restart_blink()
            return
        await super()._on_key(event)


class TextArea(_TextArea):
    """Textual's TextArea, with its editing keys applied in typing order."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await run_own_bindings(self, event):
            return
        await super()._on_key(event)
