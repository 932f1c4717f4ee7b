"""The trap log's filters (what the VMM did, the guest, a text) and the trap inspector:
a line selected with the keyboard or the mouse and opened, what it shows for each
kind of exit, stepping to the same guest's previous and next exit, and Alt+I from
anywhere (also at 80x24, where the trap log is not on the screen)."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.ui.test_everyday import at_prompt, run_app, session_of, settle, typed
from tuivmm.lineup.file import Lineup, lineup_from_names
from tuivmm.lineup.spec import GuestSpec
from tuivmm.ui.inspector import InspectorScreen, field_changes, instruction_fields
from tuivmm.ui.session import Session
from tuivmm.ui.traps import TrapLines
from tuivmm.vmm import traplog as T


def inspector_text(app) -> str:
    assert isinstance(app.screen, InspectorScreen)
    return str(app.screen.query_one("#inspector-text", Static).render())


# --- pure pieces ------------------------------------------------------------------------------


def test_fields_of_an_instruction_and_of_changed_csrs():
    assert instruction_fields(0x1000_2573, 0) == [  # csrr a0, sstatus
        "csrrs: format CSR, opcode 0b1110011", "rd = a0 (x10)", "csr = sstatus (0x100)", "rs1 = zero (x0)"]  # fmt: skip
    assert "target = pc + 8 = 0x80000008" in instruction_fields(0x0080_006F, 0x8000_0000)  # j +8
    assert instruction_fields(0x4018, 0) == [  # c.lw a4, 0(s0)
        "lw: compressed (16 bits, quadrant 0), as format LOAD", "rd = a4 (x14)", "imm = 0 (0x0)", "rs1 = s0 (x8)"]  # fmt: skip
    assert field_changes("mstatus", 0x0122, 0x0020) == "SIE 1→0, SPP S→U"
    assert field_changes("mstatus", 0x0000, 0x1880) == "MPIE 0→1, MPP U→M"
    assert field_changes("mip", 0, 1 << 5) == "STI 0→1"
    assert field_changes("scause", 0, 8) == "instruction address misaligned → environment call from U-mode"
    assert field_changes("satp", 0, (1 << 31) | (3 << 22) | 0x80123).startswith(
        "Bare → Sv32, ASID 0→3, PPN 0x0→0x80123"
    )
    assert field_changes("sepc", 0, 4) == ""


# --- filters ----------------------------------------------------------------------------------


def test_the_trap_log_filters_by_what_the_vmm_did_by_guest_and_by_text():
    session = session_of("unix", "basic")

    async def body(pilot, app):
        at_prompt(session, "unix")
        for _ in range(40):
            session.vmm.run_slice(session.guest("basic"))
        await pilot.press("alt+t")
        await settle(pilot, app)
        traps = app.traps
        unix = session.guest("unix")

        def shown():
            return traps.shown_events()

        traps.set_reason(T.HIDDEN)
        await pilot.pause()
        assert shown() == [e for e in unix.log.events if e.action == T.HIDDEN]
        assert traps.describe_scope() == "unix, hidden faults"
        traps.set_reason(T.XRET)
        await pilot.pause()
        assert shown() and shown() == [e for e in unix.log.events if e.reason == T.XRET]
        traps.set_reason(T.MMIO_WRITE)
        await pilot.pause()
        writes = shown()
        assert writes and all(e.action == T.MMIO_WRITE for e in writes)
        # and a text: only the UART's transmit register
        await pilot.press("slash")
        assert app.focused is traps.query_one("#trap-text")
        await typed(pilot, "thr <", enter=False)  # any case; not the PLIC's threshold
        await pilot.pause()
        assert traps.text == "thr <"
        assert shown() == [e for e in writes if " THR <" in e.detail]
        assert traps.describe_scope() == 'unix, mmio writes with "thr <"'
        await pilot.press("enter")  # back to the lines; typing goes to the guest again
        assert isinstance(app.focused, TrapLines)
        # all guests: basic's writes join
        traps.query_one("#trap-all").value = True
        await pilot.pause()
        guests = {e.guest for e in shown()}
        assert guests == {"unix", "basic"}
        traps.set_text("")
        traps.set_reason(None)
        await pilot.pause()
        assert len(shown()) == min(traps.lines, len(unix.log.events) + len(session.guest("basic").log.events))

    run_app(session, body, (160, 50))


# --- the inspector ----------------------------------------------------------------------------


def opened(session, size, keys, choose=None):
    """Run unix to its prompt, open the inspector with `keys` (after selecting the line
    `choose` picks, if given), and return what it showed and the event."""
    result = {}

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        if choose is not None:
            lines = app.traps.query_one(TrapLines)
            app.traps.refresh_from_session(hidden_too=True)
            index = max(i for i, e in enumerate(lines.events) if choose(e))
            lines.cursor = index
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        result["text"] = inspector_text(app)
        result["event"] = app.screen.event
        result["app"] = app
        await pilot.press("escape")
        await pilot.pause()
        result["closed"] = not isinstance(app.screen, InspectorScreen)

    run_app(session, body, size)
    return result


@pytest.mark.parametrize("size", [(80, 24), (200, 55)])
def test_alt_i_opens_the_newest_exit_from_the_console_at_any_size(size):
    session = session_of("unix")
    result = opened(session, size, ["alt+i"])
    newest = session.guest("unix").log.events[-1]
    assert result["event"] == newest
    assert result["text"].startswith("unix · t = ") and f"pc {newest.pc:#010x}" in result["text"]
    assert "── what the VMM did" in result["text"] and result["closed"]


def test_a_csr_exit_shows_its_fields_and_the_register_it_changed():
    session = session_of("unix")
    result = opened(session, (160, 50), ["alt+t", "enter"],
                    lambda e: e.reason == T.CSR and e.action == T.EMULATED and e.text.startswith("csrr "))  # fmt: skip
    e, text = result["event"], result["text"]
    record = session.guest("unix").log.state_of(e)
    rd = next(name for name, _, _ in record.changes() if name.startswith("x"))
    n = int(rd[1:])
    assert "format CSR" in text and "Emulated: the VMM carried the instruction out" in text
    from machine.cpu.isa import ABI_NAMES

    assert f"{ABI_NAMES[n]} (x{n})" in text
    assert f"{record.value_before(rd):#010x} → {record.value_after(rd):#010x}" in text
    assert f"pc         {e.pc:#010x} → {e.pc + 4:#010x}" in text


def test_an_injected_ecall_shows_the_trap_csrs_and_the_vector():
    session = session_of("unix")
    result = opened(session, (160, 50), ["alt+t", "enter"], lambda e: e.reason == T.ECALL)
    record = session.guest("unix").log.state_of(result["event"])
    text = result["text"]
    assert "the trap as the guest's S-mode sees it" in text
    assert f"sepc     = {result['event'].pc:#010x}" in text
    assert "scause   = 0x00000008  environment call from U-mode" in text
    assert f"entered the vector at {record.value_after('pc'):#010x}" in text
    assert "U → S" in text


def test_a_hidden_fault_shows_the_guests_walk_beside_the_shadow_entry():
    session = session_of("unix")
    result = opened(session, (160, 50), ["alt+t", "enter"],
                    lambda e: e.action == T.HIDDEN and e.priv == 0)  # a user page: paged  # fmt: skip
    record = session.guest("unix").log.state_of(result["event"])
    text = result["text"]
    assert f"the guest's own walk of {record.tval:#010x}" in text
    for step in record.walk:
        assert f"level {step.level}  PTE at {step.address:#010x} = {step.pte:#010x}" in text
    hpa, _ = record.shadow
    assert f"→ host page {hpa:#010x}" in text and "(filled by this exit)" in text
    assert "A hidden fault" in text and "none: the guest's virtual hart is as it was" in text


def test_a_uart_write_names_the_register_and_the_character():
    session = session_of("unix")
    result = opened(session, (160, 50), ["alt+t", "enter"],
                    lambda e: e.action == T.MMIO_WRITE and " THR <- 0x24" in e.detail)  # the prompt's "$"  # fmt: skip
    assert "uart0, register THR: wrote 0x24  '$'" in result["text"]


def test_a_click_selects_a_line_and_a_second_click_opens_it_and_arrows_step():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        lines = app.traps.query_one(TrapLines)
        await pilot.click(TrapLines, offset=(5, 3))  # the third line under the header
        await pilot.pause()
        assert lines.cursor == round(lines.scroll_y) + 2 and not lines.following
        selected = lines.cursor
        chosen = lines.events[selected]
        await pilot.click(TrapLines, offset=(5, 3))
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen) and app.screen.event == chosen
        log = list(session.guest("unix").log.events)
        i = log.index(chosen)
        await pilot.press("left")
        assert app.screen.event == log[i - 1]
        await pilot.press("right", "right")
        assert app.screen.event == log[i + 1]
        assert f"exit {log[i + 1].seq} · unix" == app.screen.query_one("#inspector").border_title
        await pilot.press("escape")
        # the keyboard: ↑ selects the line above, Enter opens it
        app.traps.keyboard_widget().focus()
        await pilot.press("up")
        await pilot.pause()
        assert lines.cursor == selected - 1
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.event == lines.events[lines.cursor]
        await pilot.press("escape")
        await pilot.press("end")  # follow the newest again: no line selected
        await pilot.pause()
        assert lines.cursor is None and lines.following

    run_app(session, body, (160, 50))


def test_a_hypercall_shows_its_name_and_arguments_and_a_bt_patch_its_word():
    session = Session(lineup_from_names(["eret-escape-pv", "eret-escape"]), realtime=False)
    try:
        session.vmm.flawed_eret = True
        pv, bt = session.guest("eret-escape-pv"), session.guest("eret-escape")
        pv.set_remedy("pv")
        bt.set_remedy("bt")
        for guest in (pv, bt):
            for _ in range(400):
                session.vmm.run_slice(guest)
        screen = InspectorScreen(session, None)
        call = next(e for e in pv.log.events if e.reason == T.HYPERCALL)
        text = screen.text_of(call, pv.log.state_of(call)).plain
        assert "── the hypercall: HV_SRET" in text and "a7 (extension) = 0x0854564d   a6 (function) = 0" in text
        assert "S → U" in text
        patched = next(e for e in bt.log.events if e.detail.startswith(T.BT_PATCH))
        text = screen.text_of(patched, bt.log.state_of(patched)).plain
        assert "── binary translation" in text
        assert (
            "The real hart trapped on 0x00000000, the word binary translation put in place of the guest's "
            f"own `{patched.text}`"
        ) in text
    finally:
        session.close()


def test_a_breakpoint_from_the_guests_own_trigger_says_so():
    from machine.cpu.asm import assemble
    from tuivmm.vmm.monitor import RAM_BASE

    source = """
_start: la   t0, handler
        csrw mtvec, t0
        csrsi mstatus, 8          # MIE: M-mode triggers may fire
        la   t0, target
        csrw tdata2, t0
        li   t0, 0x60000044       # mcontrol6: M-mode, execute
        csrw tdata1, t0
target: nop
1:      j    1b
handler:
        csrw tdata1, zero
        mret
"""
    session = session_of("hello")
    try:
        guest = session.vmm.add_guest(program=assemble(source, RAM_BASE), name="armed", net=False, ram_size=1 << 20)
        for _ in range(5):
            session.vmm.run_slice(guest)
        fired = next(e for e in guest.log.events if e.detail.startswith(T.TRIGGER_FIRED))
        assert fired.detail == f"trigger 0 fired: execute at {fired.pc:#010x}"
        text = InspectorScreen(session, None).text_of(fired, guest.log.state_of(fired)).plain
        assert "── a debug trigger" in text and "The guest armed a debug trigger (trigger 0:" in text
        assert "mcause   = 0x00000003  breakpoint" in text
        assert guest.vcpu.tdata1[0] == 0xF000_0000  # (the handler turned it off)
    finally:
        session.close()


def newest_kept(session: Session, guest, detail: str):
    """Run `guest` until its trap log holds an event with `detail` whose exit state is
    still kept; the newest such event."""
    for _ in range(2_000):
        calls = [e for e in guest.log.events if e.detail == detail]
        if calls and guest.log.state_of(calls[-1]) is not None:
            return calls[-1]
        session.vmm.run_slice(guest)
    raise AssertionError(f"no {detail!r} in {guest.name}'s trap log")


def test_an_sbi_call_from_linux_names_the_call_and_what_it_asks():
    """Linux's kernel (virtual S-mode) calls our firmware (virtual M-mode) with ECALL:
    the trap log names the SBI call, the inspector says what it asks and shows a7/a6."""
    session = Session(lineup_from_names(["linux"]), realtime=False)
    try:
        linux = session.guest("linux")
        call = newest_kept(session, linux, "sbi console_putchar")
        assert (call.reason, call.priv, call.action) == (T.ECALL, 1, T.INJECTED)
        record = linux.log.state_of(call)
        text = InspectorScreen(session, None).text_of(call, record).plain
        assert "an SBI call, the kernel asking the machine-mode software for a service" in text
        assert "── the SBI call: console_putchar" in text
        assert "What it asks: print the character in a0 on the firmware's console" in text
        assert "a7 (extension) = 0x00000001   a6 (function) = " in text
        assert f"arguments a0..a5 = {record.x_before[10]:#x}, " in text
        assert "the trap as the guest's M-mode sees it" in text and "mcause   = 0x00000009" in text
        assert "S → M" in text
    finally:
        session.close()


def test_an_sbi_call_the_vmm_serves_says_so_and_shows_the_answer():
    """With --sbi vmm the same call is one exit: served, the answer in a0/a1, no trip
    to virtual M-mode."""
    session = Session(Lineup([GuestSpec("linux", sbi="vmm")]), realtime=False)
    try:
        linux = session.guest("linux")
        call = newest_kept(session, linux, "sbi get_impl_id")
        assert (call.reason, call.priv, call.action) == (T.ECALL, 1, T.SBI_SERVED)
        text = InspectorScreen(session, None).text_of(call, linux.log.state_of(call)).plain
        assert "── the SBI call: get_impl_id" in text
        assert "The VMM answered it itself (--sbi vmm), in this one exit: a0 = 0x0 (the error" in text
        assert "a1 = 0x74766d6d." in text
        assert "Served: the VMM is this guest's SBI firmware (--sbi vmm)" in text
        assert "S → M" not in text
    finally:
        session.close()
