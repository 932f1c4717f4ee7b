"""The trap log: every exit the VMM handles, as a small record, and counters.

Recording is one tuple into a bounded deque and one dict increment, so tens of
thousands of exits a second cost little; turning a record into text (disassembly,
cause names) happens only when someone looks.
"""

from __future__ import annotations

import bisect
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from machine.cpu.csrs import PRIV_NAMES, cause_name
from machine.cpu.disasm import disassemble
from tuivmm.vmm.exitstate import ExitRecord

# Why the guest left the real hart (the counters' keys).
CSR = "csr"  # a CSR instruction
XRET = "xret"  # SRET or MRET
WFI = "wfi"
SFENCE = "sfence.vma"
ECALL = "ecall"
EXCEPTION = "exception"  # any other exception the guest's code raised
PAGE_FAULT = "page fault"
MMIO = "mmio"
HYPERCALL = "hypercall"
INTERRUPT = "interrupt"  # a virtual interrupt delivered (not an exit, but an injection)
REASONS = (CSR, XRET, WFI, SFENCE, ECALL, EXCEPTION, PAGE_FAULT, MMIO, HYPERCALL, INTERRUPT)

# What the VMM did about it.
EMULATED = "emulated"
INJECTED = "injected"
HIDDEN = "hidden fault"
TRUE = "true fault"
MMIO_READ = "mmio read"
MMIO_WRITE = "mmio write"
SERVED = "hypercall"
SBI_SERVED = "sbi served"  # an SBI call the VMM answered itself (--sbi vmm: no firmware in virtual M-mode)
SLEPT = "wfi"
BT_SCAN = "bt scan"  # binary translation scanned a code page before it first ran
CRASHED = "crashed"

BT_PATCH = "bt patch"  # the detail of an exit on a word binary translation patched
SBI_CALL = "sbi "  # the detail of an ecall from virtual S-mode to virtual M-mode: "sbi set_timer"
TRIGGER_FIRED = "trigger"  # the detail of a breakpoint a guest's own debug trigger raised

# Not an exit: a line where the counters start again from zero (reason RESET, counted
# nowhere).  Its action says why: the guest was power-cycled (RESET), or only its
# counters were zeroed while it ran on (ZEROED).
RESET = "reset"
ZEROED = "counters zeroed"
RESET_NOTE = "──── {why}: a fresh machine, its clock and counters from zero ────"
ZEROED_NOTE = "──── counters {why}: exits, faults and instructions counted from here ────"


class Filter(NamedTuple):
    """A way to choose trap-log lines: what the VMM did, or why the guest exited."""

    key: str
    label: str  # as a menu shows it
    words: str  # as a sentence says it: "unix's {words}"
    match: Callable[[TrapEvent], bool]


# What the VMM did first (the lecture's words), then the exit kinds no action names.
FILTERS = (
    Filter(EMULATED, "emulated", "emulated instructions", lambda e: e.action == EMULATED),
    Filter(INJECTED, "injected", "injected exceptions", lambda e: e.action == INJECTED and e.reason != INTERRUPT),
    Filter(HIDDEN, "hidden fault", "hidden faults", lambda e: e.action == HIDDEN),
    Filter(TRUE, "true fault", "true faults", lambda e: e.action == TRUE),
    Filter(MMIO_READ, "mmio read", "mmio reads", lambda e: e.action == MMIO_READ),
    Filter(MMIO_WRITE, "mmio write", "mmio writes", lambda e: e.action == MMIO_WRITE),
    Filter(HYPERCALL, "hypercall", "hypercalls", lambda e: e.reason == HYPERCALL),
    Filter("sbi", "sbi call", "SBI calls", lambda e: e.detail.startswith(SBI_CALL)),
    Filter("bt", "bt scan/patch", "bt scans and patched words",
           lambda e: e.action == BT_SCAN or e.detail.startswith(BT_PATCH)),
    Filter(XRET, "xRET caught", "xRETs caught", lambda e: e.reason == XRET),
    Filter(INTERRUPT, "interrupt delivered", "interrupts delivered", lambda e: e.reason == INTERRUPT),
    Filter(WFI, "wfi", "wfi exits", lambda e: e.reason == WFI),
    *(Filter(reason, f"exit: {reason}", f"{reason} exits", lambda e, reason=reason: e.reason == reason)
      for reason in (CSR, SFENCE, ECALL, EXCEPTION, PAGE_FAULT, MMIO)),
)  # fmt: skip
FILTER_BY_KEY = {f.key: f for f in FILTERS}


class TrapEvent(NamedTuple):
    seq: int  # VMM-wide, so events of several guests merge in order
    guest: str
    time: int  # the guest's virtual time (cycles) when it trapped
    pc: int
    priv: int  # the guest's virtual privilege when it trapped
    insn: int  # instruction bits (0 if none: interrupts, fetch faults)
    cause: int  # mcause value (interrupt bit included)
    reason: str  # one of REASONS
    action: str  # what the VMM did
    detail: str = ""  # e.g. "uart0+0x5 -> 0x60", "va 0x1000 -> hpa 0x8842_1000 rw-"

    @property
    def text(self) -> str:
        return disassemble(self.insn, self.pc).replace("\t", " ") if self.insn else ""

    @property
    def note(self) -> str:
        """A RESET line's words (where the counters start again); "" for an exit."""
        if self.reason != RESET:
            return ""
        return (ZEROED_NOTE if self.action == ZEROED else RESET_NOTE).format(why=self.detail)

    def describe(self) -> str:
        """One line, as the trap log shows it."""
        if self.reason == RESET:
            return f"{self.seq:>7} {self.guest:<10} {self.note}"
        insn = self.text or "-"
        line = (f"{self.seq:>7} {self.guest:<10} t={self.time:<10} pc={self.pc:08x} "
                f"{PRIV_NAMES.get(self.priv, '?')} {insn:<28} {cause_name(self.cause)}: {self.action}")  # fmt: skip
        return f"{line} ({self.detail})" if self.detail else line


_new_event = tuple.__new__


def write_trace(events: Iterable[TrapEvent], path: str | os.PathLike[str]) -> int:
    """Write events to `path`, a line each as `tuivmm run --trace-exits` writes them;
    returns how many.  The file is written beside `path` and renamed over it once
    whole, so an existing file is never left half-written.  OSError if it cannot be."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w") as out:
            for event in events:
                out.write(event.describe() + "\n")
                count += 1
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


class Sequence:
    """The VMM-wide event counter the logs share."""

    def __init__(self) -> None:
        self.next = 0


class TrapLog:
    """A guest's recent exits (a ring of `capacity`) and its exit counters."""

    def __init__(self, guest: str, sequence: Sequence, capacity: int = 10_000):
        self.guest = guest
        self.sequence = sequence
        self.events: deque[TrapEvent] = deque(maxlen=capacity)
        self.counts: dict[str, int] = dict.fromkeys(REASONS, 0)
        self.actions: dict[str, int] = {}
        self.total = 0
        self.resets = 0  # how many times the guest was reset
        self.restarts = 0  # how many times the counters started again from zero (a reset, or zero())
        self.on_event = None  # optional callback(event), e.g. `tuivmm run --trace-exits`
        # What the newest exits did (exitstate.py): None when not kept, else a ring of
        # (first seq, end seq, the ExitRecord's fields) for each of the newest
        # `states_kept` exits that made events, oldest first (see keep_states).
        self.states: deque[tuple[int, int, tuple]] | None = None
        self.states_kept = 0

    def keep_states(self, count: int) -> None:
        """Keep what each of the newest `count` exits did (0: nothing)."""
        self.states_kept = count
        self.states = deque(maxlen=count) if count else None

    def state_of(self, event: TrapEvent) -> ExitRecord | None:
        """What the exit that made `event` did to the guest, if it is still kept."""
        states = self.states
        if not states:
            return None
        i = bisect.bisect_right(states, event.seq, key=lambda state: state[0]) - 1
        if i < 0:
            return None
        first, end, fields = states[i]
        return ExitRecord(*fields) if first <= event.seq < end else None

    def record(self, time: int, pc: int, priv: int, insn: int, cause: int, reason: str, action: str,
               detail: str = "") -> None:  # fmt: skip
        seq = self.sequence.next
        self.sequence.next = seq + 1
        # tuple.__new__ straight: the same TrapEvent, without the keyword-taking
        # __new__ a NamedTuple puts in front (a third of what recording cost).
        event = _new_event(TrapEvent, (seq, self.guest, time, pc, priv, insn, cause, reason, action, detail))
        self.events.append(event)
        counts = self.counts
        counts[reason] = counts[reason] + 1 if reason in counts else 1
        actions = self.actions
        actions[action] = actions[action] + 1 if action in actions else 1
        self.total += 1
        if self.on_event is not None:
            self.on_event(event)

    def restart(self, pc: int, why: str) -> None:
        """The guest was reset: the counters start again from zero; the events stay,
        followed by a RESET line (`why`: who reset it)."""
        self.resets += 1
        self._start_again(0, pc, 3, RESET, why)

    def zero(self, time: int, pc: int, priv: int, why: str) -> None:
        """Only the counters start again from zero, the guest runs on; the events stay,
        followed by a RESET line whose action is ZEROED (`why`: who zeroed them)."""
        self._start_again(time, pc, priv, ZEROED, why)

    def _start_again(self, time: int, pc: int, priv: int, action: str, why: str) -> None:
        self.counts = dict.fromkeys(REASONS, 0)
        self.actions = {}
        self.total = 0
        self.restarts += 1
        seq = self.sequence.next
        self.sequence.next = seq + 1
        event = TrapEvent(seq, self.guest, time, pc, priv, 0, 0, RESET, action, why)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def sequence_of(self) -> list[tuple[int, int, str, str]]:
        """(pc, cause, reason, action) of every event kept: what determinism tests compare."""
        return [(e.pc, e.cause, e.reason, e.action) for e in self.events]


class RateMeter:
    """Exit rates, like kvm_stat: call `sample(log, now)` now and then (the dashboard
    at its refresh rate); it returns exits per second by reason since the last call
    and keeps the recent totals for a sparkline."""

    def __init__(self, history: int = 60) -> None:
        self._last: tuple[float, dict[str, int], int] | None = None
        self.history: deque[float] = deque(maxlen=history)  # total exits/s per sample
        self._restarts = 0

    def sample(self, log: TrapLog, now: float) -> dict[str, float]:
        if log.restarts != self._restarts:  # the counters started again (reset or zeroed): so do the rates
            self._restarts = log.restarts
            self._last = None
            self.history.clear()
        counts = dict(log.counts)
        rates = dict.fromkeys(counts, 0.0)
        if self._last is not None:
            then, before, total = self._last
            dt = now - then
            if dt > 0:
                rates = {k: (v - before.get(k, 0)) / dt for k, v in counts.items()}
                self.history.append((log.total - total) / dt)
        self._last = (now, counts, log.total)
        return rates
