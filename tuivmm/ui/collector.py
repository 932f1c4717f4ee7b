"""Python's garbage collector, kept out of the way of a keystroke.

CPython's cyclic collector runs by itself from time to time, and its full (oldest
generation) pass walks every object the process holds: with eight guests on the
dashboard that is some 200,000 objects (Textual's strips and caches, the trap log's
events, the guests' translated blocks) and 200-300 ms with the guests busy.  One
such pause in the middle of a keystroke is a late echo a user sees.

So the dashboard takes the full pass into its own hands.  Every refresh tick it
freezes what has survived so far (`gc.freeze()`: the objects move to a generation the
automatic passes do not walk, in constant time), so those passes only ever look at
what is recent and stay short.  The full pass (unfreeze, collect, freeze again) runs
at a moment nobody waits for the screen: no key for QUIET_S, and at least EVERY_S
since the last one; and at least every MOST_S whatever the keyboard does, as the
garbage that frozen objects become (cycles, mostly Textual's) waits for it.
"""

from __future__ import annotations

import gc as _gc
import time


class Collector:
    QUIET_S = 1.0  # no key for this long: nobody waits for an echo
    EVERY_S = 30.0  # a full pass at most this often when it is quiet ...
    MOST_S = 120.0  # ... and at least this often in any case

    def __init__(self, *, gc=_gc, clock=time.perf_counter):
        self._gc, self._clock = gc, clock
        self._running = False
        self.last_full = 0.0
        self.full_passes = 0

    def start(self) -> None:
        self._running = True
        self.last_full = self._clock()
        self._gc.freeze()

    def tick(self, last_key: float) -> None:
        """A refresh tick; `last_key` is when (on this clock) the last key came, 0 if none."""
        if not self._running:
            return
        now = self._clock()
        since = now - self.last_full
        if (since >= self.EVERY_S and now - last_key >= self.QUIET_S) or since >= self.MOST_S:
            self._gc.unfreeze()
            self._gc.collect()
            self.last_full = now
            self.full_passes += 1
        self._gc.freeze()

    def stop(self) -> None:
        """Give the objects back to the automatic collector (the process goes on: tests)."""
        if self._running:
            self._running = False
            self._gc.unfreeze()
