"""Block engine against single-stepper on random programs that trap.

Unicorn cannot judge these (traps are where implementations may differ), but our two
engine paths must not differ anywhere: the same random programs as test_differential,
salted with instructions that trap — illegal words (32- and 16-bit), misaligned
AMO/LR/SC, EBREAK and C.EBREAK, access faults — with jumps and taken branches to
targets that are only 2-byte aligned (legal since the C extension: IALIGN=16), and
with misaligned loads and stores (performed) and counter reads.  An M-mode handler
skips each trapping instruction, by 2 or 4 bytes as its low bits say; the closing
ECALL sends it to a WFI that ends the run.  Registers, data,
pc, icount, the trap CSRs and the sequence of traps taken must all be equal.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from machine.cpu.asm import assemble
from machine.cpu.trap import ExitKind

from .harness import DATA, RAM_BASE, make_hart, use_engine
from .test_differential import (
    ADDRESS,
    AMOS,
    BRANCHES,
    DATA_SIZE,
    POINTER,
    ProgramWriter,
    register_values,
)

ILLEGAL = (0x0000_0000, 0xFFFF_FFFF, 0x0000_4501, 0x0400_0033, 0x0200_1013, 0x0000_3003, 0x0020_0073)

HANDLER = f"""
.align 2                      # mtvec's base is 4-byte aligned; the program may not end so
handler:                      # skip the trapping instruction; ECALL ends the program
        csrw mscratch, x{ADDRESS}
        csrr x{ADDRESS}, mcause
        addi x{ADDRESS}, x{ADDRESS}, -11
        beqz x{ADDRESS}, stop
        csrr x{ADDRESS}, mepc
        lhu x{ADDRESS}, 0(x{ADDRESS})
        andi x{ADDRESS}, x{ADDRESS}, 3
        addi x{ADDRESS}, x{ADDRESS}, -3
        bnez x{ADDRESS}, short
        csrr x{ADDRESS}, mepc
        addi x{ADDRESS}, x{ADDRESS}, 4
        j skip
short:  csrr x{ADDRESS}, mepc
        addi x{ADDRESS}, x{ADDRESS}, 2
skip:   csrw mepc, x{ADDRESS}
        csrr x{ADDRESS}, mscratch
        mret
stop:   wfi
"""


class TrappingProgramWriter(ProgramWriter):
    def prologue(self, values) -> None:
        self.emit(f"la x{ADDRESS}, handler")
        self.emit(f"csrw mtvec, x{ADDRESS}")
        super().prologue(values)

    def one_item(self, depth: int, in_loop: bool) -> None:
        c = self.rng
        if c.randint(0, 4):
            super().one_item(depth, in_loop)
            return
        kind = c.randint(0, 10)
        if kind == 0:
            self.emit(f".word {c.choice(ILLEGAL):#x}")
        elif kind <= 3:
            self.word_address()
            self.emit(f"addi x{ADDRESS}, x{ADDRESS}, {c.choice((1, 2, 3))}")
            self.emit(c.choice((f"{c.choice(AMOS)} {self.rd()}, {self.rs()}, (x{ADDRESS})",
                                f"lr.w {self.rd()}, (x{ADDRESS})",
                                f"sc.w {self.rd()}, {self.rs()}, (x{ADDRESS})")))  # fmt: skip
        elif kind == 4:  # over a c.nop: the code after it is only 2-byte aligned
            self.emit(f"jal {self.rd()}, .+6")
            self.emit(".half 0x0001")
        elif kind == 5:
            self.emit(f"{c.choice(BRANCHES)} {self.rs()}, {self.rs()}, .+6")
            self.emit(".half 0x0001")
        elif kind == 6:  # jalr clears only bit 0: a target +3 is +2
            after = self.label()
            self.emit(f"la x{ADDRESS}, {after}")
            self.emit(f"jalr {self.rd()}, {c.choice((2, 3))}(x{ADDRESS})")
            self.emit(f"{after}:")
            self.emit(".half 0x0001")
        elif kind == 7:
            self.emit(c.choice(("ebreak", ".half 0x9002", ".half 0x0000", ".half 0x6000")))
        elif kind == 8:
            self.emit(c.choice((f"lw {self.rd()}, {c.randint(-64, 64) * 4}(x0)", f"sb {self.rs()}, 16(x0)")))
        elif kind == 9:
            size = c.choice((2, 4))
            name = c.choice(("lh", "lhu", "sh") if size == 2 else ("lw", "sw"))
            offset = c.randint(0, DATA_SIZE // 4) * 4 + c.randint(1, size - 1)
            operand = self.rs() if name[0] == "s" else self.rd()
            self.emit(f"{name} {operand}, {offset}(x{POINTER})")
        else:
            self.emit(f"csrr {self.rd()}, {c.choice(('minstret', 'mcycle', 'instret'))}")

    def source(self) -> str:
        return super().source() + "\n" + HANDLER


def run_ours(program, data: bytes, *, steps: bool | str, budgets: random.Random | None = None):
    hart = make_hart(host_mode=False)
    hart.ram.write_bytes(RAM_BASE, program.data)
    hart.ram.write_bytes(DATA, data)
    use_engine(hart, steps)
    traps = []
    hart.on_trap = lambda cause, tval, epc, old, new: traps.append((cause, tval, epc))
    if budgets is None:
        exit_ = hart.run(1_000_000)
    else:
        while (exit_ := hart.run(budgets.randint(1, 20))).kind is ExitKind.BUDGET:
            pass
    assert exit_.kind is ExitKind.WFI, exit_.describe()
    assert hart.pc == program.symbols["stop"] + 4
    return {
        "registers": list(hart.x),
        "data": hart.ram.read_bytes(DATA, DATA_SIZE),
        "icount": hart.icount,
        "trap csrs": (hart.mepc, hart.mcause, hart.mtval),
        "traps": traps,
    }


def check_engines_agree(source: str, data: bytes, *, small_budgets: bool) -> None:
    program = assemble(source, base=RAM_BASE)
    step = run_ours(program, data, steps=True)
    runs = {name: run_ours(program, data, steps=engine)
            for name, engine in (("block", False), ("cold", "cold"), ("warming", "warming"))}  # fmt: skip
    if small_budgets:
        runs["block, small budgets"] = run_ours(program, data, steps=False, budgets=random.Random(len(source)))
        runs["cold, small budgets"] = run_ours(program, data, steps="cold", budgets=random.Random(len(source)))
    for engine, state in runs.items():
        for what, value in state.items():
            assert value == step[what], f"{engine} and step differ in {what}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(register_values, st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40),
       st.integers(0, 2**32 - 1), st.integers(0, 3))  # fmt: skip
def test_block_and_step_agree_on_programs_that_trap(values, seeds, memory_seed, budget_choice):
    w = TrappingProgramWriter(random.Random(0))
    w.prologue(values)
    for seed in seeds:
        w.rng = random.Random(seed)
        w.item(0, False)
    source = w.source()
    note(source)
    # One example in four also runs the block engine in budgets of 1..20 instructions.
    check_engines_agree(source, random.Random(memory_seed).randbytes(DATA_SIZE), small_budgets=budget_choice == 0)
