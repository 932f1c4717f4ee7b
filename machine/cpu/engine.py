"""The execution engine: translated-block cache and the run loop.

Decode once, run many times.  A block starts cold — interpreted, one function per
instruction (machine/cpu/interp.py), since compiling costs more than most boot code
ever saves — and is compiled to a Python function once it has run `cold_passes`
passes.  Blocks are cached by (RAM offset, virtual pc) — the
same bytes mapped at two addresses are two blocks, since the code embeds its pc.
Their compiled code is cached too, process-wide, by the source the code generator
wrote (`compiled`): a block translated again, on another board or for another guest,
costs no `compile`.
A per-privilege jump cache maps pc straight to a block; it is cleared whenever the
fetch TLBs are, so a hit never skips a permission check that could now fail.

Invalidation: pages holding translated code are kept out of the store TLBs, so every
store to them takes the slow path, which drops the page's blocks when the store hits
a translated word.  DMA and the loader reach RAM through `Ram.write_bytes`, which
reports here too.  FENCE.I drops everything.

Single-stepping uses the same code generator with one-instruction blocks, so the
block path and the step path execute the same semantics; the run loop steps whenever
a whole block would run past the next event (budget end or timer alarm), so both
paths take interrupts at exactly the same instruction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from machine.clock import NEVER
from machine.cpu import isa
from machine.cpu.codegen import JUMP_NAMES, MAX_BLOCK, PLAIN, SYNC, SYSTEM_NAMES, Block, div, rem
from machine.cpu.csrs import ILLEGAL_INSN, INTERRUPT_BIT
from machine.cpu.interp import ColdBlock
from machine.cpu.trap import Exit, ExitKind, Retry, Trap, Unwind

M = 0xFFFF_FFFF

# Compiled code, by the source the code generator wrote: Python's `compile` is most of
# what translating a block costs (Linux's boot compiles ~21,000 blocks, ~13 s of it),
# and the same source comes back — a block dropped and translated again, a guest
# rebooted, a second guest running the same kernel at the same addresses (the VMM's
# guests share one real hart but not its block cache: blocks are keyed by host RAM
# offset).  A code object depends on nothing but its source, so any engine in the
# process may reuse it (each execs it in its own namespace); the least recently used
# go first beyond CODE_CACHE_SIZE.
CODE_CACHE_SIZE = 32_768
_code_cache: dict[bytes, object] = {}  # a 128-bit digest of the source -> its code object


def forget_compiled() -> None:
    """Empty the cache of compiled code, as a new process starts (benchmarks of a cold start)."""
    _code_cache.clear()


def compiled(src: str, pc: int):
    """The code object for a block's source (`pc` names it in tracebacks).  Keyed by
    a digest, not the source itself (a kilobyte or two a block)."""
    key = hashlib.blake2b(src.encode(), digest_size=16).digest()
    code = _code_cache.pop(key, None)
    if code is None:
        code = compile(src, f"<block {pc:#010x}>", "exec")
        if len(_code_cache) >= CODE_CACHE_SIZE:
            del _code_cache[next(iter(_code_cache))]  # the least recently used
    _code_cache[key] = code  # (re)inserted last: the most recently used
    return code


class EngineMixin:
    """Block translation and `run`; mixed into `Hart`."""

    # Passes (calls, or rounds of a loop inside it) a block runs interpreted before it
    # is compiled (machine/cpu/interp.py); 0: compile every block at once.  An
    # interpreted instruction costs ~0.3 µs more than a compiled one, compiling ~40 µs:
    # a block pays for its compile after ~150 passes.  Measured on Linux's bare boot
    # (bench/linux.py): 16 passes compile 3,331 blocks, 64 2,059, 256 623, 1024 311;
    # 256 was the fastest.
    cold_passes = 256

    @staticmethod
    def _words_used(off: int, pc: int, pcs: list[int], lengths: list[int]) -> list[int]:
        """The RAM word indexes a block's instructions occupy (each its first and last)."""
        base = off - pc
        return [(base + p + k * (n - 1)) >> 2 for p, n in zip(pcs, lengths) for k in (0, 1)]

    def _init_engine(self) -> None:
        self.blocks: dict[tuple[int, int], tuple] = {}
        self.step_blocks: dict[tuple[int, int], tuple] = {}
        # (RAM offset, pc, instruction) -> block, for 32-bit instructions straddling a
        # page: keyed by the whole instruction, fetched afresh each time it runs, so a
        # change to either half or either page's mapping can never reach a stale block.
        self.straddle_blocks: dict[tuple[int, int, int], tuple] = {}
        self.page_blocks: dict[int, list[tuple[int, int]]] = {}
        self.code_pages: set[int] = set()  # RAM page numbers that hold translated code
        self.code_words: dict[int, set[int]] = {}  # RAM page -> word indexes translated
        self.jcache: list[dict[int, tuple]] = [{} for _ in range(4)]
        # satp -> (itlb, rtlb, wtlb, code_wtlb, jcache) kept by switch_address_space
        self._spaces: dict[int, tuple] = {}
        self.extra = [0]
        self.blocks_translated = 0  # compiled
        self.blocks_interpreted = 0  # started cold
        self.ops: dict[tuple[int, int], object] = {}  # (word, pc) -> its function (interp.make_op)
        # Host mode: a monitor's handler for TRAP exits, called inside `run` (see there)
        # so an exit the monitor emulates costs no return to it and no new `run`.
        self.exit_hook: Callable[[Exit], tuple[int, int | None] | None] | None = None
        ram = self.ram
        self.ns = {
            "X": self.x, "M": M, "SIGN": 0x8000_0000,
            "B8": ram.data, "H16": ram.halves, "W32": ram.words,
            "RT": self.rtlb[3], "WT": self.wtlb[3],
            "LD": self.load_slow, "ST": self.store_slow, "AMO": self.amo,
            "LR": self.load_reserved, "SC": self.store_conditional,
            "DIV": div, "REM": rem, "EXTRA": self.extra, "Trap": Trap, "Unwind": Unwind,
        }  # fmt: skip
        ram.on_write = self._ram_written

    # --- cache maintenance ------------------------------------------------------------

    def _flush_jump_caches(self, every_space: bool = False) -> None:
        for j in self.jcache:
            j.clear()
        if every_space:  # translated code went away: no kept address space may jump to it
            for space in self._spaces.values():
                for j in space[4]:
                    j.clear()

    def switch_address_space(self, satp: int) -> None:
        """For a monitor that manages page tables itself: make `satp` current without
        the flush a CSR write does.  The TLBs and jump caches filled under the old
        satp are kept aside and come back with it, so a guest moving between its
        kernel's and its user's shadow tables does not refill them every time.  The
        monitor must call `drop_address_spaces` whenever it removes or narrows a
        mapping in any table it has switched to."""
        if satp == self.satp:
            return
        self._spaces[self.satp] = (self.itlb, self.rtlb, self.wtlb, self.code_wtlb, self.jcache)
        space = self._spaces.pop(satp, None)
        if space is None:
            space = tuple([{} for _ in range(4)] for _ in range(5))
        self.itlb, self.rtlb, self.wtlb, self.code_wtlb, self.jcache = space
        self.satp = satp

    def drop_address_spaces(self) -> None:
        """Forget every kept address space, and the current one's TLBs."""
        self._spaces.clear()
        self.flush_tlb()

    def forget_address_space(self, satp: int) -> None:
        """For a monitor that released the table `satp` names (its root page may come
        back as another table): forget the TLBs filled under it."""
        if satp == self.satp:
            self.flush_tlb()
        else:
            self._spaces.pop(satp, None)

    def forget_page_everywhere(self, vpn: int) -> None:
        """For a monitor that unmapped virtual page `vpn` from its tables: forget it in
        the current address space and every kept one (cheaper than dropping them all)."""
        self._forget_page(vpn, (self.itlb, self.rtlb, self.wtlb, self.code_wtlb, self.jcache))
        for space in self._spaces.values():
            self._forget_page(vpn, space)

    def flush_code(self) -> None:
        """Drop every translated block (FENCE.I)."""
        self.blocks.clear()
        self.step_blocks.clear()
        self.straddle_blocks.clear()
        self.page_blocks.clear()
        self.code_pages.clear()
        self.code_words.clear()
        self._flush_jump_caches(every_space=True)

    def _invalidate_page(self, page: int) -> None:
        for key in self.page_blocks.pop(page, ()):
            self.blocks.pop(key, None)
            self.step_blocks.pop(key, None)
        self.code_words.pop(page, None)
        self.code_pages.discard(page)
        self._flush_jump_caches(every_space=True)

    def _code_written(self, off: int, size: int) -> bool:
        """A store or DMA wrote RAM bytes [off, off+size): drop blocks it overwrote.
        True if any were dropped."""
        first, last = off >> 2, (off + size - 1) >> 2
        dropped = False
        for page in range(off >> 12, ((off + size - 1) >> 12) + 1):
            words = self.code_words.get(page)
            if words and any(w in words for w in range(max(first, page << 10), min(last, (page << 10) + 1023) + 1)):
                self._invalidate_page(page)
                dropped = True
        return dropped

    def _ram_written(self, off: int, size: int) -> None:
        if self.code_pages:
            self._code_written(off, size)

    # --- translation ---------------------------------------------------------------

    def _translate(self, off: int, pc: int, max_len: int, word: int | None = None, hot: bool = False) -> tuple:
        """Build the block starting at RAM offset `off` (virtual `pc`): cold (an
        interpreted `ColdBlock`) unless `hot` or the cold tier is off (`cold_passes`
        0), compiled otherwise.  `word`, when given, is an instruction straddling into
        the next page: a compiled block of its own, kept by `_straddling`, not in the
        page caches (its second half's page may change mapping on its own)."""
        cache = self.step_blocks if max_len == 1 else self.blocks
        if word is None:
            word = self._word_at(off)
        else:
            cache = None
        first = isa.decode(word)
        if first is not None and first.name in SYSTEM_NAMES:
            block = self._system_block(first, pc), 1, SYNC
            if cache is not None:
                self._register(off, pc, [off >> 2, (off + first.length - 1) >> 2], block, cache)
            return block
        if cache is None:
            run, pcs = ([first], [pc]) if first is not None else ([], [])
        else:
            run, pcs = self._trace(off, pc, max_len)
        if cache is not None and run and self.cold_passes and not hot:
            fn = ColdBlock(self, (off, pc, max_len), run, pcs)
            self.blocks_interpreted += 1
            block = (fn, len(run), PLAIN)
            self._register(off, pc, self._words_used(off, pc, pcs, [d.length for d in run]), block, cache)
            return block
        b = Block(pcs if run else [pc])
        b.add_all(run)
        if not run:  # an illegal instruction at pc
            b.add_illegal(word if word & 3 == 3 else word & 0xFFFF)
        src = b.source("block")
        exec(compiled(src, pc), self.ns)
        fn = self.ns.pop("block")
        self.blocks_translated += 1
        if cache is None:
            return fn, 1, SYNC  # always on the step path; `_straddling` keeps it
        block = (fn, b.count, PLAIN)
        self._register(off, pc, self._words_used(off, pc, b.pcs[: b.count], b.lengths), block, cache)
        return block

    def _compile_cold(self, cold: ColdBlock):
        """A cold block has run its passes: compile it, put the compiled block where
        the cold one was, and return its function (the cold one hands calls to it)."""
        off, pc, max_len = cold.key
        fn = self._translate(off, pc, max_len, hot=True)[0]
        jc = self.jcache[self.priv]
        entry = jc.get(pc)
        if entry is not None and entry[0] is cold:
            jc[pc] = (fn, entry[1], entry[2])
        return fn

    def _system_block(self, d: isa.Decoded, pc: int) -> Callable[[int], int]:
        """The block of a system instruction: `exec_system`.  A CSR access the
        current privilege may not make at all (an S- or M-mode CSR from U-mode: every
        CSR exit of a monitor's guest) raises its illegal-instruction trap straight
        away — what `check_csr_access` would, with nothing before it to change."""
        level = (d.imm >> 8) & 3 if d.name.startswith("csr") else 0
        if not level:

            def plain(lim: int) -> int:
                return self.exec_system(d, pc)

            plain.csr_trap = None
            return plain
        word = d.word

        def block(lim: int) -> int:
            if self.priv < level:
                self._insn = word
                trap = Trap(ILLEGAL_INSN, word)
                trap.insn = word
                raise trap
            return self.exec_system(d, pc)

        block.csr_trap = (level, word)  # for `run` and `trap_at_pc`: the trap, without the call
        return block

    def trap_at_pc(self) -> Exit | None:
        """In host mode: the TRAP exit `run` would return at once, before retiring
        anything, when it can be told without running — the instruction at pc is a
        CSR access out of this privilege's reach, its block already in the jump cache —
        with the hart left as that `run` would leave it.  A monitor that has just
        entered a guest at a CSR instruction (a kernel's trap handler reads and writes
        several in a row) handles that exit without a trip through `run`.  None
        whenever `run` could do anything else first: an event due, a trigger armed,
        tracing, a block not at hand, a trap the hart would take itself.  The caller
        means to give `run` a budget of at least one instruction."""
        pc = self.pc
        priv = self.priv
        b = self.jcache[priv].get(pc)
        if b is None or not b[2]:  # (most often: a block of ordinary instructions is next)
            return None
        csr_trap = getattr(b[0], "csr_trap", None)
        if (csr_trap is None or priv >= csr_trap[0] or not self.host_mode or self.trig_exec
                or self.tracer is not None or self.halted is not None or self.sleeping
                or (self.mip_hw | self.mip_sw) & self.mie or self.icount + self.idle_cycles >= self.clock.alarm_cycle
                or (priv <= 1 and self.medeleg >> ILLEGAL_INSN & 1)):  # fmt: skip
            return None
        word = csr_trap[1]
        self._insn = word  # as the block does
        self.exact = False
        return self.take_trap(ILLEGAL_INSN, word, pc, word)

    def _word_at(self, off: int) -> int | None:
        """The instruction at RAM offset `off`, or None for a 32-bit instruction whose
        second half is on the next page."""
        if off & 2 == 0:
            w = self.ram.words[off >> 2]
            return w if w & 3 == 3 else w & 0xFFFF
        lo = self.ram.halves[off >> 1]
        if lo & 3 != 3:
            return lo
        if off & 0xFFF == 0xFFE:
            return None
        return lo | self.ram.halves[(off >> 1) + 1] << 16

    def _trace(self, off: int, pc: int, max_len: int) -> tuple[list[isa.Decoded], list[int]]:
        """The instructions a block will hold, and their addresses, in execution order.

        Follows the fall-through path, and direct jumps whose target is known at
        translation time (`jal`, and `auipc` + `jalr` as `call`/`tail` assemble), when
        the target is on the same page and not yet in the trace.  Stops before an
        illegal or system instruction, before one straddling the page end, and after
        an indirect jump.
        """
        page = off & ~0xFFF
        run: list[isa.Decoded] = []
        pcs: list[int] = []
        o, cur = off, pc
        seen = set()
        auipc: tuple[int, int] | None = None  # (rd, value) of an auipc just before
        while True:
            w = self._word_at(o)
            if w is None:
                break
            d = isa.decode(w)
            if d is None or d.name in SYSTEM_NAMES:
                break
            run.append(d)
            pcs.append(cur)
            seen.add(cur)
            target = None
            if d.name == "jal":
                target = (cur + d.imm) & M
            elif d.name == "jalr" and auipc is not None and auipc[0] == d.rs1:
                target = (auipc[1] + d.imm) & 0xFFFF_FFFE
            auipc = (d.rd, (cur + d.imm) & M) if d.name == "auipc" and d.rd else None
            if len(run) >= max_len:
                break
            if target is not None:
                if target >> 12 != pc >> 12 or target in seen:
                    break
                o, cur = page + (target & 0xFFF), target
                continue
            if d.name in JUMP_NAMES:
                break
            o += d.length
            cur = (cur + d.length) & M
            if o >= page + 4096:
                break
        return run, pcs

    def _register(self, off: int, pc: int, words_used: list[int], block: tuple, cache: dict) -> None:
        key = (off, pc)
        cache[key] = block
        page = off >> 12
        self.page_blocks.setdefault(page, []).append(key)
        self.code_words.setdefault(page, set()).update(words_used)
        if page not in self.code_pages:
            self.code_pages.add(page)
            self._flush_store_tlbs()

    def _straddling(self, off: int, pc: int) -> tuple | None:
        """The block for a 32-bit instruction at the last halfword of a page, fetching
        its second half now (which may fault, at pc + 2); None if there is none."""
        if off & 0xFFF != 0xFFE or self.ram.halves[off >> 1] & 3 != 3:
            return None
        key = (off, pc, self.fetch_insn(pc))
        block = self.straddle_blocks.get(key)
        if block is None:
            block = self.straddle_blocks[key] = self._translate(off, pc, 1, key[2])
        return block

    def _block_at(self, pc: int) -> tuple:
        off = self.fetch_offset(pc)
        if off & 0xFFF == 0xFFE:
            block = self._straddling(off, pc)
            if block is not None:
                return block
        if pc >> 12 not in self.itlb[self.priv]:
            # PMP splits this page, so a block could run on past the executable region:
            # go one instruction at a time, each fetch checked.
            block = self.step_blocks.get((off, pc))
            return block if block is not None else self._translate(off, pc, 1)
        block = self.blocks.get((off, pc))
        if block is None:
            block = self._translate(off, pc, MAX_BLOCK)
        self.jcache[self.priv][pc] = block
        return block

    def _step_block(self, pc: int) -> tuple:
        off = self.fetch_offset(pc)
        if off & 0xFFF == 0xFFE:
            block = self._straddling(off, pc)
            if block is not None:
                return block
        block = self.step_blocks.get((off, pc))
        return block if block is not None else self._translate(off, pc, 1)

    # --- running ---------------------------------------------------------------------

    def run(self, max_instructions: int, soft: int | None = None) -> Exit:
        """Run until `max_instructions` more have retired, or something stops the hart.

        Each exception taken counts against the budget too (it retires no instruction).
        `soft` is a budget that may be overrun: once that many have retired the hart
        stops at the end of the block it is in (a BUDGET exit), never stepping
        towards it — a monitor's time slice, which needs no exact end, while
        `max_instructions` (the guest's next timer event, say) stays exact.

        In host mode, with `exit_hook` set, a TRAP exit goes to the hook instead of
        being returned: the hook handles it and returns the (max_instructions, soft)
        of the `run` the monitor would call next — the loop goes on as that call
        would, from the top — or None, and `run` returns a HANDLED exit.
        """
        end = self.icount + max_instructions
        soft_end = end if soft is None else self.icount + soft
        ns = self.ns
        extra = self.extra
        while True:
            exit_ = self._events(end)
            if exit_ is not None:
                return exit_
            if self.icount >= soft_end:
                return Exit(ExitKind.BUDGET)
            # stop = max(icount + 1, min(end, the alarm)), without the builtins' calls
            stop = self.clock.alarm_cycle - self.idle_cycles
            if end < stop:  # noqa: PLR1730 -- min() is a call, which this loop pays on every exit
                stop = end
            if stop <= self.icount:
                stop = self.icount + 1
            dpriv = self.data_priv()
            ns["RT"] = self.rtlb[dpriv]
            ns["WT"] = self.wtlb[dpriv]
            pc = self.pc
            icount = self.icount
            b = None
            trapped = None  # (cause, tval, insn bits or None) of a trap to take
            try:
                live = self.trig_exec and self.execute_trigger_live()
                if self.stepping or self.exact or (live and self._trig_exec_pages is None):
                    pass  # step (an execute trigger armed for a range: every pc is checked)
                elif not live:
                    jc = self.jcache[self.priv]
                    while icount < stop:
                        if icount >= soft_end:
                            break
                        b = jc.get(pc)
                        if b is None:
                            if stop - icount < MAX_BLOCK:
                                break  # near the event: step there rather than translate
                            b = self._block_at(pc)
                        fn, n, kind = b
                        lim = icount + n
                        if kind or lim > stop:
                            break
                        if lim < soft_end:  # lim = min(stop, max(soft_end, icount + n))
                            lim = soft_end if soft_end < stop else stop  # noqa: FURB136 (as above: no call)
                        pc = fn(lim - icount)
                        icount += extra[0]
                    self.pc, self.icount = pc, icount
                else:
                    watched = self._trig_exec_pages
                    # The same loop, for an execute trigger armed on a few pages: blocks
                    # run on every other page (a block never leaves its page), and the
                    # pages the trigger can match are stepped, each pc checked.
                    jc = self.jcache[self.priv]
                    while icount < stop and icount < soft_end and (pc >> 12) not in watched:
                        b = jc.get(pc)
                        if b is None:
                            if stop - icount < MAX_BLOCK:
                                break
                            b = self._block_at(pc)
                        fn, n, kind = b
                        lim = icount + n
                        if kind or lim > stop:
                            break
                        if lim < soft_end:  # lim = min(stop, max(soft_end, icount + n))
                            lim = soft_end if soft_end < stop else stop  # noqa: FURB136 (as above: no call)
                        pc = fn(lim - icount)
                        icount += extra[0]
                    self.pc, self.icount = pc, icount
                if icount < stop and icount < soft_end:
                    # One instruction on its own: a system instruction, the approach to
                    # an event, single-step/trace mode, or an execute trigger armed
                    # (checked before the fetch: it has the higher priority).
                    if self.trig_exec:
                        self.check_execute_trigger(pc)
                    if b is not None and b[2]:
                        fn = b[0]  # the system (or straddling) instruction the blocks stopped at
                        csr = getattr(fn, "csr_trap", None)
                        if csr is not None and self.priv < csr[0] and self.tracer is None:
                            # A CSR out of this privilege's reach (every CSR exit of a
                            # monitor's guest): its trap, without raising it from the block.
                            self._insn = csr[1]
                            trapped = (ILLEGAL_INSN, csr[1], csr[1])
                    else:
                        fn, n, kind = self._step_block(pc)
                    if trapped is None:
                        if self.tracer is not None:
                            self.tracer(self, pc)
                        self.exact = True
                        pc = fn(1)
                        self.exact = False
                        icount += 1
                        self.pc, self.icount = pc, icount
            except Unwind as u:
                icount += u.done
                pc = u.pc if u.pc is not None else (pc + 4 * u.index) & M
                self.pc, self.icount = pc, icount
                # After a Retry the next instruction runs on the step path (exact stays
                # set); after anything else, blocks may run again.
                self.exact = isinstance(u, Retry)
                if isinstance(u, Trap):
                    trapped = (u.cause, u.tval, u.insn)
            if trapped is not None:
                # A trap retires nothing but still uses up one step of the budget, so a
                # hart caught in a trap loop (a handler that cannot be fetched) returns.
                end -= 1
                exit_ = self.take_trap(trapped[0], trapped[1], pc, trapped[2])
                if exit_ is not None:
                    hook = self.exit_hook
                    if hook is None:
                        return exit_
                    # The monitor handles the exit here, without leaving the loop:
                    # it gives back the budget a fresh `run` would get (as it
                    # would call it), or None to have `run` return now.
                    budget = hook(exit_)
                    if budget is None:
                        return Exit(ExitKind.HANDLED)
                    max_instructions, soft = budget
                    end = self.icount + max_instructions
                    soft_end = end if soft is None else self.icount + soft

    def step(self) -> Exit:
        """Execute exactly one instruction (or take one pending interrupt)."""
        saved, self.stepping = self.stepping, True
        try:
            return self.run(1)
        finally:
            self.stepping = saved

    def skip_to_alarm(self) -> bool:
        """Sleeping in WFI: let time jump to the clock's alarm, as an idle hart's would.

        Only `idle_cycles` moves; the next `run` fires the alarm.  False when no alarm is
        set or it is already due (time did not advance).
        """
        alarm = self.clock.alarm_cycle
        if alarm >= NEVER or alarm <= self.cycles:
            return False
        self.idle_cycles += alarm - self.cycles
        return True

    def _events(self, end: int) -> Exit | None:
        """Between instructions: halts, timer alarms, interrupts, WFI, the budget."""
        if self.halted is not None:
            kind, code = self.halted
            return Exit(ExitKind.HALT, halt=kind, code=code)
        if self.icount + self.idle_cycles >= self.clock.alarm_cycle:  # (self.cycles, without the call)
            self.clock.fire_due()
        if (self.mip_hw | self.mip_sw) & self.mie:  # (mip & mie: pending_interrupt's first test)
            irq = self.pending_interrupt()
            if irq is not None:
                self.sleeping = False
                exit_ = self.take_trap(INTERRUPT_BIT | irq, 0, self.pc)
                if exit_ is not None:
                    return exit_
        if self.sleeping:
            if self.mip & self.mie:
                self.sleeping = False  # WFI wakes on a locally enabled interrupt (3.3.3)
            else:
                return Exit(ExitKind.WFI, epc=self.pc, priv=self.priv)
        if self.icount >= end:
            return Exit(ExitKind.BUDGET)
        return None
