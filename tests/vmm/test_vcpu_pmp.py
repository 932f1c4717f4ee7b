"""A virtual hart's PMP verdict per page (`VCpu.page_pmp`, which the shadow tables
follow): cached per page, so it must change the moment the guest's entries do."""

from machine.bus import Bus
from machine.cpu import csrs as C
from machine.memory import Ram, RamWindow
from tuivmm.vmm.vcpu import VCpu

BASE = 0x8000_0000
PAGE = BASE + 0x4000


def vcpu() -> VCpu:
    host = Ram(0x1_0000_0000, 1 << 20)
    return VCpu(RamWindow(host, 0, BASE, 1 << 20), Bus())


def test_page_pmp_follows_the_guest_entries_after_it_was_asked():
    v = vcpu()
    v.csr_write(C.PMPADDR0, 0xFFFF_FFFF)
    v.csr_write(C.PMPCFG0, 0x1F)  # NAPOT over everything, RWX
    assert v.page_pmp(PAGE, C.S) == 7
    v.csr_write(C.PMPCFG0, 0x19)  # now R only
    assert v.page_pmp(PAGE, C.S) == 1
    # Entry 0 TOR up to the middle of PAGE, R: the page is split, entry 1 opens the rest.
    v.csr_write(C.PMPADDR0, (PAGE + 0x800) >> 2)
    v.csr_write(C.PMPADDR0 + 1, 0xFFFF_FFFF)
    v.csr_write(C.PMPCFG0, 0x1F09)
    assert v.page_pmp(PAGE, C.S) is None
    assert v.page_pmp(PAGE + 0x1000, C.S) == 7
    assert v.page_pmp(BASE, C.S) == 1


def test_page_pmp_of_m_mode_is_open_until_an_entry_is_locked():
    v = vcpu()
    v.csr_write(C.PMPADDR0, (PAGE >> 2) | 0x1FF)  # NAPOT, the 4 KiB page
    v.csr_write(C.PMPCFG0, 0x19)  # R, unlocked: M is not bound
    assert v.page_pmp(PAGE, C.M) == 7
    v.csr_write(C.PMPCFG0, 0x99)  # locked
    assert v.page_pmp(PAGE, C.M) == 1
    assert v.page_pmp(PAGE + 0x1000, C.M) == 7
