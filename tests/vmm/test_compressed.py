"""RV32C guests under the VMM: compressed device accesses are emulated and step the pc by
2; binary translation walks mixed-length code, so it patches an xRET at a halfword
address and leaves alone halfwords that only look like one.

Parcels are `.half` words with the text GNU as (-march=rv32imac) gives them beside them.
"""

from __future__ import annotations

from machine.memory import Ram, RamWindow
from tuivmm.vmm import Vmm
from tuivmm.vmm import traplog as T
from tuivmm.vmm.bt import MRET, SRET, TRAP_WORD, BinaryTranslator

from .vmmharness import CLINT, FINISHER, HALT, MTIMECMP, PMP_ALL, enter, event_at, events, run_guest, side_by_side


def test_compressed_loads_and_stores_to_devices_are_emulated_and_step_by_two():
    src = f"""
_start: li   s0, {CLINT:#x}
        li   sp, {MTIMECMP:#x}
        li   a1, 0x1234
        .half 0x0001            # c.nop: what follows is at halfword addresses
msip:   .half 0x4018            # c.lw a4, 0(s0)
swsp:   .half 0xc02e            # c.swsp a1, 0(sp)
lwsp:   .half 0x4782            # c.lwsp a5, 0(sp)
        addi a5, a5, 1
        li   s0, {FINISHER:#x}
        li   a0, 0x5555
fin:    .half 0xc008            # c.sw a0, 0(s0)
"""
    board, g = side_by_side(src)
    assert g.vcpu.x[15] == board.hart.x[15] == 0x1235
    for label, action in (("msip", T.MMIO_READ), ("swsp", T.MMIO_WRITE), ("lwsp", T.MMIO_READ),
                          ("fin", T.MMIO_WRITE)):  # fmt: skip
        e = event_at(g, label)
        assert (e.reason, e.action) == (T.MMIO, action), e.describe()
        assert e.insn < 0x1_0000  # the 16-bit parcel, not a word


def test_bt_patches_an_mret_at_a_halfword_address_on_the_flawed_machine():
    src = f"""
_start: .half 0x0001            # c.nop: the mret below starts at a halfword address
{PMP_ALL}
{enter("S", "body")}
body:   li   a0, 7
{HALT}
"""
    g = run_guest(src, vmm=Vmm(flawed_eret=True), remedy="bt")
    assert g.vcpu.priv == 1 and g.vcpu.x[10] == 7  # the guest really is in virtual S-mode
    [mret] = [a for a in g.bt.patched if g.bt.patched[a] == MRET]
    assert mret & 2
    assert events(g, T.XRET, T.EMULATED)[0].pc == mret


RAM_BASE = 0x8000_0000


def _window(pages: int = 4) -> RamWindow:
    return RamWindow(Ram(RAM_BASE, pages * 4096), 0, RAM_BASE, pages * 4096)


def _put(window: RamWindow, addr: int, *halves: int) -> None:
    window.write_bytes(addr, b"".join(h.to_bytes(2, "little") for h in halves))


def test_bt_scan_skips_an_xret_lookalike_inside_a_32bit_instruction():
    w = _window()
    # lui zero, 0x730 (0x00730037) then c.addi4spn (0x1020): halves 0x0073, 0x1020 in
    # between spell an SRET, but no instruction begins there.  Then a real one.
    _put(w, RAM_BASE + 0x100, 0x0037, 0x0073, 0x1020, SRET & 0xFFFF, SRET >> 16)
    bt = BinaryTranslator(w)
    assert bt.scan(RAM_BASE >> 12) == 1
    assert list(bt.patched) == [RAM_BASE + 0x106]
    assert w.read_u32(RAM_BASE + 0x106) == TRAP_WORD and w.read_u32(RAM_BASE + 0x100) == 0x0073_0037


def test_bt_scan_begins_a_page_after_an_instruction_straddling_into_it():
    w = _window()
    page = RAM_BASE + 0x1000
    # The previous page ends with the first half of `lui zero, 0x730`; its second half
    # (0x0073) opens the page, and with the next halfword looks like an SRET.
    _put(w, page - 2, 0x0037, 0x0073, 0x1020, MRET & 0xFFFF, MRET >> 16)
    for order in ((page >> 12, (page >> 12) - 1), ((page >> 12) - 1, page >> 12)):
        w2 = _window()
        w2.write_bytes(RAM_BASE, w.read_bytes(RAM_BASE, 4 * 4096))
        bt = BinaryTranslator(w2)
        for p in order:
            bt.scan(p)
        assert list(bt.patched) == [page + 4], order
        assert w2.read_u32(page) == 0x1020_0073  # the lookalike is left alone


def test_bt_patches_an_xret_straddling_a_page_boundary_and_unscan_restores_it():
    w = _window()
    page = RAM_BASE + 0x1000
    _put(w, page - 2, SRET & 0xFFFF, SRET >> 16, 0x0001)
    bt = BinaryTranslator(w)
    bt.scan((page >> 12) - 1)
    bt.scan(page >> 12)
    assert list(bt.patched) == [page - 2] and w.read_u32(page - 2) == TRAP_WORD
    assert bt.original(page - 2, 0x0000) == SRET  # the hart traps on the 16-bit parcel 0x0000
    bt.unscan((page >> 12) - 1)
    assert w.read_u32(page - 2) == SRET


def test_bt_store_that_changes_instruction_boundaries_is_walked_again():
    w = _window()
    at = RAM_BASE + 0x200
    _put(w, at, 0x0001, SRET & 0xFFFF, SRET >> 16)  # c.nop; sret
    bt = BinaryTranslator(w)
    bt.scan(RAM_BASE >> 12)
    assert list(bt.patched) == [at + 2]
    # The c.nop becomes the first half of a 32-bit instruction: the SRET's first half
    # is now its second half, so no SRET begins at at + 2 any more.
    bt.store(at, 2, lambda: w.write_bytes(at, (0x0037).to_bytes(2, "little")))
    assert bt.patched == {} and w.read_u32(at + 2) == SRET
