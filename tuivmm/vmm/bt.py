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

What it does not hide: the guest can read its own patched words (a real binary
translator would run a translated copy elsewhere).  Our guests never read their code.
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
        self.patched: dict[int, int] = {}  # guest-physical address -> original word
        self.scans = 0
        self.patches = 0

    def scan(self, page: int) -> int:
        """Patch the sensitive instructions of guest-physical page `page`; how many."""
        if page in self.scanned:
            return 0
        ram = self.ram
        base = (page << 12) - ram.base
        words = ram.words
        found = 0
        for i in range(base >> 2, (base >> 2) + 1024):
            word = words[i]
            if word in SENSITIVE:
                addr = ram.base + 4 * i
                self.patched[addr] = word
                ram.write_u32(addr, TRAP_WORD)
                found += 1
        self.scanned.add(page)
        self.scans += 1
        self.patches += found
        return found

    def unscan(self, page: int) -> None:
        """The guest writes to a scanned page: put its original words back."""
        self.scanned.discard(page)
        lo, hi = page << 12, (page + 1) << 12
        for addr in [a for a in self.patched if lo <= a < hi]:
            if self.ram.read_u32(addr) == TRAP_WORD:
                self.ram.write_u32(addr, self.patched[addr])
            del self.patched[addr]

    def store(self, addr: int, size: int, write) -> None:
        """Carry out `write()`, the guest's store of `size` bytes at `addr` on a
        scanned page, keeping the page translated: the words it touches hold the
        guest's own bits while it lands, and are patched again if they now hold an
        xRET."""
        words = range(addr & ~3, ((addr + size - 1) & ~3) + 4, 4)
        for word_addr in words:
            original = self.patched.pop(word_addr, None)
            if original is not None:
                self.ram.write_u32(word_addr, original)
        write()
        for word_addr in words:
            if self.ram.contains(word_addr, 4) and self.ram.read_u32(word_addr) in SENSITIVE:
                self.patched[word_addr] = self.ram.read_u32(word_addr)
                self.ram.write_u32(word_addr, TRAP_WORD)
                self.patches += 1

    def original(self, gpa: int, word: int) -> int:
        """The guest's own instruction at `gpa`, given the word the hart trapped on."""
        if word == TRAP_WORD:
            return self.patched.get(gpa, word)
        return word
