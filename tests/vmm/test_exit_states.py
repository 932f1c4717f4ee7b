"""What each exit did, as the VMM keeps it for the trap inspector (exitstate.py): the
guest's virtual hart before and after, checked against what the instruction or the
trap must have done; the guest's walk and the shadow entry of a page fault; device
registers by name; binary translation's patched words and the filters by what the
VMM did.  Keeping states changes nothing in the run."""

from __future__ import annotations

import pytest

from machine.cpu import csrs as C
from machine.cpu.isa import decode
from tuivmm.lineup.packaged import IMAGES
from tuivmm.vmm import GuestState, Vmm
from tuivmm.vmm import traplog as T
from tuivmm.vmm.exitstate import STATE_NAMES, guest_walk

KEEP = 5000


def unix(keep: int = KEEP, script: bytes = b"echo hi\nls\nshutdown\n"):
    vmm = Vmm()
    vmm.keep_exit_states(keep)
    g = vmm.add_guest(IMAGES / "unix.elf", disk=None, net=False)
    g.send_input(script, interactive=False)
    vmm.run(max_rounds=20_000)
    assert (g.state, g.halt) == (GuestState.HALTED, ("pass", 0)), g.reason
    return g


@pytest.fixture(scope="module")
def booted():
    return unix()


def kept(g, choose):
    found = [(e, g.log.state_of(e)) for e in g.log.events if choose(e)]
    found = [(e, r) for e, r in found if r is not None]
    assert found
    return found


def test_states_are_kept_for_the_newest_events_only_and_cost_nothing_when_off(booted):
    log = booted.log
    assert 0 < len(log.states) <= KEEP
    newest = list(log.events)[-10:]
    assert all(log.state_of(e) is not None for e in newest if e.reason != T.RESET)
    plain = unix(keep=0)
    assert plain.log.states is None and plain.log.state_of(plain.log.events[-1]) is None
    # The same run, trap for trap, whether the VMM keeps states or not.
    assert plain.log.sequence_of() == booted.log.sequence_of()
    assert bytes(plain.output) == bytes(booted.output)
    small = unix(keep=50)
    assert len(small.log.states) == 50  # the newest 50 exits
    events = list(small.log.events)
    kept = [e for e in events if small.log.state_of(e) is not None]
    assert 50 <= len(kept) < 60 and kept == events[-len(kept) :]  # an exit may make two events (bt, resets)


def test_an_emulated_csr_read_changes_its_destination_and_steps_pc(booted):
    for e, r in kept(booted, lambda e: e.reason == T.CSR and e.action == T.EMULATED and e.text.startswith("csrr ")):
        d = decode(e.insn)
        assert r.value_before("pc") == e.pc and r.value_after("pc") == e.pc + 4
        assert r.value_before("priv") == r.value_after("priv") == e.priv
        csr = C.CSR_NAMES[d.imm]
        if csr == "sstatus":
            assert r.value_after(f"x{d.rd}") == r.value_after("mstatus") & C.SSTATUS_MASK
        elif csr in STATE_NAMES:
            assert r.value_after(f"x{d.rd}") == r.value_after(csr)
        names = {name for name, _, _ in r.changes()}
        assert "pc" in names and names <= {"pc", f"x{d.rd}"}


def test_an_sret_drops_to_the_previous_privilege_at_sepc(booted):
    for e, r in kept(booted, lambda e: e.reason == T.XRET and e.text == "sret"):
        before_status = r.value_before("mstatus")
        spp = (before_status >> 8) & 1
        assert r.value_before("priv") == C.S and r.value_after("priv") == spp
        assert r.value_after("pc") == r.value_before("sepc")
        assert r.value_after("mstatus") & C.MSTATUS_SIE == (C.MSTATUS_SIE if before_status & C.MSTATUS_SPIE else 0)


def test_an_injected_ecall_writes_the_trap_csrs_and_enters_the_vector(booted):
    for e, r in kept(booted, lambda e: e.reason == T.ECALL and e.action == T.INJECTED):
        assert r.value_before("priv") == C.U and r.value_after("priv") == C.S
        assert r.value_after("sepc") == e.pc
        assert r.value_after("scause") == C.ECALL_FROM_U
        assert r.value_after("pc") == r.value_after("stvec") & ~3
        assert (r.value_after("mstatus") >> 8) & 1 == C.U  # SPP: it came from U


def test_a_delivered_interrupt_enters_the_vector_with_the_interrupt_bit(booted):
    for e, r in kept(booted, lambda e: e.reason == T.INTERRUPT):
        mode = r.value_after("priv")
        x = "s" if mode == C.S else "m"
        assert r.value_after(f"{x}cause") == e.cause and e.cause & C.INTERRUPT_BIT
        assert r.value_after(f"{x}epc") == e.pc == r.value_before("pc")


def test_a_hidden_fault_shows_the_guests_walk_and_the_entry_it_filled(booted):
    window = booted.window
    found = kept(booted, lambda e: e.action == T.HIDDEN and e.insn)
    paged = [(e, r) for e, r in found if r.walk]
    assert paged
    for e, r in paged:
        leaf = r.walk[-1]
        assert leaf.pte & 1 and leaf.pte & 0xA  # valid, a leaf
        assert [s.level for s in r.walk] == ([1] if leaf.level == 1 else [1, 0])
        if leaf.level == 0:
            gpa = (leaf.pte >> 10) << 12
        else:
            gpa = ((leaf.pte >> 20) << 22) | (r.tval & 0x3F_F000)
        assert r.shadow is not None
        assert r.shadow[0] == window.host_base + (gpa - window.base)
        assert r.changes() == []  # the guest never sees it


def test_guest_walk_reads_without_setting_bits_and_stops_when_paging_is_off(booted):
    v = booted.vcpu
    saved = v.satp
    try:
        v.satp = 0
        assert guest_walk(v, 0x8000_0000) == ()
        v.satp = (1 << 31) | ((v.ram.base + v.ram.size) >> 12)  # a root just past its RAM
        assert guest_walk(v, 0x1000) == ()
    finally:
        v.satp = saved


def test_device_registers_are_named_in_the_log(booted):
    details = [e.detail for e in booted.log.events if e.reason == T.MMIO]
    assert any(d.startswith("uart0+0x0 THR <- ") for d in details)
    assert any(d.startswith("uart0+0x5 LSR -> ") for d in details)
    bus = booted.vcpu.bus
    regions = {name: base for base, _, name in bus.regions()}
    assert bus.describe(regions["clint"] + 0x4004) == "clint+0x4004 mtimecmph"
    assert bus.describe(regions["clint"] + 0xBFF8) == "clint+0xbff8 mtime"
    assert bus.describe(regions["plic"] + 0x200004, write=False) == "plic+0x200004 claim[0]"
    assert bus.describe(regions["plic"] + 0x201004, write=True) == "plic+0x201004 complete[1]"
    virtio = next(name for name in regions if name.startswith("virtio"))
    assert bus.describe(regions[virtio] + 0x50, write=True).endswith(" QueueNotify")
    assert bus.describe(regions[virtio] + 0x108).endswith(" Config+0x8")


def test_bt_marks_the_exits_on_words_it_patched_and_the_filters_find_them():
    vmm = Vmm(flawed_eret=True)
    g = vmm.add_guest(IMAGES / "eret-escape.elf", disk=None, net=False, remedy="bt")
    vmm.run(max_rounds=20_000)
    assert g.output.decode().splitlines()[-1].startswith("ERET-ESCAPE: PROTECTED")
    events = list(g.log.events)
    patched = [e for e in events if e.detail.startswith(T.BT_PATCH)]
    assert patched and all(e.reason == T.XRET and e.text in ("sret", "mret") for e in patched)
    bt = T.FILTER_BY_KEY["bt"]
    chosen = [e for e in events if bt.match(e)]
    assert {e.action for e in chosen} >= {T.BT_SCAN, T.EMULATED}
    assert set(chosen) == {e for e in events if e.action == T.BT_SCAN} | set(patched)


def test_every_filter_chooses_what_its_name_says(booted):
    events = list(booted.log.events)
    by = {f.key: [e for e in events if f.match(e)] for f in T.FILTERS}
    assert by[T.EMULATED] and all(e.action == T.EMULATED for e in by[T.EMULATED])
    assert by[T.INJECTED] and all(e.action == T.INJECTED and e.reason != T.INTERRUPT for e in by[T.INJECTED])
    assert by[T.HIDDEN] and all(e.action == T.HIDDEN for e in by[T.HIDDEN])
    assert by[T.MMIO_WRITE] and all(e.action == T.MMIO_WRITE for e in by[T.MMIO_WRITE])
    assert by[T.XRET] and all(e.reason == T.XRET for e in by[T.XRET])
    assert by[T.INTERRUPT] and all(e.reason == T.INTERRUPT for e in by[T.INTERRUPT])
    assert by[T.CSR] == [e for e in events if e.reason == T.CSR]
    # Every event is found by its exit kind.
    kinds = [k for k in T.REASONS]
    assert sum(len(by[k]) for k in kinds) == len([e for e in events if e.reason in T.REASONS])
    assert len({f.key for f in T.FILTERS}) == len(T.FILTERS)
