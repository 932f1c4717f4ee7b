"""Shared set-up for the Sv32 tests: a machine running a body of code with translation
on, its page tables, and the addresses the tests use."""

from __future__ import annotations

from .privharness import (
    HALT_HANDLER, PMP_ALL, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, RAM_BASE, PageTables, enter, machine,
)  # fmt: skip

ROOT = RAM_BASE + 0x1_0000
PA_A = RAM_BASE + 0x4_0000
PA_B = RAM_BASE + 0x4_1000
VA = 0x4000_0000
SATP = (1 << 31) | (ROOT >> 12)
R, W, X, U, V, A, D = PTE_R, PTE_W, PTE_X, PTE_U, PTE_V, PTE_A, PTE_D


def build(mode: str, body: str, *, stepping: bool, setup: str = "", extra: str = "", identity: bool = True):
    """A machine running `body` in `mode` with translation on, and its page tables.

    With `identity`, RAM's megapage maps to itself (with U for a U-mode `body`)."""
    src = f"""
_start:
        la   t0, trap_halt
        csrw mtvec, t0
{PMP_ALL}
        li   t0, {SATP:#x}
        csrw satp, t0
        sfence.vma
{setup}
{enter(mode, "body")}
body:
{body}
        ecall
{HALT_HANDLER}
{extra}
"""
    m = machine(src, stepping=stepping)
    pt = PageTables(m, ROOT)
    if identity:
        pt.identity_ram(V | R | W | X | A | D | (U if mode == "U" else 0))
    m.poke(PA_A, 0xAAAA_0001)
    m.poke(PA_B, 0xBBBB_0002)
    return m, pt
