"""A guest's virtual hart: the architectural state the guest believes it runs on.

`VCpu` is `machine.cpu.arch.ArchState` itself — the same CSR file, trap entry,
delegation, xRET, WFI and Sv32 rules as the real hart — with no engine: the guest's
instructions run on the real hart, and only the ones that trap reach this object,
which the VMM then steps through the spec's state machine.  Two things differ:

* its RAM is a `RamWindow` on host RAM, so guest-physical addresses are its own;
* an SFENCE.VMA or a PMP write calls `on_flush`, where the VMM drops the guest's
  shadow page tables — or, for an SFENCE.VMA that names one address, `on_flush_page`,
  where it drops only that page from them, and for one that names an ASID,
  `on_flush_asid`, where it drops only that address space's; a satp, SUM or MXR
  write only picks another view (`on_view_change`): shadows are kept per view;
* each satp write is told to `on_satp`, so the VMM can list the address spaces the
  guest has used (spaces.py).

Its counters are the guest's own: `icount` counts guest instructions retired (on
the real hart or emulated by the VMM) and `idle_cycles` the time it slept, so its
clock — and the CLINT built on it — run on the guest's virtual time.
"""

from __future__ import annotations

from collections.abc import Callable

from machine.bus import Bus, BusError
from machine.cpu.arch import ArchState
from machine.cpu.csrs import SATP, STORE_ACCESS_FAULT
from machine.cpu.mmu import PMP_SPLIT
from machine.cpu.trap import Trap
from machine.memory import RamWindow


class VCpu(ArchState):
    # Its debug triggers (the bare hart's four) sit in this CSR file; the monitor loads
    # what they would match onto the real hart at each entry (triggers.py).

    def __init__(self, ram: RamWindow, bus: Bus):
        self.on_flush: Callable[[bool], None] = lambda pmp_changed: None
        self.on_flush_page: Callable[[int], None] = lambda va: None
        self.on_flush_asid: Callable[[int], None] = lambda asid: None
        self.on_view_change: Callable[[], None] = lambda: None
        self.on_satp: Callable[[int], None] = lambda satp: None
        self._pmp_changed = False
        super().__init__(ram, bus)

    def csr_write(self, num: int, value: int, *, by_instruction: bool = True) -> None:
        super().csr_write(num, value, by_instruction=by_instruction)
        if num == SATP:
            self.on_satp(self.satp)

    def flush_tlb(self) -> None:
        """The guest did something that invalidates translations: the VMM's shadows go."""
        changed, self._pmp_changed = self._pmp_changed, False
        self.on_flush(changed)

    def flush_tlb_page(self, va: int) -> None:
        """SFENCE.VMA naming one address: only what the shadows hold of that page goes."""
        self.on_flush_page(va)

    def flush_tlb_asid(self, asid: int) -> None:
        """SFENCE.VMA naming one address space: only that ASID's shadows go."""
        self.on_flush_asid(asid)

    def view_changed(self) -> None:
        """satp, SUM or MXR changed: the shadows are kept per view (keyed by satp, SUM
        and MXR), so each stays for when the guest comes back to it — a process
        switch costs no refill.  Page tables changed behind a view must be fenced
        by the guest (SFENCE.VMA), as on real hardware."""
        self.on_view_change()

    def _rebuild_pmp(self, flush: bool = True) -> None:
        self._pmp_changed = True
        super()._rebuild_pmp(flush)

    def page_pmp(self, page: int, priv: int) -> int | None:
        """PMP's R|W|X (1|2|4) for every aligned access to the 4 KiB page at `page`
        in `priv`, or None if they differ within the page.  M-mode with no locked
        entry is never restricted (entries bind it only when locked)."""
        if priv == 3 and not any(locked for _, _, _, locked in self._pmp_regions):
            return 7
        perms = self._pmp_page(page >> 12, priv)  # cached until the guest changes PMP
        return None if perms == PMP_SPLIT else perms

    def _write_phys(self, pa: int, size: int, value: int, va: int | None = None) -> bool:
        """A store the VMM makes for the guest (A/D bits, emulated accesses): RAM writes
        go through the window so the host drops translated code they overwrite."""
        ram = self.ram
        if ram.contains(pa, size):
            ram.write_bytes(pa, (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))
            base = pa & ~3
            callback = self.watch.get(base)
            if callback is not None:
                callback(base, ram.words[(base - ram.base) >> 2])
                return True
            return False
        try:
            self.bus.write(pa, size, value)
        except BusError:
            raise Trap(STORE_ACCESS_FAULT, pa if va is None else va) from None
        return True

    def add_watch(self, addr: int, callback) -> None:
        """HTIF's tohost: the VMM keeps that page read-only in the shadows and emulates
        each store to it, calling `callback(addr, value)` as the real hart would."""
        self.watch[addr] = callback
        self._watch_pages.add(addr >> 12)
        self.flush_tlb()
