"""What every live screen does with its informers, in one place.

A screen starts informers, each informer's thread hands its batches over as a message (the
UI thread applies them), the screen stops them when it goes, and one banner line says when
a watch is disconnected or refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from tui.cluster.informer import InformerEvent, InformerState
from tui.cluster.kinds import Kind
from widgets.resource_table import plain

InformerFactory = Callable[..., Any]
DISCONNECTED_TEXT = "Disconnected from the cluster; reconnecting. The list may be out of date."


class Watching:
    """Mixin for a Screen that keeps informers keyed by a short name ("vms", a kind key...).

    The screen sets `BATCH_MESSAGE`, a Message class built as `BATCH_MESSAGE(key, events)`,
    and has `api_client` and `namespace`.
    """

    BATCH_MESSAGE: ClassVar[type[Message]]
    api_client: Any
    namespace: str | None

    def _init_watching(self, informer_factory: InformerFactory) -> None:
        self._informer_factory = informer_factory
        self._informers: dict[str, Any] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._states: dict[str, InformerState] = {}
        self._errors: dict[str, str] = {}
        self._banner_shown: tuple[str, bool] | None = None  # (text, error?) on screen now

    def _start_informer(
        self,
        key: str,
        kind: Kind,
        *,
        label_selector: str | None = None,
        optional: bool = False,
    ) -> None:
        """Watch `kind` under `key`. An `optional` informer completes the view (the VM list
        reads instancetypes through one): its trouble never shows in the banner and it does
        not count towards `synced`."""
        kwargs: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
        namespace = self.namespace if kind.namespaced else None
        informer = self._informer_factory(self.api_client, kind, namespace, **kwargs)
        self._informers[key] = informer
        if not optional:
            self._states[key] = InformerState.STARTING
        message = self.BATCH_MESSAGE
        post = self.post_message  # type: ignore[attr-defined]

        def deliver(events: list[InformerEvent]) -> None:
            # Runs on the informer's thread: hand over, never touch widgets here.
            post(message(key, list(events)))

        self._unsubscribe.append(informer.add_listener(deliver))
        informer.start()

    def stop_informers(self) -> None:
        """Stop watching (idempotent). The informers are daemon threads; this ends them now."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for informer in self._informers.values():
            informer.stop()
        self._informers.clear()

    def _note_state(self, key: str, event: InformerEvent) -> None:
        """Track an informer's health from its events (for the banner)."""
        if key not in self._states:
            return  # an optional informer
        if event.state is not None:
            self._states[key] = event.state
        if event.type in ("STATE", "SYNCED"):
            # A relist reports what changed meanwhile, so SYNCED only clears the reason.
            self._errors[key] = str(event.error) if event.error else ""

    def _show_watch_banner(self, banner: Static, describe: Callable[[str], str]) -> None:
        """One line about the first informer in trouble; hidden when all are fine.

        `describe(key)` names what that informer watches ("VirtualMachines").
        """
        trouble = [
            (key, state)
            for key, state in self._states.items()
            if state in (InformerState.DISCONNECTED, InformerState.ERROR)
        ]
        text = ""
        if trouble:
            key, state = trouble[0]
            text = DISCONNECTED_TEXT
            if state != InformerState.DISCONNECTED:
                text = f"Cannot watch {describe(key)}."
            if self._errors.get(key):
                text += f" ({self._errors[key]})"
        shown = (text, bool(trouble) and trouble[0][1] == InformerState.ERROR)
        if self._banner_shown == shown:
            return  # as it is: an update would lay out the screen again (every batch)
        self._banner_shown = shown
        banner.set_class(shown[1], "-error")
        # Error texts can quote the server: plain Text, with controls made visible.
        banner.update(Text(plain(text), no_wrap=True, overflow="ellipsis"))
        banner.display = bool(text)
