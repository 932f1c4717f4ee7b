"""Machine time: deterministic by default.

The hart counts cycles (one per retired instruction, plus idle cycles skipped while it
waits in WFI).  `mtime` is derived from that count at a fixed ratio, so the same image
and the same input always give the same run.  The CLINT reads and writes `mtime`
through this object and arms a single alarm for its `mtimecmp`; the hart's run loop
calls `fire_due()` when its cycle count reaches `alarm_cycle`.
"""

from __future__ import annotations

from collections.abc import Callable

TIMEBASE_HZ = 10_000_000  # QEMU virt's CLINT timebase
NEVER = 1 << 64


class Clock:
    def __init__(self, cycles: Callable[[], int], cycles_per_tick: int = 1):
        if cycles_per_tick < 1:
            raise ValueError("cycles_per_tick must be at least 1")
        self._cycles = cycles
        self.cycles_per_tick = cycles_per_tick
        self._offset = 0  # mtime = cycles // cycles_per_tick + _offset
        self.alarm_cycle = NEVER
        self._alarm_mtime = NEVER
        self._alarm_callback: Callable[[], None] | None = None
        # Told whenever the alarm moves, so the hart can recompute its next event.
        self.on_alarm_change: Callable[[], None] = lambda: None

    def mtime(self) -> int:
        return (self._cycles() // self.cycles_per_tick + self._offset) & 0xFFFF_FFFF_FFFF_FFFF

    def set_mtime(self, value: int) -> None:
        self._offset = value - self._cycles() // self.cycles_per_tick
        self._rearm()

    def restart(self) -> None:
        """Power-on: mtime counts from the cycle count again (which the owner has set
        back to zero), with no alarm armed."""
        self._offset = 0
        self.set_alarm(None, None)

    def set_alarm(self, mtime_value: int | None, callback: Callable[[], None]) -> None:
        """Call `callback` once when mtime reaches `mtime_value` (None disarms)."""
        self._alarm_mtime = NEVER if mtime_value is None else mtime_value
        self._alarm_callback = callback
        self._rearm()

    def _rearm(self) -> None:
        if self._alarm_mtime >= NEVER:
            self.alarm_cycle = NEVER
        else:
            ticks = self._alarm_mtime - self._offset
            self.alarm_cycle = max(0, ticks * self.cycles_per_tick)
        self.on_alarm_change()

    def save_state(self) -> dict:
        """The clock as plain data, for a snapshot: mtime's offset and the armed alarm
        (whether one is armed, not its callback: the board wires that back)."""
        return {"cycles_per_tick": self.cycles_per_tick, "offset": self._offset, "alarm_cycle": self.alarm_cycle,
                "alarm_mtime": self._alarm_mtime, "armed": self._alarm_callback is not None}  # fmt: skip

    def load_state(self, state: dict, callback: Callable[[], None] | None) -> None:
        """Put back what `save_state` returned; an armed alarm calls `callback` (the
        CLINT's, which is the only device that arms this clock)."""
        self.cycles_per_tick = state["cycles_per_tick"]
        self._offset = state["offset"]
        self.alarm_cycle = state["alarm_cycle"]
        self._alarm_mtime = state["alarm_mtime"]
        self._alarm_callback = callback if state["armed"] else None
        self.on_alarm_change()

    def fire_due(self) -> None:
        """Run the alarm if the cycle count has reached it (called by the hart)."""
        if self._cycles() >= self.alarm_cycle and self._alarm_callback is not None:
            self.alarm_cycle = NEVER
            self._alarm_mtime = NEVER
            callback, self._alarm_callback = self._alarm_callback, None
            callback()
