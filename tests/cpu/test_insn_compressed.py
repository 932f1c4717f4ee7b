"""RV32C: 16-bit instructions run as their 32-bit expansions, mixed with 32-bit ones.

The parcels are written as `.half` words, each with the text GNU as
(-march=rv32imac) assembled it from beside it.  A 32-bit instruction may start at any
halfword, even the last of a page; a fault fetching its second half reports that
half's address in tval, the instruction's own address in epc (unprivileged 1.5).
"""

from __future__ import annotations

import pytest

from machine.cpu.csrs import BREAKPOINT, ECALL_FROM_M, INSN_ACCESS_FAULT
from machine.cpu.trap import ExitKind

from .harness import ENGINES, RAM_BASE, RAM_SIZE, reg, run_asm, run_to_ecall

pytestmark = pytest.mark.parametrize(**ENGINES)

RAM_END = RAM_BASE + RAM_SIZE


def test_alu_parcels_compute_as_their_expansions(steps):
    source = """
        li sp, 0x80001000
        .half 0x4515        # c.li a0, 5
        .half 0x1575        # c.addi a0, -3
        .half 0x65c9        # c.lui a1, 0x12
        .half 0x7139        # c.addi16sp sp, -64
        .half 0x0810        # c.addi4spn a2, sp, 16
        .half 0x86aa        # c.mv a3, a0
        .half 0x96ae        # c.add a3, a1
        .half 0x058e        # c.slli a1, 3
        .half 0x8585        # c.srai a1, 1
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 2
    assert reg(hart, "sp") == 0x8000_0FC0
    assert reg(hart, "a2") == 0x8000_0FD0
    assert reg(hart, "a3") == 0x12002
    assert reg(hart, "a1") == 0x12000 << 2


def test_register_parcels_sub_xor_or_and_andi_srli(steps):
    source = """
        li a0, 0xF0; li a2, 0x3C
        .half 0x8d11        # c.sub a0, a2    -> 0xB4
        .half 0x8d31        # c.xor a0, a2    -> 0x88
        .half 0x8d51        # c.or a0, a2     -> 0xBC
        .half 0x8d71        # c.and a0, a2    -> 0x3C
        li a1, 0x80000000
        .half 0x8189        # c.srli a1, 2
        li a4, -8
        .half 0x8b05        # c.andi a4, 1 -> 0
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert (reg(hart, "a0"), reg(hart, "a1"), reg(hart, "a4")) == (0x3C, 0x2000_0000, 0)


def test_loads_and_stores_through_sp_and_registers(steps):
    source = """
        li sp, 0x80002000; li a2, 0x80002100; li a0, 0x1234; li a1, -7
        .half 0xc248        # c.sw a0, 4(a2)
        .half 0x4258        # c.lw a4, 4(a2)
        .half 0xc42e        # c.swsp a1, 8(sp)
        .half 0x47a2        # c.lwsp a5, 8(sp)
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert (reg(hart, "a4"), reg(hart, "a5")) == (0x1234, 0xFFFF_FFF9)
    assert hart.ram.read_u32(0x8000_2104) == 0x1234


def test_c_jal_links_pc_plus_2_and_c_jr_returns(steps):
    source = """
        li a0, 0
        .half 0x2029        # c.jal .+10
        li a0, 1            # skipped, then returned to
        ecall
        .half 0x0505        # c.addi a0, 1
        .half 0x8082        # c.jr ra (ret)
    """
    hart = run_to_ecall(source, steps=steps)
    # li a0,0 at +0, c.jal at +4, li a0,1 at +6: ra = +6, a0 = 0 + 1 then li a0, 1.
    assert reg(hart, "ra") == RAM_BASE + 6 and reg(hart, "a0") == 1


def test_compressed_loop_with_c_bnez_and_c_j(steps):
    source = """
        li a0, 0
        li a1, 10
    1:  .half 0x0509        # c.addi a0, 2
        .half 0x15fd        # c.addi a1, -1
        .half 0xfdf5        # c.bnez a1, 1b
        .half 0xa019        # c.j .+6
        li a0, 99           # skipped
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 20


def test_c_ebreak_reports_its_pc(steps):
    _hart, exit_ = run_asm("nop; .half 0x9002; ecall", steps=steps)
    assert (exit_.cause, exit_.tval, exit_.epc, exit_.insn) == (BREAKPOINT, RAM_BASE + 4, RAM_BASE + 4, 0x9002)


def test_32bit_instruction_at_halfword_offset_runs(steps):
    hart = run_to_ecall(".half 0x0001; li a0, 0x123; lui a1, 0x45; ecall", steps=steps)
    assert (reg(hart, "a0"), reg(hart, "a1")) == (0x123, 0x45000)


def test_32bit_instruction_straddling_a_page_boundary_runs(steps):
    source = """
        j 1f
        .org 0xffe
    1:  li a0, 0x123        # halves at 0xffe and 0x1000
        ecall
    """
    hart, exit_ = run_asm(source, steps=steps)
    assert (exit_.cause, exit_.epc) == (ECALL_FROM_M, RAM_BASE + 0x1002)
    assert reg(hart, "a0") == 0x123


def test_store_to_the_second_half_of_a_straddling_instruction_is_seen(steps):
    source = """
        la t0, 1f
        li t1, 0x07b0       # upper half of "addi a0, zero, 0x7b" (0x07b00513)
        sh t1, 2(t0)
        j 1f
        .org 0xffe
    1:  li a0, 0x123
        ecall
    """
    hart, exit_ = run_asm(source, steps=steps)
    assert exit_.cause == ECALL_FROM_M and reg(hart, "a0") == 0x7B


def test_fetch_fault_on_the_second_half_reports_its_address(steps):
    def setup(hart):
        hart.ram.write_bytes(RAM_END - 2, (0x0513).to_bytes(2, "little"))  # first half of an addi

    _hart, exit_ = run_asm(f"li t0, {RAM_END - 2:#x}; jr t0", steps=steps, setup=setup)
    assert exit_.kind is ExitKind.TRAP
    assert (exit_.cause, exit_.tval, exit_.epc) == (INSN_ACCESS_FAULT, RAM_END, RAM_END - 2)


def test_compressed_instruction_in_the_last_halfword_of_ram_runs(steps):
    def setup(hart):
        hart.ram.write_bytes(RAM_END - 2, (0x0505).to_bytes(2, "little"))  # c.addi a0, 1

    hart, exit_ = run_asm(f"li a0, 1; li t0, {RAM_END - 2:#x}; jr t0", steps=steps, setup=setup)
    # it runs, then the next fetch (past RAM) faults at RAM_END
    assert (exit_.cause, exit_.tval, exit_.epc) == (INSN_ACCESS_FAULT, RAM_END, RAM_END)
    assert reg(hart, "a0") == 2


def test_overwriting_a_translated_parcel_takes_effect(steps):
    source = """
        li a0, 0
        la t0, 2f
        li t1, 0x0511       # c.addi a0, 4
        li t2, 2
    1:
    2:  .half 0x0505        # c.addi a0, 1 (the first time round)
        sh t1, 0(t0)
        addi t2, t2, -1
        bnez t2, 1b
        ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a0") == 5


def test_straddling_instruction_run_again_after_its_second_half_changes(steps):
    source = """
        li a1, 0
        la t0, 1f
        li t1, 0x07b0       # upper half of "addi a0, zero, 0x7b"
        j 1f
        .org 0xffe
    1:  li a0, 0x123        # halves at 0xffe and 0x1000
        add a1, a1, a0
        bnez a2, 2f
        li a2, 1
        sh t1, 2(t0)        # the second time round it is "li a0, 0x7b"
        j 1b
    2:  ecall
    """
    hart = run_to_ecall(source, steps=steps)
    assert reg(hart, "a1") == 0x123 + 0x7B
