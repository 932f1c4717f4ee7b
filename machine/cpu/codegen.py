"""Translate straight-line runs of instructions into Python functions.

A block is the run of instructions from one pc in execution order (a trace): it follows
the fall-through path and direct jumps whose target is known and on the same page
(`jal`, and `auipc`+`jalr` as `call` assembles), up to the first indirect jump,
stopping early at a page boundary, an illegal word, the length limit, or a "system"
instruction (CSR access, xRET, WFI, ECALL, EBREAK, SFENCE.VMA,
FENCE.I), which always runs as a block of its own through `Hart.exec_system` because
it reads or changes state the generated code does not hold.  Conditional branches
inside a block are side exits; a branch or jump back to the block's own start goes
round again inside the function (a `while` loop) as long as the caller's budget
`lim` allows, so a tight loop costs one Python call, not one per iteration.

Generated code keeps the registers it touches in locals (x1..x31; x0 reads as 0 and
writes to it are dropped).  Every register the block touches is loaded into its local
at entry, so writing back those it may change is correct at any point (the others
still hold what X holds); the `except Unwind` clause does that and adds its progress to the exception: where to resume (`u.pc`, from the block's
table of pcs and `i`, the index in the current pass of the instruction that left) and
how many instructions completed (`c`, from earlier passes, plus `i`).  `i` is only
assigned on slow paths, so fast paths pay nothing for it.

Loads and stores through one base register, back to back (a function's prologue
saving registers, its epilogue restoring them), share one TLB lookup when they fall
on one page (`Block._add_group`).

Names the generated code uses, bound in the per-hart globals dict (those that never
change for a hart also as the block function's defaults, so they read as locals):
  X      the hart's register list          B8/H16/W32  RAM as bytes/halfwords/words
  RT/WT  data TLBs (vpn -> RAM delta)      LD/ST       slow-path load/store (may trap)
  AMO    atomic memory op slow path        DIV/REM     signed division helpers
  EXTRA  one-element list: how many instructions the block just ran
  Trap, Unwind
A TLB value is `page_offset_in_ram - (vpn << 12)`, so RAM offset = address + delta.
"""

from __future__ import annotations

from machine.cpu import isa
from machine.cpu.csrs import ILLEGAL_INSN

M = 0xFFFF_FFFF
SIGN = 0x8000_0000

# Kinds of block, as the run loop sees them: generated code, or a system instruction.
PLAIN, SYNC = 0, 2

SYSTEM_NAMES = frozenset(
    {"ecall", "ebreak", "csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci",
     "sret", "mret", "wfi", "sfence.vma", "fence.i"}
)  # fmt: skip
JUMP_NAMES = frozenset({"jal", "jalr"})  # unconditional: nothing after them runs
MAX_BLOCK = 48


def _reg(n: int) -> str:
    return f"x{n}" if n else "0"


def _signed(expr: str) -> str:
    return f"(({expr} ^ {SIGN}) - {SIGN})"


_ALU_R = {
    "add": "({a} + {b}) & M",
    "sub": "({a} - {b}) & M",
    "sll": "({a} << ({b} & 31)) & M",
    "slt": "1 if ({a} ^ SIGN) < ({b} ^ SIGN) else 0",
    "sltu": "1 if {a} < {b} else 0",
    "xor": "{a} ^ {b}",
    "srl": "{a} >> ({b} & 31)",
    "sra": "(((({a} ^ SIGN) - SIGN)) >> ({b} & 31)) & M",
    "or": "{a} | {b}",
    "and": "{a} & {b}",
    "mul": "({a} * {b}) & M",
    "mulh": "(((({a} ^ SIGN) - SIGN) * (({b} ^ SIGN) - SIGN)) >> 32) & M",
    "mulhsu": "(((({a} ^ SIGN) - SIGN) * {b}) >> 32) & M",
    "mulhu": "({a} * {b}) >> 32",
    "div": "DIV({a}, {b})",
    "divu": "{a} // {b} if {b} else M",
    "rem": "REM({a}, {b})",
    "remu": "{a} % {b} if {b} else {a}",
}

_BRANCH = {
    "beq": "{a} == {b}",
    "bne": "{a} != {b}",
    "blt": "({a} ^ SIGN) < ({b} ^ SIGN)",
    "bge": "({a} ^ SIGN) >= ({b} ^ SIGN)",
    "bltu": "{a} < {b}",
    "bgeu": "{a} >= {b}",
}

_LOAD = {"lb": (1, True), "lh": (2, True), "lw": (4, False), "lbu": (1, False), "lhu": (2, False)}
_STORE = {"sb": 1, "sh": 2, "sw": 4}
_VIEW = {1: ("B8", "a + p"), 2: ("H16", "(a + p) >> 1"), 4: ("W32", "(a + p) >> 2")}

AMO_OPS = {
    "amoswap.w": "swap", "amoadd.w": "add", "amoxor.w": "xor", "amoand.w": "and",
    "amoor.w": "or", "amomin.w": "min", "amomax.w": "max", "amominu.w": "minu",
    "amomaxu.w": "maxu",
}  # fmt: skip


def div(a: int, b: int) -> int:
    """DIV with the spec's edge cases (volume I, table 7.1): x/0 = -1, INT_MIN/-1 = INT_MIN."""
    if b == 0:
        return M
    sa, sb = a - ((a & SIGN) << 1), b - ((b & SIGN) << 1)
    q = abs(sa) // abs(sb)
    return (-q if (sa < 0) != (sb < 0) else q) & M


def rem(a: int, b: int) -> int:
    """REM: x%0 = x, INT_MIN%-1 = 0; the sign of the result follows the dividend."""
    if b == 0:
        return a
    sa, sb = a - ((a & SIGN) << 1), b - ((b & SIGN) << 1)
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & M


# Names a block reads that never change for its hart (the TLBs RT and WT do: the run
# loop rebinds them), bound as the block function's defaults when it is defined.
_FIXED = "M=M, SIGN=SIGN, X=X, W32=W32, H16=H16, B8=B8, LD=LD, ST=ST, EXTRA=EXTRA"


def _extend(expr: str, size: int, signed: bool) -> str:
    """`expr`, a `size`-byte value loaded from memory, as a register holds it."""
    if not signed:
        return expr
    bit = 1 << (8 * size - 1)
    return f"(({expr} ^ {bit}) - {bit}) & M"


def _memory_group(run: list[isa.Decoded], k: int, targets: set[int]) -> list[isa.Decoded]:
    """The loads (or stores) from run[k] on that `Block._add_group` may take together:
    consecutive, all loads or all stores, through one base register that none of
    them changes before the last, each offset a multiple of its width, spanning less
    than a page, and none but the first a branch target.  [] if run[k] is neither."""
    first = run[k]
    table = _STORE if first.name in _STORE else _LOAD if first.name in _LOAD else None
    if table is None or not first.rs1:
        return []
    group: list[isa.Decoded] = []
    base = first.rs1
    for j in range(k, len(run)):
        d = run[j]
        if d.name not in table or d.rs1 != base or (j > k and j in targets):
            break
        size = table[d.name] if table is _STORE else table[d.name][0]
        if d.imm % size:
            break
        offsets = [e.imm for e in group] + [d.imm]
        if max(offsets) - min(offsets) >= 4096 - 4:
            break
        group.append(d)
        if table is _LOAD and d.rd == base:
            break  # the base changes: what follows addresses from its new value
    return group


class Block:
    """The source of one translated block, built one instruction at a time."""

    def __init__(self, pcs: list[int]):
        """`pcs`: the address of each instruction, in execution order.  Usually they
        follow one another; after a direct jump that the translator followed (a
        chained jump) they continue at its target."""
        self.pc = pcs[0]
        self.pcs = pcs
        self.lengths: list[int] = []  # of each instruction added: 4, or 2 if compressed
        self.length = len(pcs)
        self.index_of = {p: k for k, p in enumerate(pcs)}
        self.known: dict[int, int] = {}  # registers holding a constant (from lui/auipc)
        self.lines: list[str] = []
        self.count = 0
        self.depth = 0  # nesting of open forward-branch regions
        self.regions: list[tuple[int, int]] = []  # (end index, line count at opening)
        self.regs: set[int] = set()
        self.written: set[int] = set()  # registers the block may change: only they go back
        self.ended = False  # the last instruction always leaves (jump or trap)

    def emit(self, line: str, indent: int = 0) -> None:
        self.lines.append("    " * (self.depth + indent) + line)

    def _close_regions(self, index: int) -> None:
        """Close the forward-branch regions that end at instruction `index`."""
        while self.regions and self.regions[-1][0] <= index:
            _, opened_at = self.regions.pop()
            if len(self.lines) == opened_at:
                self.emit("pass")
            self.depth -= 1
            self.known.clear()  # two paths meet: forget what only one of them knew

    def _chained(self, k: int, target: int) -> bool:
        """True if the translator followed the jump at k: the next instruction is its target."""
        return k + 1 < self.length and self.pcs[k + 1] == target

    def use(self, *regs: int) -> None:
        self.regs.update(r for r in regs if r)

    def add_all(self, run: list[isa.Decoded]) -> None:
        """Append the block's instructions, `run` (one for each of self.pcs), grouping
        runs of loads or of stores through one base register (see `_add_group`)."""
        targets = set()  # indexes some forward branch of the block lands on
        for k, d in enumerate(run):
            if d.name in _BRANCH:
                targets.add(self.index_of.get((self.pcs[k] + d.imm) & M, -1))
        k = 0
        while k < len(run):
            group = _memory_group(run, k, targets)
            if len(group) > 1:
                self._add_group(group)
            else:
                self.add(run[k])
            k += len(group) or 1

    def add(self, d: isa.Decoded) -> None:
        """Append instruction `d`, the block's next, at self.pcs[count]."""
        k = self.count
        self._close_regions(k)
        pc = self.pcs[k]
        name = d.name
        rd, rs1, rs2, imm = d.rd, d.rs1, d.rs2, d.imm
        a, b = _reg(rs1), _reg(rs2)
        dst = f"x{rd}" if rd else "_"
        fmt = d.insn.fmt
        self.use(*(r for r, field in zip((rd, rs1, rs2), ("rd", "rs1", "rs2")) if field in isa.FORMATS[fmt]))
        if rd and "rd" in isa.FORMATS[fmt]:
            self.written.add(rd)
        self.count += 1
        self.lengths.append(d.length)
        self._generate(d, k, pc, dst, a, b)
        # Track registers that hold a known constant, so `auipc ra; jalr ra` (call) has
        # a known target.
        if rd and "rd" in isa.FORMATS[fmt]:
            if name == "lui":
                self.known[rd] = imm
            elif name == "auipc":
                self.known[rd] = (pc + imm) & M
            else:
                self.known.pop(rd, None)

    def _generate(self, d: isa.Decoded, k: int, pc: int, dst: str, a: str, b: str) -> None:
        name, fmt = d.name, d.insn.fmt
        rd, rs1, imm = d.rd, d.rs1, d.imm
        if name in _ALU_R:
            if rd:
                self.emit(f"{dst} = " + _ALU_R[name].format(a=a, b=b))
        elif fmt == "I":
            c = imm & M
            expr = {
                "addi": (f"({a} + {c}) & M" if c else a) if rs1 else str(c),  # (mv: a copy)
                "slti": f"1 if ({a} ^ SIGN) < {c ^ SIGN} else 0",
                "sltiu": f"1 if {a} < {c} else 0",
                "xori": f"{a} ^ {c}",
                "ori": f"{a} | {c}",
                "andi": f"{a} & {c}",
            }[name]
            if rd:
                self.emit(f"{dst} = {expr}")
        elif fmt == "SHIFT":
            expr = {
                "slli": f"({a} << {imm}) & M",
                "srli": f"{a} >> {imm}",
                "srai": f"((({a} ^ SIGN) - SIGN) >> {imm}) & M",
            }[name]
            if rd:
                self.emit(f"{dst} = {expr}")
        elif name == "lui":
            if rd:
                self.emit(f"{dst} = {imm}")
        elif name == "auipc":
            if rd:
                self.emit(f"{dst} = {(pc + imm) & M}")
        elif name in _LOAD:
            self._load(k, d, dst)
        elif name in _STORE:
            self._store(k, d)
        elif name == "fence":
            pass  # one hart, in-order memory: every fence is already satisfied
        elif name == "lr.w":
            self.emit(f"i = {k}")
            self.emit(f"{dst} = LR({a})")
        elif name == "sc.w":
            self.emit(f"i = {k}")
            self.emit(f"{dst} = SC({a}, {b})")
        elif name in AMO_OPS:
            self.emit(f"i = {k}")
            self.emit(f"{dst} = AMO('{AMO_OPS[name]}', {a}, {b})")
        # IALIGN=16 (the C extension): every target is 2-byte aligned (jalr clears bit
        # 0; branch and jump offsets are even), so none raises address-misaligned.
        elif name == "jal":
            target = (pc + imm) & M
            if rd:
                self.emit(f"{dst} = {(pc + d.length) & M}")
            if not self._chained(k, target):
                self._leave(k, str(target))
        elif name == "jalr" and rs1 in self.known:
            target = (self.known[rs1] + imm) & 0xFFFF_FFFE
            if rd:
                self.emit(f"{dst} = {(pc + d.length) & M}")
            if not self._chained(k, target):
                self._leave(k, str(target))
        elif name == "jalr":
            self.emit(f"t = ({a} + {imm & M}) & 0xFFFFFFFE")
            if rd:
                self.emit(f"{dst} = {(pc + d.length) & M}")
            self._leave(k, "t")
        elif name in _BRANCH:
            cond = _BRANCH[name].format(a=a, b=b)
            target = (pc + imm) & M
            j = self.index_of.get(target, -1)
            inner_end = self.regions[-1][0] if self.regions else self.length
            if k + 1 < j <= inner_end:
                # A forward branch to an instruction of this block: the instructions it
                # skips go in an `else`, and the taken path uncounts them.
                self.emit(f"if {cond}:")
                self.emit(f"c -= {j - k - 1}", 1)
                self.emit("else:")
                self.depth += 1
                self.regions.append((j, len(self.lines)))
                self.known.clear()
                return
            self.emit(f"if {cond}:")
            self._leave(k, str(target), 1)
        else:  # pragma: no cover - the translator never passes other names here
            raise AssertionError(f"codegen: no template for {name}")

    def add_illegal(self, word: int) -> None:
        """An illegal instruction (`word`: its bits, 16 of them if compressed): raises
        when reached, ends the block."""
        self._raise(self.count, ILLEGAL_INSN, str(word))
        self.count += 1
        self.lengths.append(4 if word & 3 == 3 else 2)

    def _leave(self, k: int, target: str, indent: int = 0) -> None:
        """Control leaves the pass after instruction k for `target`.  Going back to the
        block's own start loops inside the function while the caller's budget allows."""
        self.emit(f"c += {k + 1}", indent)
        if target == str(self.pc):
            self.emit("if c + N <= lim:", indent)
            self.emit("continue", indent + 1)
        self.emit(f"npc = {target}", indent)
        self.emit("break", indent)
        if indent == 0 and self.depth == 0:
            self.ended = True

    def _raise(self, k: int, cause: int, tval: str) -> None:
        self.emit(f"i = {k}")
        self.emit(f"raise Trap({cause}, {tval})")
        self.ended = self.depth == 0

    def _address(self, rs1: int, imm: int) -> None:
        if rs1 == 0:
            self.emit(f"a = {imm & M}")
        elif imm:
            self.emit(f"a = (x{rs1} + {imm & M}) & M")
        else:
            self.emit(f"a = x{rs1}")

    def _load(self, k: int, d: isa.Decoded, dst: str) -> None:
        size, signed = _LOAD[d.name]
        view, index = _VIEW[size]
        self._address(d.rs1, d.imm)
        self.emit("p = RT.get(a >> 12)")
        self.emit(f"if p is None or a & {size - 1}:" if size > 1 else "if p is None:")
        self.emit(f"i = {k}", 1)
        self.emit(f"{dst} = " + _extend(f"LD(a, {size})", size, signed), 1)
        self.emit("else:")
        self.emit(f"{dst} = " + _extend(f"{view}[{index}]", size, signed), 1)

    def _add_group(self, group: list[isa.Decoded]) -> None:
        """Append loads (or stores) through one base register that touch one page: when
        the TLB holds that page and the base is aligned for the widest of them, they
        reach RAM directly after one lookup; otherwise each takes its own path, as
        `add` would emit it, so faults stay precise.  Compilers load and spill
        registers this way in every function's prologue and epilogue."""
        self._close_regions(self.count)
        base = group[0].rs1
        store = group[0].name in _STORE
        sizes = [_STORE[d.name] if store else _LOAD[d.name][0] for d in group]
        lo = min(d.imm for d in group)
        hi = max(d.imm + n - 1 for d, n in zip(group, sizes))
        widest = max(sizes)
        first = f"((a + {lo}) & M)" if lo else "a"  # the lowest address the group touches
        self.emit(f"a = x{base}")
        self.emit(f"p = {'WT' if store else 'RT'}.get({first} >> 12)")
        aligned = f" and not a & {widest - 1}" if widest > 1 else ""
        # The lowest and highest addresses on one page (no wrap past 2**32 between).
        self.emit(f"if p is not None{aligned} and {first} & 0xFFF < {4096 - (hi - lo)}:")
        # q: RAM offset of address a (every access of the group is a + imm, on one page).
        self.emit(f"q = {first} + p - {lo}" if lo else "q = a + p", 1)
        if 4 in sizes:
            self.emit("w = q >> 2", 1)
        if 2 in sizes:
            self.emit("h = q >> 1", 1)
        for d, n in zip(group, sizes):
            view, at = {1: ("B8", "q"), 2: ("H16", "h"), 4: ("W32", "w")}[n]
            slot = f"{view}[{at} + {d.imm // n}]" if d.imm else f"{view}[{at}]"
            if store:
                value = _reg(d.rs2)
                if n < 4 and d.rs2:
                    value = f"({value} & {(1 << 8 * n) - 1})"
                self.emit(f"{slot} = {value}", 1)
            elif d.rd:
                self.emit(f"x{d.rd} = " + _extend(slot, n, _LOAD[d.name][1]), 1)
        self.emit("else:")
        self.depth += 1
        for d in group:
            self.add(d)
        self.depth -= 1

    def _store(self, k: int, d: isa.Decoded) -> None:
        size = _STORE[d.name]
        view, index = _VIEW[size]
        value = _reg(d.rs2)
        if size < 4 and d.rs2:
            value = f"({value} & {(1 << 8 * size) - 1})"
        self._address(d.rs1, d.imm)
        self.emit("p = WT.get(a >> 12)")
        self.emit(f"if p is None or a & {size - 1}:" if size > 1 else "if p is None:")
        self.emit(f"i = {k}", 1)
        self.emit(f"ST(a, {size}, {value})", 1)
        self.emit("else:")
        self.emit(f"{view}[{index}] = {value}", 1)

    def source(self, name: str) -> str:
        """Python source defining `name(lim) -> next pc`, which stores the number of
        instructions it ran in EXTRA[0] and never runs more than `lim`."""
        regs = sorted(self.regs)
        load = "; ".join(f"x{r} = X[{r}]" for r in regs) or "pass"
        store = "; ".join(f"X[{r}] = x{r}" for r in sorted(self.written)) or "pass"
        self._close_regions(self.count)
        body = list(self.lines)
        if not self.ended:  # fell off the end: a page boundary or the length limit
            body += [f"c += {self.count}", f"npc = {(self.pcs[-1] + self.lengths[-1]) & M}", "break"]
        # The hart's fixed names come in as defaults: read as fast locals, not globals.
        out = [f"def {name}(lim, {_FIXED}):", f"    {load}", f"    N = {self.count}", "    i = c = 0", "    try:",
               "        while True:"]  # fmt: skip
        out += ["            " + line for line in body]
        pcs = "(" + ", ".join(str(p) for p in self.pcs) + ",)"
        nexts = "(" + ", ".join(str((p + n) & M) for p, n in zip(self.pcs, self.lengths)) + ",)"
        # u.index is 0 (resume at instruction i) or 1 (it completed: resume after it).
        out += ["    except Unwind as u:", f"        {store}", f"        u.pc = ({nexts} if u.index else {pcs})[i]",
                "        u.done += c + i",
                "        raise", f"    {store}", "    EXTRA[0] = c", "    return npc"]  # fmt: skip
        return "\n".join(out) + "\n"
