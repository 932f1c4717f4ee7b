"""Isolation: hostile guests cannot reach the VMM, the shadow pool or another guest.

Hundreds of generated hostile programs (seeded, so a failure names the seed that
reproduces it) each run beside a victim guest that keeps a known pattern in its RAM
and prints a checksum of it.  The hostile programs write random values to random CSRs
(every CSR number), load, store and run AMOs at wild addresses (host RAM outside their
window, the shadow pool's host addresses, the VMM's door page, devices), jump to random
places, run random words and privileged instructions, and run in virtual S or U-mode on
crafted page tables whose PTEs point outside their RAM.  Afterwards:

* the victim printed what it prints alone and its RAM is what it is alone, byte for byte;
* host RAM outside the hostile guest's window and the shadow pool is untouched;
* every shadow table of either guest is in the pool, no pool page is shared, and every
  shadow leaf points into its own guest's window (checked after every round).

And a guest that crashes (a trap loop) stops alone, with its reason, while another
guest completes.
"""

from __future__ import annotations

import random

import pytest

from machine.cpu.csrfile import IMPLEMENTED
from tuivmm.vmm import GuestState, Vmm, monitor

from .vmmharness import HALT, MIB, fail, guest

RAM = 0x8000_0000
POOL = 32 * MIB
HOST_RAM = POOL + 8 * MIB
PROGRAMS = 400
SEED = 20240611

# --- the victim --------------------------------------------------------------------------------

BUF = RAM + 0x1_0000
WORDS = 2048
VICTIM = f"""
_start: li   t0, 0x5eed1234
        csrw mscratch, t0
        la   t0, v_trap
        csrw mtvec, t0
        li   s0, {BUF:#x}
        li   s1, {WORDS}
        li   s2, 0x1234567
        li   s3, 1664525
        li   s4, 1013904223
fill:   sw   s2, 0(s0)
        mul  s2, s2, s3
        add  s2, s2, s4
        addi s0, s0, 4
        addi s1, s1, -1
        bnez s1, fill
        li   s5, 2
round:  li   s0, {BUF:#x}
        li   s1, {WORDS}
        li   s2, 0x1234567
        li   s6, 0
check:  lw   t1, 0(s0)
        bne  t1, s2, bad
        xor  s6, s6, t1
        slli t2, s6, 1
        srli t3, s6, 31
        or   s6, t2, t3
        mul  s2, s2, s3
        add  s2, s2, s4
        addi s0, s0, 4
        addi s1, s1, -1
        bnez s1, check
        addi s5, s5, -1
        bnez s5, round
        csrr t0, mscratch
        li   t1, 0x5eed1234
        bne  t0, t1, bad
        li   t0, 0x10000000
        li   a0, 0x6b6f            # "ok"
        sb   a0, 0(t0)
        srli a0, a0, 8
        sb   a0, 0(t0)
        li   s1, 8
hex:    srli a0, s6, 28
        slli s6, s6, 4
        addi a0, a0, 48
        li   t1, 58
        blt  a0, t1, digit
        addi a0, a0, 39
digit:  sb   a0, 0(t0)
        addi s1, s1, -1
        bnez s1, hex
        li   a0, 10
        sb   a0, 0(t0)
{HALT}
        .align 2
v_trap:
bad:    li   t0, 0x10000000
        li   a0, 0x58              # "X"
        sb   a0, 0(t0)
{fail(1)}
"""


@pytest.fixture(scope="module")
def victim_alone():
    vmm, g = guest(VICTIM, name="victim")
    vmm.run(max_rounds=100)
    assert g.halt == ("pass", 0), g.reason
    assert g.output.startswith(b"ok") and len(g.output) == 11
    return bytes(g.output), bytes(g.window.data)


# --- hostile programs ------------------------------------------------------------------------

REGS = ["a0", "a1", "a2", "a3", "a4", "a5", "t0", "t1", "t2", "t3", "t4", "t5"]  # not s10, s11, t6
DEVICES = [(0x0010_0000, 0x1000), (0x0200_0000, 0x1_0000), (0x0C00_0000, 0x40_0000), (0x1000_0000, 8),
           (0x1000_1000, 0x8000)]  # fmt: skip
CSRS = sorted(IMPLEMENTED)
PT_ROOT = RAM + 0x8_0000
PT_LEAF = RAM + 0x8_1000
CRAFTED_VA = 0x4000_0000  # 16 crafted 4 KiB pages, then 8 crafted megapages
TRAP_LIMIT = 48


class Hostile:
    def __init__(self, rng: random.Random, guest_ram: int, victim_host: int):
        self.rng = rng
        self.guest_ram = guest_ram
        self.victim_host = victim_host

    def wild(self) -> int:
        r = self.rng
        kind = r.randrange(9)
        if kind == 0:
            return r.getrandbits(32)
        if kind == 1:  # host RAM beyond this guest's RAM
            return RAM + self.guest_ram + r.randrange(HOST_RAM - self.guest_ram)
        if kind == 2:  # where the victim lives on the host
            return self.victim_host + r.randrange(MIB)
        if kind == 3:  # the shadow pool's host addresses
            return RAM + r.randrange(POOL)
        if kind == 4:
            base, size = r.choice(DEVICES)
            return base + r.randrange(size)
        if kind == 5:  # its own RAM
            return RAM + r.randrange(self.guest_ram)
        if kind == 6:  # the VMM's door page
            return 0xFFFF_F000 + r.randrange(0x1000)
        if kind == 7:
            return RAM + self.guest_ram + r.choice([-8, -4, -2, -1, 0, 1, 4, 0x1000])
        return CRAFTED_VA + r.randrange(24) * (0x1000 if r.random() < 0.7 else 0x40_0000) + r.randrange(0x1000)

    def crafted_ppn_target(self) -> int:
        r = self.rng
        return r.choice([
            RAM + self.guest_ram + 0x1000 * r.randrange(64),  # beyond its RAM
            self.victim_host + 0x1000 * r.randrange(256),  # the victim's host pages
            RAM + 0x1000 * r.randrange(POOL // 0x1000),  # the pool's host pages (its own GPAs below its size)
            0xFFFF_F000, 0, 0x1000_0000, 0x0C00_0000, 0x0200_0000,
            r.getrandbits(32) & ~0xFFF,
            RAM + 0x1000 * r.randrange(self.guest_ram // 0x1000),
        ])  # fmt: skip

    def page_tables(self, user: bool) -> dict[int, int]:
        """Crafted tables: RAM identity-mapped (so the code runs), devices, and PTEs
        pointing everywhere they should not."""
        r = self.rng
        words = {PT_ROOT + 4 * (RAM >> 22): ((RAM >> 12) << 10) | 0xCF | (0x10 if user else 0)}
        words[PT_ROOT] = 0xCF | (0x10 if user else 0)  # megapage 0: the finisher
        words[PT_ROOT + 4 * (CRAFTED_VA >> 22)] = ((PT_LEAF >> 12) << 10) | 1
        for i in range(16):
            flags = r.getrandbits(8) | 1 if r.random() < 0.9 else r.getrandbits(8)
            words[PT_LEAF + 4 * i] = ((self.crafted_ppn_target() >> 12) << 10) | flags
        for i in range(1, 8):  # megapages, some misaligned, some non-leaf pointing anywhere
            target = self.crafted_ppn_target()
            flags = r.choice([0xCF, 0xDF, 0x01, 0xC7, r.getrandbits(8) | 1])
            words[PT_ROOT + 4 * ((CRAFTED_VA >> 22) + i)] = ((target >> 12) << 10) | flags
        return words

    def op(self) -> str:
        r = self.rng
        rd, rs = r.choice(REGS), r.choice(REGS)
        kind = r.randrange(10)
        if kind <= 2:  # memory at a wild address
            addr = self.wild()
            insn = r.choice(["lw", "lh", "lhu", "lb", "lbu", "sw", "sh", "sb", "amoswap.w", "amoadd.w", "lr.w",
                             "sc.w"])  # fmt: skip
            if insn.startswith("amo"):
                access = f"{insn} {rd}, {rs}, (t6)"
            elif insn == "lr.w":
                access = f"lr.w {rd}, (t6)"
            elif insn == "sc.w":
                access = f"sc.w {rd}, {rs}, (t6)"
            else:
                access = f"{insn} {rd if insn[0] == 'l' else rs}, 0(t6)"
            return f"li {rs}, {r.getrandbits(32):#x}; li t6, {addr:#x}; {access}"
        if kind == 3:  # a CSR, any number, any value
            num = r.choice(CSRS) if r.random() < 0.6 else r.randrange(4096)
            op = r.choice(["csrrw", "csrrs", "csrrc"])
            if r.random() < 0.3:
                return f"{op}i {rd}, {num:#x}, {r.randrange(32)}"
            return f"li {rs}, {r.getrandbits(32):#x}; {op} {rd}, {num:#x}, {rs}"
        if kind == 4:  # jump anywhere
            target = self.wild() if r.random() < 0.6 else RAM + 4 * r.randrange(0x400)
            return f"li t6, {target:#x}; jalr {rd}, t6"
        if kind == 5:
            return f".word {r.getrandbits(32):#x}"
        if kind == 6:
            return r.choice(["mret", "sret", "wfi", "sfence.vma", "ecall", "ebreak", "fence.i",
                             f"sfence.vma {rs}, {rd}"])  # fmt: skip
        if kind == 7:  # rewrite a crafted PTE at run time
            slot = PT_LEAF + 4 * r.randrange(16) if r.random() < 0.7 else PT_ROOT + 4 * r.randrange(1024)
            value = ((self.crafted_ppn_target() >> 12) << 10) | r.getrandbits(8)
            return f"li t6, {slot:#x}; li {rs}, {value:#x}; sw {rs}, 0(t6); sfence.vma"
        if kind == 8:  # device register, random size and value
            base, size = r.choice(DEVICES)
            addr = base + r.randrange(size) & ~3
            value = r.getrandbits(32)
            if base == 0x0010_0000 and value & 0xFFFF in (0x5555, 0x3333, 0x7777):
                value ^= 1
            insn = r.choice(["sw", "lw", "sb", "lbu"])
            return f"li {rs}, {value:#x}; li t6, {addr:#x}; {insn} {rs if insn[0] == 's' else rd}, 0(t6)"
        # switch mode: MRET to a random mode at the next op
        mpp = r.choice([0, 1, 3, 2])
        return (f"li t6, 0x1800; csrc mstatus, t6; li t6, {mpp << 11:#x}; csrs mstatus, t6; "
                f"csrw mepc, s10; mret")  # fmt: skip

    def source(self) -> tuple[str, dict[int, int]]:
        r = self.rng
        mode = r.choice(["M", "S", "U"])
        paged = mode != "M" and r.random() < 0.8
        words = self.page_tables(mode == "U") if paged else {}
        n = r.randrange(20, 60)
        ops = "\n".join(f"o{i}:     la s10, o{i + 1}\n        {self.op()}" for i in range(n))
        setup = ""
        if mode != "M":
            setup = f"""
        li   t0, -1
        csrw pmpaddr0, t0
        li   t0, 0x1f
        csrw pmpcfg0, t0
        li   t0, {(1 << 31) | (PT_ROOT >> 12) if paged else 0:#x}
        csrw satp, t0
        li   t0, 0x1800
        csrc mstatus, t0
        li   t0, {(1 if mode == "S" else 0) << 11:#x}
        csrs mstatus, t0
        la   t0, o0
        csrw mepc, t0
        mret"""
        src = f"""
_start: la   t0, handler
        csrw mtvec, t0
        li   s11, 0
{setup}
{ops}
o{n}:
{HALT}
        .align 2
handler:
        addi s11, s11, 1
        li   t6, {TRAP_LIMIT}
        bgeu s11, t6, o{n}
        csrw mepc, s10
        mret
"""
        return src, words


# --- checks ---------------------------------------------------------------------------------------


def check_shadows(vmm: Vmm, guests) -> None:
    """Every shadow table lives in the pool, no pool page serves two tables, and every
    leaf maps a page of its own guest's window (never the VMM's door page)."""
    host = vmm.host_ram
    words = host.words
    used: set[int] = set()
    for g in guests:
        lo, hi = g.window.host_base, g.window.host_base + g.window.size
        for key, table in g.shadows.items():
            pages = [table.root, *table.tables.values()]
            assert all(vmm.pool.contains(p) for p in pages), (g.name, key)
            assert not used & set(pages), (g.name, key, "a pool page serves two shadow tables")
            used.update(pages)
            start = (table.root - host.base) >> 2
            for i, entry in enumerate(words[start : start + 1024].tolist()):
                if not entry & 1:
                    continue
                assert entry & 0xE == 0, (g.name, key, f"a leaf in the shadow root: {entry:#x}")
                assert (entry >> 10) << 12 == table.tables.get(i), (g.name, key, i)
            for vpn1, leaf_table in table.tables.items():
                start = (leaf_table - host.base) >> 2
                for j, entry in enumerate(words[start : start + 1024].tolist()):
                    if not entry & 1:
                        continue
                    hpa = (entry >> 10) << 12
                    assert lo <= hpa < hi, (g.name, key, f"va {(vpn1 << 22) | (j << 12):#x} -> hpa {hpa:#x}")
                    assert entry & 0x10 and entry & 0xE, (g.name, key, f"{entry:#x}")
                    assert (vpn1 << 10) | j != 0xFFFFF, (g.name, key, "the door page is mapped")


def run_beside_victim(seed: int, victim_alone) -> object:
    rng = random.Random(seed)
    flawed = rng.random() < 0.5
    remedy = rng.choice(["none", "bt", "hw", "pv"])
    vmm = Vmm(flawed_eret=flawed, host_ram_size=HOST_RAM)
    hostile_ram = MIB
    # The hostile guest's window comes first; the victim's follows it in host RAM.
    victim_host = RAM + POOL + hostile_ram
    gen = Hostile(rng, hostile_ram, victim_host)
    src, words = gen.source()
    _, hostile = guest(src, vmm, name="hostile", ram_size=hostile_ram, remedy=remedy)
    for addr, value in words.items():
        hostile.window.write_u32(addr, value)
    _, victim = guest(VICTIM, vmm, name="victim")
    assert victim.window.host_base == victim_host
    for _ in range(12):
        if not vmm.run_round():
            break
        check_shadows(vmm, (hostile, victim))
    while victim.state is GuestState.RUNNING:
        vmm.run_slice(victim)
    context = f"seed {seed}: hostile {hostile.state.value} {hostile.reason!r}, flawed={flawed}, remedy={remedy}"
    out, ram = victim_alone
    assert (victim.state, victim.halt) == (GuestState.HALTED, ("pass", 0)), context
    assert bytes(victim.output) == out, context
    assert bytes(victim.window.data) == ram, context
    # Host RAM that is neither the pool nor the hostile guest's window nor the victim's: never written.
    for start, end, owner in vmm.host_map():
        if owner == "free":
            off = start - vmm.host_ram.base
            assert vmm.host_ram.data[off : off + (end - start)] == bytes(end - start), (context, hex(start))
    assert [owner for _, _, owner in vmm.host_map()][1:] == ["hostile", "victim", "free"], context
    check_shadows(vmm, (hostile, victim))
    return hostile


def test_hostile_guests_reach_nothing_outside_their_window(victim_alone, monkeypatch):
    # A hostile guest that breaks its own trap vector loops in traps; stop it sooner
    # than the VMM's default patience so hundreds of them fit in the test's time.
    monkeypatch.setattr(monitor, "STUCK_EXITS", 300, raising=False)
    states: dict[str, int] = {}
    exits: dict[str, int] = {}
    for n in range(PROGRAMS):
        hostile = run_beside_victim(SEED + n, victim_alone)
        states[hostile.state.value] = states.get(hostile.state.value, 0) + 1
        for reason, count in hostile.log.counts.items():
            exits[reason] = exits.get(reason, 0) + count
        for action, count in hostile.log.actions.items():
            exits[action] = exits.get(action, 0) + count
    print(f"\nisolation: {PROGRAMS} hostile programs, each beside a victim; hostile end states {states}; "
          f"their exits {exits}")  # fmt: skip
    # The programs did the nasty things they were made for.
    for what in ("csr", "mmio", "true fault", "hidden fault", "injected", "xret"):
        assert exits.get(what, 0) > 0, what


# --- a crashing guest stops alone --------------------------------------------------------------------


def test_a_guest_in_a_trap_loop_crashes_alone_while_another_completes():
    vmm, broken = guest(f"_start: li t0, 0x10\n csrw mtvec, t0\n .word 0\n{HALT}", name="broken")
    _, worker = guest(VICTIM, vmm, name="worker")
    vmm.run(max_rounds=2_000)
    assert broken.state is GuestState.CRASHED
    assert "stuck" in broken.reason
    crash = list(broken.log.events)[-1]
    assert crash.action == "crashed" and crash.detail == broken.reason
    assert (worker.state, worker.halt) == (GuestState.HALTED, ("pass", 0))
    assert worker.output.startswith(b"ok")
    assert vmm.loaded is not broken
    # The VMM goes on: a new guest runs after the crash.
    _, late = guest(f"_start: nop\n{HALT}", vmm, name="late")
    vmm.run(max_rounds=10)
    assert late.halt == ("pass", 0) and broken.state is GuestState.CRASHED


def test_a_crashed_guest_can_be_reset_and_runs_again():
    vmm, g = guest(f"_start: li t0, 0x10\n csrw mtvec, t0\n .word 0\n{HALT}", name="broken")
    vmm.run(max_rounds=2_000)
    assert g.state is GuestState.CRASHED
    g.reset()
    assert g.state is GuestState.RUNNING and g.reason == ""
    vmm.run(max_rounds=2_000)
    assert g.state is GuestState.CRASHED  # the same program, the same end



def test_the_shadow_check_catches_a_leaf_pointing_outside_the_window():
    # The check above is not vacuous: forge one shadow PTE to point at the next window.
    vmm, g = guest(VICTIM, name="victim", ram_size=MIB)
    vmm.run(max_rounds=100)
    check_shadows(vmm, (g,))
    table = next(iter(g.shadows.values()))
    leaf_table = next(iter(table.tables.values()))
    slot = (leaf_table - vmm.host_ram.base) >> 2
    outside = g.window.host_base + g.window.size
    vmm.host_ram.words[slot + 1023] = ((outside >> 12) << 10) | 0xDF
    with pytest.raises(AssertionError):
        check_shadows(vmm, (g,))
