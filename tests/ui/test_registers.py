"""The registers pane (Alt+V): a guest's virtual hart, its CSRs decoded into fields,
and what changed since the pane last showed the guest marked.

The decoding is tested on numbers; the pane in the dashboard, with guests run slice
by slice (virtual time), so every run is the same.
"""

from __future__ import annotations

from machine.cpu import csrs as C
from machine.cpu.isa import ABI_NAMES
from tests.ui.test_everyday import at_prompt, run_app, session_of, settle, typed
from tuivmm.ui.layout import CONSOLE_WIDTH, MEMORY_MIN, REGISTERS_MIN, plan
from tuivmm.ui.panebar import bar_text
from tuivmm.ui.registers import MARK, hart_text, register_columns
from tuivmm.vmm import GuestState
from tuivmm.vmm.hartview import SHOWN_CSRS, HartState, decode, number_ranges


def texts(name: str, value: int) -> list[str]:
    return [field.text for field in decode(name, value)]


def state(pc: int = 0x8000_0000, priv: int = C.S, x: dict[int, int] | None = None,
          csrs: dict[str, int] | None = None) -> HartState:  # fmt: skip
    regs = [0] * 32
    for number, value in (x or {}).items():
        regs[number] = value
    values = [(csrs or {}).get(name, 0) for name in SHOWN_CSRS]
    return HartState(pc, priv, tuple(regs), tuple(values), 100)


# --- decoding ----------------------------------------------------------------------------


def test_mstatus_names_each_field_m_stack_then_s_stack_then_memory_and_trap_bits():
    value = C.MSTATUS_MIE | C.MSTATUS_SPIE | (C.S << C.MSTATUS_MPP_SHIFT) | C.MSTATUS_SUM | C.MSTATUS_TSR
    assert texts("mstatus", value) == ["MIE=1", "MPIE=0", "MPP=S", "SIE=0", "SPIE=1", "SPP=U",
                                       "MPRV=0", "SUM=1", "MXR=0", "TVM=0", "TW=0", "TSR=1"]  # fmt: skip
    assert texts("mstatus", C.MSTATUS_MPP | C.MSTATUS_SPP)[2:6:3] == ["MPP=M", "SPP=S"]
    flags = {f.name: f.set for f in decode("mstatus", value)}
    assert flags["MIE"] and not flags["SIE"] and flags["TSR"] and not flags["TW"]


def test_sstatus_shows_only_what_s_mode_sees():
    assert texts("sstatus", C.MSTATUS_SIE | C.MSTATUS_SPP | C.MSTATUS_MXR) == [
        "SIE=1", "SPIE=0", "SPP=S", "SUM=0", "MXR=1"]  # fmt: skip


def test_satp_gives_the_mode_the_asid_and_the_root_table():
    sv32 = C.SATP_MODE | (5 << 22) | 0x80123
    assert texts("satp", sv32) == ["Sv32", "ASID=5", "PPN=0x80123", "(root table at 0x80123000)"]
    assert texts("satp", C.SATP_ASID | C.SATP_PPN)[:3] == ["Bare", "ASID=511", "PPN=0x3fffff"]
    assert texts("satp", 0)[-1] == "(no translation)"


def test_a_cause_is_named_an_interrupt_when_bit_31_is_set_an_exception_when_not():
    assert texts("mcause", C.INTERRUPT_BIT | C.IRQ_S_TIMER) == ["supervisor timer interrupt"]
    assert texts("scause", C.INTERRUPT_BIT | C.IRQ_M_EXT) == ["machine external interrupt"]
    assert texts("scause", C.ECALL_FROM_U) == ["environment call from U-mode"]
    assert texts("mcause", C.IRQ_S_TIMER) == ["load access fault"]  # 5 without bit 31
    assert texts("mcause", C.LOAD_PAGE_FAULT) == ["load page fault"]


def test_interrupt_bits_by_name_and_mideleg_only_the_delegable_ones():
    value = (1 << C.STIP) | (1 << C.MEIP)
    assert texts("mip", value) == ["SSI=0", "MSI=0", "STI=1", "MTI=0", "SEI=0", "MEI=1"]
    assert texts("mie", C.ALL_INTERRUPTS) == ["SSI=1", "MSI=1", "STI=1", "MTI=1", "SEI=1", "MEI=1"]
    assert texts("mideleg", C.S_INTERRUPTS) == ["SSI=1", "STI=1", "SEI=1"]


def test_trap_vectors_delegated_causes_and_plain_registers():
    assert texts("mtvec", 0x8000_0101) == ["base 0x80000100", "vectored"]
    assert texts("stvec", 0x8000_1000) == ["base 0x80001000", "direct"]
    assert texts("medeleg", 0xB1FF) == ["causes 0–8 12 13 15 go to S"]
    assert texts("medeleg", 0) == ["none: every exception goes to M"]
    assert number_ranges([1, 2, 4, 5, 6, 9]) == "1 2 4–6 9"
    for name in ("mepc", "sepc", "mtval", "stval", "mscratch", "sscratch"):
        assert decode(name, 0x1234) == []


def test_changes_name_the_registers_the_csrs_and_the_fields_that_differ():
    before = state(x={10: 1, 11: 2}, csrs={"mstatus": C.MSTATUS_SIE, "sepc": 0x100})
    after = state(pc=0x8000_0004, priv=C.U, x={10: 1, 11: 3, 5: 7},
                  csrs={"mstatus": C.MSTATUS_SPIE, "sstatus": C.MSTATUS_SPIE, "sepc": 0x100})  # fmt: skip
    assert after.changes(before) == {"pc", "priv", "a1", "t0", "mstatus", "mstatus.SIE", "mstatus.SPIE",
                                     "sstatus", "sstatus.SPIE"}  # fmt: skip
    assert after.changes(None) == frozenset() and after.changes(after) == frozenset()
    assert after._replace(retired=after.retired + 5).changes(after) == frozenset()  # counting is no change


def test_the_text_fits_its_width_and_marks_only_what_changed():
    before = state(x={10: 0x10})
    after = state(pc=0x8000_0004, x={10: 0x11, 11: 0x22}, csrs={"mstatus": C.MSTATUS_SIE})
    marked = after.changes(before)
    for width in (57, 80, 120):
        text = hart_text(after, marked, width)
        lines = text.plain.split("\n")
        assert all(len(line) <= width for line in lines), width
        assert lines[0].startswith("pc 0x80000004   privilege S")
        assert sum(1 for line in lines if line.startswith("mstatus")) == 1
    assert register_columns(80) == 5 and register_columns(57) == 3
    text = hart_text(after, marked, 80)
    shown = [text.plain[s.start : s.end] for s in text.spans if s.style == MARK]
    assert shown == ["0x80000004", "0x00000011", "0x00000022", "0x00000002", "SIE=1"]
    assert "a0  0x00000011" in text.plain and "a1  0x00000022" in text.plain


def test_a_guest_s_hart_state_is_its_virtual_hart():
    session = session_of("unix")
    try:
        at_prompt(session, "unix")
        guest = session.guest("unix")
        v = guest.vcpu
        now = guest.hart_state()
        assert (now.pc, now.priv, now.x) == (v.pc, v.priv, tuple(v.x))
        assert now.csr("mstatus") == v.mstatus and now.csr("satp") == v.satp and now.csr("mip") == v.mip
        assert now.csr("sstatus") == v.mstatus & C.SSTATUS_MASK
        assert now.csr("satp") & C.SATP_MODE  # unix has paging on
    finally:
        session.close()


# --- in the dashboard --------------------------------------------------------------------------


def test_alt_v_shows_the_selected_guest_s_registers_on_an_80_by_24_terminal():
    session = session_of("basic", "unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await pilot.press("alt+2")
        await pilot.press("alt+v")
        await settle(pilot, app)
        pane = app.registers
        assert app.selected == "unix" and app.plan.mode == "stacked"
        assert pane.display and not app.console_pane.display and app.keyboard_pane() == "registers"
        assert pane.region.right <= 80 and pane.region.bottom <= 23 and pane.size.height >= 10
        v = session.guest("unix").vcpu
        text = pane.text()
        assert text.startswith(f"pc {v.pc:#010x}   privilege S (virtual; the real hart: U)")
        assert f"a0  {v.x[10]:#010x}" in text and f"sp  {v.x[2]:#010x}" in text
        assert f"satp     {v.satp:#010x}  Sv32" in text
        assert all(len(line) <= pane.size.width for line in text.split("\n"))
        # The pane bar names it, with its key; Esc gives the keys back to the console.
        assert "⌨ registers" in app.pane_bar.render().plain
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.console_pane.display and not pane.display

    run_app(session, body, (80, 24))


def test_f6_marks_the_pc_and_only_the_registers_the_step_changed():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await pilot.press("alt+v")
        await settle(pilot, app)
        await typed(pilot, "ps")  # typing takes the keys (and the screen) back to the console
        guest = session.guest("unix")
        for _ in range(3):  # unix runs the command: its registers move
            session.vmm.run_slice(guest)
        await pilot.press("f5")
        await pilot.press("alt+v")
        await settle(pilot, app)
        assert guest.state is GuestState.PAUSED
        pane = app.registers
        assert pane.display and "pc" in pane.marked  # what ran since the pane last showed unix
        for _ in range(4):
            before = guest.hart_state()
            await pilot.press("f6")
            await settle(pilot, app)
            after = guest.hart_state()
            assert after.retired == before.retired + 1 and guest.state is GuestState.PAUSED
            changed = {ABI_NAMES[i] for i in range(1, 32) if before.x[i] != after.x[i]}
            assert pane.state == after
            assert "pc" in pane.marked and f"{after.pc:#010x}" in pane.marked_text()
            assert {name for name in pane.marked if name in ABI_NAMES} == changed
            assert pane.text().startswith(f"pc {after.pc:#010x}")

    run_app(session, body, (80, 24))


def test_coming_back_to_the_pane_marks_what_changed_while_it_was_away():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await pilot.press("alt+v")
        await settle(pilot, app)
        pane = app.registers
        assert pane.marked == frozenset() and pane.state == session.guest("unix").hart_state()
        shown = pane.state
        await pilot.press("escape")
        await typed(pilot, "ps")
        at_prompt(session, "unix", 2)
        await settle(pilot, app)
        assert pane.state == shown  # hidden: not redrawn
        await pilot.press("alt+v")
        await settle(pilot, app)
        assert pane.state != shown and pane.marked and pane.marked == pane.state.changes(shown)

    run_app(session, body, (80, 24))


def test_the_plan_puts_the_registers_beside_the_memory_map_where_there_is_room():
    assert plan(80, 24, 4).mode == "stacked"
    assert plan(140, 36, 4).registers_width == 0 and plan(199, 55, 4).registers_width == 0  # in its place
    for width in (200, 240, 300):
        p = plan(width, 55, 4)
        assert p.registers_width >= REGISTERS_MIN
        assert p.console_width == CONSOLE_WIDTH and width - p.console_width - p.registers_width >= MEMORY_MIN
    assert plan(240, 55, 4).registers_width > plan(200, 55, 4).registers_width


def test_on_a_wide_terminal_alt_v_and_alt_m_take_turns_and_from_200_columns_both_show():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        assert app.memory.display and not app.registers.display
        assert "Alt+V: registers" in str(app.memory.border_title)
        await pilot.press("alt+v")
        await settle(pilot, app)
        assert app.registers.display and not app.memory.display and app.keyboard_pane() == "registers"
        assert app.registers.region.right <= 160 and app.registers.region.x == app.console_pane.region.right
        await pilot.press("alt+m")
        await settle(pilot, app)
        assert app.memory.display and not app.registers.display
        await pilot.resize_terminal(200, 55)
        await settle(pilot, app)
        assert app.memory.display and app.registers.display
        memory, registers = app.memory.region, app.registers.region
        assert memory.right == registers.x and registers.right == 200 and registers.bottom <= 54
        assert memory.width >= MEMORY_MIN and registers.width >= REGISTERS_MIN
        pc = session.guest("unix").pc
        assert app.registers.text().startswith(f"pc {pc:#010x}")
        assert all(len(line) <= app.registers.size.width for line in app.registers.text().split("\n"))

    run_app(session, body, (160, 50))


def test_the_pane_bar_leaves_out_the_guest_s_name_where_it_would_not_fit():
    text, _ = bar_text("console", "console", "eret-escape", width=80)
    assert text.plain.startswith("⌨ console │") and text.plain.endswith("registers Alt+V")
    text, _ = bar_text("console", "console", "unix", width=120)
    assert text.plain.startswith("⌨ console unix │")
