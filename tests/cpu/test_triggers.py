"""The debug trigger module (Sdtrig, debug spec 1.0 chapter 5): the CSRs, their
WARL rules, and mcontrol6 address triggers on execute, load and store that raise a
breakpoint exception before the instruction or access, in the modes they enable.

Every test runs in both engine modes (single-step and translated blocks): arming a
trigger must reach code already translated and pages already in the TLBs.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu import triggers as T

from .privharness import ENGINE_IDS, ENGINE_MODES, HALT, PMP_ALL, enter, machine

pytestmark = pytest.mark.parametrize("stepping", ENGINE_MODES, ids=ENGINE_IDS)

A0, A1, A2, A3, A4, A5 = 10, 11, 12, 13, 14, 15
NOT_RUN = 0x5A5A
MODE_BITS = {"M": T.MODE_M, "S": T.MODE_S, "U": T.MODE_U}


def mcontrol6(*, kind: int, modes: str = "MSU", match: int = 0, size: int = 0) -> int:
    bits = sum(MODE_BITS[m] for m in modes)
    return (6 << 28) | (size << 16) | (match << 7) | bits | kind


def arm(index: int, tdata1: int, tdata2: str) -> str:
    """Assembly: program trigger `index` as the spec asks (tdata1 = 0, tdata2, tdata1).
    `tdata2` is a label or a number."""
    return f"""
        li   t0, {index}
        csrw tselect, t0
        csrw tdata1, zero
        {"la" if not tdata2[0].isdigit() else "li"}   t0, {tdata2}
        csrw tdata2, t0
        li   t0, {tdata1}
        csrw tdata1, t0
"""


def program(mode: str, body: str, *, setup: str = "", mie: bool = True) -> str:
    """M-mode sets mtvec -> `trap_rec`, opens PMP, runs `setup`, then `body` runs in
    `mode` (with mstatus.MIE set if `mie`).  `trap_rec` leaves mcause, mtval, mepc in
    a0-a2 and halts; reaching the end of `body` sets a5 = 1 and halts."""
    return f"""
_start:
        li   a0, -1
        li   a3, {NOT_RUN}
        la   t0, trap_rec
        csrw mtvec, t0
{PMP_ALL}
        li   t0, 0x80           # MPIE: MIE is set once MRET enters the body
        {"csrs" if mie else "csrc"} mstatus, t0
{setup}
{enter(mode, "body")}
body:
{body}
        li   a5, 1
{HALT}
        .align 2
trap_rec:
        csrr a0, mcause
        csrr a1, mtval
        csrr a2, mepc
{HALT}
        .align 4
data:   .word 0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00
"""


def run(source: str, stepping: bool):
    m = machine(source, stepping=stepping)
    m.run_to_halt()
    return m


# --- the registers -------------------------------------------------------------------


def test_enumeration_finds_four_triggers(stepping):
    """The spec's enumeration: write tselect, read it back; tinfo names the types."""
    body = """
        li   t0, 3
        csrw tselect, t0
        csrr a0, tselect
        li   t0, 4              # no trigger 4: tselect keeps 3
        csrw tselect, t0
        csrr a1, tselect
        csrr a2, tinfo
        csrr a3, tdata1
"""
    m = run(f"_start:\n{body}\n{HALT}", stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (3, 3)
    assert m.hart.x[A2] == (1 << 24) | (1 << 2) | (1 << 6) | (1 << 15)  # version 1; types 2, 6 and 15
    assert m.hart.x[A3] == 0xF000_0000  # exists, disabled


@pytest.mark.parametrize(
    "written, read",
    [
        (0, 0xF000_0000),  # "writing 0 to tdata1 disables the trigger"
        (0x3000_0044, 0xF000_0000),  # type 3 (icount) is not supported
        (0x2000_0044, 0x23E0_0044),  # type 2 (mcontrol): maskmax reads 31
        (0x2FFF_FFFF, 0x23F3_005F),  # dmode, select, timing, action, chain cleared; match 15 -> 0
        (0x2010_0444, 0x23F0_0444),  # hit, match 8
        (0x0000_0044, 0xF000_0000),
        (0x6000_0047, 0x6000_0047),  # mcontrol6: m, execute, store, load
        (0x6000_005F, 0x6000_005F),  # s and u too
        (0x6800_0044, 0x6000_0044),  # dmode is hard-wired to 0
        (0x6000_1044, 0x6000_0044),  # action 1 (Debug Mode) is cleared: no Sdext
        (0x6020_0044, 0x6000_0044),  # select (data match) is not implemented
        (0x6000_0844, 0x6000_0044),  # no chains
        (0x6000_01C4, 0x6000_01C4),  # match 3 (<)
        (0x6000_0444, 0x6000_0444),  # match 8 (not equal)
        (0x6000_0244, 0x6000_0044),  # match 4 (low half) is not implemented
        (0x6003_0044, 0x6003_0044),  # size 3
        (0x6005_0044, 0x6000_0044),  # size 5 (64-bit) does not exist here
        (0x6580_0064, 0x6000_0044),  # vs, vu, uncertain, uncertainen: all 0
        (0x6240_0044, 0x6240_0044),  # hit1 and hit0 are writable
    ],
)
def test_tdata1_is_warl(stepping, written, read):
    body = f"""
        li   t0, {written}
        csrw tdata1, t0
        csrr a0, tdata1
"""
    m = run(f"_start:\n{body}\n{HALT}", stepping)
    assert m.hart.x[A0] == read


def test_tdata_registers_belong_to_the_selected_trigger(stepping):
    body = """
        li   t1, 0x60000044
        csrw tdata1, t1
        li   t1, 0x80001234
        csrw tdata2, t1
        li   t0, 1
        csrw tselect, t0
        csrr a0, tdata1
        csrr a1, tdata2
        li   t1, -1
        csrw tdata3, t1
        csrr a2, tdata3
        csrw tselect, zero
        csrr a3, tdata1
        csrr a4, tdata2
"""
    m = run(f"_start:\n{body}\n{HALT}", stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1], h.x[A2]) == (0xF000_0000, 0, 0)
    assert (h.x[A3], h.x[A4]) == (0x6000_0044, 0x8000_1234)


@pytest.mark.parametrize("csr", ["tselect", "tdata1", "tinfo"])
def test_trigger_registers_are_machine_level(stepping, csr):
    m = run(program("S", f"csrr a3, {csr}"), stepping)
    assert m.hart.x[A0] == C.ILLEGAL_INSN
    assert m.hart.x[A3] == NOT_RUN


def test_tcontrol_is_not_implemented(stepping):
    m = run(program("M", "csrr a3, 0x7a5"), stepping)
    assert m.hart.x[A0] == C.ILLEGAL_INSN


# --- execute ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["M", "S", "U"])
def test_execute_trigger_fires_before_the_instruction(stepping, mode):
    body = """
        addi a4, a4, 1
target: li   a3, 1
"""
    m = run(program(mode, body, setup=arm(0, mcontrol6(kind=T.EXECUTE), "target")), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1], h.x[A2]) == (C.BREAKPOINT, m.sym("target"), m.sym("target"))
    assert h.x[A3] == NOT_RUN and h.x[A4] == 1
    assert h.mstatus >> C.MSTATUS_MPP_SHIFT & 3 == {"M": 3, "S": 1, "U": 0}[mode]


@pytest.mark.parametrize("mode, enabled", [("U", "MS"), ("S", "MU"), ("M", "SU")])
def test_execute_trigger_ignores_modes_not_enabled(stepping, mode, enabled):
    body = "target: li a3, 1"
    m = run(program(mode, body, setup=arm(2, mcontrol6(kind=T.EXECUTE, modes=enabled), "target")), stepping)
    assert m.hart.x[A5] == 1 and m.hart.x[A3] == 1


def test_no_trigger_in_m_mode_while_mie_is_clear(stepping):
    """Re-entrancy (Sdtrig "Native Triggers", option 1): an M-mode handler runs with
    MIE clear, so a trigger cannot fire inside it."""
    m = run(program("M", "target: li a3, 1", setup=arm(0, mcontrol6(kind=T.EXECUTE), "target"), mie=False),
            stepping)  # fmt: skip
    assert m.hart.x[A5] == 1


def test_no_trigger_in_s_mode_while_sie_is_clear_and_breakpoints_are_delegated(stepping):
    setup = (
        arm(0, mcontrol6(kind=T.EXECUTE, modes="S"), "target")
        + """
        li   t0, 8
        csrs medeleg, t0
"""
    )
    m = run(program("S", "target: li a3, 1", setup=setup), stepping)
    assert m.hart.x[A5] == 1


def test_delegated_execute_trigger_goes_to_s_mode(stepping):
    setup = (
        arm(0, mcontrol6(kind=T.EXECUTE, modes="U"), "target")
        + """
        li   t0, 8
        csrs medeleg, t0
        la   t0, s_handler
        csrw stvec, t0
"""
    )
    body = """
target: li   a3, 1
        .align 2
s_handler:
        csrr a0, scause
        csrr a1, stval
        csrr a2, sepc
"""
    m = run(program("U", body, setup=setup), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1], h.x[A2]) == (C.BREAKPOINT, m.sym("target"), m.sym("target"))
    assert h.x[A3] == NOT_RUN and h.priv == C.S


def test_execute_trigger_armed_inside_a_translated_loop(stepping):
    """The loop runs (and is translated) before the trigger is armed by an ecall into
    M-mode; the next pass stops at the trigger, with the count exact."""
    setup = """
        la   t0, on_ecall
        csrw mtvec, t0
"""
    body = (
        """
loop:   addi a4, a4, 1
        li   t1, 20
        bne  a4, t1, 1f
        ecall                   # at 20 passes: M-mode arms the trigger on `target`
1:
target: addi a3, a3, 0
        li   t1, 1000
        bltu a4, t1, loop
        j    end
        .align 2
on_ecall:
"""
        + arm(1, mcontrol6(kind=T.EXECUTE, modes="U"), "target")
        + """
        la   t0, trap_rec
        csrw mtvec, t0
        csrr t0, mepc
        addi t0, t0, 4
        csrw mepc, t0
        mret
end:
"""
    )
    m = run(program("U", body, setup=setup), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A2]) == (C.BREAKPOINT, m.sym("target"))
    assert h.x[A4] == 20
    assert h.tdata1[1] & T.HIT0 and not h.tdata1[1] & T.HIT1  # hit = 01: before


def test_blocks_run_where_no_execute_trigger_can_fire(stepping):
    """A trigger for U-mode code does not make M-mode step (its loop is translated
    into blocks), and still stops U-mode at its target."""
    setup = (
        arm(0, mcontrol6(kind=T.EXECUTE, modes="U"), "target")
        + """
        li   t1, 500
1:      addi a4, a4, 1
        bne  a4, t1, 1b
"""
    )
    m = run(program("U", "target: li a3, 1", setup=setup), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A2], h.x[A4]) == (C.BREAKPOINT, m.sym("target"), 500)
    assert bool(h.blocks) == (not stepping)


def test_blocks_run_on_pages_an_execute_trigger_cannot_match(stepping):
    """An execute trigger armed for the mode the hart is in, on one address: the
    pages it cannot match run in blocks; its own page is stepped, every pc checked,
    and a jump from a block lands on it and stops exactly there."""
    setup = arm(0, mcontrol6(kind=T.EXECUTE, modes="M"), "target")
    body = """
        li   t1, 500
1:      addi a4, a4, 1
        bne  a4, t1, 1b
        j    far
        .org 0x3000
far:    li   t1, 800
2:      addi a4, a4, 1
        bne  a4, t1, 2b
target: li   a3, 1
"""
    m = run(program("M", body, setup=setup), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1], h.x[A2]) == (C.BREAKPOINT, m.sym("target"), m.sym("target"))
    assert h.x[A4] == 800 and h.x[A3] == NOT_RUN
    translated = {pc for _, pc in h.blocks}
    assert bool(translated & set(range(m.sym("_start"), m.sym("far"), 2))) == (not stepping)  # the first loop
    # The trigger's page was stepped up to the trigger (trap_rec, after it, runs in
    # M-mode with MIE clear, where no trigger fires: blocks again).
    assert not translated & set(range(m.sym("far"), m.sym("target") + 4, 2))


def test_execute_trigger_on_16_bit_instruction_size(stepping):
    body = """
        c.li a4, 1
target: c.li a3, 1
"""
    sized = run(program("M", body, setup=arm(0, mcontrol6(kind=T.EXECUTE, size=3), "target")), stepping)
    assert sized.hart.x[A5] == 1  # size 3: 32-bit instructions only
    sixteen = run(program("M", body, setup=arm(0, mcontrol6(kind=T.EXECUTE, size=2), "target")), stepping)
    assert sixteen.hart.x[A0] == C.BREAKPOINT


# --- loads and stores --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["M", "S", "U"])
def test_load_trigger_fires_before_the_load(stepping, mode):
    body = """
        la   t1, data
        lw   a4, 4(t1)          # data + 4: no match
        lw   a3, 8(t1)
"""
    m = run(program(mode, body, setup=arm(0, mcontrol6(kind=T.LOAD), "data + 10")), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1]) == (C.BREAKPOINT, m.sym("data") + 8)  # tval: the access
    assert h.x[A3] == NOT_RUN and h.x[A4] == 0x55667788


@pytest.mark.parametrize("mode", ["M", "S", "U"])
def test_store_trigger_fires_before_the_store(stepping, mode):
    body = """
        la   t1, data
        lw   a4, 12(t1)         # loads are not stores
        sb   zero, 11(t1)       # the byte before the watched one
        sh   zero, 12(t1)
        li   a3, 1
"""
    m = run(program(mode, body, setup=arm(3, mcontrol6(kind=T.STORE), "data + 13")), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1]) == (C.BREAKPOINT, m.sym("data") + 12)
    assert m.word(m.sym("data") + 12) == 0xDDEEFF00  # the store did not happen
    assert m.word(m.sym("data") + 8) == 0x00AABBCC


def test_data_triggers_ignore_modes_not_enabled(stepping):
    body = """
        la   t1, data
        lw   a3, 0(t1)
        sw   zero, 0(t1)
"""
    setup = arm(0, mcontrol6(kind=T.LOAD | T.STORE, modes="MS"), "data")
    m = run(program("U", body, setup=setup), stepping)
    assert m.hart.x[A5] == 1 and m.hart.x[A3] == 0x11223344


def test_load_trigger_on_a_page_already_in_the_tlb(stepping):
    """The loop loads the watched word (among others) from the TLB before the trigger
    is armed by an ecall; afterwards the same load must stop."""
    setup = """
        la   t0, on_ecall
        csrw mtvec, t0
"""
    body = (
        """
        la   t1, data
loop:   andi t2, a4, 12
        add  t2, t2, t1
        lw   a3, 0(t2)
        addi a4, a4, 4
        li   t2, 40
        bne  a4, t2, loop
        ecall
        j    loop
        .align 2
on_ecall:
"""
        + arm(0, mcontrol6(kind=T.LOAD, size=3), "data + 8")
        + """
        la   t0, trap_rec
        csrw mtvec, t0
        csrr t0, mepc
        addi t0, t0, 4
        csrw mepc, t0
        mret
"""
    )
    m = run(program("U", body, setup=setup), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1]) == (C.BREAKPOINT, m.sym("data") + 8)
    assert h.x[A4] == 40  # 40 & 12 = 8: the first load after the ecall is the watched word


def test_size_limits_the_accesses_matched(stepping):
    body = """
        la   t1, data
        lw   a4, 4(t1)          # a word over the watched byte: size 1 wants bytes only
        lbu  a3, 5(t1)
"""
    m = run(program("M", body, setup=arm(0, mcontrol6(kind=T.LOAD, size=1), "data + 5")), stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (C.BREAKPOINT, m.sym("data") + 5)
    assert m.hart.x[A4] == 0x55667788


@pytest.mark.parametrize(
    "match, tdata2, fires_at",
    [
        (2, "data + 8", 8),  # >=
        (3, "data + 1", 0),  # <: compared with every byte, so word 0 already
        (1, "data + 5", 4),  # NAPOT, 0b..101: the 4 bytes data+4..data+7 (data is 16-aligned)
        (1, "data + 7", 0),  # NAPOT, 0b..0111: the 16 bytes data..data+15
        (8, "data", 4),  # not equal: the first access not touching data
    ],
)
def test_range_matches(stepping, match, tdata2, fires_at):
    body = """
        la   t1, data
        lw   a4, 0(t1)
        lw   a4, 4(t1)
        lw   a4, 8(t1)
        lw   a4, 12(t1)
"""
    if match == 3:
        body = body.replace("lw   a4, 0(t1)\n", "", 1).replace("lw   a4, 4(t1)", "lw a4, 0(t1)")
    setup = arm(0, mcontrol6(kind=T.LOAD, match=match, modes="U"), tdata2)
    m = run(program("U", body, setup=setup), stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (C.BREAKPOINT, m.sym("data") + fires_at)


@pytest.mark.parametrize("insn, kind", [("amoadd.w a3, t2, (t1)", T.LOAD), ("amoadd.w a3, t2, (t1)", T.STORE),
                                        ("lr.w a3, (t1)", T.LOAD), ("sc.w a3, t2, (t1)", T.STORE)])  # fmt: skip
def test_atomics_are_loads_and_stores(stepping, insn, kind):
    body = f"""
        la   t1, data
        li   t2, 1
        {insn}
"""
    m = run(program("S", body, setup=arm(0, mcontrol6(kind=kind), "data")), stepping)
    assert (m.hart.x[A0], m.hart.x[A1]) == (C.BREAKPOINT, m.sym("data"))
    assert m.hart.x[A3] == NOT_RUN and m.word(m.sym("data")) == 0x11223344


def test_disarming_lets_the_access_through(stepping):
    """The handler writes 0 to tdata1 and returns to the load, which now completes."""
    setup = (
        arm(0, mcontrol6(kind=T.LOAD), "data")
        + """
        la   t0, disarm
        csrw mtvec, t0
"""
    )
    body = """
        la   t1, data
        lw   a3, 0(t1)
        j    end
        .align 2
disarm: csrr a1, mtval
        csrw tselect, zero
        csrw tdata1, zero
        mret
end:
"""
    m = run(program("M", body, setup=setup), stepping)
    assert m.hart.x[A1] == m.sym("data") and m.hart.x[A3] == 0x11223344 and m.hart.x[A5] == 1


def test_snapshot_keeps_triggers_armed(stepping):
    m = machine(program("U", "target: li a3, 1", setup=arm(0, mcontrol6(kind=T.EXECUTE, modes="U"), "target")),
                stepping=stepping)  # fmt: skip
    m.hart.run(20)  # armed, not yet at target
    state = m.hart.save_state()
    m.hart.reset()
    assert not m.hart.trig_exec
    m.hart.load_state(state)
    m.run_to_halt()
    assert (m.hart.x[A0], m.hart.x[A1]) == (C.BREAKPOINT, m.sym("target"))


@pytest.mark.parametrize("kind, body", [(T.EXECUTE, "target: li a3, 1"),
                                        (T.STORE, "target: la t1, data\n        sh zero, 2(t1)")])  # fmt: skip
def test_mcontrol_type_2_fires_and_sets_hit(stepping, kind, body):
    tdata1 = (2 << 28) | T.MODE_U | kind
    tdata2 = "target" if kind == T.EXECUTE else "data + 3"
    m = run(program("U", body, setup=arm(0, tdata1, tdata2)), stepping)
    h = m.hart
    assert (h.x[A0], h.x[A1]) == (C.BREAKPOINT, m.sym("target") if kind == T.EXECUTE else m.sym("data") + 2)
    assert h.tdata1[0] == tdata1 | T.MC_MASKMAX | T.MC_HIT


ROOT = 0x8008_0000  # a page table root clear of the program
SV32 = f"""
        li   t0, {(1 << 31) | (ROOT >> 12)}
        csrw satp, t0
"""


def map_megapages(m, *pairs) -> None:
    """An Sv32 root at ROOT mapping each (va, pa) megapage RWX, A and D set."""
    m.ram.write_bytes(ROOT, bytes(4096))
    for va, pa in pairs:
        m.poke(ROOT + (va >> 22) * 4, ((pa >> 12) << 10) | 0xCF)


def test_execute_trigger_comes_before_the_fetch_fault(stepping):
    """An instruction address breakpoint outranks the page fault fetching it (Sdtrig,
    priority table): a trigger on an unmapped S-mode address fires first."""
    setup = arm(0, mcontrol6(kind=T.EXECUTE, modes="S"), "0x40000000") + SV32
    body = """
        li   t0, 0x40000000
        jr   t0
"""
    m = machine(program("S", body, setup=setup), stepping=stepping)
    map_megapages(m, (0x8000_0000, 0x8000_0000))
    m.run_to_halt()
    assert (m.hart.x[A0], m.hart.x[A1], m.hart.x[A2]) == (C.BREAKPOINT, 0x4000_0000, 0x4000_0000)


def test_load_trigger_compares_virtual_addresses(stepping):
    """Under Sv32 the compare value is the virtual address: the watched word read
    through its identity mapping does not match, through the alias it does."""
    setup = arm(0, mcontrol6(kind=T.LOAD, modes="S"), "data - 0x40000000") + SV32
    body = """
        la   t1, data
        lw   a4, 0(t1)          # data's own address: no match
        li   t2, 0x40000000
        sub  t1, t1, t2         # the same word, mapped at 0x40000000 lower too
        lw   a3, 0(t1)
"""
    m = machine(program("S", body, setup=setup), stepping=stepping)
    map_megapages(m, (0x8000_0000, 0x8000_0000), (0x4000_0000, 0x8000_0000))
    m.run_to_halt()
    h = m.hart
    assert (h.x[A0], h.x[A1]) == (C.BREAKPOINT, m.sym("data") - 0x4000_0000)
    assert h.x[A4] == 0x11223344 and h.x[A3] == NOT_RUN
