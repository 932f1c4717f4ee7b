"""Debug triggers under the VMM: the guest's own (Sdtrig, virtualized) and a debugger's.

Each guest's virtual hart has the bare machine's four triggers (machine/cpu/triggers.py)
in its CSR file: tselect, tdata1-3 and tinfo are M-mode CSRs, so every access traps
and is emulated on the VCpu by the same code the bare hart runs.  They cannot fire
there — the guest's code runs on the real hart — so the monitor does what a
hypervisor on real hardware does with debug registers: at each entry to the guest it
loads onto the real hart the triggers that could match now (`real_triggers`):

* a guest trigger is loaded only if it is enabled for the guest's virtual mode and
  that mode may take breakpoints now (the spec's rule: none in M-mode while
  mstatus.MIE is 0, none in S-mode while SIE is 0 when breakpoints are delegated);
  the real hart runs the guest in U-mode, so the loaded copy is enabled for U alone.
  The mode and those bits change only at an exit (a trap, an xRET, a CSR write), and
  the next entry loads again;
* compare values are virtual addresses on both: the real hart runs the guest at its
  own virtual addresses, through the shadow tables;
* the debugger's triggers (gdb's hbreak and watchpoints, debugger.py) follow the
  guest's four, enabled for U too, so they match in every virtual mode.

A loaded trigger that fires raises a breakpoint exit before the instruction or the
access, as on the bare machine (it is checked before the real hart's fetch, and
before the page walk of a load or store, so also before the page faults through which
the VMM emulates device accesses).  The exit handler (`GuestExits._breakpoint`) asks
which loaded triggers fired: the debugger's stop the guest for the debugger; the
guest's get their hit bits set in the VCpu and the guest gets the breakpoint
exception at its own vector, tval the pc or the address, as its hardware would give it.

The cost: nothing while no trigger is armed (one test per entry); while one is, the
real hart keeps the pages it can match out of its TLBs (data) or steps them (execute),
as on the bare machine.
"""

from __future__ import annotations

from machine.cpu import csrs as C
from machine.cpu.triggers import (
    ADDRESS_TYPES,
    DISABLED,
    EXECUTE,
    HIT0,
    HIT1,
    LOAD,
    MC_HIT,
    MODE_M,
    MODE_S,
    MODE_U,
    STORE,
    TRIGGERS,
    TYPE_SHIFT,
)

_MODE_BIT = {C.U: MODE_U, C.S: MODE_S, C.M: MODE_M}
_MODES = MODE_M | MODE_S | MODE_U
_HITS = HIT1 | HIT0 | MC_HIT
GUEST_TRIGGERS = TRIGGERS  # the real hart's first triggers are the guest's; the debugger's follow


def on_real_hart(tdata1: int) -> int:
    """A trigger's tdata1 as the real hart runs it: enabled for U-mode only (where the
    guest's code runs), hit bits clear (only firing sets them there)."""
    return (tdata1 & ~(_MODES | _HITS)) | MODE_U


def real_triggers(v, debugger: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """(tdata1, tdata2) for each of the real hart's triggers while the guest whose
    VCpu is `v` runs, with the debugger's `debugger` after its own; () when none can fire."""
    pairs = []
    if v.trig_armed:
        priv = v.priv
        bit = _MODE_BIT[priv] if v._triggers_live(priv) else 0
        for t1, t2 in zip(v.tdata1, v.tdata2, strict=True):
            if t1 & bit and t1 >> TYPE_SHIFT in ADDRESS_TYPES and t1 & (EXECUTE | LOAD | STORE):
                pairs.append((on_real_hart(t1), t2))
            else:
                pairs.append((DISABLED, 0))
        if not debugger and all(t1 == DISABLED for t1, _ in pairs):
            return ()
    if debugger:
        pairs += [(DISABLED, 0)] * (GUEST_TRIGGERS - len(pairs))
        pairs += debugger
    return tuple(pairs)
