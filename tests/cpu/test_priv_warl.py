"""WARL fields and CSR views (privileged spec 1.12, 2.3, 3.1, 3.7.1, 4.1).

Each program runs in M-mode, leaves what it read in registers and halts.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

A0, A1 = 10, 11
# RV32 (MXL=1) with A, I, M, S and U.
MISA_RV32IMACSU = (1 << 30) | (1 << 0) | (1 << 2) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20)


def run_m(body: str, *, stepping: bool):
    m = machine(f"_start:\n{body}\n{HALT}", stepping=stepping)
    m.run_to_halt()
    return m.hart


def test_misa_reports_rv32imacsu(stepping):
    h = run_m("csrr a0, misa", stepping=stepping)
    assert h.x[A0] == MISA_RV32IMACSU


def test_misa_ignores_writes(stepping):
    h = run_m("li t0, 0x40000104; csrw misa, t0; csrr a0, misa; csrw misa, zero; csrr a1, misa",
              stepping=stepping)  # fmt: skip
    assert h.x[A0] == h.x[A1] == MISA_RV32IMACSU


def test_mtvec_keeps_direct_and_vectored_modes(stepping):
    h = run_m("li t0, 0x80000100; csrw mtvec, t0; csrr a0, mtvec; ori t0, t0, 1; csrw mtvec, t0; csrr a1, mtvec",
              stepping=stepping)  # fmt: skip
    assert (h.x[A0], h.x[A1]) == (0x8000_0100, 0x8000_0101)


@pytest.mark.parametrize("csr", ["mtvec", "stvec"])
@pytest.mark.parametrize("mode", [2, 3])
def test_trap_vector_reserved_mode_keeps_old_value(stepping, csr, mode):
    h = run_m(f"li t0, 0x80000200; csrw {csr}, t0; li t0, {0x80000400 | mode}; csrw {csr}, t0; csrr a0, {csr}",
              stepping=stepping)  # fmt: skip
    assert h.x[A0] == 0x8000_0200


@pytest.mark.parametrize("csr", ["mepc", "sepc"])
def test_exception_pc_clears_only_bit_0(stepping, csr):
    # IALIGN=16 with the C extension: xepc keeps bit 1 (privileged 3.1.14).
    h = run_m(f"li t0, 0x80000123; csrw {csr}, t0; csrr a0, {csr}", stepping=stepping)
    assert h.x[A0] == 0x8000_0122


def test_mpp_reserved_value_is_legalised(stepping):
    h = run_m(f"li t0, {2 << C.MSTATUS_MPP_SHIFT}; csrw mstatus, t0; csrr a0, mstatus", stepping=stepping)
    assert (h.x[A0] >> C.MSTATUS_MPP_SHIFT) & 3 != 2


@pytest.mark.parametrize("mpp", [0, 1, 3])
def test_mpp_legal_values_stick(stepping, mpp):
    h = run_m(f"li t0, {mpp << C.MSTATUS_MPP_SHIFT}; csrw mstatus, t0; csrr a0, mstatus", stepping=stepping)
    assert (h.x[A0] >> C.MSTATUS_MPP_SHIFT) & 3 == mpp


def test_mstatus_read_only_fields_stay_zero(stepping):
    h = run_m("li t0, -1; csrw mstatus, t0; csrr a0, mstatus", stepping=stepping)
    # FS, XS (no F, no extension state), SD, UBE (little-endian only) read zero.
    assert h.x[A0] & (C.MSTATUS_FS | C.MSTATUS_XS | C.MSTATUS_SD | C.MSTATUS_UBE) == 0
    assert h.x[A0] & C.MSTATUS_WRITABLE & ~C.MSTATUS_MPP == C.MSTATUS_WRITABLE & ~C.MSTATUS_MPP


def test_medeleg_cannot_delegate_ecall_from_m(stepping):
    h = run_m("li t0, -1; csrw medeleg, t0; csrr a0, medeleg", stepping=stepping)
    assert not h.x[A0] >> C.ECALL_FROM_M & 1
    for cause in (C.INSN_MISALIGNED, C.ILLEGAL_INSN, C.BREAKPOINT, C.ECALL_FROM_U, C.ECALL_FROM_S,
                  C.INSN_PAGE_FAULT, C.LOAD_PAGE_FAULT, C.STORE_PAGE_FAULT):  # fmt: skip
        assert h.x[A0] >> cause & 1, cause


def test_mideleg_holds_only_s_interrupts(stepping):
    h = run_m("li t0, -1; csrw mideleg, t0; csrr a0, mideleg", stepping=stepping)
    assert h.x[A0] == C.S_INTERRUPTS


def test_mie_holds_only_implemented_interrupts(stepping):
    h = run_m("li t0, -1; csrw mie, t0; csrr a0, mie", stepping=stepping)
    assert h.x[A0] == C.ALL_INTERRUPTS


def test_mip_machine_bits_are_not_writable(stepping):
    h = run_m("li t0, -1; csrw mip, t0; csrr a0, mip", stepping=stepping)
    assert h.x[A0] == C.S_INTERRUPTS


# --- sstatus, sie and sip are views ----------------------------------------------------------


def test_sstatus_writes_land_in_mstatus(stepping):
    bits = C.MSTATUS_SIE | C.MSTATUS_SPIE | C.MSTATUS_SPP | C.MSTATUS_SUM | C.MSTATUS_MXR
    h = run_m(f"li t0, {bits}; csrw sstatus, t0; csrr a0, mstatus", stepping=stepping)
    assert h.x[A0] == bits


def test_sstatus_writes_leave_m_fields_alone(stepping):
    m_bits = C.MSTATUS_MIE | C.MSTATUS_MPIE | C.MSTATUS_MPP | C.MSTATUS_TVM | C.MSTATUS_TW | C.MSTATUS_TSR
    h = run_m(f"li t0, {m_bits}; csrw mstatus, t0; li t0, -1; csrw sstatus, t0; csrw sstatus, zero; csrr a0, mstatus",
              stepping=stepping)  # fmt: skip
    assert h.x[A0] == m_bits


def test_sstatus_hides_m_fields(stepping):
    h = run_m("li t0, -1; csrw mstatus, t0; csrr a0, sstatus", stepping=stepping)
    assert h.x[A0] == C.MSTATUS_SIE | C.MSTATUS_SPIE | C.MSTATUS_SPP | C.MSTATUS_SUM | C.MSTATUS_MXR


def test_sie_shows_only_delegated_bits_of_mie(stepping):
    h = run_m("li t0, -1; csrw mie, t0; li t0, 0x20; csrw mideleg, t0; csrr a0, sie", stepping=stepping)
    assert h.x[A0] == 0x20


def test_sie_writes_reach_only_delegated_bits_of_mie(stepping):
    h = run_m("li t0, 0x20; csrw mideleg, t0; li t0, -1; csrw sie, t0; csrr a0, mie", stepping=stepping)
    assert h.x[A0] == 0x20


def test_sip_shows_only_delegated_bits_of_mip(stepping):
    h = run_m("li t0, 0x222; csrw mip, t0; li t0, 0x2; csrw mideleg, t0; csrr a0, sip", stepping=stepping)
    assert h.x[A0] == 0x2


def test_sip_writes_reach_only_delegated_ssip(stepping):
    h = run_m("li t0, 0x222; csrw mideleg, t0; li t0, -1; csrw sip, t0; csrr a0, mip", stepping=stepping)
    assert h.x[A0] == 1 << C.SSIP  # STIP and SEIP are read-only in sip


def test_sip_write_without_delegation_does_nothing(stepping):
    h = run_m("li t0, -1; csrw sip, t0; csrr a0, mip", stepping=stepping)
    assert h.x[A0] == 0


def test_csrrs_on_mip_reads_device_bits_but_writes_software_bits(stepping):
    # SEIP from a device plus software's SSIP: csrrs must not latch the device's bit.
    m = machine(f"_start: li t0, 2; csrrs a0, mip, t0; csrr a1, mip\n{HALT}", stepping=stepping)
    m.hart.set_pending(C.SEIP, True)
    m.run_to_halt()
    assert m.hart.x[A0] == 1 << C.SEIP
    assert m.hart.x[A1] == (1 << C.SEIP) | (1 << C.SSIP)
    m.hart.set_pending(C.SEIP, False)
    assert m.hart.mip == 1 << C.SSIP


# --- satp -------------------------------------------------------------------------------


def test_satp_holds_mode_asid_and_ppn(stepping):
    h = run_m("li t0, 0x80400123; csrw satp, t0; csrr a0, satp", stepping=stepping)
    assert h.x[A0] == 0x8040_0123


# --- PMP configuration (3.7.1) -------------------------------------------------------------


def test_pmpcfg_locked_entry_ignores_writes(stepping):
    h = run_m("li t0, 0x99; csrw pmpcfg0, t0; li t0, 0x1f; csrw pmpcfg0, t0; csrr a0, pmpcfg0", stepping=stepping)
    assert h.x[A0] & 0xFF == 0x99  # L, NAPOT, R


def test_pmpcfg_lock_is_per_entry(stepping):
    h = run_m("li t0, 0x99; csrw pmpcfg0, t0; li t0, 0x0f0f00; csrs pmpcfg0, t0; csrr a0, pmpcfg0", stepping=stepping)
    assert h.x[A0] == 0x0F0F99


def test_pmpaddr_of_locked_entry_ignores_writes(stepping):
    h = run_m("li t0, 0x1234; csrw pmpaddr0, t0; li t0, 0x99; csrw pmpcfg0, t0; li t0, 0x5678; csrw pmpaddr0, t0; "
              "csrr a0, pmpaddr0", stepping=stepping)  # fmt: skip
    assert h.x[A0] == 0x1234


def test_pmpaddr_below_locked_tor_entry_ignores_writes(stepping):
    h = run_m("li t0, 0x1234; csrw pmpaddr0, t0; li t0, 0x8900; csrw pmpcfg0, t0; li t0, 0x5678; csrw pmpaddr0, t0; "
              "csrr a0, pmpaddr0", stepping=stepping)  # fmt: skip
    assert h.x[A0] == 0x1234


def test_pmpcfg_write_only_combination_is_not_kept(stepping):
    h = run_m("li t0, 0x1a; csrw pmpcfg0, t0; csrr a0, pmpcfg0", stepping=stepping)  # NAPOT, W without R
    assert h.x[A0] & 3 != 2


def test_pmpcfg_reserved_bits_read_zero(stepping):
    h = run_m("li t0, 0x7f; csrw pmpcfg0, t0; csrr a0, pmpcfg0", stepping=stepping)
    assert h.x[A0] == 0x1F


def test_reset_unlocks_pmp_entries(stepping):
    m = machine(f"_start: li t0, 0x99; csrw pmpcfg0, t0\n{HALT}", stepping=stepping)
    m.run_to_halt()
    m.hart.reset()
    assert m.hart.csr_read(C.PMPCFG0) == 0
