"""When Python's cyclic garbage collector may stop the UI, while a big list is open.

A full pass of the collector walks every tracked object and stops every thread meanwhile.
With 10,000 VM manifests alive (~1M objects) one pass took ~400 ms, and a burst of watch
events triggered one every few thousand changes: the UI stalled (benchmarks/list_scale.py).
Two measures, both undone when the list goes:

- `freeze()` after a complete list: the objects alive then (parsed JSON holds no reference
  cycles; reference counting frees it) leave the collector's sight for good.
- `hold_full_passes()`: automatic full passes stop (young passes go on); `collect_when_idle`
  runs the full pass itself when nothing has arrived for a while, or after `LONGEST_HOLD`
  whatever happens, so cyclic garbage is still freed. After the freeze a burst still
  brings ~120,000 new objects and one or two full passes of 40-85 ms each, on top of the
  batch being applied: the burst's worst lag went past 250 ms.

Process-wide by nature: the VM list screen holds it while mounted (one at a time).
"""

from __future__ import annotations

import gc
import time

# Young passes as Python's defaults; the oldest generation never triggers on its own.
_NEVER = 1 << 30
# A held full pass runs after this long even while events keep coming.
LONGEST_HOLD = 300.0


class Collector:
    """The collector policy of one screen that holds many long-lived objects."""

    def __init__(self, idle_after: float = 2.0, longest_hold: float = LONGEST_HOLD) -> None:
        self.idle_after = idle_after
        self.longest_hold = longest_hold
        self._saved: tuple[int, int, int] | None = None
        self._last_full = time.monotonic()
        self._last_activity = time.monotonic()
        self.full_passes = 0

    def freeze(self) -> None:
        """Move what is alive now out of every future pass (a young pass first, so little
        cyclic garbage goes with it)."""
        gc.collect(1)
        gc.freeze()

    def hold_full_passes(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(self._saved[0], self._saved[1], _NEVER)
            self._last_full = time.monotonic()

    def activity(self) -> None:
        """Events arrived: not idle now."""
        self._last_activity = time.monotonic()

    def collect_when_idle(self) -> bool:
        """Run the held full pass when idle long enough (or held too long); True if it ran."""
        if self._saved is None:
            return False
        now = time.monotonic()
        idle = now - self._last_activity >= self.idle_after
        overdue = now - self._last_full >= self.longest_hold
        if not (overdue or (idle and gc.get_count()[2] > 0)):
            return False
        gc.collect()
        self._last_full = time.monotonic()
        self.full_passes += 1
        return True

    def release(self) -> None:
        """Back to Python's own policy; what was frozen is visible to the collector again."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        gc.unfreeze()
