"""The debug trigger module (Sdtrig, RISC-V Debug Specification 1.0, chapter 5).

Hardware breakpoints and watchpoints without a debug module: four triggers, each an
address match (`mcontrol6`, type 6, or the older `mcontrol`, type 2) on instruction execution, loads and stores, that
raises a breakpoint exception (action 0) *before* the matching instruction or access.
A trigger is selected by `tselect` and configured through `tdata1` (type and control
bits) and `tdata2` (the compare value); `tinfo` says which types it supports.

What each trigger implements (every `tdata1` field is WARL; an unsupported value
reads back as the nearest supported one):

* type 6 (mcontrol6), 2 (mcontrol, the older layout of the same thing, as QEMU 7.2
  and older debuggers know it: maskmax 31, sizelo, timing 0, hit at bit 20) or 15
  (disabled); writing any other type — 0 included, as the spec's "write 0 to tdata1
  first" sequence does — leaves the trigger disabled, reading back 0xF000_0000;
* dmode hard-wired to 0 (no Debug Mode), action 0 only (breakpoint exception),
  chain 0, select 0 (addresses; data-value matches are not implemented), vs/vu and
  uncertain/uncertainen 0;
* match 0 (equal), 1 (NAPOT), 2 (>=), 3 (<) and their negations 8 and 9;
* size 0 (any), 1, 2, 3 (8/16/32-bit accesses; 16/32-bit instructions);
* hit1:hit0 set to 01 ("fired before the instruction retired") when it fires.
`tdata3` (textra32) exists with every field 0 — no context or value condition.
There is no `tcontrol`: re-entrancy is handled by the spec's first option
("Native Triggers"): triggers do not match in M-mode while mstatus.MIE is 0, nor in
S-mode while sstatus.SIE is 0 when breakpoints are delegated (medeleg[3]).

Compare values are virtual addresses: the pc for execution (the instruction's first
byte), every byte of a load or store (so a byte watchpoint inside a word catches a
`sw` over it).  `lr` is a load, `sc` and AMOs are stores (AMOs loads too).  tval is
the pc, or the address of the access.

Speed: nothing is checked while no trigger is armed.  While an execute trigger is
armed for the mode the hart is in (and not held off by MIE/SIE), the engine checks
each pc before fetching it on the pages the trigger can match (single steps there;
every page for a range or a negated match), and runs blocks on the others (a block
never leaves the page it starts on); in other modes blocks run.  While a load or
store trigger is, the pages it can match are kept out of the load or store TLBs
(all pages, for range matches), so those accesses reach `load_slow`/`store_slow`,
which check first.
"""

from __future__ import annotations

from machine.cpu import csrs as C
from machine.cpu.trap import Trap

M32 = 0xFFFF_FFFF
TRIGGERS = 4

TYPE_SHIFT = 28
TYPE_MCONTROL, TYPE_MCONTROL6, TYPE_DISABLED = 2, 6, 15
DISABLED = TYPE_DISABLED << TYPE_SHIFT
TINFO = (1 << 24) | (1 << TYPE_MCONTROL) | (1 << TYPE_MCONTROL6) | (1 << TYPE_DISABLED)  # version 1: spec 1.0

# mcontrol6 fields (RV32)
HIT1, HIT0 = 1 << 25, 1 << 22
SIZE_SHIFT, SIZE_MASK = 16, 7 << 16
MATCH_SHIFT, MATCH_MASK = 7, 15 << 7
MODE_M, MODE_S, MODE_U = 1 << 6, 1 << 4, 1 << 3
EXECUTE, STORE, LOAD = 1 << 2, 1 << 1, 1 << 0
MATCH_EQ, MATCH_NAPOT, MATCH_GE, MATCH_LT = 0, 1, 2, 3
MATCHES = frozenset({0, 1, 2, 3, 8, 9})  # 8, 9: "does not match" versions of 0, 1
# The bits a write keeps when it asks for type 6 (size and match checked apart).
MCONTROL6_KEPT = HIT1 | HIT0 | MODE_M | MODE_S | MODE_U | EXECUTE | STORE | LOAD
# mcontrol (type 2), the older layout: the same low bits, sizelo where size's low
# bits are (timing, above it, is 0 here), hit at 20, and maskmax (read-only) saying
# how large a NAPOT range may be: 2**31 bytes.
MC_HIT = 1 << 20
MC_MASKMAX = 31 << 21
MC_SIZELO = 3 << 16
MCONTROL_KEPT = MC_HIT | MC_SIZELO | MODE_M | MODE_S | MODE_U | EXECUTE | STORE | LOAD
ADDRESS_TYPES = (TYPE_MCONTROL, TYPE_MCONTROL6)

_MODE_BIT = {C.U: MODE_U, C.S: MODE_S, C.M: MODE_M}
_ACCESS_SIZE = {1: 1, 2: 2, 3: 4}  # mcontrol6 size -> bytes (or instruction length)
TRIGGER_CSRS = frozenset(range(C.TSELECT, C.TINFO + 1))


def legal_tdata1(value: int) -> int:
    """What a write of `value` to tdata1 leaves there (every field WARL)."""
    kind = value >> TYPE_SHIFT
    if kind == TYPE_MCONTROL:
        new = (TYPE_MCONTROL << TYPE_SHIFT) | MC_MASKMAX | (value & MCONTROL_KEPT)
    elif kind == TYPE_MCONTROL6:
        new = (TYPE_MCONTROL6 << TYPE_SHIFT) | (value & MCONTROL6_KEPT)
        if (value & SIZE_MASK) >> SIZE_SHIFT in _ACCESS_SIZE:
            new |= value & SIZE_MASK
    else:
        return DISABLED
    if (value & MATCH_MASK) >> MATCH_SHIFT in MATCHES:
        new |= value & MATCH_MASK
    return new


def compare(match: int, tdata2: int, values) -> bool:
    """Whether a trigger with this `match` and `tdata2` matches any of `values`."""
    base = match & 7
    if base == MATCH_EQ:
        hit = tdata2 in values
    elif base == MATCH_NAPOT:
        low = ((tdata2 ^ M32) & (tdata2 + 1)).bit_length()  # bits up to the lowest 0
        mask = M32 & ~((1 << low) - 1)
        hit = any(v & mask == tdata2 & mask for v in values)
    elif base == MATCH_GE:
        hit = any(v >= tdata2 for v in values)
    else:
        hit = any(v < tdata2 for v in values)
    return hit != bool(match & 8)


class TriggerMixin:
    """The trigger CSRs and the checks; mixed into `ArchState`.  The registers
    (`tselect`, `tdata1`, `tdata2`) are CSR-file fields; what is armed is derived
    from them by `_rebuild_triggers`."""

    trigger_count = TRIGGERS  # 0: the trigger CSRs do not exist (illegal instruction)

    def _rebuild_triggers(self) -> None:
        """Recompute the armed lists and the pages kept out of the data TLBs."""
        armed = {EXECUTE: [], LOAD: [], STORE: []}
        pages = {EXECUTE: set(), LOAD: set(), STORE: set()}  # virtual pages each kind can match
        every = {EXECUTE: False, LOAD: False, STORE: False}
        for i, t1 in enumerate(self.tdata1):
            if t1 >> TYPE_SHIFT not in ADDRESS_TYPES or not t1 & (MODE_M | MODE_S | MODE_U):
                continue
            for kind in (EXECUTE, LOAD, STORE):
                if not t1 & kind:
                    continue
                armed[kind].append(i)
                match, t2 = (t1 & MATCH_MASK) >> MATCH_SHIFT, self.tdata2[i]
                if match == MATCH_EQ:
                    pages[kind].add(t2 >> 12)
                elif match == MATCH_NAPOT and t2 != M32:
                    low = ((t2 ^ M32) & (t2 + 1)).bit_length()
                    first = (t2 & M32 & ~((1 << low) - 1)) >> 12
                    last = (t2 | ((1 << low) - 1)) >> 12
                    if last - first < 64:
                        pages[kind].update(range(first, last + 1))
                    else:
                        every[kind] = True
                else:
                    every[kind] = True
        old = (self.trig_load, self.trig_store, self._trig_pages)
        self._trig_exec_pages = None if every[EXECUTE] else frozenset(pages[EXECUTE])
        self.trig_exec = tuple(armed[EXECUTE])
        self.trig_load = tuple(armed[LOAD])
        self.trig_store = tuple(armed[STORE])
        self.trig_armed = bool(self.trig_exec or self.trig_load or self.trig_store)
        # vpn sets kept out of rtlb/wtlb; None: every page
        self._trig_pages = (
            None if every[LOAD] else frozenset(pages[LOAD]) if armed[LOAD] else frozenset(),
            None if every[STORE] else frozenset(pages[STORE]) if armed[STORE] else frozenset(),
        )
        if (self.trig_load, self.trig_store, self._trig_pages) != old:
            self._flush_data_tlbs()

    def _init_triggers(self) -> None:
        self._trig_exec_pages: frozenset[int] | None = frozenset()  # None: any page
        self.trig_exec: tuple[int, ...] = ()
        self.trig_load: tuple[int, ...] = ()
        self.trig_store: tuple[int, ...] = ()
        self.trig_armed = False  # any of the three
        self._trig_pages: tuple[frozenset[int] | None, frozenset[int] | None] = (frozenset(), frozenset())
        self._rebuild_triggers()

    def _flush_data_tlbs(self) -> None:
        """Forget load and store translations, in every kept address space too."""
        for t in self.rtlb + self.wtlb:
            t.clear()
        for space in getattr(self, "_spaces", {}).values():
            for t in space[1] + space[2]:
                t.clear()

    def trigger_keeps_out(self, vpn: int, store: bool) -> bool:
        """True if data accesses to virtual page `vpn` must take the slow path."""
        pages = self._trig_pages[1 if store else 0]
        return pages is None or vpn in pages

    # --- CSRs --------------------------------------------------------------------------

    def _trigger_read(self, num: int) -> int:
        if num == C.TSELECT:
            return self.tselect
        if num == C.TDATA1:
            return self.tdata1[self.tselect]
        if num == C.TDATA2:
            return self.tdata2[self.tselect]
        if num == C.TINFO:
            return TINFO
        return 0  # tdata3: textra32 with no field implemented

    def _trigger_write(self, num: int, value: int) -> None:
        if num == C.TSELECT:
            if value < self.trigger_count:
                self.tselect = value  # others keep the old index (WARL)
            return
        if num == C.TDATA1:
            self.tdata1[self.tselect] = legal_tdata1(value)
        elif num == C.TDATA2:
            self.tdata2[self.tselect] = value
        else:
            return  # tdata3 (all zero) and tinfo (read-only by its contents)
        self._rebuild_triggers()

    # --- matching ----------------------------------------------------------------------

    def _triggers_live(self, priv: int) -> bool:
        """Action-0 triggers cannot match in a trap handler that they would re-enter
        (Sdtrig "Native Triggers", first option)."""
        status = self.mstatus
        if priv == C.M:
            return bool(status & C.MSTATUS_MIE)
        if priv == C.S and self.medeleg & (1 << C.BREAKPOINT):
            return bool(status & C.MSTATUS_SIE)
        return True

    def _fire(self, hits: list[int], tval: int) -> None:
        for i in hits:
            self.mark_hit(i)
        raise Trap(C.BREAKPOINT, tval)

    def mark_hit(self, i: int) -> None:
        """Set trigger `i`'s hit bits as firing does: hit (type 2), or hit1:hit0 = 01
        ("before the instruction retired", type 6)."""
        t1 = self.tdata1[i]
        if t1 >> TYPE_SHIFT == TYPE_MCONTROL:
            self.tdata1[i] = t1 | MC_HIT
        else:
            self.tdata1[i] = (t1 & ~HIT1) | HIT0

    # --- for a monitor: the real hart's triggers ----------------------------------------

    def load_triggers(self, pairs: tuple[tuple[int, int], ...]) -> None:
        """Host mode: make the hart's triggers exactly `pairs` — (tdata1, tdata2) each,
        as many as the monitor likes, every tdata1 already legal — which it computes
        from a guest's virtual triggers (and a debugger's) at each entry to the guest."""
        self.tdata1 = [t1 for t1, _ in pairs]
        self.tdata2 = [t2 for _, t2 in pairs]
        self.tselect = 0
        self._rebuild_triggers()

    def take_trigger_hits(self) -> list[int]:
        """The triggers that fired (their hit bits set), their hit bits cleared: after
        a breakpoint exit, which of the loaded triggers raised it (none: an EBREAK)."""
        hits = []
        for i, t1 in enumerate(self.tdata1):
            if t1 & (MC_HIT if t1 >> TYPE_SHIFT == TYPE_MCONTROL else HIT1 | HIT0):
                hits.append(i)
                self.tdata1[i] = t1 & ~(MC_HIT if t1 >> TYPE_SHIFT == TYPE_MCONTROL else HIT1 | HIT0)
        return hits

    def execute_trigger_live(self) -> bool:
        """Whether an armed execute trigger can fire in the hart's present state
        (privilege, MIE/SIE).  That state only changes at a trap or a system
        instruction, both of which end a translated block, so while this is False the
        engine may run blocks."""
        priv = self.priv
        if not self._triggers_live(priv):
            return False
        bit = _MODE_BIT[priv]
        return any(self.tdata1[i] & bit for i in self.trig_exec)

    def check_execute_trigger(self, pc: int) -> None:
        """Before the instruction at `pc` is fetched: raise the breakpoint an armed
        execute trigger asks for."""
        priv = self.priv
        if not self._triggers_live(priv):
            return
        bit = _MODE_BIT[priv]
        hits = []
        for i in self.trig_exec:
            t1 = self.tdata1[i]
            if not t1 & bit:
                continue
            size = (t1 & SIZE_MASK) >> SIZE_SHIFT
            if size and _ACCESS_SIZE[size] != self._insn_length(pc):
                continue
            if compare((t1 & MATCH_MASK) >> MATCH_SHIFT, self.tdata2[i], (pc,)):
                hits.append(i)
        if hits:
            self._fire(hits, pc)

    def _insn_length(self, pc: int) -> int:
        """Length of the instruction at `pc`, 0 if it cannot be fetched (a size-limited
        trigger then does not match, and the fetch itself faults)."""
        try:
            return 2 if self.fetch_insn(pc) & 3 != 3 else 4
        except Trap:
            return 0

    def check_access_trigger(self, va: int, size: int, kind: int) -> None:
        """Before a load (`kind` LOAD) or store (STORE) of `size` bytes at `va`."""
        priv = self.priv
        if not self._triggers_live(priv):
            return
        bit = _MODE_BIT[priv]
        values = [(va + k) & M32 for k in range(size)]
        hits = []
        for i in self.trig_load if kind == LOAD else self.trig_store:
            t1 = self.tdata1[i]
            if not t1 & bit:
                continue
            want = (t1 & SIZE_MASK) >> SIZE_SHIFT
            if want and _ACCESS_SIZE[want] != size:
                continue
            if compare((t1 & MATCH_MASK) >> MATCH_SHIFT, self.tdata2[i], values):
                hits.append(i)
        if hits:
            self._fire(hits, va)
