"""16-bit instructions against GNU objdump 2.40 (-march=rv32imac), line for line: every
one of the 49152 parcels alone, and random streams mixing them with 32-bit words so
the walk over halfword boundaries and objdump's lui/c.lui address notes are checked
too.  Only objdump's ` <symbol>` suffix is stripped."""

from __future__ import annotations

import random

from machine.cpu.disasm import Listing, disassemble_block

from . import cases
from .gnu import objdump_stream

PARCELS = [h for h in range(0x1_0000) if h & 3 != 3]


def _differences(items, ours, theirs):
    return [f"{bits:0{2 * n}x}  ours {a!r}  objdump {b!r}" for (n, bits), a, b in zip(items, ours, theirs) if a != b]


def test_every_16bit_parcel_prints_like_objdump():
    items = [(2, h) for h in PARCELS]
    listing = Listing()
    ours, pc = [], 0
    for _, h in items:
        ours.append(listing.line(h, pc))
        pc += 2
    differences = _differences(items, ours, objdump_stream(items))
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(differences[:25])


def test_mixed_streams_with_lui_notes_print_like_objdump():
    rng = random.Random(13)
    words = cases.random_words(rng, 1000) + cases.row_words(rng, per_row=20)
    # c.lui / lui into a register, then c.addi or a 32-bit user of it, often
    notes = [0x6000 | (rd << 7) | 0b01 | (rng.randint(1, 31) << 2) for rd in (8, 9, 10, 15) for _ in range(5)]
    users = [0x0001 | (rd << 7) | (rng.randint(0, 31) << 2) for rd in (8, 9, 10, 15) for _ in range(5)]
    items = []
    for _ in range(4000):
        kind = rng.randint(0, 3)
        if kind == 0:
            items.append((4, rng.choice(words)))
        elif kind == 1:
            items.append((2, rng.choice(PARCELS)))
        else:
            items.append((2, rng.choice(notes if kind == 2 else users)))
    data = b"".join(bits.to_bytes(n, "little") for n, bits in items)
    ours = [text for _, _, text in disassemble_block(data, 0)]
    differences = _differences(items, ours, objdump_stream(items))
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(differences[:25])
