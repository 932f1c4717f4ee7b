"""Differential test: random RV32IMAC programs on our hart and on unicorn (QEMU's TCG).

Programs are straight-line ALU and M instructions on registers holding interesting
values, loads and stores inside a data region, AMOs and LR/SC pairs on aligned words
there, forward branches and jumps (nested and overlapping), and small counted loops,
with compressed (RV32C) ALU instructions, loads and stores mixed in, so 32-bit
instructions, branch targets and loop heads sit at halfword as well as word addresses.
The parcels are built here by their own encoder (the spec's CI/CR/CA/CB/CIW/CL/CS
formats), not by the machine's decoder.
Each runs on unicorn, on our hart translating blocks and on our hart single-stepping
(one test adds our block engine run in budgets of 1..20 instructions): all 31
registers and the data region must agree, and our runs must retire the same count.

Kept out, because the spec lets implementations differ there: CSRs, misaligned
accesses (performed or trapped, the implementation's choice; ours are performed), and
stores between an LR and its SC (QEMU's SC compares the value, ours the reservation;
the spec allows either outcome for a store by the same hart).

Register roles: x1..x28 are random operands and destinations; x29 counts loop passes,
x30 points at the data region and x31 holds computed data addresses.  Random
instructions read any register but write only x0..x28.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc
from unicorn import riscv_const as rv

from machine.cpu.asm import assemble
from machine.cpu.csrs import ECALL_FROM_M
from machine.cpu.trap import ExitKind

from .harness import DATA, RAM_BASE, RAM_SIZE, make_hart, use_engine

M = 0xFFFF_FFFF
DATA_SIZE = 1024
COUNTER, POINTER, ADDRESS = 29, 30, 31
DESTINATIONS = range(29)
SOURCES = range(32)

INTERESTING = (
    0, 1, 2, 3, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x100, 0x7FF, 0x800, 0x7FFF, 0x8000, 0xFFFF,
    0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_8000,
    0xFFFF_FF80, 0xAAAA_AAAA, 0x5555_5555,
)  # fmt: skip
IMMEDIATES = (-2048, -1, 0, 1, 2, 31, 2047)

ALU_R = ("add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
         "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu")  # fmt: skip
ALU_I = ("addi", "slti", "sltiu", "xori", "ori", "andi")
SHIFT_I = ("slli", "srli", "srai")
BRANCHES = ("beq", "bne", "blt", "bge", "bltu", "bgeu")
AMOS = ("amoswap.w", "amoadd.w", "amoxor.w", "amoand.w", "amoor.w",
        "amomin.w", "amomax.w", "amominu.w", "amomaxu.w")  # fmt: skip
LOADS = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4}
STORES = {"sb": 1, "sh": 2, "sw": 4}


class ProgramWriter:
    """Builds one random program as assembly lines."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list[str] = []
        self.labels = 0
        # Forward targets placed after later items of the same body: [label, items to go]
        self.pending: dict[int, list[list]] = {}

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def label(self) -> str:
        self.labels += 1
        return f"L{self.labels}"

    def value(self) -> int:
        c = self.rng
        return c.choice(INTERESTING) if c.randint(0, 2) else c.randint(0, M)

    def imm(self) -> int:
        c = self.rng
        return c.choice(IMMEDIATES) if c.randint(0, 1) else c.randint(-2048, 2047)

    def rd(self) -> str:
        return f"x{self.rng.choice(DESTINATIONS)}"

    def rs(self) -> str:
        return f"x{self.rng.choice(SOURCES)}"

    # --- items ----------------------------------------------------------------------

    def prologue(self, values: Sequence[int]) -> None:
        for r, value in zip(range(1, 29), values, strict=True):
            self.emit(f"li x{r}, {value:#x}")
        self.emit(f"li x{POINTER}, {DATA:#x}")

    def alu(self) -> None:
        c = self.rng
        kind = c.randint(0, 9)
        if kind < 5:
            self.emit(f"{c.choice(ALU_R)} {self.rd()}, {self.rs()}, {self.rs()}")
        elif kind < 7:
            self.emit(f"{c.choice(ALU_I)} {self.rd()}, {self.rs()}, {self.imm()}")
        elif kind < 8:
            self.emit(f"{c.choice(SHIFT_I)} {self.rd()}, {self.rs()}, {c.randint(0, 31)}")
        elif kind < 9:
            self.emit(f"lui {self.rd()}, {c.randint(0, 0xFFFFF):#x}")
        else:
            self.emit(f"auipc {self.rd()}, {c.randint(0, 0xFFFFF):#x}")

    def compressed(self) -> None:
        """One RV32C instruction as a `.half` parcel; its rd is never x0 (that would be a
        HINT) and only x8..x15 in the 3-bit register fields."""
        c = self.rng
        rd = c.choice(range(1, 29))
        rdp, rsp = c.randint(0, 7), c.randint(0, 7)  # x8 + n
        imm6 = c.randint(-32, 31)
        kind = c.randint(0, 12)
        if kind == 0:  # c.li
            h = _ci(0b010, rd, imm6, 0b01)
        elif kind == 1:  # c.addi
            h = _ci(0b000, rd, imm6, 0b01)
        elif kind == 2 and rd != 2:  # c.lui, nonzero
            h = _ci(0b011, rd, imm6 or 1, 0b01)
        elif kind == 3:  # c.addi16sp: nzimm[9|4|6|8:7|5] at 12|6|5|4:3|2
            imm = (c.randint(-32, 31) or 1) * 16
            h = (0b011 << 13) | (2 << 7) | 0b01 | _scatter(imm, ((9, 12), (4, 6), (6, 5), (8, 4), (7, 3), (5, 2)))
        elif kind == 4:  # c.addi4spn: nzuimm[5:4|9:6|2|3] at 12:11|10:7|6|5
            imm = c.randint(1, 255) * 4
            h = (rdp << 2) | _scatter(imm, ((5, 12), (4, 11), (9, 10), (8, 9), (7, 8), (6, 7), (2, 6), (3, 5)))
        elif kind == 5:  # c.srli, c.srai, c.andi
            sub = c.randint(0, 2)
            field = imm6 if sub == 2 else c.randint(0, 31)
            h = (0b100 << 13) | (((field >> 5) & 1) << 12) | (sub << 10) | (rdp << 7) | ((field & 31) << 2) | 0b01
        elif kind == 6:  # c.sub, c.xor, c.or, c.and
            h = (0b100011 << 10) | (rdp << 7) | (c.randint(0, 3) << 5) | (rsp << 2) | 0b01
        elif kind == 7:  # c.slli
            h = (rd << 7) | (c.randint(1, 31) << 2) | 0b10
        elif kind == 8:  # c.mv
            h = (0b1000 << 12) | (rd << 7) | (c.randint(1, 31) << 2) | 0b10
        elif kind == 9:  # c.add
            h = (0b1001 << 12) | (rd << 7) | (c.randint(1, 31) << 2) | 0b10
        elif kind == 10:  # c.lw / c.sw, base x15 in the data region
            self.word_address()
            self.emit(f"mv x15, x{ADDRESS}")
            imm = c.randint(0, 31) * 4  # uimm[5:3|2|6] at 12:10|6|5
            f3 = c.choice((0b010, 0b110))
            h = (f3 << 13) | (7 << 7) | (rdp << 2) | _scatter(imm, ((5, 12), (4, 11), (3, 10), (2, 6), (6, 5)))
        else:
            self.alu()
            return
        self.emit(f".half {h:#06x}")

    def address(self, size: int) -> str:
        """An aligned data address as `offset(base)`: x30 plus an offset, or x31 set
        from a random register plus a small offset."""
        c = self.rng
        if c.randint(0, 2) == 0:
            return f"{c.randint(0, (DATA_SIZE - 4) // size) * size}(x{POINTER})"
        mask = (DATA_SIZE // 2 - 1) & ~(size - 1)
        self.emit(f"andi x{ADDRESS}, {self.rs()}, {mask:#x}")
        self.emit(f"add x{ADDRESS}, x{ADDRESS}, x{POINTER}")
        return f"{c.randint(0, 64 // size - 1) * size}(x{ADDRESS})"

    def memory(self) -> None:
        c = self.rng
        if c.randint(0, 1):
            name = c.choice(tuple(LOADS))
            self.emit(f"{name} {self.rd()}, {self.address(LOADS[name])}")
        else:
            name = c.choice(tuple(STORES))
            self.emit(f"{name} {self.rs()}, {self.address(STORES[name])}")

    def word_address(self) -> None:
        """x31 = an aligned word address in the data region."""
        self.emit(f"andi x{ADDRESS}, {self.rs()}, {DATA_SIZE // 2 - 4:#x}")
        self.emit(f"add x{ADDRESS}, x{ADDRESS}, x{POINTER}")

    def amo(self) -> None:
        self.word_address()
        self.emit(f"{self.rng.choice(AMOS)} {self.rd()}, {self.rs()}, (x{ADDRESS})")

    def lr_sc(self) -> None:
        c = self.rng
        self.word_address()
        self.emit(f"lr.w {self.rd()}, (x{ADDRESS})")
        for _ in range(c.randint(0, 3)):
            self.alu()
        if c.randint(0, 3) == 0:
            self.emit(f"addi x{ADDRESS}, x{ADDRESS}, 4")  # SC elsewhere: must fail
        self.emit(f"sc.w {self.rd()}, {self.rs()}, (x{ADDRESS})")

    def forward(self, depth: int, in_loop: bool) -> None:
        """A branch or jump over a short body, and sometimes over the next few items
        too, so that branch regions overlap instead of nesting."""
        c = self.rng
        target = self.label()
        kind = c.randint(0, 5)
        if kind < 4:
            self.emit(f"{c.choice(BRANCHES)} {self.rs()}, {self.rs()}, {target}")
        elif kind < 5:
            self.emit(f"jal {self.rd()}, {target}")
        else:
            self.emit(f"la x{ADDRESS}, {target}")
            self.emit(f"jalr {self.rd()}, 0(x{ADDRESS})")
        self.body(c.randint(0, 5), depth + 1, in_loop)
        if c.randint(0, 2):
            self.emit(f"{target}:")
        else:
            # +1: `item` ticks once as this very item ends
            self.pending.setdefault(depth, []).append([target, c.randint(1, 3) + 1])

    def loop(self) -> None:
        c = self.rng
        top = self.label()
        self.emit(f"li x{COUNTER}, {c.randint(1, 6)}")
        self.emit(f"{top}:")
        self.body(c.randint(1, 8), 1, True)
        self.emit(f"addi x{COUNTER}, x{COUNTER}, -1")
        self.emit(f"bnez x{COUNTER}, {top}")

    def item(self, depth: int, in_loop: bool) -> None:
        self.one_item(depth, in_loop)
        pending = self.pending.get(depth, [])
        for entry in pending:
            entry[1] -= 1
        for target, _ in [e for e in pending if e[1] == 0]:
            self.emit(f"{target}:")
        pending[:] = [e for e in pending if e[1]]

    def place_pending(self, depth: int) -> None:
        for target, _ in self.pending.pop(depth, []):
            self.emit(f"{target}:")

    def one_item(self, depth: int, in_loop: bool) -> None:
        kind = self.rng.randint(0, 19)
        if kind < 4:
            self.compressed()
        elif kind < 9:
            self.alu()
        elif kind < 13:
            self.memory()
        elif kind < 14:
            self.amo()
        elif kind < 15:
            self.lr_sc()
        elif kind < 18 and depth < 3:
            self.forward(depth, in_loop)
        elif not in_loop and depth == 0:
            self.loop()
        else:
            self.alu()

    def body(self, n: int, depth: int, in_loop: bool) -> None:
        for _ in range(n):
            self.item(depth, in_loop)
        self.place_pending(depth)

    def source(self) -> str:
        self.place_pending(0)
        return "\n".join(self.lines + ["end: ecall"])


def _ci(f3: int, rd: int, imm6: int, op: int) -> int:
    """The CI format: imm[5] at bit 12, imm[4:0] at bits 6:2."""
    return (f3 << 13) | (((imm6 >> 5) & 1) << 12) | (rd << 7) | ((imm6 & 31) << 2) | op


def _scatter(imm: int, places: tuple[tuple[int, int], ...]) -> int:
    """Immediate bit `i` to parcel bit `b`, for each (i, b)."""
    return sum(((imm >> i) & 1) << b for i, b in places)


# --- running ---------------------------------------------------------------------------


def on_unicorn(code: bytes, end: int, data: bytes) -> tuple[list[int], bytes]:
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(RAM_BASE, RAM_SIZE)
    uc.mem_write(RAM_BASE, code)
    uc.mem_write(DATA, data)
    uc.emu_start(RAM_BASE, end, timeout=20_000_000)
    assert uc.reg_read(rv.UC_RISCV_REG_PC) == end, "unicorn stopped early"
    regs = [0] + [uc.reg_read(rv.UC_RISCV_REG_X1 + k) & M for k in range(31)]
    return regs, bytes(uc.mem_read(DATA, DATA_SIZE))


def on_hart(code: bytes, end: int, data: bytes, steps: bool | str, budgets: random.Random | None = None):
    """Run on our hart; with `budgets`, in `run` calls of 1 to 20 instructions each,
    so blocks and self-loops keep stopping part way.  Returns registers, data, icount."""
    hart = make_hart()
    hart.ram.write_bytes(RAM_BASE, code)
    hart.ram.write_bytes(DATA, data)
    use_engine(hart, steps)
    if budgets is None:
        exit_ = hart.run(1_000_000)
    else:
        while (exit_ := hart.run(budgets.randint(1, 20))).kind is ExitKind.BUDGET:
            pass
    assert exit_.kind is ExitKind.TRAP and exit_.cause == ECALL_FROM_M, exit_.describe()
    assert exit_.epc == end, exit_.describe()
    return list(hart.x), hart.ram.read_bytes(DATA, DATA_SIZE), hart.icount


def check_agrees(source: str, data: bytes, *, small_budgets: bool = False) -> None:
    """Unicorn, our block engine and our stepper (and, if asked, our block engine on
    small budgets) must end with the same registers and data; ours with one icount."""
    program = assemble(source, base=RAM_BASE)
    end = program.symbols["end"]
    regs, memory = on_unicorn(program.data, end, data)
    icounts = {}
    engines = [("block", False, None), ("cold", "cold", None), ("step", True, None)]
    if small_budgets:
        engines.append(("block, small budgets", False, random.Random(len(source))))
        engines.append(("cold, small budgets", "cold", random.Random(len(source))))
    for engine, steps, budgets in engines:
        ours, our_memory, icounts[engine] = on_hart(program.data, end, data, steps, budgets)
        diffs = [f"x{r}: ours {ours[r]:#010x} unicorn {regs[r]:#010x}" for r in range(32) if ours[r] != regs[r]]
        assert not diffs, f"{engine}: registers differ:\n" + "\n".join(diffs)
        if our_memory != memory:
            first = next(k for k in range(DATA_SIZE) if our_memory[k] != memory[k])
            raise AssertionError(f"{engine}: data differs first at {DATA + first:#010x}")
    assert len(set(icounts.values())) == 1, f"instructions retired differ: {icounts}"


register_values = st.lists(st.sampled_from(INTERESTING) | st.integers(0, M), min_size=28, max_size=28)


item_seeds = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40)


def random_program(values: list[int], seeds: list[int]) -> str:
    # Each item (an instruction, a branch over a body, a loop ...) comes from its own
    # seed, so hypothesis shrinks a failure by dropping items and simplifying seeds.
    w = ProgramWriter(random.Random(0))
    w.prologue(values)
    for seed in seeds:
        w.rng = random.Random(seed)
        w.item(0, False)
    note(w.source())
    return w.source()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register_values, item_seeds, st.integers(0, 2**32 - 1))
def test_random_programs_agree_with_unicorn(values, seeds, memory_seed):
    check_agrees(random_program(values, seeds), random.Random(memory_seed).randbytes(DATA_SIZE))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register_values, item_seeds, st.integers(0, 2**32 - 1))
def test_random_programs_agree_when_run_in_small_budgets(values, seeds, memory_seed):
    # Budgets of 1..20 instructions make the run loop stop blocks and self-loops part
    # way and single-step up to each budget's end.
    source = random_program(values, seeds)
    check_agrees(source, random.Random(memory_seed).randbytes(DATA_SIZE), small_budgets=True)


def test_two_thousand_instruction_program_agrees_with_unicorn():
    rng = random.Random(20240601)
    w = ProgramWriter(rng)
    w.prologue([w.value() for _ in range(28)])
    while sum(not line.endswith(":") for line in w.lines) < 2000:
        w.item(0, False)
    check_agrees(w.source(), rng.randbytes(DATA_SIZE))
