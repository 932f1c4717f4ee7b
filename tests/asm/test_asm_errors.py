"""Bad input: one AsmError, one line, naming the line number and the problem."""

from __future__ import annotations

import pytest

from machine.cpu.asm import AsmError, assemble


def _error(source: str) -> str:
    with pytest.raises(AsmError) as caught:
        assemble(source, base=0)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_error_names_the_line_it_is_on():
    assert _error("nop\n\nfrobnicate a0").startswith("line 3: ")


def test_unknown_mnemonic():
    assert _error("frobnicate a0, a1") == "line 1: unknown mnemonic 'frobnicate'"


def test_bad_register():
    assert _error("add a0, a1, x32") == "line 1: bad register 'x32' in add"


def test_wrong_operand_count_lists_the_accepted_shapes():
    message = _error("add a0, a1")
    assert message.startswith("line 1: bad operands for add: expected 'add rd,rs1,rs2'")


def test_immediate_out_of_range():
    assert _error("addi a0, a0, 2048") == "line 1: immediate 2048 out of range -2048..2047"


def test_load_offset_out_of_range():
    assert _error("lw a0, -2049(sp)") == "line 1: offset -2049 out of range -2048..2047"


def test_shift_amount_out_of_range():
    assert _error("slli a0, a0, 32") == "line 1: shift amount 32 out of range 0..31"


def test_lui_immediate_out_of_range():
    assert _error("lui a0, 0x100000") == "line 1: immediate 0x100000 out of range 0..0xfffff"


def test_li_value_wider_than_32_bits():
    assert _error("li a0, 0x100000000") == "line 1: li value 0x100000000 does not fit in 32 bits"


def test_undefined_symbol():
    assert _error("j nowhere") == "line 1: undefined symbol 'nowhere'"


def test_branch_target_out_of_range():
    assert _error("beq a0, a1, far\n.space 4096\nfar: nop") == (
        "line 1: branch target out of range: offset +4100, limit ±4096"
    )


def test_jump_target_out_of_range():
    assert "branch target out of range" in _error("j .+0x100000")


def test_misaligned_branch_target():
    assert _error("bnez a0, .+3") == "line 1: branch target misaligned: offset +3 is odd"


def test_unknown_csr_name():
    assert _error("csrr a0, mbogus") == "line 1: unknown CSR 'mbogus'"


def test_csr_number_out_of_range():
    assert _error("csrr a0, 0x1000") == "line 1: CSR number 0x1000 out of range 0..0xfff"


def test_csr_immediate_out_of_range():
    assert _error("csrwi mstatus, 32") == "line 1: CSR immediate 32 out of range 0..31"


def test_jump_to_a_register_is_not_a_target():
    assert _error("j a0").startswith("line 1: bad operands for j")


def test_label_defined_twice():
    assert _error("here: nop\nhere: nop") == "line 2: symbol 'here' is already defined"


def test_missing_numeric_label():
    assert _error("j 1b") == "line 1: no label '1:' before this line"


def test_unknown_directive():
    assert _error(".frob 1") == "line 1: unknown directive '.frob'"


def test_data_value_too_wide():
    assert _error(".byte 256") == "line 1: value 0x100 does not fit in 1 byte(s)"


def test_org_cannot_move_backwards():
    assert _error("nop\n.org 2") == "line 2: .org 0x2 would move backwards from 0x4"


def test_space_size_must_be_known_when_first_read():
    assert _error(".space later\nlater:") == (
        "line 1: .space uses 'later', which is not defined yet"
    )


def test_bad_fence_set():
    assert _error("fence rw, x").startswith("line 1: bad fence set 'x'")


def test_unreadable_expression():
    assert _error("li a0, 3 +* 4") == "line 1: unexpected '*' in expression '3 +* 4'"


def test_unterminated_string():
    assert _error('.ascii "abc').startswith("line 1: expected a string in quotes")


def test_offset_on_lr_is_rejected():
    assert _error("lr.w a0, 4(a1)") == "line 1: lr.w takes no offset, only (register)"
