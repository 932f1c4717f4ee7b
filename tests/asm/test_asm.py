"""Assembler behaviour that GNU as cannot be the oracle for: the Program it returns,
two-pass sizing, and the forms we accept beyond GNU's."""

from __future__ import annotations

from machine.cpu.asm import Program, assemble
from machine.cpu.disasm import disassemble_block


def _texts(program: Program) -> list[str]:
    return [text for _, _, text in disassemble_block(program.data, program.base)]


def test_program_starts_at_base_and_enters_at_start_symbol():
    program = assemble("nop\n_start: ret", base=0x8000_1000)
    assert (program.base, program.entry) == (0x8000_1000, 0x8000_1004)
    assert program.data == bytes.fromhex("13000000 67800000")


def test_program_without_start_symbol_enters_at_base():
    assert assemble("nop", base=0x1000).entry == 0x1000


def test_symbols_hold_label_addresses_and_equ_values():
    program = assemble("a: nop\nb: nop\n.equ SIZE, b - a\nc:", base=0x100)
    assert program.symbols == {"a": 0x100, "b": 0x104, "SIZE": 4, "c": 0x108}


def test_li_of_a_value_known_on_first_pass_takes_one_instruction_when_it_fits():
    assert _texts(assemble(".equ SMALL, 5\nli a0, SMALL", base=0)) == ["li\ta0,5"]


def test_li_of_a_forward_symbol_always_takes_lui_and_addi():
    program = assemble("li a0, SMALL\n.equ SMALL, 5", base=0)
    assert _texts(program) == ["lui\ta0,0x0", "add\ta0,a0,5 # 5"]


def test_li_of_a_forward_label_loads_its_address():
    program = assemble("li a0, there\nnop\nthere: nop", base=0x8000_0000)
    assert _texts(program)[:2] == ["lui\ta0,0x80000", "add\ta0,a0,12 # 8000000c"]


def test_forward_equ_chain_is_settled_before_second_pass():
    program = assemble(".equ A, B + 1\n.equ B, end - start\nstart: nop\nend: .word A", base=0)
    assert program.data[4:] == (5).to_bytes(4, "little")


def test_numeric_labels_resolve_to_nearest_definition_in_each_direction():
    program = assemble("1: nop\n1: j 1b\nj 1f\n1: j 1b", base=0)
    assert _texts(program) == ["nop", "j\t4", "j\tc", "j\tc"]


def test_statements_split_on_semicolons_and_comments_are_ignored():
    program = assemble("nop; nop # one\nnop // two\nli a0, '#' # char, not comment", base=0)
    assert _texts(program) == ["nop", "nop", "nop", "li\ta0,35"]


def test_dot_assignment_moves_the_location_like_org():
    program = assemble("nop\n. = 12\nnop", base=0)
    assert program.data == bytes.fromhex("13000000" + "00" * 8 + "13000000")


def test_alignment_in_a_data_section_pads_with_zeros():
    program = assemble(".data\n.byte 1\n.align 3\n.text\n.align 4", base=0)
    assert program.data == bytes([1]) + bytes(7) + bytes.fromhex("13000000") * 2


def test_numeric_register_names_and_fp_are_accepted():
    assert _texts(assemble("add x10, fp, x31", base=0)) == ["add\ta0,s0,t6"]


def test_amo_ordering_suffixes_set_aq_and_rl():
    text = "\n".join(f"amoor.w{s} a0,a1,(a2)" for s in ("", ".aq", ".rl", ".aqrl"))
    words = [w for _, w, _ in disassemble_block(assemble(text, base=0).data, 0)]
    assert [(w >> 25) & 3 for w in words] == [0, 2, 1, 3]


def test_mnemonics_are_case_insensitive():
    assert assemble("ADDI a0, a0, 1", base=0).data == assemble("addi a0, a0, 1", base=0).data
