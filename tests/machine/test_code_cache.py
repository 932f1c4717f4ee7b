"""The engine's cache of compiled block code (machine/cpu/engine.py `compiled`): a block
whose source the code generator wrote before — on another board, for another guest,
after a reboot — is not compiled again; its code object is shared; the least recently
used go first once the cache is full."""

from __future__ import annotations

from pathlib import Path

import pytest

from machine.board import Board
from machine.cpu import engine
from machine.runner import BytesInput, ConsoleRunner

IMAGES = Path(__file__).resolve().parents[2] / "tuivmm" / "images"


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """An empty cache, and the sources `compile` is called with from now on."""
    seen: list[str] = []

    def counting(src, name, mode):
        seen.append(src)
        return compile(src, name, mode)

    monkeypatch.setattr(engine, "_code_cache", {})
    monkeypatch.setattr(engine.EngineMixin, "cold_passes", 0)  # every block compiled at once
    monkeypatch.setattr(engine, "compile", counting, raising=False)
    return seen


def run(image: str) -> Board:
    board = Board()
    board.load(IMAGES / f"{image}.elf")
    outcome = ConsoleRunner(board, BytesInput(b"")).run(50_000_000)
    assert outcome.kind == "pass"
    return board


def test_a_second_board_running_the_same_code_compiles_nothing(compiles):
    first = run("compute")
    assert first.hart.blocks_translated > 50 and len(compiles) == len(set(compiles))
    count = len(compiles)
    second = run("compute")
    assert len(compiles) == count  # every block's code came from the cache
    assert second.hart.blocks_translated == first.hart.blocks_translated
    assert bytes(second.output) == bytes(first.output) and second.hart.icount == first.hart.icount
    # The two boards' blocks run the same code objects, each in its own namespace.
    one = {fn.__code__ for fn, _, _ in first.hart.blocks.values() if hasattr(fn, "__code__")}
    two = {fn.__code__ for fn, _, _ in second.hart.blocks.values() if hasattr(fn, "__code__")}
    assert one & two
    assert all(fn.__globals__ is second.hart.ns for fn, _, _ in second.hart.blocks.values() if hasattr(fn, "__globals__")
               and fn.__code__.co_name == "block")  # fmt: skip


def test_the_least_recently_used_code_goes_first_when_the_cache_is_full(compiles, monkeypatch):
    monkeypatch.setattr(engine, "CODE_CACHE_SIZE", 2)
    a, b, c = (f"def block(lim):\n    return {n}\n" for n in (1, 2, 3))
    for src in (a, b, a, c):  # a is used again before c comes: b is the least recent
        engine.compiled(src, 0)
    assert compiles == [a, b, c]
    assert engine.compiled(a, 0) is engine.compiled(a, 0) and compiles == [a, b, c]
    engine.compiled(b, 0)  # gone: compiled again, and c goes (a was used since)
    assert compiles == [a, b, c, b] and len(engine._code_cache) == 2
    engine.compiled(a, 0)
    assert compiles == [a, b, c, b]
