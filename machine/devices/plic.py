"""The PLIC (platform-level interrupt controller) of QEMU `virt`, for one hart.

Layout (RISC-V PLIC spec 1.0.0, chapter 3 "Memory Map"; QEMU hw/intc/sifive_plic.c):

    +0x000000 + 4*source          priority of each source (source 0 does not exist)
    +0x001000                     pending bits, 32 sources per word (read-only)
    +0x002000 + 0x80*context      enable bits of a context
    +0x200000 + 0x1000*context    priority threshold of a context
    +0x200004 + 0x1000*context    claim (read) / complete (write)

Context 0 is hart 0 in M-mode and drives mip.MEIP; context 1 is hart 0 in S-mode and
drives mip.SEIP.  Each source has a gateway (PLIC spec 1.0.0, "Interrupt Gateways"):
a high line makes the source pending unless it is in service, and the request stays
pending even if the device lowers its line before anyone claims it — only a claim
clears it (QEMU behaves the same).  A claim hands out the best candidate and holds it
in service until the handler writes its id to complete; if the line is still high
then, the source is pending again.
"""

from __future__ import annotations

from collections.abc import Callable

from machine.cpu.csrs import MEIP, SEIP

PLIC_SIZE = 0x400_0000
PRIORITY_BASE = 0x000000
PENDING_BASE = 0x001000
ENABLE_BASE, ENABLE_STRIDE = 0x002000, 0x80
CONTEXT_BASE, CONTEXT_STRIDE = 0x200000, 0x1000
PRIORITY_MASK = 0x7  # QEMU virt implements 7 priority levels (1..7) above "never"

# Context number -> the mip bit it drives.
CONTEXT_PINS = (MEIP, SEIP)


class Plic:
    def __init__(self, set_pending: Callable[[int, bool], None], sources: int = 32):
        # Like QEMU's num-sources, `sources` counts interrupt ids including the
        # reserved id 0, so devices may use ids 1 .. sources-1.
        if not 2 <= sources <= 1024:
            raise ValueError("a PLIC has between 1 and 1023 interrupt sources")
        self.set_pending = set_pending
        self.sources = sources
        self._words = (sources + 31) // 32
        self.reset()

    def register_name(self, offset: int, write: bool) -> str:
        """The register at `offset`: "priority[10]", "enable[1]", "claim[1]"..."""
        if offset < PENDING_BASE:
            return f"priority[{offset // 4}]"
        if offset < ENABLE_BASE:
            return "pending"
        if offset < CONTEXT_BASE:
            return f"enable[{(offset - ENABLE_BASE) // ENABLE_STRIDE}]"
        context, reg = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
        return {0: f"threshold[{context}]", 4: f"{'complete' if write else 'claim'}[{context}]"}.get(reg, "")

    def reset(self) -> None:
        self.priority = [0] * self.sources
        self.enable = [0] * len(CONTEXT_PINS)  # one bit per source, per context
        self.threshold = [0] * len(CONTEXT_PINS)
        self.level = 0  # bit per source: its interrupt line is high
        self.claimed = 0  # bit per source: claimed and not yet completed
        self._pending = 0  # bit per source: a request latched by the gateway
        self._update()

    def save_state(self) -> dict:
        """Priorities, enables, thresholds and each source's line, in-service and
        gateway-pending bits, as plain data."""
        return {"sources": self.sources, "priority": list(self.priority), "enable": list(self.enable),
                "threshold": list(self.threshold), "level": self.level, "claimed": self.claimed,
                "pending": self._pending}  # fmt: skip

    def load_state(self, state: dict) -> None:
        """Put back what `save_state` returned, and drive MEIP/SEIP to match it."""
        contexts = len(CONTEXT_PINS)
        saved = state["sources"]
        if (saved > self.sources or len(state["priority"]) != saved
                or len(state["enable"]) != contexts or len(state["threshold"]) != contexts):  # fmt: skip
            raise ValueError(f"PLIC state of another shape (this PLIC has {self.sources} sources)")
        # A state from a PLIC with fewer sources (snapshots from before the board had
        # QEMU's 96) fits: the sources it lacked were idle, priority 0.
        self.priority = [p & PRIORITY_MASK for p in state["priority"]] + [0] * (self.sources - saved)
        self.enable = list(state["enable"])
        self.threshold = [t & PRIORITY_MASK for t in state["threshold"]]
        self.level = state["level"]
        self.claimed = state["claimed"]
        self._pending = state["pending"]
        self._update()

    def irq_line(self, source: int) -> Callable[[bool], None]:
        """The callable a device drives its interrupt line with."""
        if not 1 <= source < self.sources:
            raise ValueError(f"PLIC has no interrupt source {source}")

        def drive(level: bool) -> None:
            self.set_level(source, level)

        return drive

    def set_level(self, source: int, level: bool) -> None:
        bit = 1 << source
        if level:
            self.level |= bit
            if not self.claimed & bit:
                self._pending |= bit
        else:
            self.level &= ~bit
        self._update()

    @property
    def pending(self) -> int:
        """Bit per source: a request waiting to be claimed."""
        return self._pending

    # --- the guest's view ---------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if size != 4 or offset % 4:
            return 0  # the PLIC has 32-bit registers only
        if offset < PENDING_BASE:
            source = (offset - PRIORITY_BASE) // 4
            return self.priority[source] if source < self.sources else 0
        if offset < ENABLE_BASE:
            return self._word(self.pending, (offset - PENDING_BASE) // 4)
        if offset < CONTEXT_BASE:
            context, word = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
            if context < len(CONTEXT_PINS):
                return self._word(self.enable[context], word // 4)
            return 0
        context, register = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
        if context >= len(CONTEXT_PINS):
            return 0
        if register == 0:
            return self.threshold[context]
        if register == 4:
            return self.claim(context)
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if size != 4 or offset % 4:
            return
        if offset < PENDING_BASE:
            source = (offset - PRIORITY_BASE) // 4
            if 1 <= source < self.sources:
                self.priority[source] = value & PRIORITY_MASK
        elif offset < ENABLE_BASE:
            return  # pending bits are read-only
        elif offset < CONTEXT_BASE:
            context, word = divmod(offset - ENABLE_BASE, ENABLE_STRIDE)
            word //= 4
            if context < len(CONTEXT_PINS) and word < self._words:
                shift = 32 * word
                bits = (value & 0xFFFF_FFFF) << shift
                bits &= (1 << self.sources) - 2  # source 0 does not exist
                self.enable[context] = self.enable[context] & ~(0xFFFF_FFFF << shift) | bits
        else:
            context, register = divmod(offset - CONTEXT_BASE, CONTEXT_STRIDE)
            if context >= len(CONTEXT_PINS):
                return
            if register == 0:
                self.threshold[context] = value & PRIORITY_MASK
            elif register == 4:
                self.complete(context, value)
                return
            else:
                return
        self._update()

    def claim(self, context: int) -> int:
        """PLIC spec 7.1 "Interrupt Claim Process": take the best candidate, or 0."""
        source = self._best(context)
        if source:
            self.claimed |= 1 << source
            self._pending &= ~(1 << source)
            self._update()
        return source

    def complete(self, context: int, source: int) -> None:
        """PLIC spec 7.2: an id not enabled for this context is silently ignored."""
        if 1 <= source < self.sources and self.enable[context] >> source & 1:
            self.claimed &= ~(1 << source)
            self._pending |= self.level & (1 << source)
            self._update()

    # --- internals ----------------------------------------------------------------

    def _best(self, context: int) -> int:
        """Highest-priority enabled pending source above threshold; ties to the lowest id."""
        candidates = self.pending & self.enable[context]
        best, best_priority = 0, self.threshold[context]
        while candidates:
            low = candidates & -candidates
            source = low.bit_length() - 1
            if self.priority[source] > best_priority:
                best, best_priority = source, self.priority[source]
            candidates ^= low
        return best

    def _update(self) -> None:
        for context, pin in enumerate(CONTEXT_PINS):
            self.set_pending(pin, self._best(context) != 0)

    @staticmethod
    def _word(bits: int, index: int) -> int:
        return (bits >> (32 * index)) & 0xFFFF_FFFF
