"""Binary translation, the first remedy for the ERET flaw.

On hardware whose SRET/MRET run in U-mode instead of trapping, a deprivileged guest
kernel's xRET would slip past the VMM.  So before any guest code runs, the VMM scans
its page (guest-physical) and replaces each SRET and MRET with an instruction that
always traps (the all-zeros word, an illegal instruction), keeping the original to
emulate when the trap comes, and to show in the trap log.  A scanned page is never
mapped writable in the shadows: a store to it faults, the VMM restores the originals
and forgets the scan, and the page is scanned again before it next runs — so code
that writes code is caught too.

A store to a scanned page from code on that same page (the page must stay
executable for the store itself to run) is emulated by the VMM instead, one word at a
time: the original word goes back before the store and the word is looked at again
after it.

Mixed-length code (RV32C): an xRET is 32 bits but may start at any halfword, and
the halfwords of other instructions can spell one too, so a page is parsed as a
stream, not searched.  The stream is walked from its first instruction: a parcel
whose low bits are not 11 is 16 bits, anything else 32.  Where the page's first
instruction starts is not written anywhere: the page before it may end with a 32-bit
instruction whose second half opens this page.  The scan looks one page back: it
walks the previous page (from where its own scan began, if it was scanned, else from
its start) and begins this page after the straddling half, if there is one; a page
scanned later that changes where its successor begins has the successor scanned
again.  An xRET in the last halfword of a page is patched across the boundary (the
next page's walk begins after it).

What it does not hide: the guest can read its own patched words (a real binary
translator would run a translated copy elsewhere), and data in a code page can
mislead the walk as it would a linear-sweep disassembler.  Our guests never read
their code and keep data out of their text.
"""

from __future__ import annotations

from machine.memory import RamWindow

SRET = 0x1020_0073
MRET = 0x3020_0073
SENSITIVE = frozenset({SRET, MRET})
TRAP_WORD = 0x0000_0000  # an illegal instruction in every mode


class BinaryTranslator:
    def __init__(self, ram: RamWindow):
        self.ram = ram
        self.scanned: set[int] = set()  # guest-physical page numbers
        self.patched: dict[int, int] = {}  # guest-physical address (halfword aligned) -> original word
        self.starts: dict[int, int] = {}  # scanned page -> where its walk began (0 or 2)
        self.scans = 0
        self.patches = 0

    def scan(self, page: int) -> int:
        """Patch the sensitive instructions of guest-physical page `page`; how many."""
        if page in self.scanned:
            return 0
        found = self._patch(page)
        self.scanned.add(page)
        self.scans += 1
        self.patches += found
        return found

    def unscan(self, page: int) -> None:
        """The guest writes to a scanned page: put its original words back."""
        self.scanned.discard(page)
        self.starts.pop(page, None)
        self._unpatch(page)

    def store(self, addr: int, size: int, write) -> None:
        """Carry out `write()`, the guest's store of `size` bytes at `addr` on a
        scanned page, keeping the page translated: the page holds the guest's own bits
        while it lands and is walked again after it (the store may have changed where
        instructions begin, not just the words it wrote)."""
        pages = sorted({addr >> 12, (addr + size - 1) >> 12} & self.scanned)
        for page in pages:
            self._unpatch(page)
        write()
        for page in pages:
            self.patches += self._patch(page)

    def original(self, gpa: int, word: int) -> int:
        """The guest's own instruction at `gpa`, given the instruction the hart trapped
        on (the 16-bit parcel 0x0000, the patch's first half, or the 32-bit word)."""
        if word == TRAP_WORD:
            return self.patched.get(gpa, word)
        return word

    # --- the walk -----------------------------------------------------------------------

    def _walk(self, page: int, start: int) -> tuple[list[int], bool]:
        """Walk `page` instruction by instruction from byte `start`: the offsets of
        its xRETs, and whether its last instruction runs on into the next page."""
        ram = self.ram
        halves = ram.halves
        first = ((page << 12) - ram.base) >> 1
        found = []
        i = start >> 1
        while i < 2048:
            h = halves[first + i]
            if h & 3 != 3:
                i += 1
                continue
            if i == 2047:
                if first + 2048 < len(halves) and h | halves[first + 2048] << 16 in SENSITIVE:
                    found.append(4094)
                return found, True
            if h | halves[first + i + 1] << 16 in SENSITIVE:
                found.append(2 * i)
            i += 2
        return found, False

    def _start(self, page: int) -> int:
        """Where the first instruction of `page` begins, as far as one page back tells."""
        before = page - 1
        if not self.ram.contains(before << 12, 4096):
            return 0
        return 2 if self._walk(before, self.starts.get(before, 0))[1] else 0

    def _patch(self, page: int) -> int:
        start = self._start(page)
        self.starts[page] = start
        found, runs_on = self._walk(page, start)
        ram = self.ram
        for offset in found:
            addr = (page << 12) + offset
            self.patched[addr] = ram.read_u32(addr)
            ram.write_u32(addr, TRAP_WORD)
        after = page + 1
        if after in self.scanned and self.starts.get(after) != (2 if runs_on else 0):
            # The next page was walked from the wrong place: walk it again.
            self._unpatch(after)
            self.patches += self._patch(after)
        return len(found)

    def _unpatch(self, page: int) -> None:
        lo, hi = page << 12, (page + 1) << 12
        for addr in [a for a in self.patched if lo <= a < hi]:
            if self.ram.read_u32(addr) == TRAP_WORD:
                self.ram.write_u32(addr, self.patched[addr])
            del self.patched[addr]
