"""The assembler against GNU as: the same source must give the same bytes.

GNU as runs with `-mno-relax` and `.option norelax` and its output is linked at the
same base, so `call`, `la` and `%pcrel` pairs are resolved exactly as ours are.
"""

from __future__ import annotations

import random

from machine.cpu import isa
from machine.cpu.asm import assemble
from machine.cpu.disasm import disassemble

from . import cases, sources
from .gnu import assemble_with_gnu

BASE = 0x8000_0000


def _assert_same_bytes(source: str, base: int = BASE) -> None:
    ours, gnu = assemble(source, base).data, assemble_with_gnu(source, base)
    if ours == gnu:
        return
    first = next((i for i in range(min(len(ours), len(gnu))) if ours[i] != gnu[i]), None)
    if first is None:
        raise AssertionError(f"lengths differ: ours {len(ours)} bytes, GNU {len(gnu)}")
    at = first & ~3
    word = [int.from_bytes(data[at : at + 4], "little") for data in (ours, gnu)]
    raise AssertionError(
        f"first difference at offset {at:#x}: ours {word[0]:08x} ({disassemble(word[0])}),"
        f" GNU {word[1]:08x} ({disassemble(word[1])})"
    )


def test_every_row_with_random_operands_assembles_like_gnu_as():
    _assert_same_bytes("\n".join(sources.row_lines(random.Random(10), per_row=60)))


def test_li_of_any_32_bit_value_assembles_like_gnu_as():
    _assert_same_bytes("\n".join(sources.li_lines(random.Random(11), 400)))


PSEUDOS = """
_start: nop
        mv a0, a1
        not t0, t1
        neg s0, s1
        seqz a0, a1
        snez a0, a1
        sltz a0, a1
        sgtz a0, a1
        zext.b a0, a1
        add a0, a1, 5
        and a0, a1, -8
        sll a0, a1, 3
        sra a0, a1, 31
        slt a0, a1, -1
        sltu a0, a1, 1
        la a1, message
        lla a2, message
        call helper
        tail helper
        lw a0, message
        lbu a1, message
        j _start
        jal helper
        jal t0, helper
        jr t0
        jr 4(t0)
        jr t0, 8
        jalr t0
        jalr t0, t1
        jalr t0, 4(t1)
        jalr t0, t1, 8
        jalr -4(t1)
        ret
back:   beqz a0, back
        bnez a0, helper
        blez a0, back
        bgez a0, helper
        bltz a0, back
        bgtz a0, helper
        bgt a0, a1, back
        ble a0, a1, helper
        bgtu a0, a1, back
        bleu a0, a1, helper
        csrr a0, mstatus
        csrw mstatus, a0
        csrs mie, a0
        csrc mip, a0
        csrw satp, 3
        csrs mstatus, 8
        csrc mstatus, 31
        csrwi mstatus, 5
        csrsi 0x300, 5
        csrci sstatus, 31
        csrrw a0, mscratch, 7
        csrrs a0, dcsr, zero
        csrrc a0, 0x7c0, 1
        rdcycle a0
        rdtime a1
        rdinstret a2
        rdcycleh a3
        rdtimeh a4
        rdinstreth a5
        fence
        fence rw, w
        fence iorw, iorw
        fence.tso
        fence.i
        sfence.vma
        sfence.vma a0
        sfence.vma a0, a1
        unimp
        lr.w.aq a0, (a1)
        sc.w.rl a0, a2, 0(a1)
        amoswap.w.aqrl a0, a2, (a1)
        amomaxu.w x5, x6, (x7)
        ecall
        ebreak
        mret
        sret
        wfi
helper: ret
message: .asciz "hello"
"""


def test_pseudo_instructions_assemble_like_gnu_as():
    _assert_same_bytes(PSEUDOS)


def test_labels_expressions_and_relocation_operators_assemble_like_gnu_as():
    _assert_same_bytes("""
        .equ UART, 0x10000000
        .set TWICE, UART * 2
        LATER = end - start
    start:
        li a0, UART
        li a1, 1 + 2 | 4
        li a2, 1 << 3 + 1
        li a3, 7 / -2
        li a4, -7 % 3
        li a5, 'A'
        li a6, '\\n'
        li a7, 010 + 0b101 + ~0
        lui t0, %hi(data)
        addi t0, t0, %lo(data)
        lw t1, %lo(data)(t0)
        sw t1, %lo(data + 4)(t0)
    1:  auipc t2, %pcrel_hi(data)
        addi t2, t2, %pcrel_lo(1b)
    1:  j 1f
        j 1b
    1:  beq a0, a1, 1b
    data: .word start, end, end - start, data + 8, ., LATER
    end:
        .word (end - start) / 4, TWICE
    """)


def test_data_directives_assemble_like_gnu_as():
    _assert_same_bytes("""
        .byte 1, 2, -1, 'z', 255, -128
        .half 0x1234, -2, 65535
        .short 7
        .2byte 8
        .word 0xdeadbeef, -1
        .long 3
        .4byte 4
        .dword 0x1122334455667788
        .ascii "ab\\tc\\x41\\101\\"q\\\\"
        .asciz "one", "two"
        .string "three"
        .space 5
        .space 3, 0xee
        .zero 2
        .skip 1
        .org 0x60
        .org 0x64, 0x11
        .word 0xcafe
    """)


def test_alignment_pads_code_like_gnu_as():
    # GNU pads code with a zero byte to an even address, a 2-byte c.nop, then nops.
    for misalign in range(1, 8):
        prefix = "\n".join([".byte 1"] * misalign)
        for align in (".align 3", ".p2align 4", ".balign 8", ".balign 16, 0x5a", ".align 3, 0, 4"):
            _assert_same_bytes(f"{prefix}\n{align}\nnop\n")


def test_our_disassembly_is_accepted_by_gnu_as_as_the_same_word():
    words = [
        w
        for w in cases.row_words(random.Random(12), per_row=40) + cases.edge_words()
        if isa.lookup(w) is not None and "unknown" not in disassemble(w)
    ]
    for aliases in (True, False):
        text = "\n".join(disassemble(w, aliases=aliases) for w in words)
        expected = b"".join(w.to_bytes(4, "little") for w in words)
        assert assemble_with_gnu(text) == expected
