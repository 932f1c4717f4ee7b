"""PMP decisions cached per page, and the TLB fill's fast path (machine/cpu/mmu.py).

The hart remembers PMP's verdict for each (physical page, privilege) it has checked
and walks the common Sv32 case inline.  These tests change PMP after a decision was
cached — by CSR writes, a locked entry, a reset, a state load — and check the next
access obeys the new entries; that a page a region boundary divides is still checked
access by access; that page-table reads obey PMP; and that the fast path refuses
what the full walk refuses.  Each decision is also compared with one computed
straight from the spec (3.7.1), for many random entry sets on one hart.
"""

from __future__ import annotations

import random

import pytest

from machine.cpu import csrs as C
from machine.cpu.mmu import FETCH, LOAD, STORE

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT_HANDLER, PMP_ALL, RAM_BASE, enter, machine
from .sv32harness import PA_A, PA_B, ROOT, VA, A, D, R, U, V, W, X, build

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

DATA = RAM_BASE + 0x4_0000  # a page well past the code
CODE_TOP = RAM_BASE + 0x1_0000  # end of the region the tests open for code
TOR_RWX = 0x0F


def trap_then_continue(pmp: str, mode: str, first: str, change: str, second: str) -> str:
    """A program that sets `pmp`, runs `first` in `mode` up to an ECALL, lets M run
    `change` (new PMP entries), then runs `second` in `mode`; the next trap halts."""
    return f"""
_start:
        la   t0, trap
        csrw mtvec, t0
{pmp}
        li   s0, 0
{enter(mode, "body")}
body:
{first}
        ecall
second:
{second}
        ecall
        .align 2
trap:   bnez s0, trap_halt
        li   s0, 1
{change}
        la   t0, second
        csrw mepc, t0
        mret
{HALT_HANDLER}"""


def test_narrowed_entry_refuses_a_store_after_the_page_was_allowed(stepping):
    # Entry 0: code; entry 1: NAPOT 4 KiB at DATA, RW; then R only.
    pmp = f"""
        li   t0, {CODE_TOP >> 2:#x}; csrw pmpaddr0, t0
        li   t0, {(DATA >> 2) | 0x1FF:#x}; csrw pmpaddr1, t0
        li   t0, {0x1B00 | TOR_RWX:#x}; csrw pmpcfg0, t0"""
    change = f"li t0, {0x1900 | TOR_RWX:#x}; csrw pmpcfg0, t0"
    src = trap_then_continue(pmp, "U", f"li t1, {DATA:#x}; li t2, 7; sw t2, 0(t1)", change, "bad: sw t2, 8(t1)")
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.STORE_ACCESS_FAULT, m.sym("bad"), DATA + 8)
    assert m.word(DATA) == 7


def test_entry_locked_after_the_page_was_allowed_binds_m_mode(stepping):
    # M stores to DATA with no entry (allowed, and cached so), then locks a read-only
    # NAPOT entry over the page: the next store faults, the load still works.
    body = f"""
        li   t1, {DATA:#x}
        li   t2, 0x77
        sw   t2, 0(t1)
        li   t0, {(DATA >> 2) | 0x1FF:#x}
        csrw pmpaddr0, t0
        li   t0, 0x99           # L, NAPOT, R
        csrw pmpcfg0, t0
        lw   a0, 0(t1)
bad:    sw   t2, 4(t1)
"""
    m = machine(f"_start: la t0, trap_halt; csrw mtvec, t0\n{body}\n        ecall\n{HALT_HANDLER}", stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.STORE_ACCESS_FAULT, m.sym("bad"), DATA + 4)
    assert m.hart.x[10] == 0x77


@pytest.mark.parametrize("mode", ["S", "U"])
def test_tor_boundary_inside_a_page_is_checked_on_every_access(stepping, mode):
    # Entry 0: code; entry 2: TOR [DATA, DATA + 0x800), RW.  Stores below the boundary
    # work, again and again (the page may not be cached as if all of it were RW); the
    # first one past it faults.
    pmp = f"""
        li   t0, {CODE_TOP >> 2:#x}; csrw pmpaddr0, t0
        li   t0, {DATA >> 2:#x}; csrw pmpaddr1, t0
        li   t0, {(DATA + 0x800) >> 2:#x}; csrw pmpaddr2, t0
        li   t0, {0x0B0000 | TOR_RWX:#x}; csrw pmpcfg0, t0"""
    body = f"""
        li   t1, {DATA:#x}
        li   t2, 3
        sw   t2, 0(t1)
        sw   t2, 0x7FC(t1)
        lw   a0, 0(t1)
        sw   t2, 4(t1)
        addi t1, t1, 0x7FC
bad:    sw   t2, 4(t1)
"""
    src = f"_start: la t0, trap_halt; csrw mtvec, t0\n{pmp}\n{enter(mode, 'body')}\nbody:\n{body}\n{HALT_HANDLER}"
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.STORE_ACCESS_FAULT, m.sym("bad"), DATA + 0x800)
    assert (m.word(DATA), m.word(DATA + 4), m.word(DATA + 0x7FC), m.hart.x[10]) == (3, 3, 3, 3)


def test_reset_forgets_the_pmp_decisions_made_before_it(stepping):
    # With an entry over all memory S runs; after a reset there are no entries, so
    # the same S code cannot even be fetched.
    src = f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
        bnez s1, skip_pmp
{PMP_ALL}
skip_pmp:
{enter("S", "body")}
body:   li   t1, {DATA:#x}
        sw   zero, 0(t1)
        ecall
{HALT_HANDLER}"""
    m = machine(src, stepping=stepping)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    m.hart.reset(m.program.entry)
    m.hart.x[9] = 1  # s1: leave PMP as reset left it
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.INSN_ACCESS_FAULT, m.sym("body"), m.sym("body"))


def test_state_load_brings_back_the_saved_pmp(stepping):
    # S runs under an entry over all memory; a saved state with no entries is loaded:
    # S can no longer fetch its code.
    m = machine(f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
{PMP_ALL}
{enter("S", "body")}
body:   li   t1, {DATA:#x}
        sw   zero, 0(t1)
        ecall
{HALT_HANDLER}""", stepping=stepping)  # fmt: skip
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    state = m.hart.save_state()
    state.update(pmpcfg=[0] * 4, pmpaddr=[0] * 16, priv=C.S, pc=m.sym("body"), halted=None)
    m.hart.load_state(state)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.INSN_ACCESS_FAULT, m.sym("body"), m.sym("body"))


# --- page-table reads -------------------------------------------------------------------
# sv32harness: the root at ROOT, the first second-level table at ROOT + 0x1000 (VA's).

L0_TABLE = ROOT + 0x1000


def test_page_table_page_closed_by_pmp_faults_the_next_walk(stepping):
    # S loads through VA; M then closes the second-level table's page to S (entry 1
    # covers it with no permission, entries 0 and 2 open the rest) and fences: the
    # walk's read of that table is an access fault, though the leaf and the page are fine.
    close = f"""
        li   t0, {L0_TABLE >> 2:#x}; csrw pmpaddr0, t0
        li   t0, {(L0_TABLE + 0x1000) >> 2:#x}; csrw pmpaddr1, t0
        li   t0, -1; csrw pmpaddr2, t0
        li   t0, 0x1F080F; csrw pmpcfg0, t0     # 0: TOR RWX, 1: TOR nothing, 2: NAPOT RWX
        sfence.vma"""
    extra = f"""
        .align 2
trap:   bnez s0, trap_halt
        li   s0, 1
{close}
        la   t0, second
        csrw mepc, t0
        mret
second: lw   a1, 0(t1)
        ecall"""
    m, pt = build("S", f"li t1, {VA:#x}; lw a0, 0(t1); ecall", stepping=stepping, extra=extra,
                  setup="la t0, trap; csrw mtvec, t0; li s0, 0")  # fmt: skip
    pt.map_page(VA, PA_A, V | R | A)
    m.run_to_halt()
    assert m.hart.x[10] == 0xAAAA_0001
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.LOAD_ACCESS_FAULT, m.sym("second"), VA)


def test_page_table_page_split_by_pmp_is_checked_entry_by_entry(stepping):
    # Entry 1 lets S read the first half of the second-level table's page (TOR
    # [L0_TABLE, +0x800), R), entry 2 nothing of the second half, entry 3 everything
    # else.  VA's PTE sits in the first half, VA + 0x20_0000's in the second.
    pmp = f"""
        li   t0, {L0_TABLE >> 2:#x}; csrw pmpaddr0, t0
        li   t0, {(L0_TABLE + 0x800) >> 2:#x}; csrw pmpaddr1, t0
        li   t0, {(L0_TABLE + 0x1000) >> 2:#x}; csrw pmpaddr2, t0
        li   t0, -1; csrw pmpaddr3, t0
        li   t0, {0x1F080900:#x}; csrw pmpcfg0, t0    # 0: OFF, 1: TOR R, 2: TOR none, 3: NAPOT RWX"""
    far = VA + 0x20_0000
    body = f"li t1, {VA:#x}; lw a0, 0(t1); lw a0, 4(t1); li t1, {far:#x}; bad: lw a1, 0(t1)"
    m, pt = build("S", body, stepping=stepping, setup=pmp)
    pt.map_page(VA, PA_A, V | R | A)
    pt.map_page(far, PA_A, V | R | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.LOAD_ACCESS_FAULT, m.sym("bad"), far)


# --- the fill's fast path refuses what the walk refuses --------------------------------------


def test_fetch_from_a_writable_page_without_read_is_a_page_fault(stepping):
    # W without R is reserved even with X and A/D all set (4.3.1).  A load through
    # the next page first, so the walk to VA finds everything else it needs decided.
    m, pt = build("S", f"li t1, {VA + 0x1000:#x}; lw a0, 0(t1); li t1, {VA:#x}; jalr t1", stepping=stepping)
    pt.map_page(VA, PA_A, V | W | X | A | D)
    pt.map_page(VA + 0x1000, PA_B, V | R | A)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mtval) == (C.INSN_PAGE_FAULT, VA)


@pytest.mark.parametrize("mode", ["S", "U"])
def test_page_of_the_other_mode_faults_after_a_page_of_its_own_filled(stepping, mode):
    # U may not touch an S page, nor S a U page without SUM (4.3.2 step 5), also
    # when the walk to it is warm.
    own, other = (U, 0) if mode == "U" else (0, U)
    body = f"li t1, {VA + 0x1000:#x}; lw a0, 0(t1); li t1, {VA:#x}; bad: lw a0, 0(t1)"
    m, pt = build(mode, body, stepping=stepping)
    pt.map_page(VA, PA_A, V | R | A | other)
    pt.map_page(VA + 0x1000, PA_B, V | R | A | own)
    m.run_to_halt()
    assert (m.hart.mcause, m.hart.mepc, m.hart.mtval) == (C.LOAD_PAGE_FAULT, m.sym("bad"), VA)


def test_store_to_a_clean_page_sets_dirty_after_loads_filled_it(stepping):
    # A load fills with A set and D clear; the store's fill must set D in memory.
    m, pt = build("S", f"li t1, {VA:#x}; lw a0, 0(t1); lw a0, 0(t1); sw a0, 4(t1)", stepping=stepping)
    leaf = pt.map_page(VA, PA_A, V | R | W | A)
    m.run_to_halt()
    assert m.hart.mcause == C.ECALL_FROM_S
    assert m.word(leaf) & (A | D) == A | D


# --- the cached decisions against the spec ---------------------------------------------------


def _spec_ranges(cfgs: list[int], addrs: list[int]) -> list[tuple[int, int, int]]:
    """The bytes [lo, hi) each active entry matches, in entry order, with its cfg (3.7.1)."""
    ranges = []
    for i, cfg in enumerate(cfgs):
        mode = (cfg >> 3) & 3
        if mode == 1:  # TOR: from the previous entry's address (0 for entry 0)
            lo, hi = (addrs[i - 1] if i else 0) << 2, addrs[i] << 2
        elif mode == 2:  # NA4
            lo, hi = addrs[i] << 2, (addrs[i] << 2) + 4
        elif mode == 3:  # NAPOT: trailing ones give the size, 8 bytes and up
            ones = 0
            while addrs[i] >> ones & 1:
                ones += 1
            lo = (addrs[i] & ~((1 << ones) - 1)) << 2
            hi = lo + (8 << ones)
        else:
            continue
        ranges.append((lo, hi, cfg))
    return ranges


def _spec_allows(ranges: list[tuple[int, int, int]], pa: int, size: int, access: int, priv: int) -> bool:
    """PMP's verdict on bytes [pa, pa + size): the lowest-numbered entry matching any
    of them decides; it must match all of them; it binds M-mode only when locked;
    with none matching, M may and S and U may not."""
    need = (4, 1, 2)[access]
    for lo, hi, cfg in ranges:
        inside = [lo <= b < hi for b in range(pa, pa + size)]
        if not any(inside):
            continue
        if not all(inside):
            return False
        if priv == 3 and not cfg & 0x80:
            return True
        return bool(cfg & need)
    return priv == 3


def _spec_allows_page(ranges: list[tuple[int, int, int]], page: int, access: int, priv: int) -> bool:
    """Whether every aligned word of the page is allowed: the verdict changes only at
    an entry's edge (all 4-byte aligned), so the words beside the edges decide."""
    words = {page, page + 0xFFC}
    for lo, hi, _ in ranges:
        words.update(b for b in (lo - 4, lo, hi - 4, hi) if page <= b < page + 0x1000)
    return all(_spec_allows(ranges, w, 4, access, priv) for w in words)


def test_cached_decisions_match_the_spec_as_entries_change(stepping):
    # One hart, many random entry sets (TOR boundaries inside pages, NA4, small and
    # page-sized NAPOT, locked entries), each decided for many accesses — the same
    # pages again and again, so a decision cached under the old entries would show —
    # with resets in between (a locked entry stays until one).
    rng = random.Random(15)
    m = machine("_start: nop", stepping=stepping)
    h = m.hart
    pages = [DATA + 0x1000 * k for k in range(4)]
    for round_ in range(80):
        if round_ % 8 == 0:
            h.reset()
        for _ in range(rng.randrange(1, 4)):  # change a few entries at a time
            i = rng.randrange(8)
            kind = rng.randrange(4)
            page = rng.choice(pages)
            if kind == 0:  # TOR: an address inside or at the edge of a page
                addr = (page + rng.choice([0, 4, 0x800, 0xFFC, 0x1000])) >> 2
            elif kind == 1:  # NA4
                addr = (page + rng.randrange(0, 0x1000, 4)) >> 2
            elif kind == 2:  # NAPOT: 8 bytes .. 16 KiB
                ones = rng.randrange(0, 12)
                addr = (page >> 2) | ((1 << ones) - 1)
            else:
                addr = rng.choice([0, 0xFFFF_FFFF, page >> 2])
            cfg = rng.choice([0, 0, 0x80]) | rng.randrange(4) << 3 | rng.randrange(8)
            h.csr_write(C.PMPADDR0 + i, addr)
            old = h.pmpcfg[i // 4]
            h.csr_write(C.PMPCFG0 + i // 4, (old & ~(0xFF << 8 * (i % 4))) | cfg << 8 * (i % 4))
        cfgs = [(h.pmpcfg[i // 4] >> 8 * (i % 4)) & 0xFF for i in range(16)]
        ranges = _spec_ranges(cfgs, h.pmpaddr)
        for _ in range(150):
            size = rng.choice([1, 2, 4])
            pa = rng.choice(pages) + rng.randrange(0, 0x1000, size)
            access = rng.choice([FETCH, LOAD, STORE])
            priv = rng.choice([C.U, C.S, C.M])
            want = _spec_allows(ranges, pa, size, access, priv)
            assert h._pmp_allows(pa, size, access, priv) == want, (round_, hex(pa), size, access, priv)
            if h._pmp_uniform(pa & ~0xFFF, access, priv):  # may be cached whole: all of it allowed
                assert _spec_allows_page(ranges, pa & ~0xFFF, access, priv), (round_, hex(pa), access, priv)
