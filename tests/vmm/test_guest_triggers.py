"""A guest's own debug triggers under the VMM (issue 13, item 4): the guest programs
its virtual hart's four triggers and they fire as on its hardware.

tests/vmm/test_differential.py runs every program of tests/cpu/test_triggers.py (the
registers, each match, size and mode, the MIE/SIE rule) as a guest and compares the
end state with the bare machine's; these add what only the VMM has: device accesses
it emulates, the trap log, several guests on one real hart, and snapshots.
"""

from __future__ import annotations

from machine.cpu import csrs as C
from machine.cpu import triggers as T
from tuivmm.tools.snapshot import restore_guest, save_guest
from tuivmm.vmm import GuestState, Vmm

from .vmmharness import HALT, PMP_ALL, UART, enter, guest, side_by_side

A0, A1, A2, A3, S0 = 10, 11, 12, 13, 8


def mcontrol6(kind: int, modes: int = T.MODE_M | T.MODE_S | T.MODE_U) -> int:
    return (T.TYPE_MCONTROL6 << T.TYPE_SHIFT) | modes | kind


def arm(tdata1: int, tdata2: str, index: int = 0) -> str:
    return f"""
        li   t0, {index}
        csrw tselect, t0
        csrw tdata1, zero
        {"la" if not tdata2[0].isdigit() else "li"}   t0, {tdata2}
        csrw tdata2, t0
        li   t0, {tdata1:#x}
        csrw tdata1, t0
"""


# The handler counts breakpoints in s0, keeps the last mcause/mtval/mepc in a0-a2,
# and steps over the instruction (4 bytes: none here is compressed).
HANDLER = """
        .align 2
handler:
        addi s0, s0, 1
        csrr a0, mcause
        csrr a1, mtval
        csrr a2, mepc
        addi t0, a2, 4
        csrw mepc, t0
        mret
"""


def test_a_store_trigger_on_a_device_register_fires_before_the_vmm_emulates_the_store():
    """The UART's data register is MMIO: the guest's store reaches the VMM as a page
    fault and is emulated.  The trigger fires first, so the character never goes out,
    exactly as on the bare board."""
    source = f"""
_start:
        la   t0, handler
        csrw mtvec, t0
        li   t0, 0x8
        csrs mstatus, t0          # MIE: M-mode triggers may fire
{arm(mcontrol6(T.STORE), f"{UART}")}
        li   t1, {UART}
        li   t2, 'A'
store:  sb   t2, 0(t1)            # stopped by the trigger: nothing printed
        li   t2, 'B'
        sb   t2, 1(t1)            # another register: not watched, goes through as 'B'?
        csrw tdata1, zero
        li   t2, 'C'
        sb   t2, 0(t1)            # disarmed: printed
{HALT}
{HANDLER}
"""
    board, g = side_by_side(source)
    assert g.vcpu.x[S0] == 1
    assert g.vcpu.x[A0 : A0 + 3] == [C.BREAKPOINT, UART, board.symbols["store"]]
    assert bytes(g.output) == b"C"
    # The VCpu's trigger says it fired (hit1:hit0 = 01), as the bare hart's does.
    fired = [e for e in g.log.events if e.cause == C.BREAKPOINT]
    assert len(fired) == 1 and "trigger 0 fired: access at 0x10000000" in fired[0].detail


def test_hit_bits_and_an_execute_trigger_in_user_mode():
    source = f"""
_start:
{PMP_ALL}
        la   t0, handler
        csrw mtvec, t0
{arm(mcontrol6(T.EXECUTE, T.MODE_U), "target")}
{enter("U", "user")}
user:   li   t1, 3
1:
target: addi t1, t1, -1
        bnez t1, 1b
        ecall
        .align 2
handler:
        csrr a0, mcause
        li   t0, {C.BREAKPOINT}
        bne  a0, t0, done
        addi s0, s0, 1
        csrr a1, mtval
        csrr a3, tdata1
        li   t0, {T.HIT0}
        csrc tdata1, t0           # hit0 is the software's to clear
        csrr a2, mepc             # and go on at the instruction itself:
        li   t0, {T.EXECUTE}
        csrc tdata1, t0           # the trigger off, the instruction runs...
        la   t0, rearm
        csrw mepc, t0
        li   t0, 0x1800
        csrs mstatus, t0          # ...in M-mode, once, to re-arm and go back
        mret
rearm:  addi t1, t1, -1
        li   t0, {T.EXECUTE}
        csrs tdata1, t0
        li   t0, 0x1800
        csrc mstatus, t0
        la   t0, target + 4
        csrw mepc, t0
        mret
done:
{HALT}
"""
    board, g = side_by_side(source)
    assert g.vcpu.x[S0] == 3  # each pass of the loop
    assert g.vcpu.x[A1] == board.symbols["target"]
    assert g.vcpu.x[A3] & (T.HIT1 | T.HIT0) == T.HIT0


def test_two_guests_on_one_real_hart_each_keep_their_own_triggers():
    """The same code at the same addresses in two guests: only the guest that armed a
    trigger takes its breakpoints, however the slices interleave."""
    body = """
{arm}
        li   t1, 200
1:
target: nop                       # (the handler steps over it)
        addi t1, t1, -1
        bnez t1, 1b
{halt}
{handler}
"""
    prologue = """
_start:
        la   t0, handler
        csrw mtvec, t0
        li   t0, 0x8
        csrs mstatus, t0
"""
    armed = prologue + body.format(arm=arm(mcontrol6(T.EXECUTE), "target"), halt=HALT, handler=HANDLER)
    plain = prologue + body.format(arm=arm(mcontrol6(0), "target"), halt=HALT, handler=HANDLER)  # matches nothing
    vmm = Vmm(slice_cycles=37)  # a world switch every few dozen instructions
    _, a = guest(armed, vmm, name="a")
    _, b = guest(plain, vmm, name="b")
    assert a.symbols["target"] == b.symbols["target"]
    vmm.run(max_rounds=10_000)
    assert a.state is b.state is GuestState.HALTED
    assert vmm.world_switches > 20
    # a: every pass stops at target once (the handler steps over it), b: never.
    assert a.vcpu.x[S0] == 200 and b.vcpu.x[S0] == 0
    assert a.vcpu.x[A1] == a.symbols["target"]


def test_a_snapshot_keeps_the_guests_triggers_armed(tmp_path):
    source = f"""
_start:
        la   t0, handler
        csrw mtvec, t0
        li   t0, 0x8
        csrs mstatus, t0
{arm(mcontrol6(T.LOAD), "data")}
        la   t1, data
        li   t2, 100000
1:      addi t2, t2, -1
        bnez t2, 1b
watched: lw  t3, 0(t1)
{HALT}
{HANDLER}
        .align 4
data:   .word 42
"""
    vmm, g = guest(source)
    vmm.run_slice(g, 5000)  # triggers armed, the loop still counting
    assert g.vcpu.trig_load and g.vcpu.x[S0] == 0
    path = tmp_path / "t.snap"
    save_guest(g, path)
    other = Vmm()
    restored = restore_guest(other, path)
    other.run(max_rounds=1000)
    assert restored.state is GuestState.HALTED
    assert restored.vcpu.x[S0] == 1 and restored.vcpu.x[A2] == g.symbols["watched"]


def test_no_triggers_armed_loads_none_on_the_real_hart():
    """Nothing armed: the real hart has no trigger, so the engine runs blocks as ever."""
    vmm, g = guest(f"_start: li t0, 1000\n1: addi t0, t0, -1\n bnez t0, 1b\n{HALT}")
    vmm.run(max_rounds=100)
    assert g.state is GuestState.HALTED
    assert vmm.loaded_triggers == () and vmm.hart.tdata1 == [T.DISABLED] * T.TRIGGERS
