"""Shadow page tables: real Sv32 tables in host RAM that the real MMU walks.

While a guest runs, the real hart is in U-mode with satp pointing at one of the
guest's shadows.  A shadow maps guest-virtual pages straight to host-physical pages
of that guest's RAM window, with the permissions the guest's own page table (and its
PMP) grant in the guest's current mode.  It starts empty and is filled lazily: the
real hart faults on an unmapped page (a *hidden* fault the guest never sees), the
VMM walks the guest's table, and maps the page.

Every shadow PTE is a 4 KiB leaf with U set (the real hart is in U-mode), and A and D
preset so the real walker never writes to a shadow; W is granted only once the
guest's own D bit is set, so the guest's first store to a page faults and the VMM
sets D in the guest's PTE, keeping the guest's A/D bits true.

The pages come from the VMM's pool, a region of host RAM no guest can reach: shadow
PTEs only ever point into the owning guest's window (`ShadowTable.map` refuses
anything else), and the real PMP confines the guest to its window while it runs.
"""

from __future__ import annotations

from machine.memory import Ram

PAGE = 4096
PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_A, PTE_D = 1, 2, 4, 8, 16, 64, 128
SATP_MODE_SV32 = 1 << 31


class ShadowPoolFull(Exception):
    """No free page for another shadow table."""


class ShadowPool:
    """Free 4 KiB pages in the VMM's region of host RAM, [offset, offset + pages * 4 KiB)."""

    def __init__(self, ram: Ram, offset: int, pages: int):
        self.ram = ram
        self.offset = offset
        self.pages = pages
        self._free = [ram.base + offset + PAGE * i for i in reversed(range(pages))]

    @property
    def used(self) -> int:
        return self.pages - len(self._free)

    def contains(self, pa: int) -> bool:
        lo = self.ram.base + self.offset
        return lo <= pa < lo + self.pages * PAGE

    def alloc(self) -> int:
        """A zeroed page's host-physical address."""
        if not self._free:
            raise ShadowPoolFull("the VMM's shadow page-table pool is full")
        pa = self._free.pop()
        start = (pa - self.ram.base) >> 2
        self.ram.words[start : start + PAGE // 4] = _ZERO_PAGE
        return pa

    def release(self, pa: int) -> None:
        self._free.append(pa)


_ZERO_PAGE = memoryview(bytearray(PAGE)).cast("I")


class ShadowTable:
    """One shadow address space: a root page and the leaf tables hung under it."""

    def __init__(self, pool: ShadowPool, key: tuple, window_lo: int, window_hi: int):
        self.pool = pool
        self.key = key
        self.window = (window_lo, window_hi)  # host-physical range its leaves may point into
        self.root = pool.alloc()
        self.tables: dict[int, int] = {}  # VPN[1] -> host-physical address of its leaf table
        self.mega: set[int] = set()  # VPN[1]s filled from a guest megapage (one leaf behind them all)
        self.filled = 0  # leaves mapped so far

    @property
    def satp(self) -> int:
        return SATP_MODE_SV32 | (self.root >> 12)

    def _word(self, pa: int) -> int:
        return (pa - self.pool.ram.base) >> 2

    def map(self, va: int, hpa: int, perms: int) -> bool:
        """Map the page at `va` to host page `hpa` with `perms` (PTE_R|W|X bits).
        True if this narrowed an existing mapping (the real TLBs must then be flushed)."""
        lo, hi = self.window
        if not lo <= hpa < hi or hpa % PAGE:
            raise ValueError(f"shadow refuses to map {hpa:#x}: outside the guest's RAM")
        words = self.pool.ram.words
        vpn1 = va >> 22
        table = self.tables.get(vpn1)
        if table is None:
            table = self.pool.alloc()
            self.tables[vpn1] = table
            words[self._word(self.root) + vpn1] = ((table >> 12) << 10) | PTE_V
        slot = self._word(table) + ((va >> 12) & 0x3FF)
        old = words[slot]
        if not old & PTE_V:
            self.filled += 1
        new = ((hpa >> 12) << 10) | (perms & (PTE_R | PTE_W | PTE_X)) | PTE_V | PTE_U | PTE_A | PTE_D
        words[slot] = new
        return bool(old & PTE_V) and (old >> 10 != new >> 10 or old & ~new & (PTE_R | PTE_W | PTE_X) != 0)

    def unmap(self, va: int) -> bool:
        """Drop the mapping of the page at `va`; True if there was one."""
        table = self.tables.get(va >> 22)
        if table is None:
            return False
        words = self.pool.ram.words
        slot = self._word(table) + ((va >> 12) & 0x3FF)
        if not words[slot] & PTE_V:
            return False
        words[slot] = 0
        self.filled -= 1
        return True

    def forget(self, va: int) -> bool:
        """The guest fenced the leaf that maps `va`: drop the page at `va` — or, where a
        guest megapage filled its 4 MiB region, the whole region (its leaf table goes
        back to the pool).  True if a whole region went."""
        vpn1 = va >> 22
        if vpn1 not in self.mega:
            self.unmap(va)
            return False
        self.mega.discard(vpn1)
        table = self.tables.pop(vpn1)
        words = self.pool.ram.words
        base = self._word(table)
        self.filled -= sum(1 for pte in words[base : base + 1024] if pte & PTE_V)
        words[self._word(self.root) + vpn1] = 0
        self.pool.release(table)
        return True

    def lookup(self, va: int) -> tuple[int, int] | None:
        """(host-physical page, perms) for the page at `va`, or None."""
        table = self.tables.get(va >> 22)
        if table is None:
            return None
        pte = self.pool.ram.words[self._word(table) + ((va >> 12) & 0x3FF)]
        if not pte & PTE_V:
            return None
        return (pte >> 10) << 12, pte & (PTE_R | PTE_W | PTE_X)

    def restrict(self, hpa: int, bits: int, va: int | None = None) -> bool:
        """Take `bits` (PTE_W, PTE_X) from every entry mapping host page `hpa` — only
        the one at `va`, if given (a view where virtual = guest-physical) — and drop an
        entry left with neither R nor X (to the walker, V alone is a pointer).  True if
        any entry changed (the real TLBs must then be flushed)."""
        words = self.pool.ram.words
        target = hpa >> 12
        if va is not None:
            table = self.tables.get(va >> 22)
            slots = [self._word(table) + ((va >> 12) & 0x3FF)] if table is not None else []
        else:
            slots = []
            for table in self.tables.values():
                base = self._word(table)
                slots += [base + i for i, pte in enumerate(words[base : base + 1024])
                          if pte & PTE_V and pte >> 10 == target]  # fmt: skip
        changed = False
        for slot in slots:
            pte = words[slot]
            if not pte & PTE_V or pte >> 10 != target or not pte & bits:
                continue
            pte &= ~bits
            if not pte & (PTE_R | PTE_X):
                pte = 0
                self.filled -= 1
            words[slot] = pte
            changed = True
        return changed

    def leaves(self, va: int, count: int) -> list[int]:
        """The raw shadow PTEs of `count` pages from `va` (within one 4 MiB region):
        0 where nothing is mapped."""
        table = self.tables.get(va >> 22)
        if table is None:
            return [0] * count
        slot = self._word(table) + ((va >> 12) & 0x3FF)
        return self.pool.ram.words[slot : slot + count].tolist()  # (much faster than list(view))

    def leaves_as_int(self, va: int, count: int) -> int:
        """`leaves`, as one integer: the PTE of the i-th page in bits 32*i .. 32*i+31
        (for tests on all of them at once)."""
        table = self.tables.get(va >> 22)
        if table is None:
            return 0
        off = (table - self.pool.ram.base) + 4 * ((va >> 12) & 0x3FF)
        return int.from_bytes(self.pool.ram.data[off : off + 4 * count], "little")

    def mappings(self) -> list[tuple[int, int, int]]:
        """Every mapped page: (guest-virtual, host-physical, perms), by address."""
        words = self.pool.ram.words
        found = []
        for vpn1, table in sorted(self.tables.items()):
            base = self._word(table)
            for i, pte in enumerate(words[base : base + 1024]):
                if pte & PTE_V:
                    found.append(((vpn1 << 22) | (i << 12), (pte >> 10) << 12, pte & (PTE_R | PTE_W | PTE_X)))
        return found

    def release(self) -> None:
        for table in self.tables.values():
            self.pool.release(table)
        self.pool.release(self.root)
        self.tables.clear()
        self.filled = 0
