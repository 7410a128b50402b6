"""The collector policy of a big list: full passes held, then run when idle or overdue."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from tui.collector import Collector


@pytest.fixture(autouse=True)
def python_policy() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def make_cycles(n: int = 1000) -> None:
    for _ in range(n):
        a: list = []
        a.append(a)


def test_held_full_passes_wait_for_idle_and_run_then() -> None:
    collector = Collector(idle_after=0.05, longest_hold=60)
    collector.hold_full_passes()
    assert gc.get_threshold()[2] > 10**6
    collector.activity()
    make_cycles()
    gc.collect(1)  # a young pass: the oldest generation has new members to look at
    assert collector.collect_when_idle() is False, "events just came"
    time.sleep(0.06)
    assert collector.collect_when_idle() is True
    assert collector.full_passes == 1
    assert gc.get_count()[2] == 0


def test_a_held_pass_runs_when_overdue_even_while_busy() -> None:
    collector = Collector(idle_after=60, longest_hold=0.05)
    collector.hold_full_passes()
    collector.activity()
    assert collector.collect_when_idle() is False
    time.sleep(0.06)
    collector.activity()
    assert collector.collect_when_idle() is True


def test_release_restores_python_policy_and_thaws() -> None:
    before = gc.get_threshold()
    collector = Collector()
    collector.freeze()
    collector.hold_full_passes()
    collector.hold_full_passes()  # twice: still one saved policy
    assert gc.get_freeze_count() > 0
    collector.release()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert collector.collect_when_idle() is False, "nothing held"
