"""The disassembler against GNU objdump 2.40, line for line.

Each test builds an object file of `.insn` words with GNU as, disassembles it with
objdump (default and `-M no-aliases`), and compares every line's text -- mnemonic,
tab, operands and ` # address` comment -- with ours. objdump's ` <symbol>` suffix is
the only thing stripped.
"""

from __future__ import annotations

import random

from machine.cpu import isa
from machine.cpu.disasm import Listing, disassemble

from . import cases
from .gnu import is_32bit_encoding, objdump_words


def _listing(words: list[int], aliases: bool) -> list[str]:
    listing = Listing(aliases=aliases)
    return [listing.line(word, 4 * i) for i, word in enumerate(words)]


def _assert_same(words: list[int], ours: list[str], objdump: list[str]) -> None:
    differences = [
        f"{4 * i:x}: {word:08x}  ours {mine!r}  objdump {theirs!r}"
        for i, (word, mine, theirs) in enumerate(zip(words, ours, objdump))
        if mine != theirs
    ]
    assert not differences, f"{len(differences)} lines differ:\n" + "\n".join(differences[:25])


def _check_both_modes(words: list[int]) -> None:
    for aliases in (True, False):
        _assert_same(words, _listing(words, aliases), objdump_words(words, no_aliases=not aliases))


def test_every_row_with_random_operands_matches_objdump():
    _check_both_modes(cases.row_words(random.Random(1), per_row=200))


def test_alias_edge_operands_match_objdump():
    _check_both_modes(cases.edge_words())


def test_every_csr_number_prints_like_objdump():
    _check_both_modes(cases.csr_words())


def test_random_words_including_illegal_ones_match_objdump():
    _check_both_modes(cases.random_words(random.Random(2), 30_000))


def test_address_comments_follow_lui_and_auipc_like_objdump():
    rng = random.Random(3)
    lui, auipc = isa.BY_NAME["lui"], isa.BY_NAME["auipc"]
    users = [isa.BY_NAME[n] for n in ("addi", "lw", "sb", "jalr", "lhu", "sw")]
    words = []
    for _ in range(3000):
        base = rng.choice((0, 4, 5, 6))
        upper = rng.choice((lui, auipc)).match | base << 7 | rng.getrandbits(20) << 12
        user = cases.random_word(rng.choice(users), rng)
        if rng.random() < 0.8:
            user = user & ~(31 << 15) | base << 15
        words += [upper, user]
    _check_both_modes(words)


def test_single_word_disassembly_matches_objdump_without_context():
    # objdump's lui/auipc memory is the only context; with rd = zero it changes nothing.
    rng = random.Random(4)
    words = cases.row_words(rng, per_row=50) + cases.edge_words()
    words = [w & ~(31 << 7) if isa.lookup(w) and isa.lookup(w).fmt == "U" else w for w in words]
    words = [w for w in words if is_32bit_encoding(w)]
    for aliases in (True, False):
        ours = [disassemble(w, 4 * i, aliases=aliases) for i, w in enumerate(words)]
        _assert_same(words, ours, objdump_words(words, no_aliases=not aliases))
