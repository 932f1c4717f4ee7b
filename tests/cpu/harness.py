"""Run a few lines of assembly on a bare hart: the helpers the CPU tests share.

RAM is 256 KiB at 0x8000_0000, poisoned with 0xAA so reads of bytes nobody wrote show.
Programs are assembled at the RAM base and end with `ecall`: in host mode that trap is
not taken but returned from `run` as an Exit, which stops the test program cleanly.
"""

from __future__ import annotations

from collections.abc import Callable

from machine.cpu.asm import assemble
from machine.cpu.csrs import ECALL_FROM_M
from machine.cpu.hart import Hart
from machine.cpu.isa import ABI_NAMES
from machine.cpu.trap import Exit, ExitKind
from machine.memory import Ram

RAM_BASE = 0x8000_0000
RAM_SIZE = 0x4_0000
DATA = RAM_BASE + 0x2_0000  # scratch data, far from any test's code

# The engine's three paths: compiled blocks, blocks interpreted (the cold tier), and one
# instruction at a time.  Tests take them as `steps`: False, "cold" or True.
ENGINES = {"argnames": "steps", "argvalues": [False, "cold", True], "ids": ["block", "cold", "step"]}


def use_engine(hart: Hart, steps: bool | str) -> None:
    """Make `hart` run on one path only: compiled blocks from the first pass (False),
    interpreted blocks that never turn hot ("cold"), or single steps (True); or
    ("warming") blocks interpreted for two passes and compiled after."""
    hart.stepping = steps is True
    hart.cold_passes = {"cold": 1 << 60, "warming": 2}.get(steps, 0)


def make_hart(*, ram_fill: int = 0xAA, host_mode: bool = True) -> Hart:
    hart = Hart(Ram(RAM_BASE, RAM_SIZE, fill=ram_fill))
    hart.host_mode = host_mode
    return hart


def run_asm(
    source: str,
    *,
    steps: bool | str = False,
    ram_fill: int = 0xAA,
    max_insns: int = 100_000,
    host_mode: bool = True,
    setup: Callable[[Hart], None] | None = None,
) -> tuple[Hart, Exit]:
    """Assemble `source` at the RAM base, run it from there, return the hart and why it
    stopped.  `setup(hart)` runs after loading, before the first instruction."""
    hart = make_hart(ram_fill=ram_fill, host_mode=host_mode)
    program = assemble(source, base=RAM_BASE)
    hart.ram.write_bytes(RAM_BASE, program.data)
    hart.pc = program.entry
    use_engine(hart, steps)
    if setup is not None:
        setup(hart)
    return hart, hart.run(max_insns)


def run_to_ecall(source: str, **options) -> Hart:
    """`run_asm`, checking the program ran to its closing `ecall`."""
    hart, exit_ = run_asm(source, **options)
    assert exit_.kind is ExitKind.TRAP and exit_.cause == ECALL_FROM_M, exit_.describe()
    return hart


def reg(hart: Hart, name: str) -> int:
    """Register by ABI name (`a0`) or number (`x10`)."""
    return hart.x[int(name[1:]) if name[0] == "x" else ABI_NAMES.index(name)]


def word(hart: Hart, addr: int) -> int:
    return hart.ram.read_u32(addr)
