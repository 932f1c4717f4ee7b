"""Sv32 state that changes under the hart: A and D bits, SFENCE.VMA and satp writes,
and MPRV (privileged spec 1.12, 3.1.6.3, 4.2.1, 4.3.1-4.3.2).
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C

from .privharness import (
    ENGINE_IDS, ENGINE_MODES, RAM_BASE,
    PageTables,
)  # fmt: skip

from .sv32harness import PA_A, PA_B, ROOT, SATP, VA, A, D, R, U, V, W, X, build  # noqa: F401

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

ROOT2 = RAM_BASE + 0x2_0000
CODE = V | R | W | X | A | D
LEAF = ROOT + 0x1000  # VA's leaf PTE: first entry of the first second-level table




# --- A and D ----------------------------------------------------------------------------------


def test_load_sets_accessed_but_not_dirty(stepping):
    m, pt = build("S", f"li t1, {VA:#x}; lw a0, 0(t1)", stepping=stepping)
    leaf = pt.map_page(VA, PA_A, V | R | W)
    m.run_to_halt()
    assert m.hart.x[10] == 0xAAAA_0001
    assert m.word(leaf) & (A | D) == A


def test_store_sets_accessed_and_dirty(stepping):
    m, pt = build("S", f"li t1, {VA:#x}; sw zero, 0(t1)", stepping=stepping)
    leaf = pt.map_page(VA, PA_A, V | R | W)
    m.run_to_halt()
    assert m.word(leaf) & (A | D) == A | D


def test_store_after_load_sets_dirty(stepping):
    body = f"li t1, {VA:#x}; lw a0, 0(t1); lw a0, 4(t1); sw zero, 8(t1); lw a0, 12(t1)"
    m, pt = build("S", body, stepping=stepping)
    leaf = pt.map_page(VA, PA_A, V | R | W)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert m.word(leaf) & (A | D) == A | D


def test_fetch_sets_accessed(stepping):
    m, pt = build("S", f"li t1, {VA:#x}; jalr t1", stepping=stepping)
    m.poke(PA_A, 0x0000_0073)  # ecall
    leaf = pt.map_page(VA, PA_A, V | X)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc) == (C.ECALL_FROM_S, VA)
    assert m.word(leaf) & (A | D) == A


def test_superpage_store_sets_accessed_and_dirty_in_the_level_one_pte(stepping):
    m, pt = build("S", f"li t1, {VA + 0x4_0000:#x}; sw zero, 0(t1)", stepping=stepping)
    leaf = pt.map_superpage(VA, RAM_BASE, V | R | W)
    m.run_to_halt()
    assert m.word(leaf) & (A | D) == A | D
    assert m.word(PA_A) == 0


def test_faulting_access_leaves_accessed_clear(stepping):
    m, pt = build("S", f"li t1, {VA:#x}; sw zero, 0(t1)", stepping=stepping)
    leaf = pt.map_page(VA, PA_A, V | R)
    m.run_to_halt()
    assert m.hart.mcause == C.STORE_PAGE_FAULT
    assert m.word(leaf) & (A | D) == 0


def test_accessed_bit_is_set_again_after_software_clears_it(stepping):
    # S clears A in the PTE (through the identity map), fences, and loads again.
    body = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        li   t2, {LEAF:#x}
        lw   t3, 0(t2)
        andi t3, t3, {~A}            # sign-extended: every bit but A
        sw   t3, 0(t2)
        sfence.vma
        lw   a0, 0(t1)
        lw   a1, 0(t2)
"""
    m, pt = build("S", body, stepping=stepping)
    assert pt.map_page(VA, PA_A, V | R | W) == LEAF
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert m.hart.x[11] & A


# --- SFENCE.VMA and satp ------------------------------------------------------------------------


def remap_body(leaf: int, new_pte: int, fence: str) -> str:
    return f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)          # old mapping, now cached
        li   t2, {leaf:#x}
        li   t3, {new_pte:#x}
        sw   t3, 0(t2)
        {fence}
        lw   a1, 0(t1)
"""


@pytest.mark.parametrize(
    "fence",
    ["sfence.vma", "sfence.vma t1", "sfence.vma zero, zero", "sfence.vma t1, zero",
     # rs2 names a register: a fence for the address space whose ASID it holds (satp's, 0)
     "li t4, 0; sfence.vma zero, t4", "li t4, 0; sfence.vma t1, t4"],
)  # fmt: skip
def test_sfence_vma_makes_a_changed_pte_take_effect(stepping, fence):
    m, pt = build("S", remap_body(LEAF, ((PA_B >> 12) << 10) | V | R | A, fence), stepping=stepping)
    assert pt.map_page(VA, PA_A, V | R | A) == LEAF
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert (m.hart.x[10], m.hart.x[11]) == (0xAAAA_0001, 0xBBBB_0002)


def test_sfence_vma_of_one_page_keeps_the_other_pages(stepping):
    """A fence naming VA drops VA's translation and none other: the page beside it,
    cached before, is still used (stale, as the spec allows without its own fence)."""
    body = f"""
        li   t1, {VA:#x}
        li   t4, {VA + 4096:#x}
        lw   a0, 0(t1)
        lw   a1, 0(t4)          # the next page, now cached
        li   t2, {LEAF:#x}
        li   t3, {((PA_B >> 12) << 10) | V | R | A:#x}
        sw   t3, 0(t2)          # VA -> PA_B
        sw   t3, 4(t2)          # VA + 4096 -> PA_B too: not fenced
        sfence.vma t1
        lw   a2, 0(t1)
"""
    m, pt = build("S", body, stepping=stepping)
    assert pt.map_page(VA, PA_A, V | R | A) == LEAF
    pt.map_page(VA + 4096, PA_A, V | R | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert m.hart.x[10:13] == [0xAAAA_0001, 0xAAAA_0001, 0xBBBB_0002]
    assert (VA + 4096) >> 12 in m.hart.rtlb[C.S]  # kept: the fence named another page


def test_sfence_vma_of_one_address_in_a_megapage_drops_the_whole_megapage(stepping):
    """Every 4 KiB translation cached from a megapage came from its one leaf PTE, so a
    fence naming any address in it drops them all: after the megapage becomes a
    pointer to a page table, a page the fence did not name reads the new mapping."""
    mega = 0x4040_0000
    body = f"""
        li   t1, {mega + (PA_A - RAM_BASE):#x}
        li   t4, {mega + (PA_B - RAM_BASE):#x}
        lw   a0, 0(t1)          # through the megapage: PA_A
        lw   a1, 0(t4)          # and PA_B, both cached from one leaf
        li   t2, {ROOT + (mega >> 22 << 2):#x}   # the megapage's PTE in the root table
        li   t3, {((ROOT2 + 0x1000) >> 12 << 10) | V:#x}
        sw   t3, 0(t2)          # now a pointer: a table mapping both pages to PA_A
        sfence.vma t1           # names the first page only
        lw   a2, 0(t1)
        lw   a3, 0(t4)
"""
    m, pt = build("S", body, stepping=stepping)
    pt.map_superpage(mega, RAM_BASE, V | R | A)
    other = PageTables(m, ROOT2)  # only its second-level table is used
    other.map_page(mega + (PA_A - RAM_BASE), PA_A, V | R | A)
    other.map_page(mega + (PA_B - RAM_BASE), PA_A, V | R | A)
    assert other.m.word(other.l1_addr(mega)) == ((ROOT2 + 0x1000) >> 12 << 10) | V
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert m.hart.x[10:14] == [0xAAAA_0001, 0xBBBB_0002, 0xAAAA_0001, 0xAAAA_0001]


def test_sfence_vma_makes_an_invalidated_pte_fault(stepping):
    m, pt = build("S", remap_body(LEAF, 0, "sfence.vma"), stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.LOAD_PAGE_FAULT, VA)
    assert m.hart.x[10] == 0xAAAA_0001


def test_sfence_vma_makes_a_revoked_write_fault(stepping):
    body = f"""
        li   t1, {VA:#x}
        sw   zero, 0(t1)
        li   t2, {LEAF:#x}
        li   t3, {((PA_A >> 12) << 10) | V | R | A | D:#x}
        sw   t3, 0(t2)
        sfence.vma
bad:    sw   zero, 4(t1)
"""
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | W | A | D)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval, m.hart.mepc) == (C.STORE_PAGE_FAULT, VA + 4, m.sym("bad"))


def test_sfence_vma_makes_a_remapped_code_page_run_the_new_code(stepping):
    body = f"""
        li   t1, {VA:#x}
        jalr t1                 # runs "li a0, 1; ret"
        li   t2, {LEAF:#x}
        li   t3, {((PA_B >> 12) << 10) | V | X | A:#x}
        sw   t3, 0(t2)
        sfence.vma
        mv   s2, a0
        li   t1, {VA:#x}
        jalr t1                 # now runs "li a0, 2; ret"
"""
    m, pt = build("S", body, stepping=stepping)
    for pa, value in ((PA_A, 1), (PA_B, 2)):
        m.poke(pa, 0x0000_0513 | (value << 20))  # li a0, value
        m.poke(pa + 4, 0x0000_8067)  # ret
    pt.map_page(VA, PA_A, V | X | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert (m.hart.x[18], m.hart.x[10]) == (1, 2)


def test_satp_switch_to_a_new_address_space_uses_its_tables(stepping):
    satp2 = (1 << 31) | (1 << 22) | (ROOT2 >> 12)  # ASID 1, never used before
    body = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        li   t0, {satp2:#x}
        csrw satp, t0
        lw   a1, 0(t1)
"""
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A)
    pt2 = PageTables(m, ROOT2)
    pt2.identity_ram(CODE)
    pt2.map_page(VA, PA_B, V | R | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert (m.hart.x[10], m.hart.x[11]) == (0xAAAA_0001, 0xBBBB_0002)


def test_satp_mode_bare_turns_translation_off(stepping):
    body = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        csrw satp, zero
        li   t1, {PA_B:#x}
        lw   a1, 0(t1)
"""
    m, pt = build("S", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A)
    m.run_to_halt()
    assert (m.hart.x[10], m.hart.x[11]) == (0xAAAA_0001, 0xBBBB_0002)


# --- M-mode and MPRV (3.1.6.3) ------------------------------------------------------------------


def test_m_mode_ignores_satp(stepping):
    m, pt = build("M", f"li t1, {PA_A:#x}; lw a0, 0(t1)", stepping=stepping)
    pt.map_page(PA_A, PA_B, V | R | A)  # would redirect PA_A if M translated
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M and m.hart.x[10] == 0xAAAA_0001


MPRV_S = f"li t0, {C.MSTATUS_MPRV | (1 << C.MSTATUS_MPP_SHIFT)}; csrs mstatus, t0"


def test_mprv_with_mpp_s_translates_m_mode_loads_and_stores(stepping):
    body = f"""
        li   t0, 0x1800
        csrc mstatus, t0
        {MPRV_S}
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        li   t2, 0x6363
        sw   t2, 4(t1)
        li   t0, {C.MSTATUS_MPRV}
        csrc mstatus, t0
"""
    m, pt = build("M", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | W | A | D)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M
    assert m.hart.x[10] == 0xAAAA_0001
    assert m.word(PA_A + 4) == 0x6363


def test_mprv_does_not_translate_m_mode_fetch(stepping):
    # The code megapage is not mapped at all: fetch must stay physical.
    body = f"""
        li   t0, 0x1800
        csrc mstatus, t0
        {MPRV_S}
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        li   t0, {C.MSTATUS_MPRV}
        csrc mstatus, t0
"""
    m, pt = build("M", body, stepping=stepping)
    pt.set_l1(RAM_BASE, 0)
    pt.map_page(VA, PA_A, V | R | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_M and m.hart.x[10] == 0xAAAA_0001


def test_mprv_with_mpp_s_obeys_sum(stepping):
    body = f"""
        li   t0, 0x1800
        csrc mstatus, t0
        {MPRV_S}
        li   t1, {VA:#x}
bad:    lw   a0, 0(t1)
"""
    m, pt = build("M", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | U | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval, m.hart.mepc) == (C.LOAD_PAGE_FAULT, VA, m.sym("bad"))


def test_mprv_with_mpp_u_cannot_touch_supervisor_pages(stepping):
    body = f"""
        li   t0, 0x1800
        csrc mstatus, t0
        li   t0, {C.MSTATUS_MPRV}
        csrs mstatus, t0
        li   t1, {VA:#x}
bad:    lw   a0, 0(t1)
"""
    m, pt = build("M", body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.LOAD_PAGE_FAULT, VA)


def test_mprv_with_mpp_m_does_not_translate(stepping):
    body = f"""
        li   t0, {C.MSTATUS_MPRV | C.MSTATUS_MPP}
        csrs mstatus, t0
        li   t1, {PA_A:#x}
        lw   a0, 0(t1)
"""
    m, pt = build("M", body, stepping=stepping)
    pt.map_page(PA_A, PA_B, V | R | A)
    m.run_to_halt()
    assert m.hart.x[10] == 0xAAAA_0001


def test_clearing_mprv_stops_translating_m_mode_loads(stepping):
    body = f"""
        li   t0, 0x1800
        csrc mstatus, t0
        {MPRV_S}
        li   t1, {PA_A:#x}
        lw   a0, 0(t1)          # translated: PA_A is mapped to PA_B
        li   t0, {C.MSTATUS_MPRV}
        csrc mstatus, t0
        lw   a1, 0(t1)          # physical
"""
    m, pt = build("M", body, stepping=stepping)
    pt.set_l1(RAM_BASE, 0)
    pt.map_page(PA_A, PA_B, V | R | A)
    m.run_to_halt()
    assert (m.hart.x[10], m.hart.x[11]) == (0xBBBB_0002, 0xAAAA_0001)
