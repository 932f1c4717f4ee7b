"""The VMM's fast exit path (`Vmm.fast_exits`): the real hart hands each exit to the
monitor inside its run loop (`Hart.exit_hook`), and a CSR instruction the guest is
entered at is handled without running the hart (`Hart.trap_at_pc`).  It must give
exactly the run the slow path gives — every exit in the trap log with the same text,
the same turns of the slice loop (record/replay counts them), the same guest state —
and the slice's exit budget must still bound a guest that does nothing but trap.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from machine.cpu import engine
from tuivmm.vmm import GuestState, Vmm

from .vmmharness import guest

IMAGES = Path(__file__).resolve().parents[2] / "tuivmm" / "images"

# M-mode sets up delegation and enters S; the S kernel reads and writes its CSRs (four
# in a row: a trap handler's kind of run), drops to U with SRET, and U's ECALL comes
# back to its trap handler (two CSRs in a row) three times; then an ECALL to M, which
# powers off.
SOURCE = """
_start:
        csrr t0, mscratch
        csrw mscratch, t0
        la   t0, mtrap
        csrw mtvec, t0
        la   t0, strap
        csrw stvec, t0
        li   t0, 0x100          # ecall from U: to S
        csrw medeleg, t0
        li   t0, -1
        csrw pmpaddr0, t0
        li   t0, 0x1f
        csrw pmpcfg0, t0
        li   s0, 3
        li   t0, 0x1800
        csrc mstatus, t0
        li   t0, 0x800          # MPP = S
        csrs mstatus, t0
        la   t0, kernel
        csrw mepc, t0
        mret
kernel:
        csrr t1, sscratch
        csrw sscratch, s0
        csrr t2, sstatus
        csrr t3, stvec
        beqz s0, done
        addi s0, s0, -1
        li   t0, 0x100          # SPP = U
        csrc sstatus, t0
        la   t0, user
        csrw sepc, t0
        sret
user:
        addi a0, a0, 1
        ecall
        j    user
strap:
        csrr t4, scause
        csrr t5, sepc
        j    kernel
done:
        ecall
mtrap:
        li   t6, 0x100000
        li   t5, 0x5555
        sw   t5, 0(t6)
1:      j    1b
"""

# What the trap log said for SOURCE before the fast path existed (the VMM at the
# commit before it): the text `--trace-exits` writes and the dashboard shows.
GOLDEN = [
    "      0 t          t=0          pc=80000000 M -                            instruction page fault: hidden fault (va 0x80000000 -> hpa 0x82000000 rwx, 63 more around it)",
    "      1 t          t=0          pc=80000000 M csrr t0,mscratch             illegal instruction: emulated",
    "      2 t          t=1          pc=80000004 M csrw mscratch,t0             illegal instruction: emulated",
    "      3 t          t=4          pc=80000010 M csrw mtvec,t0                illegal instruction: emulated",
    "      4 t          t=7          pc=8000001c M csrw stvec,t0                illegal instruction: emulated",
    "      5 t          t=9          pc=80000024 M csrw medeleg,t0              illegal instruction: emulated",
    "      6 t          t=11         pc=8000002c M csrw pmpaddr0,t0             illegal instruction: emulated",
    "      7 t          t=12         pc=80000030 M -                            instruction page fault: hidden fault (va 0x80000000 -> hpa 0x82000000 rwx, 63 more around it)",
    "      8 t          t=13         pc=80000034 M csrw pmpcfg0,t0              illegal instruction: emulated",
    "      9 t          t=14         pc=80000038 M -                            instruction page fault: hidden fault (va 0x80000000 -> hpa 0x82000000 rwx, 63 more around it)",
    "     10 t          t=17         pc=80000044 M csrc mstatus,t0              illegal instruction: emulated",
    "     11 t          t=20         pc=80000050 M csrs mstatus,t0              illegal instruction: emulated",
    "     12 t          t=23         pc=8000005c M csrw mepc,t0                 illegal instruction: emulated",
    "     13 t          t=24         pc=80000060 M mret                         illegal instruction: emulated",
    "     14 t          t=25         pc=80000064 S -                            instruction page fault: hidden fault (va 0x80000000 -> hpa 0x82000000 rwx, 63 more around it)",
    "     15 t          t=25         pc=80000064 S csrr t1,sscratch             illegal instruction: emulated",
    "     16 t          t=26         pc=80000068 S csrw sscratch,s0             illegal instruction: emulated",
    "     17 t          t=27         pc=8000006c S csrr t2,sstatus              illegal instruction: emulated",
    "     18 t          t=28         pc=80000070 S csrr t3,stvec                illegal instruction: emulated",
    "     19 t          t=32         pc=80000080 S csrc sstatus,t0              illegal instruction: emulated",
    "     20 t          t=35         pc=8000008c S csrw sepc,t0                 illegal instruction: emulated",
    "     21 t          t=36         pc=80000090 S sret                         illegal instruction: emulated",
    "     22 t          t=37         pc=80000094 U -                            instruction page fault: hidden fault (va 0x80000000 -> hpa 0x82000000 rwx, 63 more around it)",
    "     23 t          t=38         pc=80000098 U ecall                        environment call from U-mode: injected",
    "     24 t          t=38         pc=800000a0 S csrr t4,scause               illegal instruction: emulated",
    "     25 t          t=39         pc=800000a4 S csrr t5,sepc                 illegal instruction: emulated",
    "     26 t          t=41         pc=80000064 S csrr t1,sscratch             illegal instruction: emulated",
    "     27 t          t=42         pc=80000068 S csrw sscratch,s0             illegal instruction: emulated",
    "     28 t          t=43         pc=8000006c S csrr t2,sstatus              illegal instruction: emulated",
    "     29 t          t=44         pc=80000070 S csrr t3,stvec                illegal instruction: emulated",
    "     30 t          t=48         pc=80000080 S csrc sstatus,t0              illegal instruction: emulated",
    "     31 t          t=51         pc=8000008c S csrw sepc,t0                 illegal instruction: emulated",
    "     32 t          t=52         pc=80000090 S sret                         illegal instruction: emulated",
    "     33 t          t=54         pc=80000098 U ecall                        environment call from U-mode: injected",
    "     34 t          t=54         pc=800000a0 S csrr t4,scause               illegal instruction: emulated",
    "     35 t          t=55         pc=800000a4 S csrr t5,sepc                 illegal instruction: emulated",
    "     36 t          t=57         pc=80000064 S csrr t1,sscratch             illegal instruction: emulated",
    "     37 t          t=58         pc=80000068 S csrw sscratch,s0             illegal instruction: emulated",
    "     38 t          t=59         pc=8000006c S csrr t2,sstatus              illegal instruction: emulated",
    "     39 t          t=60         pc=80000070 S csrr t3,stvec                illegal instruction: emulated",
    "     40 t          t=64         pc=80000080 S csrc sstatus,t0              illegal instruction: emulated",
    "     41 t          t=67         pc=8000008c S csrw sepc,t0                 illegal instruction: emulated",
    "     42 t          t=68         pc=80000090 S sret                         illegal instruction: emulated",
    "     43 t          t=70         pc=80000098 U ecall                        environment call from U-mode: injected",
    "     44 t          t=70         pc=800000a0 S csrr t4,scause               illegal instruction: emulated",
    "     45 t          t=71         pc=800000a4 S csrr t5,sepc                 illegal instruction: emulated",
    "     46 t          t=73         pc=80000064 S csrr t1,sscratch             illegal instruction: emulated",
    "     47 t          t=74         pc=80000068 S csrw sscratch,s0             illegal instruction: emulated",
    "     48 t          t=75         pc=8000006c S csrr t2,sstatus              illegal instruction: emulated",
    "     49 t          t=76         pc=80000070 S csrr t3,stvec                illegal instruction: emulated",
    "     50 t          t=78         pc=800000ac S ecall                        environment call from S-mode: injected (sbi set_timer (legacy))",
    "     51 t          t=81         pc=800000bc M sw t5,0(t6)                  store/AMO page fault: mmio write (finisher+0x0 finisher <- 0x5555)",
]


def _run(source, *, fast: bool, slice_exits: int | None = None, keep: int = 0, image: str | None = None,
         script: bytes = b""):  # fmt: skip
    vmm = Vmm()
    vmm.fast_exits = fast
    if slice_exits is not None:
        vmm.slice_exits = slice_exits
    vmm.keep_exit_states(keep)
    if image is not None:
        g = vmm.add_guest(str(IMAGES / image), ram_size=128 << 20, net=False)
        if script:
            g.send_input(script, interactive=False)
    else:
        vmm, g = guest(source, vmm)
    vmm.run()
    return vmm, g


def _everything(vmm: Vmm, g) -> dict:
    """All a run leaves that the fast path could change."""
    v = g.vcpu
    log = g.log
    return {
        "state": (g.state, g.halt, g.reason),
        "trace": [e.describe() for e in log.events],
        "counts": dict(log.counts), "actions": dict(log.actions), "total": log.total,
        "states": [(first, end, fields) for first, end, fields in (log.states or ())],
        "turns": (g.passes, g.slices, vmm.slices_run),
        "counters": (g.direct_instructions, g.emulated_instructions, g.hidden_faults, g.true_faults, g.flushes),
        "vcpu": v.save_state() | {"x": list(v.x)},
        "output": bytes(g.output),
    }  # fmt: skip


def test_the_trap_log_reads_as_it_did_before_the_fast_path():
    for fast in (True, False):
        _, g = _run(SOURCE, fast=fast)
        assert g.state is GuestState.HALTED and g.halt == ("pass", 0)
        assert [e.describe() for e in g.log.events] == GOLDEN


@pytest.mark.parametrize("slice_exits", [None, 1, 3])
@pytest.mark.parametrize("keep", [0, 40])
def test_fast_and_slow_paths_give_the_same_run(slice_exits, keep):
    fast = _everything(*_run(SOURCE, fast=True, slice_exits=slice_exits, keep=keep))
    slow = _everything(*_run(SOURCE, fast=False, slice_exits=slice_exits, keep=keep))
    assert fast == slow


@pytest.mark.parametrize(("image", "script", "slice_exits"),
                         [("trapstorm.elf", b"", 5), ("unix.elf", b"syscalls 20\nshutdown\n", 7)])  # fmt: skip
def test_fast_and_slow_paths_give_the_same_run_of_a_whole_guest(image, script, slice_exits):
    """Timer interrupts, ecalls to virtual M-mode, SBI calls, MMIO, hidden faults, WFI:
    the whole guest, exit for exit."""
    fast = _everything(*_run(None, fast=True, slice_exits=slice_exits, image=image, script=script))
    slow = _everything(*_run(None, fast=False, slice_exits=slice_exits, image=image, script=script))
    assert fast["state"][1] == ("pass", 0)
    assert fast == slow


def test_the_fast_path_is_taken(monkeypatch):
    """Not only the same run: the exits do not go back through `Hart.run`, and CSRs in
    a row are handled without running the hart."""
    runs = []
    peeked = []
    real_run, real_peek = engine.EngineMixin.run, engine.EngineMixin.trap_at_pc
    monkeypatch.setattr(engine.EngineMixin, "run", lambda self, *a, **k: runs.append(1) or real_run(self, *a, **k))

    def peek(self):
        exit_ = real_peek(self)
        peeked.append(exit_ is not None)
        return exit_

    monkeypatch.setattr(engine.EngineMixin, "trap_at_pc", peek)
    vmm, g = _run(SOURCE, fast=True)
    assert g.log.total == len(GOLDEN)
    assert len(runs) <= vmm.slices_run + 1  # one run a slice: every exit handled inside it
    assert sum(peeked) >= 12  # the CSRs in a row: sscratch, sstatus, stvec, sepc, ...


@pytest.mark.parametrize("fast", [True, False])
def test_slice_exits_still_bounds_a_trap_storm(fast):
    """A guest doing nothing but CSR accesses, one after another (from the second time
    round, each handled without running the hart): a slice ends after exactly
    `slice_exits` exits, wherever in the run of CSRs that falls."""
    storm = "_start:\n" + "        csrr t0, mscratch\n" * 8 + "        j _start\n"
    vmm, g = guest(storm)
    vmm.fast_exits = fast
    vmm.slice_exits = 25
    for n in range(1, 6):
        vmm.run_slice(g)
        assert g.log.total == 25 * n and g.state is GuestState.RUNNING
    assert g.log.counts["csr"] == 124  # and one hidden fault, on the code page
    assert g.instructions == 124 + 15  # each CSR exit retired its instruction; a `j` after every 8


def test_a_step_is_one_exit_on_the_fast_path():
    """Vmm.step (the dashboard's and the debugger's single step) stops after one
    emulated instruction even where the next would be handled without the hart."""
    storm = "_start:\n" + "        csrr t0, mscratch\n" * 20 + "        j _start\n"
    vmm, g = guest(storm, paused=True)
    for n in range(1, 6):
        vmm.step(g)
        assert g.instructions == n


def test_csr_reads_of_plain_fields_skip_only_cases_that_are_not_theirs():
    """csr_read answers a CSR kept as a plain field before its special cases: none of
    those may be one of them (MIP, SSTATUS, the counters, ... are computed)."""
    from machine.cpu import csrfile
    from machine.cpu import csrs as C

    special = (set(csrfile.ZERO_CSRS) | set(csrfile.COUNTER_LO) | set(csrfile.COUNTER_HI) | set(csrfile.TRIGGER_CSRS)
               | {C.MCYCLE, C.MCYCLEH, C.MINSTRET, C.MINSTRETH, C.SSTATUS, C.SIE, C.SIP, C.MISA, C.MIP}
               | set(range(C.PMPCFG0, C.PMPCFG0 + 4)) | set(range(C.PMPADDR0, C.PMPADDR0 + 16)))  # fmt: skip
    assert not special & set(csrfile._FIELD)


FAULT_VA = 0xC000_0000
FRESH_PA = 0x8040_0000


def _leaf(i: int) -> int:
    """The guest PTE of page i of FAULT_VA: a pattern of what fault-around may map
    (V R W A D: rw; V R A: r), may not (V R W, A clear: the guest's own access sets A),
    and nothing (invalid); from page 64 on, the second block, every page A clear."""
    ppn = ((FRESH_PA >> 12) + i) << 10
    if i >= 64:
        return ppn | 0x07
    return ppn | (0xC7, 0x43, 0x07, 0x00)[i % 4]


def _fault_around_guest(touch: list[int]) -> str:
    leaves = "\n".join(f"        .word {_leaf(i):#x}" for i in range(128))
    loads = "\n".join(f"        li   t0, {FAULT_VA + 4096 * i:#x}\n        lw   t1, 0(t0)" for i in touch)
    return f"""
_start:
        la   a0, root
        li   t1, 0xc7               # devices: megapage at 0, V R W A D
        sw   t1, 0(a0)
        li   t0, {(0x8000_0000 >> 22) * 4}
        add  t0, a0, t0
        li   t1, {(0x8000_0000 >> 12) << 10 | 0xCF:#x}   # code: V R W X A D
        sw   t1, 0(t0)
        li   t0, {(FAULT_VA >> 22) * 4}
        add  t0, a0, t0
        la   t1, l0
        srli t1, t1, 12
        slli t1, t1, 10
        ori  t1, t1, 1
        sw   t1, 0(t0)
        srli t0, a0, 12
        li   t1, 0x80000000
        or   t0, t0, t1
        csrw satp, t0
        li   t0, -1
        csrw pmpaddr0, t0
        li   t0, 0x1f
        csrw pmpcfg0, t0
        li   t0, 0x800
        csrw mstatus, t0
        la   t0, supervisor
        csrw mepc, t0
        mret
supervisor:
{loads}
        li   t6, 0x100000
        li   t5, 0x5555
        sw   t5, 0(t6)
1:      j    1b
.align 12
root:   .space 4096
l0:
{leaves}
        .space {4096 - 4 * 128}
"""


def _shadow_of(g):
    return next(t for key, t in g.shadows.items() if key[0] == "s")


def test_fault_around_maps_the_block_pages_the_guest_table_allows():
    """One hidden fault on page 5 maps it and every other page of its 64-page block
    whose guest PTE is valid with A set (W only where D is set too), and nothing
    else; the second block's pages, all A clear, are mapped one fault each."""
    vmm, g = guest(_fault_around_guest([5, 64, 70]), ram_size=8 << 20)
    vmm.run()
    assert g.state is GuestState.HALTED and g.halt == ("pass", 0)
    faults = [e.detail for e in g.log.events if e.action == "hidden fault" and e.detail.startswith("va 0xc")]
    assert faults == [
        "va 0xc0005000 -> hpa 0x82405000 r--, 31 more around it",
        "va 0xc0040000 -> hpa 0x82440000 r--",  # the load set A: r only (D clear)
        "va 0xc0046000 -> hpa 0x82446000 r--",
    ]
    mapped = {va: perms for va, _, perms in _shadow_of(g).mappings() if va >> 22 == FAULT_VA >> 22}
    expect = {FAULT_VA + 4096 * i: (0x6 if i % 4 == 0 else 0x2) for i in range(64) if i % 4 in (0, 1)}
    expect.update({FAULT_VA + 4096 * 64: 0x2, FAULT_VA + 4096 * 70: 0x2})
    assert mapped == expect
