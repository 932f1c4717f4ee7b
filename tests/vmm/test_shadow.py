"""Shadow paging: the guest's page tables behave under the VMM as the hardware's do.

Every program runs on the bare board too (`side_by_side`), so registers, CSRs and all
of RAM — the guest's PTEs with the A and D bits the walker wrote — must come out the
same; the tests then check the spec's values and the shadows themselves.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C

from .vmmharness import (
    HALT,
    PMP_ALL,
    PTE_A,
    PTE_D,
    PTE_R,
    PTE_U,
    PTE_V,
    PTE_W,
    PTE_X,
    Sv32,
    enter,
    program,
    side_by_side,
)  # fmt: skip

RAM = 0x8000_0000
ROOT = RAM + 0x1_0000
ROOT2 = RAM + 0x3_0000
PA = [RAM + 0x4_0000 + 0x1000 * i for i in range(8)]  # data pages, first word 0xDA7A_000i
VA = 0x4000_0000
KERNEL = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
RW = PTE_V | PTE_R | PTE_W


def paged(mode: str, body: str, *, setup: str = "", tail: str = "", root: int = ROOT) -> tuple[str, Sv32]:
    """`body` in `mode` ("S"/"U") with translation on; RAM's megapage maps to itself
    for the kernel (no U), and the first megapage (the finisher) too.  Traps go to
    m_trap, which halts."""
    pt = Sv32(root)
    pt.map_mega(RAM, RAM, KERNEL)
    pt.map_mega(0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    src = f"""
_start: la   t0, m_trap
        csrw mtvec, t0
{PMP_ALL}
        li   t0, {pt.satp:#x}
        csrw satp, t0
        sfence.vma
{setup}
{enter(mode, "body")}
body:
{body}
        ecall
        .align 2
m_trap:
{HALT}
{tail}
"""
    return src, pt


def pokes(pt: Sv32, *more: Sv32) -> dict[int, int]:
    words = {pa: 0xDA7A_0000 + i for i, pa in enumerate(PA)}
    words.update(pt.words)
    for other in more:
        words.update(other.words)
    return words


def pte(g, addr: int) -> int:
    return g.window.read_u32(addr)


# --- A and D -------------------------------------------------------------------------------------


def test_accessed_and_dirty_bits_are_set_exactly_as_the_hardware_sets_them():
    body = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)              # page 0: read
        li   t1, {VA + 0x1000:#x}
        sw   zero, 4(t1)            # page 1: written
        li   t1, {VA + 0x2000:#x}
        jalr t1                     # page 2: executed (a ret)
        li   t1, {VA + 0x4000:#x}
        lw   a1, 0(t1)              # page 4: read, then written
        sw   a1, 8(t1)
"""
    src, pt = paged("S", body)
    leaves = [pt.map_page(VA + 0x1000 * i, PA[i], RW | (PTE_X if i == 2 else 0)) for i in range(5)]
    words = pokes(pt)
    words[PA[2]] = 0x0000_8067  # ret
    _board, g = side_by_side(src, pokes=words)
    a, d = PTE_A, PTE_D
    assert [pte(g, leaf) & (a | d) for leaf in leaves] == [a, a | d, a, 0, a | d]
    seen = {va: (gpa, bits) for va, gpa, bits in g.guest_mappings()}
    assert seen[VA + 0x1000] == (PA[1], RW | a | d) and seen[VA + 0x3000] == (PA[3], RW)
    assert g.vcpu.x[10] == 0xDA7A_0000 and g.vcpu.mcause == C.ECALL_FROM_S


def test_dirty_is_set_by_the_first_store_to_a_page_already_read():
    # The guest looks at its own PTE between the load and the store.
    src, pt = paged("S", "")
    leaf = pt.map_page(VA, PA[0], RW)
    body = f"""
        li   t1, {VA:#x}
        li   t2, {leaf:#x}
        lw   a0, 0(t1)
        lw   a1, 0(t2)              # A, not D
        sw   a0, 4(t1)
        lw   a2, 0(t2)              # A and D
"""
    src, pt2 = paged("S", body)
    pt2.words.update(pt.words)
    _board, g = side_by_side(src, pokes=pokes(pt2))
    x = g.vcpu.x
    assert (x[11] & (PTE_A | PTE_D), x[12] & (PTE_A | PTE_D)) == (PTE_A, PTE_A | PTE_D)


def test_accessed_is_set_again_after_the_guest_clears_it_and_fences():
    src, pt = paged("S", "")
    leaf = pt.map_page(VA, PA[0], RW | PTE_A | PTE_D)
    body = f"""
        li   t1, {VA:#x}
        li   t2, {leaf:#x}
        sw   zero, 0(t1)            # mapped writable in the shadow now
        li   t3, {((PA[0] >> 12) << 10) | RW:#x}
        sw   t3, 0(t2)              # clear A and D
        sfence.vma
        lw   a0, 0(t1)
        lw   a1, 0(t2)              # A again, D still clear
        sw   a0, 0(t1)
        lw   a2, 0(t2)              # and D
"""
    src, pt2 = paged("S", body)
    pt2.words.update(pt.words)
    _board, g = side_by_side(src, pokes=pokes(pt2))
    x = g.vcpu.x
    assert (x[11] & (PTE_A | PTE_D), x[12] & (PTE_A | PTE_D)) == (PTE_A, PTE_A | PTE_D)


def test_a_faulting_access_sets_no_bits_and_the_shadow_grants_nothing_the_pte_does_not():
    body = f"li t1, {VA:#x}; lw a0, 0(t1); sw a0, 0(t1)"
    src, pt = paged("S", body)
    leaf = pt.map_page(VA, PA[0], PTE_V | PTE_R | PTE_A)  # read-only
    _board, g = side_by_side(src, pokes=pokes(pt))
    assert (g.vcpu.mcause, g.vcpu.mtval) == (C.STORE_PAGE_FAULT, VA)
    assert pte(g, leaf) & PTE_D == 0
    for key, table in g.shadows.items():
        if key[0] == "s":
            for va, hpa, perms in table.mappings():
                if va == VA:
                    assert perms == PTE_R and hpa == g.window.host_base + (PA[0] - RAM)


# --- SUM and MXR ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sum_", [False, True], ids=["sum-clear", "sum-set"])
def test_supervisor_load_from_a_user_page_faults_unless_sum(sum_):
    setup = f"li t0, {C.MSTATUS_SUM:#x}; csrs mstatus, t0" if sum_ else ""
    src, pt = paged("S", f"li t1, {VA:#x}; bad: lw a0, 0(t1)", setup=setup)
    pt.map_page(VA, PA[0], RW | PTE_U | PTE_A | PTE_D)
    _board, g = side_by_side(src, pokes=pokes(pt))
    if sum_:
        assert (g.vcpu.x[10], g.vcpu.mcause) == (0xDA7A_0000, C.ECALL_FROM_S)
    else:
        assert (g.vcpu.mcause, g.vcpu.mtval, g.vcpu.mepc) == (C.LOAD_PAGE_FAULT, VA, g.symbols["bad"])


def test_supervisor_never_executes_a_user_page_even_with_sum():
    src, pt = paged("S", f"li t1, {VA:#x}; jalr t1", setup=f"li t0, {C.MSTATUS_SUM:#x}; csrs mstatus, t0")
    pt.map_page(VA, PA[0], RW | PTE_X | PTE_U | PTE_A | PTE_D)
    words = pokes(pt)
    words[PA[0]] = 0x0000_8067
    _board, g = side_by_side(src, pokes=words)
    assert (g.vcpu.mcause, g.vcpu.mtval) == (C.INSN_PAGE_FAULT, VA)


def test_clearing_sum_takes_away_a_user_page_the_kernel_was_just_reading():
    body = f"""
        li   t1, {VA:#x}
        li   t0, {C.MSTATUS_SUM:#x}
        csrs sstatus, t0
        lw   a0, 0(t1)              # allowed
        csrc sstatus, t0
bad:    lw   a1, 0(t1)              # not any more
"""
    src, pt = paged("S", body)
    pt.map_page(VA, PA[0], RW | PTE_U | PTE_A | PTE_D)
    _board, g = side_by_side(src, pokes=pokes(pt))
    assert g.vcpu.x[10] == 0xDA7A_0000 and g.vcpu.x[11] == 0
    assert (g.vcpu.mcause, g.vcpu.mepc) == (C.LOAD_PAGE_FAULT, g.symbols["bad"])


@pytest.mark.parametrize("mode", ["S", "U"])
@pytest.mark.parametrize("mxr", [False, True], ids=["mxr-clear", "mxr-set"])
def test_load_from_an_execute_only_page_needs_mxr(mode, mxr):
    setup = f"li t0, {C.MSTATUS_MXR:#x}; csrs mstatus, t0" if mxr else ""
    src, pt = paged(mode, f"li t1, {VA:#x}; bad: lw a0, 0(t1)", setup=setup)
    if mode == "U":  # user code runs from a user page mapping the same code
        pt.map_mega(RAM, RAM, KERNEL | PTE_U)
    pt.map_page(VA, PA[0], PTE_V | PTE_X | PTE_A | (PTE_U if mode == "U" else 0))
    _board, g = side_by_side(src, pokes=pokes(pt))
    if mxr:
        assert g.vcpu.x[10] == 0xDA7A_0000
    else:
        assert (g.vcpu.mcause, g.vcpu.mtval) == (C.LOAD_PAGE_FAULT, VA)


def test_setting_mxr_later_makes_an_execute_only_page_readable():
    body = f"""
        li   t1, {VA:#x}
        la   t2, after
        csrw stvec, t2
bad:    lw   a0, 0(t1)              # faults to stvec (delegated)
        .align 2
after:  li   t0, {C.MSTATUS_MXR:#x}
        csrs sstatus, t0
        lw   a1, 0(t1)
"""
    src, pt = paged("S", body, setup="li t0, 0x2000; csrw medeleg, t0")
    pt.map_page(VA, PA[0], PTE_V | PTE_X | PTE_A)
    _board, g = side_by_side(src, pokes=pokes(pt))
    assert (g.vcpu.scause, g.vcpu.stval) == (C.LOAD_PAGE_FAULT, VA)
    assert g.vcpu.x[11] == 0xDA7A_0000


# --- separate views for the guest's S and U modes -------------------------------------------------

USER_VA = 0x5000_0000


def test_user_code_cannot_read_a_kernel_page_the_kernel_has_just_read():
    body = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)              # the kernel reads its page
        li   t0, {USER_VA:#x}
        csrw sepc, t0
        li   t0, 0x100
        csrc sstatus, t0            # SPP = U
        sret
"""
    user = f"""
        .align 12
user:   li   t1, {VA:#x}
bad:    lw   a1, 0(t1)              # the user tries the same page
        ecall
"""
    src, pt = paged("S", body, tail=user)
    pt.map_page(VA, PA[0], RW | PTE_A | PTE_D)  # kernel only
    # The user's code page, mapped with U at USER_VA (the same physical page as `user`).
    user_pa = program(src).symbols["user"]
    pt.map_page(USER_VA, user_pa, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)
    _board, g = side_by_side(src, pokes=pokes(pt))
    v = g.vcpu
    assert v.x[10] == 0xDA7A_0000 and v.x[11] == 0
    assert (v.mcause, v.mtval, v.mepc) == (C.LOAD_PAGE_FAULT, VA, USER_VA + 4)
    assert v.mstatus & C.MSTATUS_MPP == 0  # it came from U
    s_keys = [k for k in g.shadows if k[0] == "s"]
    u_keys = [k for k in g.shadows if k[0] == "u"]
    assert s_keys and u_keys and not set(s_keys) & set(u_keys)
    assert any(g.shadows[k].lookup(VA) is not None for k in s_keys)
    assert all(g.shadows[k].lookup(VA) is None for k in u_keys)
    assert all(g.shadows[k].lookup(USER_VA) is not None for k in u_keys)


# --- flushes on SFENCE.VMA and satp writes ---------------------------------------------------------


def _flushes(body: str, pt_extra: Sv32 | None = None) -> tuple[int, object]:
    src, pt = paged("S", body)
    pt.map_page(VA, PA[0], RW | PTE_A | PTE_D)
    words = pokes(pt, *(p for p in (pt_extra,) if p is not None))
    _board, g = side_by_side(src, pokes=words)
    return g.flushes, g


def _other_space() -> Sv32:
    other = Sv32(ROOT2)
    other.map_mega(RAM, RAM, KERNEL)
    other.map_mega(0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
    other.map_page(VA, PA[1], RW | PTE_A | PTE_D)
    return other


def test_a_whole_sfence_vma_flushes_the_shadows_and_a_satp_write_keeps_them():
    """A whole SFENCE.VMA drops the shadows; one naming an address drops only that page
    (test_sfence_vma_naming_one_page_... below).  A satp write is no fence: each
    address space's shadow stays, so switching back to a process costs no refill."""
    base, _ = _flushes(f"li t1, {VA:#x}; lw a0, 0(t1)")
    fenced, g = _flushes(f"li t1, {VA:#x}; lw a0, 0(t1); sfence.vma; lw a0, 0(t1); sfence.vma t1")
    assert fenced == base + 1 and g.page_flushes == 1
    other = _other_space()
    there = f"""
        li   t1, {VA:#x}
        lw   a0, 0(t1)
        li   t0, {other.satp:#x}
        csrw satp, t0              # another address space: VA is PA[1] there
        lw   a1, 0(t1)"""
    back = f"""
        li   t0, {Sv32(ROOT).satp:#x}
        csrw satp, t0
        lw   a2, 0(t1)"""
    switched, g = _flushes(there + back, other)
    assert switched == base
    assert g.vcpu.x[10:13] == [0xDA7A_0000, 0xDA7A_0001, 0xDA7A_0000]
    assert {key[1] for key in g.shadows if key[0] == "s"} == {Sv32(ROOT).satp, other.satp}
    _, one_way = _flushes(there + "\nli t0, 0", other)
    assert g.hidden_faults == one_way.hidden_faults  # the way back took no hidden fault


def test_sfence_vma_naming_an_asid_drops_only_that_address_space():
    other = _other_space()
    first, second = Sv32(ROOT).satp | 1 << 22, other.satp | 2 << 22  # ASIDs 1 and 2
    _, g = _flushes(f"""
        li   t1, {VA:#x}
        li   t0, {first:#x}
        csrw satp, t0
        lw   a0, 0(t1)
        li   t0, {second:#x}
        csrw satp, t0
        lw   a1, 0(t1)
        li   t2, 1
        sfence.vma zero, t2        # ASID 1's tables changed: its shadows go
        lw   a2, 0(t1)""", other)
    assert g.vcpu.x[10:13] == [0xDA7A_0000, 0xDA7A_0001, 0xDA7A_0001]
    kept = {key[1] for key in g.shadows if key[0] == "s"}
    assert first not in kept and second in kept and Sv32(ROOT).satp in kept  # (ASID 0: the boot's)
    base, _ = _flushes(f"li t1, {VA:#x}; lw a0, 0(t1)")
    assert g.flushes == base + 1


def test_sfence_vma_naming_one_page_drops_only_that_page_from_the_shadows():
    """A kernel that maps its memory a page at a time fences each page it changes;
    the VMM drops that page and keeps the rest of every shadow, so the pages beside
    it take no second hidden fault."""
    src, pt = paged("S", f"""
        li   t1, {VA:#x}
        li   t4, {VA + 0x1000:#x}
        lw   a0, 0(t1)
        lw   a1, 0(t4)
        li   t2, {ROOT + 0x1000 + 4 * ((VA >> 12) & 0x3FF):#x}
        li   t3, {(PA[2] >> 12 << 10) | RW | PTE_A | PTE_D:#x}
        sw   t3, 0(t2)             # VA -> PA[2]
        sfence.vma t1
        lw   a2, 0(t1)
        lw   a3, 0(t4)""")
    pt.map_page(VA, PA[0], RW | PTE_A | PTE_D)
    pt.map_page(VA + 0x1000, PA[1], RW | PTE_A | PTE_D)
    _board, g = side_by_side(src, pokes=pokes(pt))
    assert g.vcpu.x[10:14] == [0xDA7A_0000, 0xDA7A_0001, 0xDA7A_0002, 0xDA7A_0001]
    assert g.page_flushes == 1
    events = list(g.log.events)
    fence = next(i for i, e in enumerate(events) if e.text == "sfence.vma t1")
    after = [e.detail.split(" ->")[0] for e in events[fence:] if e.action == "hidden fault"]
    assert after == ["va 0x40000000"]  # only the fenced page faulted again; its neighbour kept its mapping
    (table,) = [t for key, t in g.shadows.items() if key[0] == "s"]
    hpa = g.window.host_base + (PA[2] - g.window.base)
    assert table.lookup(VA) == (hpa, PTE_R | PTE_W)
