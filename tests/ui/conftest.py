"""Helpers for Pilot tests: read what the screen shows, wait for it without fixed sleeps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

ScreenText = Callable[[App[Any]], str]
WaitFor = Callable[..., Awaitable[Any]]


def _screen_text(app: App[Any]) -> str:
    """The characters on the (virtual) terminal, one line per row, as a user would read them."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - no public API for this
    return "\n".join(strip.text for strip in strips)


async def _wait_for(
    pilot: Pilot[Any],
    predicate: Callable[[], Any],
    *,
    timeout: float = 15.0,
    what: str = "",
) -> Any:
    """Let the app run until `predicate()` is truthy; fail with the screen when it never is."""
    steps = max(1, int(timeout / 0.1))
    for _ in range(steps):
        result = predicate()
        if result:
            return result
        await pilot.pause(0.1)
    result = predicate()
    if result:
        return result
    pytest.fail(
        f"timed out after {timeout}s waiting for {what or predicate!r}; the screen shows:\n"
        + _screen_text(pilot.app)
    )


@pytest.fixture
def screen_text() -> ScreenText:
    return _screen_text


@pytest.fixture
def wait_for() -> WaitFor:
    return _wait_for
