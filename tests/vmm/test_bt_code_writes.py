"""Binary translation against code that writes code (issue 13, item 6).

On flawed-ERET hardware the bt remedy is all that stands between a guest kernel's
SRET and the real hart, which would run it unseen in U-mode.  A guest that stores an
SRET into a page bt has already scanned must have it patched before it runs, by
either of the two ways bt.py keeps a scanned page honest:

* code on the same page (which must stay executable): the VMM emulates the store,
  and `BinaryTranslator.store` patches the word again if it now holds an xRET;
* code on another page: the VMM puts the page's originals back and forgets the scan
  (`unscan`), so the page is scanned again before it next runs.

Each program runs on the bare machine (correct hardware: the reference) and as a
guest on the flawed hardware with bt; both must end the same, in M-mode at the
guest's ecall-from-U handler, and the VMM must have emulated the SRET itself.
"""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from tuivmm.vmm import GuestState, Vmm, monitor
from tuivmm.vmm import traplog as T

from .vmmharness import HALT, MIB, PMP_ALL, arch_state, bare, diff_states, enter, fail, last_events, program

SRET = 0x1020_0073

# How the kernel writes the SRET word at `slot` (address in t0).
STORES = {
    "sw": f"li t1, {SRET:#x}\n        sw   t1, 0(t0)",
    "sh-low-first": f"li t1, {SRET & 0xFFFF:#x}\n        sh   t1, 0(t0)\n"
                    f"        li   t1, {SRET >> 16:#x}\n        sh   t1, 2(t0)",
    "sh-high-first": f"li t1, {SRET >> 16:#x}\n        sh   t1, 2(t0)\n"
                     f"        li   t1, {SRET & 0xFFFF:#x}\n        sh   t1, 0(t0)",
}  # fmt: skip

# The instructions around the slot the SRET lands in.  With 16-bit neighbours the slot
# is at an address that is 2 mod 4, so the SRET straddles two aligned words (bt.store
# and bt's walk must both see it); a misaligned `sw` would trap, so those are stored
# as two halves.
NEIGHBOURS = {
    "32-bit": ("addi a1, a1, 1", "j    bad"),
    "16-bit": ("c.addi a1, 1", "c.j  bad"),
}
CASES = [(store, neighbours) for neighbours in NEIGHBOURS for store in STORES
         if not (neighbours == "16-bit" and store == "sw")]  # fmt: skip


def code_at_slot(neighbours: str) -> str:
    """`slot` (which starts as a jump to `bad`) between its neighbours, then the user code
    the SRET returns to."""
    before, after = NEIGHBOURS[neighbours]
    return f"""
before: {before}
slot:   j    bad               # the kernel stores an SRET here
        {after}
user:   li   a2, 7
        ecall                  # to the guest's M-mode handler: the end
bad:
{fail(1)}"""


def kernel_program(store: str, neighbours: str, *, other_page: bool) -> str:
    """M-mode sets up and enters S-mode at `kernel`; the kernel makes `slot` an SRET
    (on its own page, or on the next page after running code there once) and jumps to
    it, which must take it to `user` in U-mode."""
    # The target page runs once before the store (`warm`), so bt has scanned it.
    far = f"""
        .balign 4096
warm:   ret
{code_at_slot(neighbours)}""" if other_page else ""  # fmt: skip
    near = "" if other_page else code_at_slot(neighbours)
    return f"""
_start:
{PMP_ALL}
        la   t0, m_trap
        csrw mtvec, t0
{enter("S", "kernel")}
kernel: {"jal  ra, warm" if other_page else "nop"}
        la   t0, user
        csrw sepc, t0
        li   t0, 0x100          # sstatus.SPP = U
        csrc sstatus, t0
        li   a1, 0
        la   t0, slot
        {STORES[store]}
        fence.i
        j    before
        .balign 4
m_trap:
{HALT}
{near}
{far}"""


def m_mode_writer_program(store: str, neighbours: str) -> str:
    """The slot's page runs in S-mode first (bt scans it; the S-mode shadow maps it
    executable), then the guest's M-mode handler, on another page and in its own
    shadow, makes `slot` an SRET and returns to S-mode just before it.  M-mode's shadow
    must not still map the page writable from before the scan (its fault-around mapped
    it so): the store must reach bt, or the S-mode shadow runs the unpatched SRET."""
    return f"""
_start:
{PMP_ALL}
        la   t0, m_trap
        csrw mtvec, t0
{enter("S", "kernel")}
kernel: jal  ra, warm
        ecall                   # to M-mode, which writes the SRET
        .balign 4
m_trap: csrr t0, mcause
        li   t1, {C.ECALL_FROM_S}
        bne  t0, t1, done
        bnez s1, again          # an SRET that ran unseen left the guest in S-mode
        li   s1, 1
        la   t0, user
        csrw sepc, t0
        li   t0, 0x100          # sstatus.SPP = U
        csrc mstatus, t0
        li   a1, 0
        la   t0, slot
        {STORES[store]}
        fence.i
{enter("S", "before")}
again:
{fail(2)}
done:
{HALT}
        .balign 4096
warm:   ret
{code_at_slot(neighbours)}"""


def m_mode_runner_program(store: str, neighbours: str) -> str:
    """The slot's page runs in M-mode first (M-mode's shadow maps it executable), then
    S-mode code on another page makes `slot` an SRET and ecalls, and M-mode runs it
    (SRET in M-mode: to U-mode, at sepc).  M-mode's shadow must have forgotten the page
    too, or the unpatched SRET runs from it."""
    return f"""
_start:
{PMP_ALL}
        la   t0, m_trap
        csrw mtvec, t0
        jal  ra, warm
{enter("S", "kernel")}
kernel: li   a1, 0
        la   t0, slot
        {STORES[store]}
        fence.i
        ecall                   # to M-mode, which runs the SRET
        .balign 4
m_trap: csrr t0, mcause
        li   t1, {C.ECALL_FROM_S}
        bne  t0, t1, done
        la   t0, user
        csrw sepc, t0
        li   t0, 0x100          # sstatus.SPP = U
        csrc mstatus, t0
        j    before
done:
{HALT}
        .balign 4096
warm:   ret
{code_at_slot(neighbours)}"""


@pytest.fixture(autouse=True)
def impatient(monkeypatch):
    """A guest the VMM livelocks on is reported stuck after 2_000 exits, not 20_000."""
    monkeypatch.setattr(monitor, "STUCK_EXITS", 2_000, raising=False)


def bare_vs_flawed_bt(source: str):
    """Run `source` on the bare (correct) machine and as a guest on flawed-ERET hardware
    with the bt remedy; they must end the same (registers, pc, privilege, every CSR,
    RAM with bt's patches taken back)."""
    prog = program(source)
    board = bare(prog)
    vmm = Vmm(flawed_eret=True)
    g = vmm.add_guest(program=prog, name="t", ram_size=MIB, net=False, remedy="bt")
    g.symbols = prog.symbols
    vmm.run(max_rounds=20)
    assert g.state is GuestState.HALTED, (g.state, g.reason, last_events(g, 30))
    assert g.halt == board.halt == ("pass", 0), (g.halt, board.halt, last_events(g, 30))
    assert diff_states(arch_state(board.hart), arch_state(g.vcpu)) == [], last_events(g, 30)
    ram = bytearray(g.window.data)
    for addr, word in g.bt.patched.items():  # bt leaves its patches in guest RAM (bt.py says so)
        ram[addr - g.window.base : addr - g.window.base + 4] = word.to_bytes(4, "little")
    assert bytes(ram) == bytes(board.ram.data), "RAM differs"
    return board, g


def assert_sret_was_caught(board, g) -> None:
    v = g.vcpu
    # Both ended in M-mode at the ecall from U-mode: the SRET took the kernel to user.
    assert (board.hart.priv, board.hart.mcause, board.hart.mepc) == (C.M, C.ECALL_FROM_U, g.symbols["user"] + 4)
    assert (v.priv, v.mcause, v.x[12]) == (C.M, C.ECALL_FROM_U, 7)
    # The VMM saw the SRET and emulated it: it did not run unseen on the real hart.
    slot = g.symbols["slot"]
    caught = [e for e in g.log.events if e.pc == slot and e.reason == T.XRET]
    assert [e.action for e in caught] == [T.EMULATED], last_events(g, 30)


@pytest.mark.parametrize(("store", "neighbours"), CASES)
def test_sret_stored_into_its_own_scanned_page_is_patched_before_it_runs(store, neighbours):
    board, g = bare_vs_flawed_bt(kernel_program(store, neighbours, other_page=False))
    assert g.symbols["slot"] % 4 == (2 if neighbours == "16-bit" else 0)
    assert_sret_was_caught(board, g)
    # The store was emulated word by word (bt.store), the page kept translated.
    page = g.symbols["slot"] >> 12
    assert page == g.symbols["kernel"] >> 12 and page in g.bt.scanned
    assert g.bt.patched.get(g.symbols["slot"]) == SRET


@pytest.mark.parametrize(("store", "neighbours"), CASES)
def test_sret_stored_into_another_scanned_page_is_patched_before_it_runs(store, neighbours):
    board, g = bare_vs_flawed_bt(kernel_program(store, neighbours, other_page=True))
    assert_sret_was_caught(board, g)
    assert g.symbols["slot"] >> 12 != g.symbols["kernel"] >> 12
    assert g.bt.patched.get(g.symbols["slot"]) == SRET


@pytest.mark.parametrize(("store", "neighbours"), CASES)
def test_sret_stored_from_m_mode_into_a_page_s_mode_ran_is_patched_before_s_mode_runs_it(store, neighbours):
    board, g = bare_vs_flawed_bt(m_mode_writer_program(store, neighbours))
    assert_sret_was_caught(board, g)
    assert g.bt.patched.get(g.symbols["slot"]) == SRET


@pytest.mark.parametrize(("store", "neighbours"), CASES)
def test_sret_stored_from_s_mode_into_a_page_m_mode_ran_is_patched_before_m_mode_runs_it(store, neighbours):
    board, g = bare_vs_flawed_bt(m_mode_runner_program(store, neighbours))
    assert_sret_was_caught(board, g)
    assert g.bt.patched.get(g.symbols["slot"]) == SRET
