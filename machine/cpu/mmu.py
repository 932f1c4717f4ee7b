"""Sv32 address translation, PMP, the TLBs, and the slow paths of loads and stores.

Translated code reaches memory through small dict TLBs, one set per privilege:
fetch (`itlb`), load (`rtlb`) and store (`wtlb`), each mapping a virtual page number
to a RAM delta (RAM offset = address + delta).  Only pages of RAM that passed every
check (page-table permissions, A/D bits, PMP) go in; anything else — devices, pages
PMP splits, pages with translated code or HTIF's tohost (for stores) — stays out and
is handled here, one access at a time.  PMP's verdict is kept per (physical page,
privilege) until the entries change, so neither a fill nor a page-table read scans
the entries again (`_pmp_page`).

References: privileged spec 1.12, 4.3 (Sv32) and 3.7 (PMP).
"""

from __future__ import annotations

from machine.bus import BusError
from machine.cpu.csrs import (
    INSN_ACCESS_FAULT, INSN_PAGE_FAULT, LOAD_ACCESS_FAULT, LOAD_MISALIGNED, LOAD_PAGE_FAULT,
    MSTATUS_MPP_SHIFT, MSTATUS_MPRV, MSTATUS_MXR, MSTATUS_SUM, SATP_MODE, STORE_ACCESS_FAULT,
    STORE_MISALIGNED, STORE_PAGE_FAULT, U,
)  # fmt: skip
from machine.cpu.trap import Resync, Retry, Trap
from machine.cpu.triggers import LOAD as TRIGGER_LOAD
from machine.cpu.triggers import STORE as TRIGGER_STORE

M = 0xFFFF_FFFF

FETCH, LOAD, STORE = 0, 1, 2
_PAGE_FAULT = (INSN_PAGE_FAULT, LOAD_PAGE_FAULT, STORE_PAGE_FAULT)
_ACCESS_FAULT = (INSN_ACCESS_FAULT, LOAD_ACCESS_FAULT, STORE_ACCESS_FAULT)

# PTE bits (spec 4.3.1)
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_G, PTE_A, PTE_D = 1, 2, 4, 8, 16, 32, 64, 128

# PMP configuration bits (spec 3.7.1)
PMP_R, PMP_W, PMP_X, PMP_L = 1, 2, 4, 0x80
PMP_OFF, PMP_TOR, PMP_NA4, PMP_NAPOT = 0, 1, 2, 3
_PMP_NEED = (PMP_X, PMP_R, PMP_W)
# In the per-page PMP cache (`_pmp_page`): regions split the page, so each access is
# checked on its own.  It has no R/W/X bit, so `cached & need` is true only for a page
# uniformly covered and allowed — the one test the fast paths make.
PMP_SPLIT = 8
_PMP_PAGES_MAX = 1 << 16  # cached (page, privilege) decisions before the cache starts afresh

# What `_fill`'s fast path needs of a 4 KiB leaf, by access: valid, the permission, A
# (and D for a store), so it sets no bit; R with W, since W alone is reserved (4.3.1).
_LEAF_NEED = (PTE_V | PTE_X | PTE_A, PTE_V | PTE_R | PTE_A, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)


class MmuMixin:
    """Address translation and memory slow paths; mixed into `Hart`."""

    # --- TLB management -------------------------------------------------------

    def _init_mmu(self) -> None:
        # Index by privilege (0 U, 1 S, 3 M; 2 unused).
        self.itlb: list[dict[int, int]] = [{} for _ in range(4)]
        self.rtlb: list[dict[int, int]] = [{} for _ in range(4)]
        self.wtlb: list[dict[int, int]] = [{} for _ in range(4)]
        # Store translations for pages that hold translated code: kept out of `wtlb`
        # so every store to them comes here, but cached so data beside code stays cheap.
        self.code_wtlb: list[dict[int, int]] = [{} for _ in range(4)]
        self.reservation: int | None = None
        self.watch: dict[int, object] = {}  # physical address -> callback(addr, value)
        self._watch_pages: set[int] = set()
        self._pmp_regions: list[tuple[int, int, int, bool]] = []  # (lo, hi, perms, locked)
        # (physical page number << 2 | privilege) -> PMP's R|W|X for the whole page, or
        # PMP_SPLIT: a decision of `_pmp_perms`, cached (see `_pmp_page`).  Emptied
        # whenever `_pmp_regions` changes (`_rebuild_pmp`, `reset`).
        self._pmp_pages: dict[int, int] = {}
        # 4 MiB regions (va >> 22) whose TLB entries came from a megapage leaf: one
        # leaf behind up to 1024 of them (see flush_tlb_page).
        self._mega_regions: set[int] = set()
        self._leaf_level = 0  # the level of the leaf `translate` last used

    def flush_tlb(self) -> None:
        """Forget every cached translation (SFENCE.VMA, satp, SUM/MXR, PMP changes)."""
        for tlbs in (self.itlb, self.rtlb, self.wtlb, self.code_wtlb):
            for t in tlbs:
                t.clear()
        self._mega_regions.clear()
        self._flush_jump_caches()

    def view_changed(self) -> None:
        """satp, SUM or MXR changed: which translation applies changed, not the page
        tables.  The hart's TLBs keep no ASID or SUM/MXR tags, so they go; a hart
        that keeps translations per view (the VMM's vcpu, with its shadows) may keep
        them — a satp write is no fence (spec 4.1.11: software must SFENCE.VMA after
        changing a table)."""
        self.flush_tlb()

    def flush_tlb_asid(self, asid: int) -> None:
        """SFENCE.VMA with rs1 = x0 and rs2 = an ASID (spec 4.2.1): forget what was
        cached for that address space; with untagged TLBs, that is everything."""
        self.flush_tlb()

    def flush_tlb_page(self, va: int) -> None:
        """SFENCE.VMA with rs1 = `va` (spec 4.2.1): forget what was cached from the leaf
        PTE that maps `va`, in every address space.  The TLBs hold 4 KiB entries, so
        that is the entries of `va`'s page — unless a megapage filled any in its 4 MiB
        region, when every one of them came from that leaf and the whole TLB goes (no
        cheaper way to find them).  Blocks translated at virtual pcs on the page go
        too: their page may now be other code."""
        vpn = (va & M) >> 12
        if vpn >> 10 in self._mega_regions:
            self.flush_tlb()
            return
        self._forget_page(vpn, (self.itlb, self.rtlb, self.wtlb, self.code_wtlb, self.jcache))

    @staticmethod
    def _forget_page(vpn: int, space: tuple) -> None:
        """Drop virtual page `vpn` from one address space's (itlb, rtlb, wtlb,
        code_wtlb, jcache) lists (each indexed by privilege)."""
        itlb, rtlb, wtlb, code_wtlb, jcache = space
        for priv, t in enumerate(itlb):
            if t.pop(vpn, None) is not None:
                # Code ran from the page in this mode: its jump-cache entries go.
                # (Every entry's page is in the itlb: both are emptied together.)
                j = jcache[priv]
                for pc in [pc for pc in j if pc >> 12 == vpn]:
                    del j[pc]
        for tlbs in (rtlb, wtlb, code_wtlb):
            for t in tlbs:
                t.pop(vpn, None)

    def _flush_store_tlbs(self) -> None:
        for t in self.wtlb:
            t.clear()
        for space in getattr(self, "_spaces", {}).values():  # kept by switch_address_space
            for t in space[2]:
                t.clear()

    def data_priv(self) -> int:
        """Privilege used for loads and stores: MPP when MPRV is set in M-mode (3.1.6.3)."""
        if self.priv == 3 and self.mstatus & MSTATUS_MPRV:
            return (self.mstatus >> MSTATUS_MPP_SHIFT) & 3
        return self.priv

    def add_watch(self, addr: int, callback) -> None:
        """Call `callback(addr, value)` after every 32-bit store to physical `addr`."""
        self.watch[addr] = callback
        self._watch_pages.add(addr >> 12)
        self._flush_store_tlbs()

    # --- translation ------------------------------------------------------------

    def translate(self, va: int, access: int, priv: int) -> int:
        """Physical address for `va`; raises the page fault or access fault the spec names.

        Sets the A (and for stores D) bit of the leaf PTE in memory, as hardware that
        manages A/D itself does (spec 4.3.1 allows either this or a page fault).
        """
        satp = self.satp
        if priv == 3 or not satp & SATP_MODE:
            return va
        pte, pte_addr, level = self.walk(va, access)
        if not self.leaf_allows(pte, access, priv):
            raise Trap(_PAGE_FAULT[access], va)
        pa = self.leaf_address(pte, level, va, access)
        self._leaf_level = level
        want = PTE_A | (PTE_D if access == STORE else 0)
        if pte & want != want:
            # The A/D update is a store by the walker, subject to PMP (4.3.2 step 7).
            if not self._pmp_allows(pte_addr, 4, STORE, 1):
                raise Trap(_ACCESS_FAULT[access], va)
            self._write_phys(pte_addr, 4, pte | want)
        return pa

    def walk(self, va: int, access: int = LOAD) -> tuple[int, int, int]:
        """Walk the Sv32 table satp names down to `va`'s leaf: (pte, its physical
        address, level: 1 for a megapage, 0 for a page).  Raises the fault `access`
        would take on an invalid or malformed entry, or an access fault when PMP or
        the bus stops the walk.  Changes nothing."""
        ram = self.ram
        base = ram.base
        top = base + ram.size - 4  # the last word address in RAM
        pmp = self._pmp_pages
        table = (self.satp & 0x3F_FFFF) << 12
        level = 1
        while True:
            pte_addr = table + (((va >> (22 if level else 12)) & 0x3FF) << 2)
            # The walker reads as S-mode (3.7.1): the page's cached PMP decision when
            # it is uniform and allows, else the full check.
            perms = pmp.get((pte_addr >> 12) << 2 | 1)
            if not (perms is not None and perms & PMP_R or self._pmp_allows(pte_addr, 4, LOAD, 1)):
                raise Trap(_ACCESS_FAULT[access], va)
            if not base <= pte_addr <= top:
                raise Trap(_ACCESS_FAULT[access], va)
            pte = ram.words[(pte_addr - base) >> 2]
            if not pte & PTE_V or (not pte & PTE_R and pte & PTE_W):
                raise Trap(_PAGE_FAULT[access], va)
            if pte & (PTE_R | PTE_X):
                return pte, pte_addr, level
            if level == 0 or pte & (PTE_A | PTE_D | PTE_U):
                raise Trap(_PAGE_FAULT[access], va)  # non-leaf PTEs must have A, D, U clear (4.3.1)
            table = (pte >> 10) << 12
            level -= 1

    def leaf_allows(self, pte: int, access: int, priv: int) -> bool:
        """Whether a leaf PTE lets `priv` make this access (4.3.2 step 5: U, SUM, MXR)."""
        if pte & PTE_U:
            if priv == 1 and (access == FETCH or not self.mstatus & MSTATUS_SUM):
                return False
        elif priv == U:
            return False
        if access == FETCH:
            return bool(pte & PTE_X)
        if access == LOAD:
            return bool(pte & PTE_R or (self.mstatus & MSTATUS_MXR and pte & PTE_X))
        return bool(pte & PTE_W)

    @staticmethod
    def leaf_address(pte: int, level: int, va: int, access: int) -> int:
        """The physical address a leaf maps `va` to; a misaligned megapage faults."""
        ppn = pte >> 10
        if level == 1:
            if ppn & 0x3FF:
                raise Trap(_PAGE_FAULT[access], va)  # misaligned superpage
            return ((ppn >> 10) << 22) | (va & 0x3F_FFFF)
        return (ppn << 12) | (va & 0xFFF)

    def _fill(self, va: int, access: int, priv: int) -> int:
        """Translate and, when the page may be cached, put it in that TLB.

        Linux fills ~145,000 times a boot (after each SFENCE.VMA of a page, each satp
        write, and for every device access, which is never cached), so the common
        case is walked here inline: a 4 KiB leaf that already has its A (and for a
        store D) bit, reached through page-table words in RAM that PMP lets S-mode
        read — the PMP decisions come from the per-page cache (`_pmp_page`).  Anything
        else (a megapage, a fault, an A/D bit to set, SUM or MXR to consult, a table
        outside RAM or on a page PMP splits or has not yet decided) goes to
        `translate`, which walks again from the start: the inline walk only reads, so
        giving up part way changes nothing."""
        ram = self.ram
        pmp = self._pmp_pages
        satp = self.satp
        pa = -1
        if priv == 3 or not satp & SATP_MODE:
            pa = va
        else:
            base = ram.base
            top = base + ram.size - 4  # the last word address in RAM
            a = ((satp & 0x3F_FFFF) << 12) | ((va >> 20) & 0xFFC)  # the level-1 PTE
            perms = pmp.get((a >> 12) << 2 | 1)
            if perms is not None and perms & PMP_R and base <= a <= top:
                pte = ram.words[(a - base) >> 2]
                # A pointer to the next level: V, and R, W, X, U, A, D all clear (G may be set).
                if pte & 0xDF == PTE_V:
                    a = ((pte >> 10) << 12) | ((va >> 10) & 0xFFC)  # the level-0 PTE
                    perms = pmp.get((a >> 12) << 2 | 1)
                    if perms is not None and perms & PMP_R and base <= a <= top:
                        pte = ram.words[(a - base) >> 2]
                        need = _LEAF_NEED[access]
                        # `leaf_allows` for the plain cases: U's own pages in U-mode, the
                        # others in S-mode (a U page in S-mode depends on SUM: the slow path).
                        if (
                            pte & need == need
                            and pte & (PTE_R | PTE_W) != PTE_W  # W without R is reserved
                            and (priv == U) == bool(pte & PTE_U)
                        ):
                            pa = ((pte >> 10) << 12) | (va & 0xFFF)
        if pa < 0:
            pa = self.translate(va, access, priv)
            if self._leaf_level:
                self._leaf_level = 0
                self._mega_regions.add(va >> 22)  # (even if not cached below: harmless)
        pn = pa >> 12
        need = _PMP_NEED[access]
        perms = pmp.get(pn << 2 | priv)
        if perms is None:
            perms = self._pmp_page(pn, priv)  # a page not met since PMP last changed
        if not perms & need:  # split, or a fault
            if perms != PMP_SPLIT or not self._pmp_allows(pa, 1, access, priv):
                raise Trap(_ACCESS_FAULT[access], va)
            return pa  # PMP splits the page: every access comes here to be checked
        off = (pn << 12) - ram.base
        if not 0 <= off <= ram.size - 4096:
            return pa  # a device: not cached
        vpn = va >> 12
        delta = off - (vpn << 12)
        if access == STORE:
            if pn in self._watch_pages or (self.trig_store and self.trigger_keeps_out(vpn, True)):
                pass
            elif (off >> 12) in self.code_pages:
                self.code_wtlb[priv][vpn] = delta
            else:
                self.wtlb[priv][vpn] = delta
        elif access == LOAD:
            if not (self.trig_load and self.trigger_keeps_out(vpn, False)):
                self.rtlb[priv][vpn] = delta
        else:
            self.itlb[priv][vpn] = delta
        return pa

    # --- PMP (3.7) -------------------------------------------------------------------

    def _rebuild_pmp(self, flush: bool = True) -> None:
        """Recompute the PMP regions from pmpcfg/pmpaddr.  `flush=False` is for a
        monitor whose kept address spaces (switch_address_space) each belong to one
        guest and were filled under that guest's own PMP."""
        regions = []
        prev = 0
        for i in range(16):
            cfg = (self.pmpcfg[i // 4] >> (8 * (i % 4))) & 0xFF
            addr = self.pmpaddr[i]
            mode = (cfg >> 3) & 3
            if mode == PMP_TOR:
                lo, hi = prev << 2, addr << 2
            elif mode == PMP_NA4:
                lo, hi = addr << 2, (addr << 2) + 4
            elif mode == PMP_NAPOT:
                ones = (~addr & (addr + 1)).bit_length() - 1  # trailing ones
                size = 1 << (ones + 3)
                lo = (addr << 2) & ~(size - 1)
                hi = lo + size
            else:
                lo = hi = 0
            if mode != PMP_OFF and lo < hi:
                regions.append((lo, hi, cfg & 7, bool(cfg & PMP_L)))
            elif mode != PMP_OFF:
                regions.append((lo, lo, cfg & 7, bool(cfg & PMP_L)))  # matches nothing
            prev = addr
        self._pmp_regions = regions
        self._pmp_pages.clear()
        if flush:
            self.flush_tlb()

    def _pmp_perms(self, lo: int, hi: int, priv: int) -> int | None:
        """Permissions for bytes [lo, hi): an R|W|X mask, or None if a region covers only
        part of the range (the spec says such an access fails).  The lowest-numbered
        region that matches any byte decides (3.7.1); it binds M-mode only when locked,
        and with none matching M-mode may do anything, S and U nothing."""
        for rlo, rhi, perms, locked in self._pmp_regions:
            if rlo <= lo and hi <= rhi:
                if priv == 3 and not locked:
                    return PMP_R | PMP_W | PMP_X
                return perms
            if lo < rhi and rlo < hi:
                return None
        return PMP_R | PMP_W | PMP_X if priv == 3 else 0

    def _pmp_page(self, pn: int, priv: int) -> int:
        """PMP's R|W|X for every access within physical page `pn` in `priv`, or
        PMP_SPLIT when regions divide the page (each access must then be checked on
        its own).  Cached: the regions change only in `_rebuild_pmp`, which empties
        the cache.  Exact for any access inside the page: the first region to overlap
        a uniformly covered page covers all of it, and every region before it misses
        the whole page, so it is also the first to match any byte of the access."""
        key = pn << 2 | priv
        perms = self._pmp_pages.get(key)
        if perms is None:
            perms = self._pmp_perms(pn << 12, (pn + 1) << 12, priv)
            if perms is None:
                perms = PMP_SPLIT
            if len(self._pmp_pages) >= _PMP_PAGES_MAX:
                self._pmp_pages.clear()  # a guest sweeping physical memory: stay bounded
            self._pmp_pages[key] = perms
        return perms

    def _pmp_allows(self, pa: int, size: int, access: int, priv: int) -> bool:
        """Whether PMP lets `priv` make this access to bytes [pa, pa + size)."""
        pn = pa >> 12
        if (pa + size - 1) >> 12 == pn:
            perms = self._pmp_pages.get(pn << 2 | priv)
            if perms is None:
                perms = self._pmp_page(pn, priv)
            if perms != PMP_SPLIT:
                return bool(perms & _PMP_NEED[access])
        perms = self._pmp_perms(pa, pa + size, priv)  # a split page, or across pages
        return perms is not None and bool(perms & _PMP_NEED[access])

    def _pmp_uniform(self, page: int, access: int, priv: int) -> bool:
        """Whether PMP lets `priv` make this access anywhere in the page at `page`."""
        return bool(self._pmp_page(page >> 12, priv) & _PMP_NEED[access])

    # --- physical access ---------------------------------------------------------

    def _read_phys(self, pa: int, size: int, cause: int, va: int) -> int:
        ram = self.ram
        off = pa - ram.base
        if 0 <= off and off + size <= ram.size:
            return int.from_bytes(ram.data[off : off + size], "little")
        try:
            return self.bus.read(pa, size)
        except BusError:
            raise Trap(cause, va) from None

    def _write_phys(self, pa: int, size: int, value: int, va: int | None = None) -> bool:
        """Store to RAM or a device; True when a device took it or translated code was
        overwritten (the caller resyncs)."""
        ram = self.ram
        off = pa - ram.base
        if 0 <= off and off + size <= ram.size:
            ram.data[off : off + size] = (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")
            page = off >> 12
            if page in self.code_pages and self._code_written(off, size):
                return True  # translated code changed: the caller resyncs, as after MMIO
            if pa >> 12 in self._watch_pages:
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

    # --- slow paths called by translated code --------------------------------------

    def load_slow(self, va: int, size: int) -> int:
        if self.trig_load:
            self.check_access_trigger(va, size, TRIGGER_LOAD)
        priv = self.data_priv()
        if va & (size - 1):
            return self._misaligned(va, size, LOAD, priv, 0)
        pa = self._fill(va, LOAD, priv)
        if not self.exact and not self.ram.contains(pa, size):
            raise Retry()
        return self._read_phys(pa, size, LOAD_ACCESS_FAULT, va)

    def store_slow(self, va: int, size: int, value: int) -> None:
        if self.trig_store:
            self.check_access_trigger(va, size, TRIGGER_STORE)
        priv = self.data_priv()
        delta = self.code_wtlb[priv].get(va >> 12)
        if delta is not None and not va & (size - 1):
            off = va + delta
            self.ram.data[off : off + size] = value.to_bytes(size, "little")
            words = self.code_words.get(off >> 12)
            if words and (off >> 2) in words:
                # The running block may hold a copy of what was just overwritten (a
                # later part of itself, or a chained call): stop it after this store.
                self._invalidate_page(off >> 12)
                raise Resync()
            return
        if va & (size - 1):
            self._misaligned(va, size, STORE, priv, value)
            return
        pa = self._fill(va, STORE, priv)
        if not self.exact and not self.ram.contains(pa, size):
            raise Retry()
        if self._write_phys(pa, size, value, va):
            raise Resync()

    def _misaligned(self, va: int, size: int, access: int, priv: int, value: int) -> int:
        """Misaligned RAM accesses are performed byte by byte (spec allows it); a
        misaligned access to a device raises the misaligned exception."""
        pas = []
        for k in range(size):
            pa = self._fill((va + k) & M, access, priv)
            if not self.ram.contains(pa):
                raise Trap(LOAD_MISALIGNED if access == LOAD else STORE_MISALIGNED, va)
            pas.append(pa)
        if access == LOAD:
            return sum(self.ram.data[pa - self.ram.base] << (8 * k) for k, pa in enumerate(pas))
        for k, pa in enumerate(pas):
            self._write_phys(pa, 1, value >> (8 * k))
        return 0

    # --- A extension (volume I, chapter 8) ---------------------------------------------

    def _atomic_address(self, va: int, access: int, amo: bool = False) -> int:
        # lr is a load; sc a store; an AMO both, its read first (Sdtrig, "A Extension").
        if self.trig_load and (access == LOAD or amo):
            self.check_access_trigger(va, 4, TRIGGER_LOAD)
        if self.trig_store and access == STORE:
            self.check_access_trigger(va, 4, TRIGGER_STORE)
        if va & 3:
            raise Trap(LOAD_MISALIGNED if access == LOAD else STORE_MISALIGNED, va)
        pa = self._fill(va, access, self.data_priv())
        if not self.ram.contains(pa, 4):
            raise Trap(LOAD_ACCESS_FAULT if access == LOAD else STORE_ACCESS_FAULT, va)
        return pa

    def load_reserved(self, va: int) -> int:
        pa = self._atomic_address(va, LOAD)
        self.reservation = pa
        return self.ram.words[(pa - self.ram.base) >> 2]

    def store_conditional(self, va: int, value: int) -> int:
        """0 on success, 1 on failure; the reservation is gone either way (8.2)."""
        pa = self._atomic_address(va, STORE)
        ok = self.reservation == pa
        self.reservation = None
        if not ok:
            return 1
        self._write_phys(pa, 4, value)
        return 0

    def amo(self, op: str, va: int, value: int) -> int:
        pa = self._atomic_address(va, STORE, amo=True)
        old = self.ram.words[(pa - self.ram.base) >> 2]
        s_old, s_val = old - ((old & 0x8000_0000) << 1), value - ((value & 0x8000_0000) << 1)
        new = {
            "swap": value,
            "add": (old + value) & M,
            "xor": old ^ value,
            "and": old & value,
            "or": old | value,
            "min": old if s_old <= s_val else value,
            "max": old if s_old >= s_val else value,
            "minu": min(old, value),
            "maxu": max(old, value),
        }[op]
        self._write_phys(pa, 4, new)
        return old

    # --- fetch ---------------------------------------------------------------------

    def fetch_offset(self, pc: int) -> int:
        """RAM offset of the instruction at `pc` in the current privilege; traps if it
        cannot be fetched."""
        priv = self.priv
        delta = self.itlb[priv].get(pc >> 12)
        if delta is None:
            pa = self._fill(pc, FETCH, priv)
            if not self.ram.contains(pa, 2):
                raise Trap(INSN_ACCESS_FAULT, pc)
            delta = self.itlb[priv].get(pc >> 12)
            if delta is None:  # RAM, but not cacheable (PMP splits the page)
                return pa - self.ram.base
        return pc + delta

    def fetch_insn(self, pc: int) -> int:
        """The instruction at `pc`: a 16-bit parcel, or both halves of a 32-bit
        instruction (which may start at any halfword, even the last of a page).  A
        fault fetching the second half reports that half's address (spec 1.5: tval
        is the address of the portion of the instruction that faulted)."""
        halves = self.ram.halves
        off = self.fetch_offset(pc)
        lo = halves[off >> 1]
        if lo & 3 != 3:
            return lo
        if pc & 0xFFF != 0xFFE:
            return lo | halves[(off >> 1) + 1] << 16
        return lo | halves[self.fetch_offset((pc + 2) & 0xFFFF_FFFF) >> 1] << 16
