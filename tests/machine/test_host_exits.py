"""Host-mode exits carry the raw bits of the instruction that trapped."""

from machine.cpu import csrs as C
from machine.cpu.asm import assemble
from machine.cpu.hart import Hart
from machine.cpu.trap import ExitKind
from machine.memory import Ram


def test_an_exit_at_a_halfword_address_reports_the_compressed_parcel_or_the_whole_instruction():
    # RV32C: jalr to 0x80000102 is no longer misaligned; the poison there (0xAAAA, c.fsdsp)
    # is an illegal 16-bit parcel, and the exit carries those 16 bits.
    prog = assemble("li t0, 0x80000102\njalr ra, 0(t0)")
    ram = Ram(0x8000_0000, 1 << 16, fill=0xAA)
    ram.write_bytes(0x8000_0000, prog.data)
    ram.write_bytes(0x8000_0200, bytes.fromhex("0100 73000000"))  # c.nop; ecall at a halfword address
    hart = Hart(ram)
    hart.host_mode = True
    exit_ = hart.run(100)
    assert exit_.kind is ExitKind.TRAP
    assert (exit_.cause, exit_.tval, exit_.epc, exit_.insn) == (C.ILLEGAL_INSN, 0xAAAA, 0x8000_0102, 0xAAAA)
    hart.pc = 0x8000_0200
    exit_ = hart.run(100)
    assert (exit_.cause, exit_.epc, exit_.insn) == (C.ECALL_FROM_M, 0x8000_0202, 0x0000_0073)


def test_a_monitor_writing_minstret_from_outside_reads_back_what_it_wrote():
    hart = Hart(Ram(0x8000_0000, 1 << 16))
    hart.icount = 1000
    hart.csr_write(C.MINSTRET, 5, by_instruction=False)
    hart.csr_write(C.MCYCLE, 7, by_instruction=False)
    assert hart.csr_read(C.MINSTRET) == 5
    assert hart.csr_read(C.MCYCLE) == 7


def test_page_walker_needs_pmp_write_permission_to_set_the_accessed_bit():
    # S-mode code on a page whose leaf PTE has A clear; PMP lets S read the page tables
    # but not write them, so the walker's A update is refused: an access fault.
    from machine.cpu.mmu import PTE_R, PTE_V, PTE_W, PTE_X

    ram = Ram(0x8000_0000, 1 << 20)
    root, leaf = 0x8008_0000, 0x8008_1000
    # identity superpage for RAM (A and D set), and a 4 KiB page at 0x4000_0000 -> 0x8004_0000 with A clear
    ram.write_u32(root + 4 * (0x8000_0000 >> 22), (0x8000_0000 >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | 0xC0)
    ram.write_u32(root + 4 * (0x4000_0000 >> 22), (leaf >> 12 << 10) | PTE_V)
    ram.write_u32(leaf, (0x8004_0000 >> 12 << 10) | PTE_V | PTE_R | PTE_W)
    prog = assemble("""
        li t0, 0x40000000
        lw t1, 0(t0)
        ecall
    """)
    ram.write_bytes(0x8000_0000, prog.data)
    hart = Hart(ram)
    hart.host_mode = True
    # PMP: entry 0 = the page tables (TOR 0x80080000..0x80082000) read-only; entry 1 = all, RWX
    hart.csr_write(C.PMPADDR0, 0x8008_0000 >> 2)
    hart.csr_write(C.PMPADDR0 + 1, 0x8008_2000 >> 2)
    hart.csr_write(C.PMPADDR0 + 2, 0xFFFF_FFFF)
    hart.csr_write(C.PMPCFG0, (0x1F << 16) | (0x09 << 8) | 0x00)  # [2]=NAPOT RWX, [1]=TOR R, [0]=OFF
    hart.csr_write(C.SATP, (1 << 31) | (root >> 12))
    hart.priv = C.S
    exit_ = hart.run(100)
    assert exit_.kind is ExitKind.TRAP
    assert (exit_.cause, exit_.tval) == (C.LOAD_ACCESS_FAULT, 0x4000_0000)
    assert ram.read_u32(leaf) & 0x40 == 0  # A was not set
