"""Redraw the footer only when the keys that apply change.

Which keys apply depends on the row under the cursor and on what the informers report, and
both change far more often than the answer: a busy cluster sends 20 batches a second.
`refresh_bindings()` recomputes every binding's state and redraws the footer, so a screen
calls `_refresh_live_keys()` and the refresh happens only when `_live_keys()`, a tuple of
what `check_action` says of its changing keys, is different from last time. Mixins
(lifecycle keys, `o`) each add their part and call `super()._live_keys()` for the rest.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen


class LiveKeysMixin(Screen):
    def _live_keys(self) -> tuple[bool | None, ...]:
        return ()

    def _refresh_live_keys(self) -> None:
        live = self._live_keys()
        if live != getattr(self, "_live_keys_shown", None):
            self._live_keys_shown = live
            self.refresh_bindings()

    def on_resource_table_highlighted(self, _message: Any) -> None:
        self._refresh_live_keys()
