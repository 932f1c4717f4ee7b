"""Disassembler behaviour beyond what objdump can check: text without a pc, words
objdump would split, and listings that carry objdump's lui/auipc memory."""

from __future__ import annotations

from machine.cpu.disasm import Listing, disassemble, disassemble_block, disassemble_raw


def test_branch_target_without_pc_is_written_relative_to_dot():
    # beq a0, a1, .+8
    assert disassemble(0x00B50463) == "beq\ta0,a1,.+8"


def test_backward_jump_without_pc_has_a_minus_sign():
    # j .-4
    assert disassemble(0xFFDFF06F) == "j\t.-4"


def test_branch_target_with_pc_is_absolute_hex_without_prefix():
    # beq a0, a1, .+8 at 0x80000000
    assert disassemble(0x00B50463, pc=0x8000_0000) == "beq\ta0,a1,80000008"


def test_target_wraps_at_32_bits():
    # j .-4 at 0
    assert disassemble(0xFFDFF06F, pc=0) == "j\tfffffffc"


def test_raw_mode_prints_the_instruction_under_its_own_name():
    # addi zero, zero, 0
    assert (disassemble(0x13), disassemble_raw(0x13)) == ("nop", "addi\tzero,zero,0")


def test_aliases_false_equals_disassemble_raw():
    assert disassemble(0x30009073, aliases=False) == disassemble_raw(0x30009073)


def test_illegal_word_prints_as_4byte_directive():
    assert disassemble(0x0000_0000) == ".4byte\t0x0"
    assert disassemble(0xFFFF_FFFF) == ".4byte\t0xffffffff"


def test_word_with_compressed_length_bits_still_prints_as_one_4byte():
    # objdump would print two .2byte halves; the machine fetched 32 bits
    assert disassemble(0x1234_5678) == ".4byte\t0x12345678"


def test_retired_uret_is_named_like_objdump_names_it():
    assert disassemble(0x0020_0073) == "uret"


def test_unknown_csr_prints_as_hex_number():
    # csrr a0, 0x7c0
    assert disassemble(0x7C00_2573) == "csrr\ta0,0x7c0"


def test_load_from_zero_base_shows_the_absolute_address():
    # lw a0, -4(zero)
    assert disassemble(0xFFC0_2503) == "lw\ta0,-4(zero) # fffffffc"


def test_listing_resolves_auipc_addi_pair_to_the_address():
    # auipc a0, 0x1 ; addi a0, a0, -16
    lines = disassemble_block(bytes.fromhex("17150000 130505ff"), 0x8000_0000)
    assert [text for _, _, text in lines] == ["auipc\ta0,0x1", "add\ta0,a0,-16 # 80000ff0"]


def test_listing_forgets_a_lui_once_it_has_been_used():
    listing = Listing()
    listing.line(0x1000_0537, 0)  # lui a0, 0x10000
    assert listing.line(0x0005_0583, 4) == "lb\ta1,0(a0) # 10000000"
    assert listing.line(0x0005_0583, 8) == "lb\ta1,0(a0)"


def test_block_ignores_a_trailing_partial_word():
    assert [pc for pc, _, _ in disassemble_block(bytes(6), 0x100)] == [0x100]
