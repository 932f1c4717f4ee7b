"""Host-mode exits carry the raw bits of the instruction that trapped."""

from machine.cpu import csrs as C
from machine.cpu.asm import assemble
from machine.cpu.hart import Hart
from machine.cpu.trap import ExitKind
from machine.memory import Ram


def test_misaligned_jump_exit_reports_the_jump_instruction_bits():
    prog = assemble("li t0, 0x80000102\njalr ra, 0(t0)")
    ram = Ram(0x8000_0000, 1 << 16, fill=0xAA)
    ram.write_bytes(0x8000_0000, prog.data)
    hart = Hart(ram)
    hart.host_mode = True
    exit_ = hart.run(100)
    jalr_pc = 0x8000_0000 + len(prog.data) - 4
    assert exit_.kind is ExitKind.TRAP
    assert (exit_.cause, exit_.tval, exit_.epc) == (C.INSN_MISALIGNED, 0x8000_0102, jalr_pc)
    assert exit_.insn == int.from_bytes(prog.data[-4:], "little")
