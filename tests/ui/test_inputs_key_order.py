"""Editing keys in a burst apply in the order typed (widgets/inputs.py).

A terminal delivers a paste, a macro or a slow SSH link's keys in one read: the app gets
them queued all at once. Stock Textual 8.2 runs bound keys (backspace, arrows, ...) only
after they bubble to the app, so the next character lands first (Textualize/textual#6605).
"""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input as StockInput

from widgets.inputs import Input, TextArea

BURST_INPUT = [
    ("a", "a"),
    ("backspace", "\x7f"),
    ("b", "b"),
    ("c", "c"),
    ("left", None),
    ("x", "x"),
]
BURST_AREA = [
    ("a", "a"),
    ("b", "b"),
    ("backspace", "\x7f"),
    ("c", "c"),
    ("left", None),
    ("x", "x"),
    ("end", None),
    ("y", "y"),
]


class OneInput(App[None]):
    def __init__(self, widget: object) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget  # type: ignore[misc]


async def burst(app: App[None], keys: list[tuple[str, str | None]]) -> None:
    for key, char in keys:
        app.post_message(events.Key(key, char))


async def test_input_applies_a_burst_in_typing_order() -> None:
    app = OneInput(Input())
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, BURST_INPUT)
        for _ in range(5):
            await pilot.pause()
        assert app.query_one(Input).value == "bxc"


async def test_text_area_applies_a_burst_in_typing_order() -> None:
    app = OneInput(TextArea())
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, BURST_AREA)
        for _ in range(5):
            await pilot.pause()
        assert app.query_one(TextArea).text == "axcy"


async def test_screen_keys_still_reach_the_screen() -> None:
    """Only the widget's own bindings run inline: a key it does not bind still bubbles."""
    seen: list[str] = []

    class WithScreenKey(OneInput):
        BINDINGS = [("f5", "mark", "Mark")]

        def action_mark(self) -> None:
            seen.append(self.query_one(Input).value)

    app = WithScreenKey(Input())
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, [("a", "a"), ("f5", None), ("b", "b")])
        for _ in range(5):
            await pilot.pause()
        assert app.query_one(Input).value == "ab"
        assert seen and seen[0].startswith("a")


@pytest.mark.xfail(reason="Textualize/textual#6605: stock Input reorders bound keys", strict=False)
async def test_stock_input_shows_the_bug_this_works_around() -> None:
    app = OneInput(StockInput())
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(app, BURST_INPUT)
        for _ in range(5):
            await pilot.pause()
        assert app.query_one(StockInput).value == "bxc"
