"""Exit handlers: what the VMM does when guest code traps out of the real hart.

`GuestExits` holds the exit handlers of a `Guest` (guest.py), which inherits them:
`handle_exit` dispatches one exit from the real hart by its cause, as monitor.py's
docstring tells — a privileged instruction emulated on the VCpu (or the exception its
own hardware would raise injected), an ecall injected, or a hypercall or an SBI call
(with `--sbi vmm`: sbi_server.py) served, a page fault hidden (the shadow filled,
with fault-around), true (injected) or a device access (decoded and emulated) — and
`deliver_interrupt` injects the interrupt the virtual hart would take now.  The
handlers work on the state `Guest.__init__` sets up (`vmm`, `vcpu`, `window`, `bt`,
`log`, `debug_stub`, `sbi_server`, the counters) and on its shadows (`shadow`,
`context_key`, `_flush_shadows`).

Also here: `GuestCrash`, which a handler raises when the guest did something the VMM
cannot emulate, the cached instruction decoder the handlers (and the debugger) use,
and the VMM's door for MRETs the flawed hardware lets run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from machine.cpu import csrs as C
from machine.cpu.isa import decode as _decode_uncached
from machine.cpu.mmu import FETCH, LOAD, STORE
from machine.cpu.trap import Exit, ExitKind, Trap
from tuivmm.vmm import sbi
from tuivmm.vmm import traplog as T
from tuivmm.vmm.exitstate import guest_walk, snapshot
from tuivmm.vmm.shadow import PTE_R, PTE_W, PTE_X, ShadowTable
from tuivmm.vmm.triggers import EXECUTE, GUEST_TRIGGERS

AROUND = 64  # fault-around: pages per aligned block mapped together on a hidden fault
_BIT0S = sum(1 << (32 * i) for i in range(AROUND))  # bit 0 of each of AROUND 32-bit words, as one integer
_VA_BITS = 0x41 * _BIT0S  # V and A of each

# The VMM's own machine-mode state on the real hart: mepc always holds this door, so
# an MRET that the flawed hardware lets run in U-mode lands here, on a page no shadow
# ever maps, and the VMM sees it (a flawed MRET also sets the real mstatus.MPIE).
MRET_DOOR = 0xFFFF_F000
DOOR_PAGE = MRET_DOOR >> 12

HV_EID = 0x0854_564D  # guests/include/hypercall.h
HV_SRET = 0

_ACCESS_OF = {C.INSN_PAGE_FAULT: FETCH, C.LOAD_PAGE_FAULT: LOAD, C.STORE_PAGE_FAULT: STORE}
_PAGE_FAULT = (C.INSN_PAGE_FAULT, C.LOAD_PAGE_FAULT, C.STORE_PAGE_FAULT)
_ACCESS_FAULT = (C.INSN_ACCESS_FAULT, C.LOAD_ACCESS_FAULT, C.STORE_ACCESS_FAULT)
_FETCH_FAULT = (C.INSN_PAGE_FAULT, C.INSN_ACCESS_FAULT)
_ECALL = {C.U: C.ECALL_FROM_U, C.S: C.ECALL_FROM_S, C.M: C.ECALL_FROM_M}
_LOADS = {"lb": (1, True), "lh": (2, True), "lw": (4, True), "lbu": (1, False), "lhu": (2, False)}
_STORES = {"sb": 1, "sh": 2, "sw": 4}
_EMULATED = frozenset({"csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci", "mret", "sret", "wfi",
                       "sfence.vma"})  # fmt: skip


# Exits decode the same few instruction words over and over.
decode = functools.lru_cache(maxsize=8192)(_decode_uncached)


@functools.lru_cache(maxsize=8192)
def _emulation(word: int) -> tuple:
    """How the VMM emulates the privileged instruction `word` that trapped: (its
    decoding, the trap log's reason, its action), or (None, None, None) if it is
    none the VMM emulates.  Cached: the same few words trap over and over."""
    d = decode(word)
    if d is None or d.name not in _EMULATED:
        return None, None, None
    name = d.name
    reason = (T.CSR if name.startswith("csr") else T.XRET if name.endswith("ret")
              else T.WFI if name == "wfi" else T.SFENCE)  # fmt: skip
    return d, reason, T.SLEPT if name == "wfi" else T.EMULATED


class GuestCrash(Exception):
    """The guest reached a state the VMM cannot emulate; it stops, alone."""


class GuestExits:
    """The exit handlers of a `Guest`, which inherits them (see the module docstring
    for the attributes they use)."""

    # --- the exit loop ---------------------------------------------------------------

    def handle_exit(self, e: Exit) -> None:
        """One exit from the real hart, dispatched by kind (Firecracker's run loop has
        the same shape); with the trap log keeping states, what it did is kept too."""
        log = self.log
        states = log.states
        if states is None:
            self._dispatch_exit(e)
            return
        v = self.vcpu
        first = log.sequence.next
        before, x_before = snapshot(v), tuple(v.x)
        page_fault = e.cause in _PAGE_FAULT
        walk = guest_walk(v, e.tval) if page_fault else ()
        self._dispatch_exit(e)
        end = log.sequence.next
        if end != first:  # it made events (a debugger's breakpoint makes none)
            shadow = self.current.lookup(e.tval & ~0xFFF) if page_fault and self.current is not None else None
            states.append((first, end, (before, snapshot(v), x_before, tuple(v.x), e.tval, walk, shadow)))

    def _dispatch_exit(self, e: Exit) -> None:
        hart = self.vmm.hart
        if hart.mstatus & C.MSTATUS_MPIE:
            # The flawed hardware ran an MRET in U-mode: it jumped to the VMM's door.
            hart.mstatus = 0
            self._flawed_mret(e)
            return
        cause = e.cause
        if cause in _FETCH_FAULT and self.debug_stub is not None and self.debug_stub.fetch_fault(e):
            return  # a debugger's breakpoint where the fetch faults: stopped before it
        if cause == C.ILLEGAL_INSN:
            self._illegal_instruction(e)
        elif cause == C.ECALL_FROM_U:
            self._ecall(e)
        elif cause in _PAGE_FAULT:
            self._page_fault(e)
        elif cause == C.BREAKPOINT:
            self._breakpoint(e)
        else:
            self.inject(cause, e.tval, e.epc, e.insn, T.EXCEPTION)

    def _breakpoint(self, e: Exit) -> None:
        """A breakpoint exit: a trigger on the real hart fired (the guest's own, or the
        debugger's: triggers.py), or the guest ran an EBREAK (the debugger's, or its own)."""
        hits = self.vmm.trigger_hits()
        if not hits:
            if self.debug_stub is not None and self.debug_stub.breakpoint_exit(e):
                return  # the debugger's own EBREAK: the guest is stopped for it, and never sees it
            self.inject(C.BREAKPOINT, e.tval, e.epc, e.insn, T.EXCEPTION)
            return
        theirs = [i - GUEST_TRIGGERS for i in hits if i >= GUEST_TRIGGERS]
        if theirs and self.debug_stub is not None and self.debug_stub.trigger_hit(e, theirs):
            return  # stopped for the debugger, before the instruction or the access
        mine = [i for i in hits if i < GUEST_TRIGGERS]
        if not mine:
            return  # a debugger's trigger the debugger has just let go: the guest goes on
        v = self.vcpu
        for i in mine:
            v.mark_hit(i)
        what = "execute" if e.tval == e.epc and v.tdata1[mine[0]] & EXECUTE else "access"
        self.inject(C.BREAKPOINT, e.tval, e.epc, e.insn, T.EXCEPTION,
                    detail=f"{T.TRIGGER_FIRED} {', '.join(map(str, mine))} fired: {what} at {e.tval:#010x}")  # fmt: skip

    def inject(self, cause: int, tval: int, epc: int, insn: int, reason: str, action: str = T.INJECTED,
               detail: str = "") -> None:  # fmt: skip
        """Deliver an exception to the guest at its own vector, as its hardware would.
        With the VMM as its SBI (sbi "vmm") no firmware waits in virtual M-mode: an
        exception that would enter it stops the guest."""
        v = self.vcpu
        if self.sbi_server is not None and (v.priv == C.M or not v.medeleg >> cause & 1):
            raise GuestCrash(f"{C.cause_name(cause)} would enter virtual M-mode, where no firmware runs (--sbi vmm)")
        self.log.record(v.cycles, epc, v.priv, insn, cause, reason, action, detail)
        v.take_trap(cause, tval, epc)
        self._trap_ends_reservation()

    def _trap_ends_reservation(self) -> None:
        """The guest took a trap, which ends its LR reservation, as on its hardware.
        Its LR/SC run on the real hart, which keeps the reservation across exits the
        guest never sees (hidden faults, emulated device accesses)."""
        if self.vmm.loaded is self:
            self.vmm.hart.reservation = None

    def _retire(self, next_pc: int) -> None:
        self.vcpu.pc = next_pc
        self.vcpu.icount += 1
        self.emulated_instructions += 1

    def _illegal_instruction(self, e: Exit) -> None:
        v = self.vcpu
        word = e.insn
        if self.bt is not None:
            gpa = self._fetch_gpa(e.epc)
            if gpa is not None:
                word = self.bt.original(gpa, word)
        patched = f"{T.BT_PATCH}: {e.insn:#010x} stands in its place" if word != e.insn else ""
        d, reason, action = _emulation(word)
        if d is None:
            self.inject(C.ILLEGAL_INSN, word, e.epc, word, T.EXCEPTION)
            return
        priv = v.priv
        try:
            next_pc = v.exec_system(d, e.epc)
        except Trap as trap:
            self.inject(trap.cause, trap.tval, e.epc, word, reason)
            return
        self.log.record(v.icount + v.idle_cycles, e.epc, priv, word, C.ILLEGAL_INSN, reason, action, patched)
        v.pc = next_pc  # (_retire's work, inline: this is the most common exit)
        v.icount += 1
        self.emulated_instructions += 1

    def _flawed_mret(self, e: Exit) -> None:
        """An MRET the flawed hardware let run (the door caught it): do what it should
        have done, from where it was.  The instruction's pc is not known (the hart
        jumped), so the log shows the door."""
        v = self.vcpu
        hart = self.vmm.hart
        epc, hart.flawed_xret_pc = hart.flawed_xret_pc, None
        if v.priv < C.M:
            # An MRET in virtual S or U mode: the guest's own hardware would trap on it
            # (the flaw lets xRET run only in real U-mode, which a guest kernel is not).
            if epc is None:
                raise GuestCrash("an MRET below virtual M-mode ran on the flawed hardware")
            self.inject(C.ILLEGAL_INSN, 0x3020_0073, epc, 0x3020_0073, T.XRET)
            return
        self.log.record(v.cycles, MRET_DOOR, v.priv, 0x3020_0073, C.ILLEGAL_INSN, T.XRET, T.EMULATED,
                        "caught at the VMM's door")  # fmt: skip
        self._retire(v._mret())
        v.icount -= 1  # the hart already counted it when it ran
        self.emulated_instructions -= 1

    def _ecall(self, e: Exit) -> None:
        v = self.vcpu
        x = v.x
        if self.remedy == "pv" and v.priv == C.S and x[17] == HV_EID and x[16] == HV_SRET:
            self._hv_sret(e)
            return
        if self.sbi_server is not None and v.priv == C.S:
            self.sbi_server.serve(e)  # the VMM is its SBI firmware
            return
        detail = ""
        if v.priv == C.S and not v.medeleg >> C.ECALL_FROM_S & 1:
            detail = sbi.describe(x[17], x[16])  # a kernel's call to its firmware, in virtual M-mode
        self.inject(_ECALL[v.priv], 0, e.epc, e.insn, T.ECALL, detail=detail)

    def _hv_sret(self, e: Exit) -> None:
        """The HV_SRET hypercall (guests/include/hypercall.h): SRET's work, with the
        caller's a6/a7 taken from the save area at sscratch."""
        v = self.vcpu
        area = v.sscratch
        try:
            if area % 4 or not v.ram.contains(area, 8):
                raise GuestCrash(f"HV_SRET: bad save area {area:#x}")
            if v.mstatus & C.MSTATUS_TSR:
                raise Trap(C.ILLEGAL_INSN, 0)
        except Trap as trap:
            self.inject(trap.cause, trap.tval, e.epc, e.insn, T.HYPERCALL)
            return
        self.log.record(v.cycles, e.epc, v.priv, e.insn, C.ECALL_FROM_S, T.HYPERCALL, T.SERVED, "HV_SRET")
        v.x[16] = v.ram.read_u32(area)
        v.x[17] = v.ram.read_u32(area + 4)
        self._retire(v._sret())

    def _fetch_gpa(self, pc: int) -> int | None:
        """The guest-physical address of the instruction at `pc` in the current mode."""
        try:
            return self.vcpu.translate(pc, FETCH, self.vcpu.priv)
        except Trap:
            return None

    def _page_fault(self, e: Exit) -> None:
        v = self.vcpu
        access = _ACCESS_OF[e.cause]
        va = e.tval
        priv = v.priv if access == FETCH else v.data_priv()
        try:
            try:
                gpa = v.translate(va, access, priv)
            except Trap:
                gpa = self._naive_user_fetch(va, access, priv)
                if gpa is None:
                    raise
            if not v._pmp_allows(gpa, 1, access, priv):
                raise Trap(_ACCESS_FAULT[access], va)
        except Trap as trap:
            self.true_faults += 1
            self.inject(trap.cause, trap.tval, e.epc, e.insn, T.PAGE_FAULT, T.TRUE, f"va {va:#010x}")
            return
        in_ram = v.ram.contains(gpa & ~0xFFF, 4096)
        if not in_ram:
            if access == FETCH:
                self.inject(C.INSN_ACCESS_FAULT, va, e.epc, 0, T.PAGE_FAULT, T.TRUE, f"fetch from {gpa:#010x}")
            else:
                self._emulate_access(e, va, gpa, mmio=True)
            return
        page = gpa >> 12
        if access != FETCH and self.debug_stub is not None and self.debug_stub.watch_hit(e, gpa):
            return  # it touches a debugger's watchpoint: stopped before the access
        pmp_split = v.page_pmp(gpa & ~0xFFF, priv) is None
        if access == FETCH and (pmp_split or va >> 12 == DOOR_PAGE):
            self._step_unmappable(e, va, gpa, priv)
            return
        mprv = v.priv == C.M and v.mstatus & C.MSTATUS_MPRV  # context_key() == ("mprv",), without the key
        if (pmp_split or va >> 12 == DOOR_PAGE or (access != FETCH and mprv)
                or (access == STORE and page in v._watch_pages)):  # fmt: skip
            self._emulate_access(e, va, gpa, mmio=False)
            return
        bt = self.bt
        if bt is not None and access == STORE and page in bt.scanned:
            code = self._fetch_gpa(e.epc)
            if code is not None and code >> 12 == page:
                # Code writing its own page, which must stay executable: emulate the
                # store, keeping the page translated.
                self._emulate_access(e, va, gpa, mmio=False, bt_store=True)
                return
            # Code the guest is about to overwrite: put the originals back, and make
            # every shadow forget the page, so it is scanned again before it runs
            # (virtual M-mode's too, which the flush keeps).
            bt.unscan(page)
            self._flush_shadows(False)
            self._restrict_everywhere(gpa & ~0xFFF, PTE_X)
        leaf = v.walk(va) if priv != C.M and v.satp & C.SATP_MODE else None
        pte = leaf[0] if leaf is not None else None
        perms = self._perms(pte, gpa & ~0xFFF, priv)
        if bt is not None:
            # Binary translation: a page runs only once scanned, and is written only
            # while not.  A fetch scans it (and drops W), a store unscans it (and
            # drops X); a load keeps whatever the page is.
            if access == FETCH and page not in bt.scanned:
                found = bt.scan(page)
                self._restrict_everywhere(gpa & ~0xFFF, PTE_W)  # no view may write it unseen now
                self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.PAGE_FAULT, T.BT_SCAN,
                                f"page {gpa & ~0xFFF:#010x}: {found} patched")  # fmt: skip
            if page not in bt.scanned:
                perms &= ~PTE_X
        open_perms, perms = perms, self._mappable(gpa & ~0xFFF, perms)
        table = self.current or self.shadow()
        if self.debug_stub is not None and self.debug_stub.let_through(e, table, va, gpa, open_perms, perms):
            return  # a page the debugger watches: this one access ran with the page open
        hpa = self._map(table, va & ~0xFFF, gpa & ~0xFFF, perms)
        if leaf is not None and leaf[2] == 1:
            table.mega.add(va >> 22)  # one guest leaf behind the region: a fence of it drops all
        extra = self._map_around(table, va, priv, leaf)
        self.hidden_faults += 1
        self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.PAGE_FAULT, T.HIDDEN,
                        f"va {va & ~0xFFF:#010x} -> hpa {hpa:#010x} {_perm_text(perms)}"
                        + (f", {extra} more around it" if extra else ""))  # fmt: skip

    def _step_unmappable(self, e: Exit, va: int, gpa: int, priv: int) -> None:
        """Guest code on a page the VMM may not map whole (PMP changes within it, or
        the VMM's door page): check this one fetch, map the page execute-only just
        long enough to run this one instruction, and take the mapping back.  Its
        loads and stores, if they touch such a page, fault and are emulated."""
        v = self.vcpu
        first = v.ram.read_bytes(gpa, 1)[0] if v.ram.contains(gpa, 2) else 3
        if not v._pmp_allows(gpa, 4 if first & 3 == 3 else 2, FETCH, priv):  # RV32C: 2 or 4 bytes
            self.true_faults += 1
            self.inject(C.INSN_ACCESS_FAULT, va, e.epc, 0, T.PAGE_FAULT, T.TRUE, f"PMP stops the fetch at {gpa:#010x}")
            return
        table = self.current or self.shadow()
        page_va = va & ~0xFFF
        if self.bt is not None and (gpa >> 12) not in self.bt.scanned:
            self.bt.scan(gpa >> 12)
            self._restrict_everywhere(gpa & ~0xFFF, PTE_W)
        self._map(table, page_va, gpa & ~0xFFF, PTE_X)
        self.log.record(v.cycles, e.epc, v.priv, 0, e.cause, T.PAGE_FAULT, T.HIDDEN,
                        f"va {va:#010x}: one instruction on a page the VMM cannot map whole")  # fmt: skip
        self.run_one_instruction(lambda: table.unmap(page_va))

    def run_one_instruction(self, undo: Callable[[], None]) -> None:
        """Run the guest's next instruction alone on the real hart, with a mapping made
        just for it in place; count it, call `undo` to take that mapping back (even if
        the run failed), and handle the exit it made, if any."""
        v = self.vcpu
        hart = self.vmm.hart
        # Inside an exit already: the inner exit is handled below, not by the hook.
        hook, hart.exit_hook = hart.exit_hook, None
        try:
            hart.pc = v.pc
            before = hart.icount
            inner = hart.run(1)
            ran = hart.icount - before
            v.icount += ran
            self.direct_instructions += ran
            v.pc = hart.pc
        finally:
            hart.exit_hook = hook
            undo()
            hart.drop_address_spaces()
        if inner.kind is ExitKind.TRAP:
            self.handle_exit(inner)

    @property
    def naive(self) -> bool:
        """The lecture's naive VMM: no remedy, on hardware with the ERET flaw."""
        return self.remedy == "none" and self.vmm.flawed_eret

    def _naive_user_fetch(self, va: int, access: int, priv: int) -> int | None:
        """The naive VMM's kernel shadow carries the guest's user pages as its PTEs
        allow (executable if X), without the rule that S-mode never runs user pages —
        so user code that the flawed SRET sent off unseen runs on the kernel's view,
        as the lecture tells.  The guest-physical address, or None to fault as usual."""
        if not self.naive or access != FETCH or priv != C.S:
            return None
        v = self.vcpu
        try:
            pte, _, level = v.walk(va)
            if pte & 0x10 and pte & PTE_X and pte & 0x40:  # U, X, A
                return v.leaf_address(pte, level, va, FETCH)
        except Trap:
            pass
        return None

    def _map(self, table: ShadowTable, va_page: int, gpa_page: int, perms: int) -> int:
        hpa = self.window.host_base + (gpa_page - self.window.base)
        if table.map(va_page, hpa, perms):
            self.vmm.hart.drop_address_spaces()  # the real TLBs may hold the wider mapping
        return hpa

    def _perms(self, pte: int | None, page: int, priv: int) -> int:
        """Every access the guest may make to this page right now without a fault of
        its own: its PTE allows it, the A (and for writes D) bit is already set, PMP
        allows it on the whole page.  `pte` is None for untranslated modes."""
        v = self.vcpu
        fetch_priv = v.priv
        pmp = v.page_pmp(page, priv) or 0  # PMP_R|W|X bits = PTE bits >> 1
        if fetch_priv != priv:
            pmp = (pmp & 3) | ((v.page_pmp(page, fetch_priv) or 0) & 4)
        perms = (pmp & 7) << 1  # PMP R,W,X (1,2,4) -> PTE R,W,X (2,4,8)
        if pte is None:
            return perms
        if not pte & 0x40:  # A clear: any access would set it
            return 0
        if not v.leaf_allows(pte, LOAD, priv):
            perms &= ~PTE_R
        if not pte & 0x80 or not v.leaf_allows(pte, STORE, priv):  # D clear: a store sets it
            perms &= ~PTE_W
        if not (v.leaf_allows(pte, FETCH, fetch_priv)
                or (self.naive and fetch_priv == C.S and pte & 0x10 and pte & PTE_X)):  # fmt: skip
            perms &= ~PTE_X
        return perms

    def _mappable(self, gpa_page: int, perms: int) -> int:
        """`perms` less what the VMM must still see: stores to scanned code (bt) and to
        HTIF's tohost page."""
        page = gpa_page >> 12
        if (self.bt is not None and page in self.bt.scanned) or page in self.vcpu._watch_pages:
            perms &= ~PTE_W
        if self.debug_stub is not None:
            perms = self.debug_stub.mappable(page, perms)  # watched pages fault on the watched accesses
        return perms

    def _map_around(self, table: ShadowTable, va: int, priv: int, leaf: tuple[int, int, int] | None) -> int:
        """Fault-around: map the other pages of the aligned AROUND-page block holding
        `va` that the guest could use right now without a fault of its own (for a
        paged mode: valid leaves whose A, and for writes D, bits are set already), so
        a kernel sweeping its memory takes one hidden fault per block, not per page.
        `leaf` is the guest's (pte, its address, level) for `va`, None if untranslated.
        Returns how many were mapped."""
        v = self.vcpu
        ram = v.ram
        first = va & ~(AROUND * 4096 - 1)
        # Only the pages the shadow lacks are looked at (a sweep finds most of the
        # block behind it mapped already); memoryview slices are read with tolist,
        # many times faster than iterating them.
        pages: list[tuple[int, int, int | None]]  # (va, gpa, pte or None)
        if leaf is not None and leaf[2] == 0:
            start = ((leaf[1] & ~0xFFF) - ram.base) >> 2
            slot = (first >> 12) & 0x3FF
            # First a test of all the block's words at once, as two integers: a page is
            # looked at only if the shadow lacks it (V clear) and its guest PTE has V
            # and A set — in a sweep, usually none is (the pages behind it are mapped,
            # those ahead not accessed yet), and the word-by-word look is skipped.
            pte_bytes = ram.data[4 * (start + slot) : 4 * (start + slot + AROUND)]
            not_va = (int.from_bytes(pte_bytes, "little") & _VA_BITS) ^ _VA_BITS  # a word's 0: V and A set
            if (not_va | not_va >> 6 | table.leaves_as_int(first, AROUND)) & _BIT0S == _BIT0S:
                return 0
            present = table.leaves(first, AROUND)
            words = ram.words[start + slot : start + slot + AROUND].tolist()
            # absent from the shadow; valid, a leaf, accessed: anything else would fault for the guest
            pages = [(first + 4096 * i, (w >> 10) << 12, w) for i, (shadow_pte, w) in enumerate(zip(present, words))
                     if not shadow_pte & 1 and w & 0x41 == 0x41 and w & 0xA]  # fmt: skip
        else:
            present = table.leaves(first, AROUND)
            absent = [i for i, shadow_pte in enumerate(present) if not shadow_pte & 1]
            if not absent:
                return 0
            if leaf is None:
                if self.context_key() == ("mprv",):
                    return 0
                pages = [(first + 4096 * i, first + 4096 * i, None) for i in absent]
            else:
                pte = leaf[0]
                try:
                    base = v.leaf_address(pte, 1, first, LOAD)
                except Trap:
                    return 0
                pages = [(first + 4096 * i, base + 4096 * i, pte) for i in absent]
        here = va >> 12
        mapped = 0
        scanned = self.bt.scanned if self.bt is not None else None
        lo, hi = ram.base, ram.base + ram.size - 4096
        for page_va, gpa, pte in pages:
            if not lo <= gpa <= hi:
                continue
            if page_va >> 12 == here or page_va >> 12 == DOOR_PAGE:
                continue
            perms = self._perms(pte, gpa, priv)
            if scanned is not None and (gpa >> 12) not in scanned:
                perms &= ~PTE_X
            perms = self._mappable(gpa, perms)
            if perms:
                self._map(table, page_va, gpa, perms)
                mapped += 1
        return mapped

    def _emulate_access(self, e: Exit, va: int, pa: int, *, mmio: bool, bt_store: bool = False) -> None:
        """Carry out the trapping load or store against the guest's device (or, for a
        page the VMM must not map, its RAM), then step past it."""
        v = self.vcpu
        d = decode(e.insn)
        name = d.name if d is not None else ""
        device = self.vcpu.bus.describe(pa, d is not None and d.name in _STORES) if mmio else "ram"
        if name in _LOADS:
            size, signed = _LOADS[name]
            access = LOAD
        elif name in _STORES:
            size, signed, access = _STORES[name], False, STORE
        else:
            # AMOs and LR/SC on a device fault, as on the bare board; anything else
            # would be a VMM bug.
            cause = C.LOAD_ACCESS_FAULT if name == "lr.w" else C.STORE_ACCESS_FAULT
            self.inject(cause, va, e.epc, e.insn, T.MMIO, T.INJECTED, f"{name} at {device}")
            return
        if pa & (size - 1):
            cause = C.LOAD_MISALIGNED if access == LOAD else C.STORE_MISALIGNED
            if mmio:
                self.inject(cause, va, e.epc, e.insn, T.MMIO, T.INJECTED, f"misaligned at {device}")
                return
        if access == LOAD:
            try:
                value = v._read_phys(pa, size, C.LOAD_ACCESS_FAULT, va)
            except Trap as trap:
                self.inject(trap.cause, trap.tval, e.epc, e.insn, T.MMIO, T.INJECTED, f"no device at {pa:#010x}")
                return
            if signed and value >> (8 * size - 1):
                value -= 1 << (8 * size)
            if d.rd:
                v.x[d.rd] = value & 0xFFFF_FFFF
            self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.MMIO, T.MMIO_READ,
                            f"{device} -> {value & 0xFFFF_FFFF:#x}")  # fmt: skip
        else:
            value = v.x[d.rs2] & ((1 << (8 * size)) - 1)
            try:
                if bt_store:
                    self.bt.store(pa, size, lambda: v._write_phys(pa, size, value, va))
                else:
                    v._write_phys(pa, size, value, va)
            except Trap as trap:
                self.inject(trap.cause, trap.tval, e.epc, e.insn, T.MMIO, T.INJECTED, f"no device at {pa:#010x}")
                return
            self.log.record(v.cycles, e.epc, v.priv, e.insn, e.cause, T.MMIO, T.MMIO_WRITE,
                            f"{device} <- {value:#x}")  # fmt: skip
        self._retire((e.epc + d.length) & 0xFFFF_FFFF)  # c.lw/c.sw/c.lwsp/c.swsp are 2 bytes

    # --- interrupts --------------------------------------------------------------------

    def deliver_interrupt(self) -> bool:
        """Inject the interrupt the guest's hardware would take now, if any."""
        v = self.vcpu
        irq = v.pending_interrupt()
        if irq is None:
            return False
        v.sleeping = False
        cause = C.INTERRUPT_BIT | irq
        log = self.log
        states = log.states
        first = log.sequence.next
        if states is not None:
            before, x = snapshot(v), tuple(v.x)
        log.record(v.cycles, v.pc, v.priv, 0, cause, T.INTERRUPT, T.INJECTED)
        v.take_trap(cause, 0, v.pc)
        self._trap_ends_reservation()
        if states is not None:
            states.append((first, log.sequence.next, (before, snapshot(v), x, x, 0, (), None)))
        return True


def _perm_text(perms: int) -> str:
    return ("r" if perms & PTE_R else "-") + ("w" if perms & PTE_W else "-") + ("x" if perms & PTE_X else "-")
