"""`--sbi vmm`: the VMM is the guest's SBI firmware, as KVM is for its guests.

Normally a guest kernel brings its own M-mode firmware (guests/sbi, linked before
Linux in linux.elf): the firmware runs in virtual M-mode, and every SBI call — an
ECALL from virtual S-mode — is an exit the VMM injects into it, so one call costs
the firmware's whole trap handler, CSR instructions and all, each an exit of its own.
With `--sbi vmm` no firmware runs: the VMM starts the kernel itself, and answers its
ECALLs in one exit each (`SbiServer.serve`).

Which kernel: an image of guests/sbi's (firmware, then the payload at the symbol
`sbi_payload_start`, where sbi.ld puts it) boots its payload alone — only the
segments from that symbol up are loaded, since no firmware runs and none needs
room (`kernel_image`).  Any other image is refused: the VMM cannot tell from an ELF
whether its entry expects M-mode or S-mode, and the packaged guests are M-mode
kernels.

How the kernel starts (`SbiServer.boot`): as guests/sbi/main.c leaves the hart
after its MRET — virtual S-mode at the payload's first byte, a0 = hart id 0,
a1 = the board's device tree (the board placed it and set a1 at reset), satp = 0,
stvec = 0, sie = 0; mstatus as MRET leaves it (MPP = U, MPIE = 1, MIE = 0);
medeleg and mideleg delegate what the firmware delegates (every exception S-mode
can handle but its own ECALL; the three S-mode interrupts: OpenSBI keeps illegal
instructions and misaligned accesses to emulate what a hart lacks, but here nothing
in virtual M-mode would take them, and the hart lacks nothing); mcounteren = 7 (cycle,
time, instret: Linux reads `time`); PMP entry 0 a NAPOT entry over all of memory,
R, W and X (there is no firmware memory to hide, and no /reserved-memory node is
added to the tree); menvcfg 0 (this hart has no Sstc, so the firmware's STCE is
not set either); mie 0, mtvec 0 (nothing is meant to trap into virtual M-mode: an
exception that would is a crash of the guest, see `GuestExits.inject`).

Time: the hart has the `time` CSR (the VCpu reads the guest's virtual clock, as
the firmware's mcounteren lets S-mode), so rdtime needs no emulation.  The timer
is the guest's own CLINT: set_timer writes its mtimecmp, and the server rewires
the CLINT's MTIP pin to the virtual hart's STIP, so STIP is the level
`time >= deadline` — pending once the guest's virtual time reaches the deadline
(the run loop's clock alarm fires exactly there) and gone as a set_timer moves the
deadline ahead.  (The firmware does the same with the CLINT and an M-mode timer
interrupt in between.)  The deadline is thus the CLINT's saved state, and a
snapshot carries it with the board; it carries the mode in its guest header.

The extensions served, for the one hart (id 0), as guests/sbi/ecall.c serves them:
BASE (SBI 2.0; implementation id IMPL_ID, "tvmm" in ASCII, far from the small
numbers the spec registers: 3 is KVM's, which this is not; version 1), TIME, IPI,
RFENCE (fences of the guest's shadows and of the real hart's translated code), HSM,
SRST (shutdown halts the guest with pass, as the finisher does, or fail for a
"system failure"; a reboot resets it, and it boots again the same way), DBCN and the
legacy calls set_timer, console_putchar, console_getchar and shutdown.  The console
is the board's UART: output lands in the guest's console as the UART's does, and
input is read from its receiver, as the firmware's polling does.  Anything else
answers SBI_ERR_NOT_SUPPORTED.

Each call served is one trap-log line: reason ECALL, action SBI_SERVED, detail
`sbi.describe(eid, fid)` ("sbi set_timer"), so the "sbi call" filter shows them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from machine.cpu import csrs as C
from machine.cpu.mmu import LOAD, STORE
from machine.cpu.trap import Exit
from machine.devices.clint import MTIMECMP_OFFSET
from machine.devices.uart import LSR, LSR_DATA_READY, RBR_THR_DLL
from machine.loader import Image
from tuivmm.vmm import sbi
from tuivmm.vmm import traplog as T

if TYPE_CHECKING:  # for type hints only: guest.py imports this module
    from tuivmm.vmm.guest import Guest

SBI_MODES = ("firmware", "vmm")  # the guest's own firmware (the default), or the VMM's server
PAYLOAD_SYMBOL = "sbi_payload_start"  # guests/sbi/sbi.ld: where the kernel behind the firmware starts

SPEC_VERSION = 0x0200_0000  # 2.0: major in bits 30:24, minor in 23:0
IMPL_ID = 0x7476_6D6D  # "tvmm" (the firmware's is "tuiv", 0x74756976)
IMPL_VERSION = 1

SUCCESS = 0
ERR_FAILED = -1
ERR_NOT_SUPPORTED = -2
ERR_INVALID_PARAM = -3
ERR_ALREADY_AVAILABLE = -6

LEGACY_SET_TIMER, LEGACY_PUTCHAR, LEGACY_GETCHAR, LEGACY_SHUTDOWN = 0x00, 0x01, 0x02, 0x08
SERVED = (sbi.BASE, sbi.TIME, sbi.IPI, sbi.RFENCE, sbi.HSM, sbi.SRST, sbi.DBCN,
          LEGACY_SET_TIMER, LEGACY_PUTCHAR, LEGACY_GETCHAR, LEGACY_SHUTDOWN)  # fmt: skip

# What guests/sbi/main.c delegates: every exception S-mode handles itself (misaligned,
# access faults, illegal instruction, breakpoint, page faults, ECALL from U), not its
# own ECALL (an SBI call: ours); and the three S-mode interrupts.
DELEGATED_EXCEPTIONS = (0xFF | 1 << C.ECALL_FROM_U | 1 << C.INSN_PAGE_FAULT | 1 << C.LOAD_PAGE_FAULT
                        | 1 << C.STORE_PAGE_FAULT)  # fmt: skip
DELEGATED_INTERRUPTS = 1 << C.SSIP | 1 << C.STIP | 1 << C.SEIP
PMP_ALL = 0x18 | 7  # NAPOT, R, W, X: with pmpaddr0 all ones, every address
HSM_STARTED = 0
HSM_SUSPEND_RETENTIVE, HSM_SUSPEND_NON_RETENTIVE = 0, 0x8000_0000
SRST_SHUTDOWN, SRST_WARM_REBOOT = 0, 2
SRST_SYSTEM_FAILURE = 1
FENCE_PAGES = 64  # a remote_sfence_vma of more pages than this drops the shadows whole
MASK64 = (1 << 64) - 1


class NoKernel(Exception):
    """The image has no S-mode kernel the VMM could start (one line)."""


def kernel_image(image: Image) -> Image:
    """The part of `image` that runs with --sbi vmm: guests/sbi's payload, its segments
    from `sbi_payload_start` up, entered there.  NoKernel for any other image."""
    start = image.symbols.get(PAYLOAD_SYMBOL)
    if start is None:
        raise NoKernel(f"{image.path}: no S-mode kernel for --sbi vmm to start: it needs an image built with "
                       f"guests/sbi, whose payload starts at the symbol {PAYLOAD_SYMBOL} (as linux)")  # fmt: skip
    segments = [segment for segment in image.segments if segment.paddr >= start]
    if not segments:
        raise NoKernel(f"{image.path}: nothing is loaded at {PAYLOAD_SYMBOL} ({start:#010x})")
    return dataclasses.replace(image, entry=start, segments=segments)


def _u32(value: int) -> int:
    return value & 0xFFFF_FFFF


class SbiServer:
    """The SBI of one guest, served by the VMM: `boot` sets its virtual hart up as the
    firmware would leave it, `serve` answers one ECALL from virtual S-mode."""

    def __init__(self, guest: Guest):
        self.guest = guest
        clint = guest.board.clint
        clint.set_pending = self._clint_pin  # its timer drives STIP; MSIP as before
        self._reset_requested = False  # the reset the run loop is about to do is a system_reset's

    def take_reset_request(self) -> bool:
        """Whether the guest's reset under way is a system_reset it asked for (and not
        its finisher's); asked once."""
        requested, self._reset_requested = self._reset_requested, False
        return requested

    def _clint_pin(self, bit: int, level: bool) -> None:
        self.guest.vcpu.set_pending(C.STIP if bit == C.MTIP else bit, level)

    def boot(self) -> None:
        """The virtual hart at its reset state (the kernel's entry in pc, the tree in
        a1) becomes what the firmware's last MRET leaves (see the module docstring)."""
        v = self.guest.vcpu
        v.csr_write(C.MEDELEG, DELEGATED_EXCEPTIONS, by_instruction=False)
        v.csr_write(C.MIDELEG, DELEGATED_INTERRUPTS, by_instruction=False)
        v.csr_write(C.MCOUNTEREN, 7, by_instruction=False)
        v.csr_write(C.PMPADDR0, 0xFFFF_FFFF, by_instruction=False)
        v.csr_write(C.PMPCFG0, PMP_ALL, by_instruction=False)
        v.mstatus = C.MSTATUS_MPIE  # MPP = U, MIE = 0: as MRET leaves them
        v.priv = C.S
        v.x[10] = 0  # hart id

    # --- one call ---------------------------------------------------------------------

    def serve(self, e: Exit) -> None:
        """Answer the ECALL the guest's kernel made (a7 = extension, a6 = function,
        a0..a5 the arguments): error in a0, value in a1 (legacy calls: their one value
        in a0, a1 kept), and on after the ECALL; a shutdown or reboot asks the run loop
        to halt or reset the guest."""
        guest = self.guest
        v = guest.vcpu
        x = v.x
        eid, fid = x[17], x[16]
        args = x[10:16]
        guest.log.record(v.cycles, e.epc, v.priv, e.insn, C.ECALL_FROM_S, T.ECALL, T.SBI_SERVED,
                         sbi.describe(eid, fid))  # fmt: skip
        guest._retire((e.epc + 4) & 0xFFFF_FFFF)
        if eid < 0x10:
            x[10] = _u32(self._legacy(eid, args))
            return
        error, value = self._call(eid, fid, args)
        x[10], x[11] = _u32(error), _u32(value)

    def _call(self, eid: int, fid: int, a: list[int]) -> tuple[int, int]:
        if eid == sbi.BASE:
            return self._base(fid, a)
        if eid == sbi.TIME:
            if fid != 0:
                return ERR_NOT_SUPPORTED, 0
            self._set_timer(a[1] << 32 | a[0])
            return SUCCESS, 0
        if eid == sbi.IPI:
            return self._ipi(fid, a)
        if eid == sbi.RFENCE:
            return self._rfence(fid, a)
        if eid == sbi.HSM:
            return self._hsm(fid, a)
        if eid == sbi.SRST:
            return self._srst(fid, a)
        if eid == sbi.DBCN:
            return self._dbcn(fid, a)
        return ERR_NOT_SUPPORTED, 0

    def _base(self, fid: int, a: list[int]) -> tuple[int, int]:
        v = self.guest.vcpu
        answers = {0: SPEC_VERSION, 1: IMPL_ID, 2: IMPL_VERSION}
        if fid in answers:
            return SUCCESS, answers[fid]
        if fid == 3:  # probe_extension: 1 if served, 0 if not ("absent" is an answer, not an error)
            return SUCCESS, int(a[0] in SERVED)
        if fid in (4, 5, 6):  # the M-mode CSRs S-mode cannot read
            return SUCCESS, v.csr_read((C.MVENDORID, C.MARCHID, C.MIMPID)[fid - 4])
        return ERR_NOT_SUPPORTED, 0

    def _set_timer(self, when: int) -> None:
        """The next timer interrupt at `when` (the CLINT's mtimecmp, whose pin is STIP):
        STIP drops now unless `when` has passed already."""
        self.guest.board.clint.write(MTIMECMP_OFFSET, 8, when & MASK64)

    @staticmethod
    def _harts(mask: int, mask_base: int) -> bool | None:
        """Whether (hart_mask, hart_mask_base) names hart 0, the only one; None if it
        names a hart that does not exist.  A base of all ones means every hart."""
        if mask_base == 0xFFFF_FFFF:
            return True
        named = [mask_base + i for i in range(32) if mask >> i & 1]
        if any(hart != 0 for hart in named):
            return None
        return bool(named)

    def _ipi(self, fid: int, a: list[int]) -> tuple[int, int]:
        if fid != 0:
            return ERR_NOT_SUPPORTED, 0
        us = self._harts(a[0], a[1])
        if us is None:
            return ERR_INVALID_PARAM, 0
        if us:
            self.guest.vcpu.mip_sw |= 1 << C.SSIP
        return SUCCESS, 0

    def _rfence(self, fid: int, a: list[int]) -> tuple[int, int]:
        """Fences on the harts named, which can only be the caller's: fence.i drops the
        real hart's translated code; sfence.vma (with or without an ASID: the shadows
        keep none) drops the range's pages from the guest's shadows, or all of them."""
        if fid > 2:
            return ERR_NOT_SUPPORTED, 0  # the hypervisor extension's fences: no H extension
        us = self._harts(a[0], a[1])
        if us is None:
            return ERR_INVALID_PARAM, 0
        if not us:
            return SUCCESS, 0
        guest = self.guest
        if fid == 0:
            guest.vmm.hart.flush_code()
            return SUCCESS, 0
        start, size = a[2], a[3]
        pages = (start + size - 1 >> 12) - (start >> 12) + 1 if size else 0
        if size == 0 or size == 0xFFFF_FFFF or pages > FENCE_PAGES:
            guest.vcpu.flush_tlb()
        else:
            for page in range(pages):
                guest.vcpu.flush_tlb_page(_u32((start & ~0xFFF) + 4096 * page))
        return SUCCESS, 0

    def _hsm(self, fid: int, a: list[int]) -> tuple[int, int]:
        """One hart, always started: starting it is ALREADY_AVAILABLE, stopping it
        FAILED (no one would be left to start it); a retentive suspend is a WFI that
        returns once an interrupt is pending (the run loop sleeps the guest)."""
        if fid == 0:
            return (ERR_ALREADY_AVAILABLE if a[0] == 0 else ERR_INVALID_PARAM), 0
        if fid == 1:
            return ERR_FAILED, 0
        if fid == 2:
            return (SUCCESS, HSM_STARTED) if a[0] == 0 else (ERR_INVALID_PARAM, 0)
        if fid == 3:
            if a[0] == HSM_SUSPEND_RETENTIVE:
                v = self.guest.vcpu
                if not v.mip & v.mie:
                    v.sleeping = True
                return SUCCESS, 0
            return (ERR_NOT_SUPPORTED if a[0] == HSM_SUSPEND_NON_RETENTIVE else ERR_INVALID_PARAM), 0
        return ERR_NOT_SUPPORTED, 0

    def _srst(self, fid: int, a: list[int]) -> tuple[int, int]:
        if fid != 0:
            return ERR_NOT_SUPPORTED, 0
        kind, reason = a[0], a[1]
        if kind > SRST_WARM_REBOOT or 1 < reason < 0xF000_0000:
            return ERR_INVALID_PARAM, 0
        v = self.guest.vcpu
        if kind == SRST_SHUTDOWN:
            v.request_halt(*(("fail", 1) if reason == SRST_SYSTEM_FAILURE else ("pass", 0)))
        else:
            v.request_halt("reset")  # cold and warm: the board has one kind of reset
            self._reset_requested = True
        return SUCCESS, 0

    def _dbcn(self, fid: int, a: list[int]) -> tuple[int, int]:
        """The debug console: write_byte; write and read of a0 bytes at the physical
        address a1 (a2 its high half), which S-mode must be allowed to read (write)."""
        if fid == 2:
            self._put(bytes([a[0] & 0xFF]))
            return SUCCESS, 0
        if fid > 1:
            return ERR_NOT_SUPPORTED, 0
        count, base = a[0], a[1]
        v = self.guest.vcpu
        access = LOAD if fid == 0 else STORE
        if a[2] or not v.ram.contains(base, max(count, 1)) or not v._pmp_allows(base, max(count, 1), access, C.S):
            return ERR_INVALID_PARAM, 0
        if fid == 0:
            self._put(v.ram.read_bytes(base, count))
            return SUCCESS, count
        got = bytearray()
        while len(got) < count:
            byte = self._get()
            if byte < 0:
                break
            got.append(byte)
        v.ram.write_bytes(base, bytes(got))
        return SUCCESS, len(got)

    def _legacy(self, eid: int, a: list[int]) -> int:
        """SBI v0.1: one value back, in a0."""
        if eid == LEGACY_SET_TIMER:
            self._set_timer(a[1] << 32 | a[0])
            return SUCCESS
        if eid == LEGACY_PUTCHAR:
            self._put(bytes([a[0] & 0xFF]))
            return SUCCESS
        if eid == LEGACY_GETCHAR:
            return self._get()
        if eid == LEGACY_SHUTDOWN:
            self.guest.vcpu.request_halt("pass", 0)
            return SUCCESS
        return ERR_NOT_SUPPORTED

    # --- the console -------------------------------------------------------------------

    def _put(self, data: bytes) -> None:
        """Out on the guest's console, where its UART's output goes."""
        self.guest.board.uart.on_output(data)

    def _get(self) -> int:
        """A byte from the UART's receiver, or -1, read as the firmware reads it (the
        line status, then the data), so the VMM's input pacing sees the guest ask."""
        uart = self.guest.board.uart
        if not uart.read(LSR, 1) & LSR_DATA_READY:
            return -1
        return uart.read(RBR_THR_DLL, 1)
