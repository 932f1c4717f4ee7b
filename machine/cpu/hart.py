"""The hart: one RV32IMAC core with M, S and U modes (privileged spec 1.12).

The hart knows nothing of the board.  It is given RAM (for its fast paths), a bus
(for everything else) and a clock, and is driven by `run(n) -> Exit`.  Devices reach
it only through `set_pending` (interrupt pins) and `request_halt`.

Host mode is the hook a VMM uses: any trap that would enter M-mode is not taken but
returned as `Exit(TRAP, cause, tval, epc, insn)`, like KVM_RUN returning an exit
reason.  The architecture itself (CSRs, traps, xRET, Sv32, PMP, the ERET flaw) is
`machine.cpu.arch.ArchState`; this class adds the engine.
"""

from __future__ import annotations

from machine.bus import Bus
from machine.cpu.arch import ArchState
from machine.cpu.engine import EngineMixin
from machine.memory import Ram


class Hart(EngineMixin, ArchState):
    def __init__(self, ram: Ram, bus: Bus | None = None, *, cycles_per_tick: int = 1):
        super().__init__(ram, bus, cycles_per_tick=cycles_per_tick)
        self._init_engine()

    def reset(self, pc: int | None = None) -> None:
        """Power-on state (3.4): M-mode, pc at `pc` (RAM base by default), CSRs cleared,
        translated code dropped."""
        self._spaces.clear()
        super().reset(pc)
        self.flush_code()
