"""The cold tier: a block interpreted, one small function per instruction, until it has
run often enough to be worth compiling.

Python's `compile` costs ~40 µs per guest instruction of a translated block, while most
of a kernel's boot code runs a handful of times and never again (of the 280,000
instructions Linux's boot translates, three quarters belong to blocks entered fewer
than 8 times).  So a block starts cold: the same trace the code generator would
compile (`EngineMixin._trace`), run by `ColdBlock.__call__`, which takes the same
budget (`lim`), returns the next pc, counts into EXTRA[0] and adds its progress to an
`Unwind` exactly as generated code does — and makes the same choices where control
may stay in the block or leave it (a forward branch within the block, a jump the trace
followed, a branch back to the start while the budget allows another pass), so a
cold block and its compiled successor run the same instructions per call.  After
`passes` passes (calls, or rounds of a loop inside it) it asks the hart to compile it,
and from then on hands every call to the compiled block.

Each function executes one instruction on the register list directly and returns None
(go on to the next) or the address control transfers to (a taken branch, a jump).
What it needs comes in as default arguments rather than closure cells: a tuple of
references is a third of the memory of as many cells (Linux's boot makes ~140,000).
Loads and stores take the TLB fast path or the hart's slow paths, as generated code does.
"""

from __future__ import annotations

from machine.cpu import codegen
from machine.cpu.codegen import AMO_OPS, div, rem
from machine.cpu.trap import Unwind

M = 0xFFFF_FFFF
SIGN = 0x8000_0000

_ALU = {
    "add": lambda a, b: (a + b) & M,
    "sub": lambda a, b: (a - b) & M,
    "sll": lambda a, b: (a << (b & 31)) & M,
    "slt": lambda a, b: 1 if (a ^ SIGN) < (b ^ SIGN) else 0,
    "sltu": lambda a, b: 1 if a < b else 0,
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a >> (b & 31),
    "sra": lambda a, b: (((a ^ SIGN) - SIGN) >> (b & 31)) & M,
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
    "mul": lambda a, b: (a * b) & M,
    "mulh": lambda a, b: ((((a ^ SIGN) - SIGN) * ((b ^ SIGN) - SIGN)) >> 32) & M,
    "mulhsu": lambda a, b: ((((a ^ SIGN) - SIGN) * b) >> 32) & M,
    "mulhu": lambda a, b: (a * b) >> 32,
    "div": div,
    "divu": lambda a, b: a // b if b else M,
    "rem": rem,
    "remu": lambda a, b: a % b if b else a,
}
# Immediate forms: the same operations on the immediate (shifts take the shift amount).
_ALU_IMM = {"addi": "add", "slti": "slt", "sltiu": "sltu", "xori": "xor", "ori": "or", "andi": "and",
            "slli": "sll", "srli": "srl", "srai": "sra"}  # fmt: skip
_BRANCH = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: (a ^ SIGN) < (b ^ SIGN),
    "bge": lambda a, b: (a ^ SIGN) >= (b ^ SIGN),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}
_LOADS = {"lb": (1, True), "lh": (2, True), "lw": (4, False), "lbu": (1, False), "lhu": (2, False)}
_STORES = {"sb": 1, "sh": 2, "sw": 4}


def make_op(hart, d, pc: int):
    """A function executing `d` (at `pc`) on `hart`: returns None to fall through, or
    the address control goes to.  Kept by the hart (`ops`) by word and pc, which are
    all it depends on: overlapping traces and blocks translated anew share it."""
    key = (d.word, pc)
    op = hart.ops.get(key)
    if op is None:
        if len(hart.ops) >= OPS_MAX:
            hart.ops.clear()
        op = hart.ops[key] = _FACTORY[d.name](hart, d, pc)
    return op


OPS_MAX = 1 << 17


def _nothing() -> None:
    return None


def _alu(hart, d, pc):
    X, rd, rs1, rs2 = hart.x, d.rd, d.rs1, d.rs2
    if not rd:
        return _nothing
    f = _ALU[d.name]

    def alu(X=X, rd=rd, rs1=rs1, rs2=rs2, f=f):
        X[rd] = f(X[rs1], X[rs2])

    return alu


def _alu_imm(hart, d, pc):
    X, rd, rs1, c = hart.x, d.rd, d.rs1, d.imm & M
    if not rd:
        return _nothing
    f = _ALU[_ALU_IMM[d.name]]
    if f is _ALU["add"] and not c:

        def move(X=X, rd=rd, rs1=rs1):
            X[rd] = X[rs1]

        return move

    def alu_imm(X=X, rd=rd, rs1=rs1, c=c, f=f):
        X[rd] = f(X[rs1], c)

    return alu_imm


def _constant(hart, d, pc):
    X, rd = hart.x, d.rd
    if not rd:
        return _nothing
    value = d.imm if d.name == "lui" else (pc + d.imm) & M

    def constant(X=X, rd=rd, value=value):
        X[rd] = value

    return constant


def _branch(hart, d, pc):
    X, rs1, rs2 = hart.x, d.rs1, d.rs2
    test = _BRANCH[d.name]
    target = (pc + d.imm) & M

    def branch(X=X, rs1=rs1, rs2=rs2, test=test, target=target):
        if test(X[rs1], X[rs2]):
            return target
        return None

    return branch


def _jal(hart, d, pc):
    X, rd = hart.x, d.rd
    link, target = (pc + d.length) & M, (pc + d.imm) & M

    def jal(X=X, rd=rd, link=link, target=target):
        if rd:
            X[rd] = link
        return target

    return jal


def _jalr(hart, d, pc):
    X, rd, rs1, c = hart.x, d.rd, d.rs1, d.imm & M
    link = (pc + d.length) & M

    def jalr(X=X, rd=rd, rs1=rs1, c=c, link=link):
        t = (X[rs1] + c) & 0xFFFF_FFFE
        if rd:
            X[rd] = link
        return t

    return jalr


def _view(hart, size: int):
    """RAM as `size`-byte items, and the shift from a byte offset to an item's index."""
    ram = hart.ram
    return {1: (ram.data, 0), 2: (ram.halves, 1), 4: (ram.words, 2)}[size]


def _load(hart, d, pc):
    X, ns, rd, rs1, c = hart.x, hart.ns, d.rd, d.rs1, d.imm & M
    size, signed = _LOADS[d.name]
    view, shift = _view(hart, size)
    odd = size - 1
    bit = 1 << (8 * size - 1) if signed else 0
    slow = hart.load_slow

    def load(X=X, ns=ns, rd=rd, rs1=rs1, c=c, size=size, view=view, shift=shift, odd=odd, bit=bit, slow=slow):
        a = (X[rs1] + c) & M
        p = ns["RT"].get(a >> 12)
        if p is None or a & odd:
            v = slow(a, size)
        else:
            v = view[(a + p) >> shift]
        if rd:
            X[rd] = ((v ^ bit) - bit) & M if bit else v

    return load


def _store(hart, d, pc):
    X, ns, rs1, rs2, c = hart.x, hart.ns, d.rs1, d.rs2, d.imm & M
    size = _STORES[d.name]
    view, shift = _view(hart, size)
    odd = size - 1
    mask = (1 << 8 * size) - 1
    slow = hart.store_slow

    def store(X=X, ns=ns, rs1=rs1, rs2=rs2, c=c, size=size, view=view, shift=shift, odd=odd, mask=mask, slow=slow):
        a = (X[rs1] + c) & M
        v = X[rs2] & mask
        p = ns["WT"].get(a >> 12)
        if p is None or a & odd:
            slow(a, size, v)
        else:
            view[(a + p) >> shift] = v

    return store


def _call(hart, d, pc):
    """lr.w, sc.w and the AMOs: the hart's own slow paths, as generated code calls them."""
    X, rd, rs1, rs2, name = hart.x, d.rd, d.rs1, d.rs2, d.name
    if name == "lr.w":
        lr = hart.load_reserved

        def call(X=X, rd=rd, rs1=rs1, lr=lr):
            v = lr(X[rs1])
            if rd:
                X[rd] = v

    elif name == "sc.w":
        sc = hart.store_conditional

        def call(X=X, rd=rd, rs1=rs1, rs2=rs2, sc=sc):
            v = sc(X[rs1], X[rs2])
            if rd:
                X[rd] = v

    else:
        amo, op = hart.amo, AMO_OPS[name]

        def call(X=X, rd=rd, rs1=rs1, rs2=rs2, amo=amo, op=op):
            v = amo(op, X[rs1], X[rs2])
            if rd:
                X[rd] = v

    return call


_FACTORY = {
    **dict.fromkeys(_ALU, _alu), **dict.fromkeys(_ALU_IMM, _alu_imm),
    "lui": _constant, "auipc": _constant, **dict.fromkeys(_BRANCH, _branch),
    "jal": _jal, "jalr": _jalr, **dict.fromkeys(_LOADS, _load), **dict.fromkeys(_STORES, _store),
    "fence": lambda hart, d, pc: _nothing,  # one hart, in-order memory: already satisfied
    "lr.w": _call, "sc.w": _call, **dict.fromkeys(AMO_OPS, _call),
}  # fmt: skip


def stays(run, pcs: list[int]) -> list[tuple[int, int] | None]:
    """For each instruction of a block that may transfer control: (address, index) when
    control going to that address stays in the block at that index, as the code
    generator decides it (a forward branch within the block's innermost open region, a
    jump the trace followed); None when it leaves."""
    n = len(pcs)
    index_of = {p: k for k, p in enumerate(pcs)}
    out: list[tuple[int, int] | None] = [None] * n
    regions: list[int] = []  # ends of the open forward-branch regions, innermost last
    for k, d in enumerate(run):
        while regions and regions[-1] <= k:
            regions.pop()
        name = d.name
        if name in _BRANCH:
            target = (pcs[k] + d.imm) & M
            j = index_of.get(target, -1)
            if k + 1 < j <= (regions[-1] if regions else n):
                regions.append(j)
                out[k] = (target, j)
        elif name in codegen.JUMP_NAMES and k + 1 < n:
            out[k] = (pcs[k + 1], k + 1)  # followed: taken only if the target is the next pc
    return out


class ColdBlock:
    """A block run by interpretation; callable as generated code is (see codegen)."""

    __slots__ = ("hart", "key", "ops", "pcs", "nexts", "stay", "count", "start", "fall", "heat", "hot")

    def __init__(self, hart, key: tuple[int, int, int], run, pcs: list[int]):
        self.hart = hart
        self.key = key  # (RAM offset, pc, max_len): what to translate when it turns hot
        self.ops = [make_op(hart, d, p) for d, p in zip(run, pcs)]
        self.pcs = pcs
        self.nexts = [(p + d.length) & M for d, p in zip(run, pcs)]
        self.stay = stays(run, pcs)
        self.count = len(pcs)
        self.start = pcs[0]
        self.fall = self.nexts[-1]
        self.heat = hart.cold_passes
        self.hot = None

    def __call__(self, lim: int) -> int:
        if self.hot is not None:
            return self.hot(lim)
        self.heat -= 1
        if self.heat < 0:
            self.hot = self.hart._compile_cold(self)
            self.ops = self.stay = None  # (a stale reference may still call: it delegates)
            return self.hot(lim)
        ops, stay, count = self.ops, self.stay, self.count
        k = done = 0
        try:
            while True:
                t = ops[k]()
                done += 1
                if t is None:
                    k += 1
                    if k < count:
                        continue
                    npc = self.fall
                    break
                s = stay[k]
                if s is not None and s[0] == t:
                    k = s[1]
                    continue
                if t == self.start and done + count <= lim and self.heat > 0:
                    self.heat -= 1
                    k = 0
                    continue
                npc = t
                break
        except Unwind as u:
            u.pc = self.nexts[k] if u.index else self.pcs[k]
            u.done += done
            raise
        self.hart.extra[0] = done
        return npc
