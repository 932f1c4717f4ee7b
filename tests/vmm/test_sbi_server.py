"""`--sbi vmm` (tuivmm/vmm/sbi_server.py): the VMM boots the kernel behind linux.elf's
firmware in virtual S-mode, as the firmware would leave it, and answers its SBI calls
itself.  Here: the state it boots in, calls made by hand (an ECALL exit built as the
real hart reports one), a reboot, a snapshot, and the images it refuses.  Whole runs
are in tests/test_sbi.py (our SBI test payload) and tests/test_linux_guest.py."""

from pathlib import Path

import pytest

from machine.cpu import csrs as C
from machine.cpu.asm import assemble
from machine.cpu.trap import Exit, ExitKind
from machine.devices.clint import MASK64
from tuivmm.tools.snapshot import restore_guest, save_guest
from tuivmm.vmm import Vmm, VmmError, sbi
from tuivmm.vmm import traplog as T
from tuivmm.vmm.sbi_server import IMPL_ID, kernel_image

IMAGES = Path(__file__).resolve().parents[2] / "tuivmm" / "images"
LINUX = IMAGES / "linux.elf"
PAYLOAD = 0x8040_0000
ECALL = 0x0000_0073


def linux(sbi_mode: str = "vmm"):
    vmm = Vmm()
    return vmm, vmm.add_guest(LINUX, net=False, sbi=sbi_mode)


def call(guest, eid: int, fid: int, *args: int) -> tuple[int, int]:
    """Make the guest's kernel (virtual S-mode) call SBI as if it ran an ECALL at its
    pc; (a0, a1) after it."""
    v = guest.vcpu
    assert v.priv == C.S
    v.x[10 : 10 + len(args)] = [a & 0xFFFF_FFFF for a in args]
    v.x[16], v.x[17] = fid, eid
    guest.handle_exit(Exit(ExitKind.TRAP, cause=C.ECALL_FROM_U, epc=v.pc, priv=C.U, insn=ECALL))
    return v.x[10], v.x[11]


def test_it_boots_the_payload_in_s_mode_as_the_firmware_leaves_the_hart():
    _, g = linux()
    v = g.vcpu
    assert (v.priv, v.pc, v.x[10], v.x[11]) == (C.S, PAYLOAD, 0, g.board.dtb_address)
    assert g.board.dtb_address is not None and v.satp == 0 and v.stvec == 0 and v.mie == 0
    assert v.medeleg == 0xB1FF  # all but ECALL from S (and from M, and the reserved causes)
    assert v.mideleg == 1 << C.SSIP | 1 << C.STIP | 1 << C.SEIP
    assert v.mcounteren == 7 and v.menvcfg == 0
    assert v.mstatus & (C.MSTATUS_MPP | C.MSTATUS_MIE | C.MSTATUS_SIE) == 0 and v.mstatus & C.MSTATUS_MPIE
    assert v.page_pmp(0x8000_0000, C.S) == 7 and v.page_pmp(0x1000_0000, C.S) == 7  # RAM and devices: open
    # Only the payload is loaded: no firmware bytes at the start of RAM.
    assert g.window.read_bytes(0x8000_0000, 4096) == bytes(4096)
    assert g.window.read_bytes(PAYLOAD, 64) == bytes(kernel_image(g.board.image).segments[0].data[:64])


def test_the_firmware_way_starts_the_firmware_in_m_mode():
    _, g = linux("firmware")
    assert (g.vcpu.priv, g.vcpu.pc, g.sbi_server) == (C.M, 0x8000_0000, None)


def test_calls_are_answered_and_logged_by_name_with_the_pc_past_the_ecall():
    _, g = linux()
    events = []
    g.log.on_event = events.append
    pc = g.vcpu.pc
    assert call(g, sbi.BASE, 0) == (0, 0x0200_0000)
    assert g.vcpu.pc == pc + 4
    assert call(g, sbi.BASE, 1) == (0, IMPL_ID)
    assert call(g, sbi.BASE, 3, sbi.TIME) == (0, 1)
    assert call(g, sbi.BASE, 3, sbi.PMU) == (0, 0)
    assert call(g, sbi.PMU, 0) == (0xFFFF_FFFE, 0)  # SBI_ERR_NOT_SUPPORTED
    assert call(g, sbi.HSM, 2, 1) == (0xFFFF_FFFD, 0)  # no hart 1: SBI_ERR_INVALID_PARAM
    g.vcpu.x[11] = 0x1234
    assert call(g, 0x02, 0) == (0xFFFF_FFFF, 0x1234)  # legacy getchar: -1 in a0, a1 kept
    assert [(e.reason, e.action, e.detail) for e in events][:2] == [
        (T.ECALL, T.SBI_SERVED, "sbi get_spec_version"), (T.ECALL, T.SBI_SERVED, "sbi get_impl_id")]  # fmt: skip
    assert all(T.FILTER_BY_KEY["sbi"].match(e) for e in events)
    assert g.log.counts[T.ECALL] == 7 and g.log.actions[T.SBI_SERVED] == 7


def test_consoles_write_where_the_uart_writes():
    _, g = linux()
    call(g, 0x01, 0, ord("h"))
    call(g, sbi.DBCN, 2, ord("i"))
    g.window.write_bytes(0x8100_0000, b" there\n")
    assert call(g, sbi.DBCN, 0, 7, 0x8100_0000, 0) == (0, 7)
    assert call(g, sbi.DBCN, 0, 7, 0x8100_0000, 1) == (0xFFFF_FFFD, 0)  # above 4 GiB
    assert call(g, sbi.DBCN, 0, 16, 0x7FFF_FFF8, 0) == (0xFFFF_FFFD, 0)  # not all in RAM
    assert bytes(g.output) == b"hi there\n"
    g.board.uart.feed(b"ok")
    assert call(g, sbi.DBCN, 1, 8, 0x8100_0000, 0) == (0, 2)
    assert g.window.read_bytes(0x8100_0000, 7) == b"okhere\n"


def test_set_timer_raises_stip_at_the_deadline_and_a_new_one_clears_it():
    _, g = linux()
    v = g.vcpu
    now = v.clock.mtime()
    call(g, sbi.TIME, 0, now + 1000, 0)
    assert not v.mip & 1 << C.STIP
    assert v.clock.alarm_cycle == now + 1000  # the run loop stops the guest right there
    v.idle_cycles += 1000
    v.clock.fire_due()
    assert v.mip & 1 << C.STIP
    call(g, sbi.TIME, 0, 0xFFFF_FFFF, 0xFFFF_FFFF)
    assert not v.mip & 1 << C.STIP
    call(g, 0x00, 0, 0, 0)  # legacy set_timer, in the past: pending at once
    assert v.mip & 1 << C.STIP


def test_ipi_and_fences_and_hsm():
    _, g = linux()
    v = g.vcpu
    assert call(g, sbi.IPI, 0, 1, 0) == (0, 0) and v.mip & 1 << C.SSIP
    assert call(g, sbi.IPI, 0, 1, 1) == (0xFFFF_FFFD, 0)
    flushes, pages = g.flushes, g.page_flushes
    assert call(g, sbi.RFENCE, 1, 1, 0, 0x1000, 0x2000) == (0, 0)
    assert (g.flushes, g.page_flushes) == (flushes, pages + 2)
    assert call(g, sbi.RFENCE, 1, 0, 0xFFFF_FFFF, 0, 0xFFFF_FFFF) == (0, 0)
    assert g.flushes == flushes + 1
    assert call(g, sbi.RFENCE, 3, 1, 0) == (0xFFFF_FFFE, 0)
    assert call(g, sbi.HSM, 0, 0, PAYLOAD) == (0xFFFF_FFFA, 0)  # ALREADY_AVAILABLE
    v.mip_sw = 0
    assert call(g, sbi.HSM, 3, 0) == (0, 0) and v.sleeping  # retentive suspend: asleep until an interrupt


@pytest.mark.parametrize(("kind", "reason", "halt"), [(0, 0, ("pass", 0)), (0, 1, ("fail", 1))])
def test_shutdown_halts_the_guest(kind, reason, halt):
    _, g = linux()
    call(g, sbi.SRST, 0, kind, reason)
    assert g._check_halt() and g.halt == halt


def test_a_reboot_boots_the_kernel_again_with_no_firmware():
    _, g = linux()
    events = []
    g.log.on_event = events.append
    g.window.write_bytes(PAYLOAD, b"\xff" * 16)  # the kernel wrote over itself: a reset loads it again
    call(g, sbi.TIME, 0, 5, 0)
    call(g, sbi.SRST, 0, 1, 0)
    assert g._check_halt() and g.halt is None
    v = g.vcpu
    assert (v.priv, v.pc, v.x[10], v.x[11], v.medeleg) == (C.S, PAYLOAD, 0, g.board.dtb_address, 0xB1FF)
    assert g.window.read_bytes(PAYLOAD, 16) != b"\xff" * 16
    assert g.board.clint.mtimecmp == MASK64 and not v.mip & 1 << C.STIP
    assert events[-1].note == T.RESET_NOTE.format(why="reset by the guest (sbi system_reset)")


def test_a_snapshot_keeps_the_mode_and_the_timer(tmp_path):
    vmm, g = linux()
    vmm.run(max_rounds=50)  # into the kernel's early boot
    v = g.vcpu
    deadline = v.clock.mtime() + 777
    x, pc, icount = list(v.x), v.pc, v.icount
    call(g, sbi.TIME, 0, deadline, 0)
    v.x[:], v.pc, v.icount = x, pc, icount  # a timer armed behind the kernel's back; it goes on as it was
    save_guest(g, tmp_path / "g.snap")
    other = Vmm()
    r = restore_guest(other, tmp_path / "g.snap")
    assert r.sbi == "vmm" and r.sbi_server is not None
    assert r.board.clint.mtimecmp == deadline and r.vcpu.clock.alarm_cycle == v.clock.alarm_cycle
    r.vcpu.idle_cycles += 777
    r.vcpu.clock.fire_due()
    assert r.vcpu.mip & 1 << C.STIP  # the restored CLINT drives STIP, not MTIP
    # ... and both go on alike.
    g.vcpu.idle_cycles += 777
    g.vcpu.clock.fire_due()
    limit = g.retired_total + 300_000
    for machine, guest in ((vmm, g), (other, r)):
        guest.instruction_limit = limit
        machine.run()
    assert r.retired_total == limit
    assert r.vcpu.save_state() == g.vcpu.save_state() and bytes(r.output) == bytes(g.output)
    assert r.board.save_state() == g.board.save_state()


def test_images_without_a_kernel_behind_a_firmware_are_refused():
    vmm = Vmm()
    with pytest.raises(VmmError, match=r"hello\.elf: no S-mode kernel for --sbi vmm to start"):
        vmm.add_guest(IMAGES / "hello.elf", sbi="vmm")
    assert vmm.switch.ports == []  # refused before anything was made for it
    with pytest.raises(VmmError, match="a program has none"):
        vmm.add_guest(program=assemble("_start: j _start\n"), net=False, sbi="vmm")
    with pytest.raises(VmmError, match=r"unknown sbi 'bogus' \(choose from firmware, vmm\)"):
        vmm.add_guest(LINUX, net=False, sbi="bogus")
    assert vmm.guests == []
