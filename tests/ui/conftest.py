"""Fixtures for Pilot tests: read what the screen shows, wait for it without fixed sleeps
(the helpers themselves live in tests/kvtest.py, shared with the e2e tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from kvtest import pilot_wait_for
from kvtest import screen_text as _screen_text
from textual.app import App

ScreenText = Callable[[App[Any]], str]
WaitFor = Callable[..., Awaitable[Any]]


@pytest.fixture
def screen_text() -> ScreenText:
    return _screen_text


@pytest.fixture
def wait_for() -> WaitFor:
    return pilot_wait_for
