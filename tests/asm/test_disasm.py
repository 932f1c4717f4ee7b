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
    assert disassemble(0xFFFF_FFFF) == ".4byte\t0xffffffff"


def test_all_zero_parcel_is_unimp_and_a_reserved_parcel_prints_as_2byte():
    assert disassemble(0x0000_0000) == "unimp"  # the 16-bit parcel 0x0000, as objdump names it
    assert disassemble(0x6002) == ".2byte\t0x6002"  # c.flwsp: no F here


def test_word_with_compressed_length_bits_prints_its_low_parcel():
    # RV32C: low bits other than 11 make a 16-bit instruction; the upper half is the next one
    assert disassemble(0x1234_5678) == "lw\ta4,108(a2)"


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


def test_block_ignores_a_trailing_partial_instruction():
    # nop, then the first half of a 32-bit instruction
    assert [pc for pc, _, _ in disassemble_block(bytes.fromhex("13000000 1300"), 0x100)] == [0x100]


def test_block_walks_mixed_16_and_32_bit_instructions():
    # c.li a0, 5 ; addi a0, a0, 1 (at a halfword address) ; c.ret
    lines = disassemble_block(bytes.fromhex("1545 13051500 8280"), 0x100)
    assert lines == [(0x100, 0x4515, "li\ta0,5"), (0x102, 0x0015_0513, "add\ta0,a0,1"), (0x106, 0x8082, "ret")]
