"""Physical memory protection (privileged spec 1.12, 3.7).

The hart implements 16 PMP entries, so an S- or U-mode access that no entry matches
fails (3.7.1), and an M-mode one succeeds unless a locked entry says otherwise.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT_HANDLER, PMP_ALL, RAM_BASE, enter, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

DATA = RAM_BASE + 0x4_0000  # a page well past the code
CODE_TOP = RAM_BASE + 0x1_0000  # end of the region tests open for code

TOR_RWX = 0x0F


def program(mode: str, body: str, pmp: str) -> str:
    return f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
{pmp}
{enter(mode, "body")}
body:
{body}
        ecall
{HALT_HANDLER}"""


# Entry 0: TOR over [0, CODE_TOP), RWX: the code and nothing of DATA.
CODE_ONLY = f"li t0, {CODE_TOP >> 2:#x}; csrw pmpaddr0, t0; li t0, {TOR_RWX}; csrw pmpcfg0, t0"


@pytest.mark.parametrize("mode", ["S", "U"])
def test_napot_entry_over_all_memory_lets_lower_modes_load_store_and_fetch(stepping, mode):
    body = f"li t1, {DATA:#x}; li t2, 0x1234; sw t2, 0(t1); lw a0, 0(t1)"
    m = machine(program(mode, body, PMP_ALL), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == {"S": C.ECALL_FROM_S, "U": C.ECALL_FROM_U}[mode]
    assert m.hart.x[10] == 0x1234


@pytest.mark.parametrize("mode", ["S", "U"])
def test_fetch_with_no_pmp_entry_is_an_instruction_access_fault(stepping, mode):
    m = machine(program(mode, "nop", ""), stepping=stepping)
    m.run_to_halt()
    body = m.sym("body")
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.INSN_ACCESS_FAULT, body, body)


@pytest.mark.parametrize(
    ("insn", "offset", "cause"),
    [("lw a0, 8(t1)", 8, C.LOAD_ACCESS_FAULT), ("sw a0, 8(t1)", 8, C.STORE_ACCESS_FAULT),
     ("amoadd.w a0, a0, (t1)", 0, C.STORE_ACCESS_FAULT), ("lr.w a0, (t1)", 0, C.LOAD_ACCESS_FAULT),
     ("lb a0, 3(t1)", 3, C.LOAD_ACCESS_FAULT), ("sh a0, 2(t1)", 2, C.STORE_ACCESS_FAULT)],
)  # fmt: skip
@pytest.mark.parametrize("mode", ["S", "U"])
def test_data_access_no_entry_matches_is_an_access_fault(stepping, mode, insn, offset, cause):
    m = machine(program(mode, f"li t1, {DATA:#x}; bad: {insn}", CODE_ONLY), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (cause, m.sym("bad"), DATA + offset)


def test_m_mode_accesses_memory_no_entry_matches(stepping):
    body = f"li t1, {DATA:#x}; li t2, 77; sw t2, 0(t1); lw a0, 0(t1)"
    m = machine(program("M", body, CODE_ONLY), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M and m.hart.x[10] == 77


# entry 0: TOR [0, CODE_TOP) RWX; entry 1: OFF, address DATA; entry 2: TOR [DATA, DATA+4K) R;
# entry 3: NAPOT everything RWX.
LAYERED = f"""
        li   t0, {CODE_TOP >> 2:#x}
        csrw pmpaddr0, t0
        li   t0, {DATA >> 2:#x}
        csrw pmpaddr1, t0
        li   t0, {(DATA + 0x1000) >> 2:#x}
        csrw pmpaddr2, t0
        li   t0, -1
        csrw pmpaddr3, t0
        li   t0, 0x1f090000 | {TOR_RWX}
        csrw pmpcfg0, t0
"""


def test_tor_region_grants_its_permissions(stepping):
    body = f"li t1, {DATA:#x}; lw a0, 0(t1); li t1, {DATA + 0xFFC:#x}; lw a1, 0(t1)"
    m = machine(program("S", body, LAYERED), stepping=stepping)
    m.poke(DATA, 0x1111)
    m.poke(DATA + 0xFFC, 0x2222)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert (m.hart.x[10], m.hart.x[11]) == (0x1111, 0x2222)


def test_tor_region_refuses_what_it_does_not_grant(stepping):
    m = machine(program("S", f"li t1, {DATA + 0x800:#x}; bad: sw zero, 0(t1)", LAYERED), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.STORE_ACCESS_FAULT, m.sym("bad"), DATA + 0x800)


def test_lowest_numbered_matching_entry_wins(stepping):
    # Just past the TOR region, entry 3 (RWX) is the first to match.
    m = machine(program("S", f"li t1, {DATA + 0x1000:#x}; li t2, 5; sw t2, 0(t1); sw t2, -4(t1)", LAYERED),
                stepping=stepping)  # fmt: skip
    m.run_to_halt()
    assert m.hart.mcause == C.STORE_ACCESS_FAULT and m.hart.mtval == DATA + 0xFFC
    assert m.word(DATA + 0x1000) == 5


def test_unlocked_entry_does_not_bind_m_mode(stepping):
    m = machine(program("M", f"li t1, {DATA:#x}; li t2, 9; sw t2, 0(t1); lw a0, 0(t1)", LAYERED), stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M and m.hart.x[10] == 9


def test_locked_entry_binds_m_mode(stepping):
    locked = LAYERED.replace("0x1f090000", "0x1f890000")  # entry 2: L, TOR, R
    m = machine(program("M", f"li t1, {DATA:#x}; lw a0, 0(t1); bad: sw a0, 0(t1)", locked), stepping=stepping)
    m.poke(DATA, 0x4242)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.STORE_ACCESS_FAULT, m.sym("bad"), DATA)
    assert m.hart.x[10] == 0x4242


def test_locked_entry_without_x_stops_m_mode_fetch(stepping):
    # Entry 0: NAPOT 4 KiB at DATA, L and R only; M jumps there.
    pmp = f"li t0, {(DATA >> 2) | 0x1ff:#x}; csrw pmpaddr0, t0; li t0, 0x99; csrw pmpcfg0, t0"
    m = machine(program("M", f"li t1, {DATA:#x}; jr t1", pmp), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.INSN_ACCESS_FAULT, DATA, DATA)


def test_napot_region_size_follows_trailing_ones(stepping):
    # Entry 0 opens the code; entry 1: NAPOT 8 bytes at DATA (no trailing ones), RW.
    pmp = f"""
        li   t0, {CODE_TOP >> 2:#x}
        csrw pmpaddr0, t0
        li   t0, {DATA >> 2:#x}
        csrw pmpaddr1, t0
        li   t0, {(0x1b << 8) | TOR_RWX:#x}
        csrw pmpcfg0, t0
"""
    m = machine(program("U", f"li t1, {DATA:#x}; sw zero, 4(t1); bad: sw zero, 8(t1)", pmp), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.STORE_ACCESS_FAULT, DATA + 8)


def test_pmp_change_takes_effect_on_cached_pages(stepping):
    # U stores to DATA (now cached in the TLB), then M revokes W and U tries again.
    src = f"""
_start:
        la   t0, trap
        csrw mtvec, t0
{LAYERED.replace("0x1f090000", "0x1f0b0000")}
        li   s0, 0
{enter("U", "body")}
body:   li   t1, {DATA:#x}
        sw   zero, 0(t1)
        ecall
second: sw   zero, 4(t1)
        ecall
        .align 2
trap:   bnez s0, {{halt}}
        li   s0, 1
        li   t0, 0x1f090000 | {TOR_RWX}
        csrw pmpcfg0, t0        # entry 2 back to R only
        la   t0, second
        csrw mepc, t0
        mret
{HALT_HANDLER}"""
    m = machine(src.replace("{halt}", "trap_halt"), stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.STORE_ACCESS_FAULT, DATA + 4)


def test_page_table_walk_is_checked_by_pmp_as_s_mode(stepping):
    # satp points at a root page table in DATA, which no PMP entry covers for S.
    body = "nop"
    pmp = CODE_ONLY + f"; li t0, {(1 << 31) | (DATA >> 12):#x}; csrw satp, t0"
    m = machine(program("S", body, pmp), stepping=stepping)
    m.run_to_halt()
    body_addr = m.sym("body")
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.INSN_ACCESS_FAULT, body_addr, body_addr)


def test_fetch_stops_at_the_end_of_an_executable_region_inside_a_page(stepping):
    # Entry 0: NAPOT 32 bytes at `code` (R X); U runs straight off its end.
    src = f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
        la   t0, code
        srli t0, t0, 2
        ori  t0, t0, 3          # NAPOT, 32 bytes
        csrw pmpaddr0, t0
        li   t0, 0x1d           # NAPOT, R X
        csrw pmpcfg0, t0
{enter("U", "code")}
{HALT_HANDLER}
        .align 5
code:   nop
        nop
        nop
        nop
        nop
        nop
        nop
        nop
outside: nop
        nop
        ecall
"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    outside = m.sym("outside")
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.INSN_ACCESS_FAULT, outside, outside)
