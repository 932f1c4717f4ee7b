"""A guest's virtual hart as a person reads it: a snapshot of its registers, and
the CSRs that matter decoded into their fields (privileged spec 1.12, chapter 3
and 4.1).

The snapshot (`HartState`, from `Guest.hart_state`) is plain numbers, cheap to take
and to compare, so a view can tell at a glance whether anything moved and, if so,
which registers and which fields (`changes`).  Decoding is pure: numbers in, named
fields out, with no guest and no screen.

These are the *virtual* hart's registers, the state the VMM emulates for the guest:
its privilege is the one the guest believes it runs in, its CSRs the ones its CSR
instructions read and write.  The real hart runs every guest in U-mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from machine.cpu import csrs as C
from machine.cpu.isa import ABI_NAMES

# The CSRs a view shows, in its order: status, translation, interrupts and their
# delegation, then the trap registers of M-mode and of S-mode.
SHOWN_CSRS = ("mstatus", "sstatus", "satp", "mie", "mip", "mideleg", "medeleg",
              "mtvec", "mepc", "mcause", "mtval", "mscratch",
              "stvec", "sepc", "scause", "stval", "sscratch")  # fmt: skip
SHOWN_NUMBERS = tuple(C.CSR_NUMBERS[name] for name in SHOWN_CSRS)


class Field(NamedTuple):
    """One field of a CSR, as shown: `text` is "MIE=1", "MPP=S", "ASID=5" or a name."""

    name: str  # the spec's name for it: "MIE", "MPP", "ASID", "cause"
    text: str
    set: bool = True  # False: a one-bit flag that is clear (a view dims it)
    group: int = 0  # fields of one group are kept on one line where they fit


class HartState(NamedTuple):
    """The virtual hart at one moment: pc, privilege, x0..x31, the SHOWN_CSRS' values
    (in that order) and the instructions retired since power-on."""

    pc: int
    priv: int
    x: tuple[int, ...]
    csrs: tuple[int, ...]
    retired: int

    def csr(self, name: str) -> int:
        return self.csrs[SHOWN_CSRS.index(name)]

    def changes(self, before: HartState | None) -> frozenset[str]:
        """What differs from `before`: "pc", "priv", registers by ABI name, CSRs by
        name, and each changed field as "csr.FIELD" (say "mstatus.SIE").  Nothing
        when there is no `before`.  The retired count is not a change: it always is."""
        if before is None or before == self:
            return frozenset()
        changed = set()
        if self.pc != before.pc:
            changed.add("pc")
        if self.priv != before.priv:
            changed.add("priv")
        changed.update(ABI_NAMES[i] for i in range(1, 32) if self.x[i] != before.x[i])
        for name, old, new in zip(SHOWN_CSRS, before.csrs, self.csrs, strict=True):
            if old != new:
                changed.add(name)
                was = {f.name: f.text for f in decode(name, old)}
                changed.update(f"{name}.{f.name}" for f in decode(name, new) if was.get(f.name) != f.text)
        return frozenset(changed)


# --- decoding ---------------------------------------------------------------------------


def _flag(name: str, value: int, bit: int, group: int = 0) -> Field:
    on = bool(value & bit)
    return Field(name, f"{name}={int(on)}", on, group)


def _priv(value: int) -> str:
    return C.PRIV_NAMES.get(value, str(value))


def status_fields(value: int, *, supervisor: bool = False) -> list[Field]:
    """mstatus (or, `supervisor`, the sstatus view of it): M-mode's interrupt-enable
    stack (MIE, MPIE, MPP: what a trap into M saves and MRET restores), S-mode's (SIE,
    SPIE, SPP, for SRET), then the bits that change memory access (MPRV, SUM, MXR)
    and those that make S-mode's instructions trap to M (TVM, TW, TSR)."""
    spp = Field("SPP", f"SPP={_priv((value & C.MSTATUS_SPP) >> 8)}", group=1)
    supervisor_stack = [_flag("SIE", value, C.MSTATUS_SIE, 1), _flag("SPIE", value, C.MSTATUS_SPIE, 1), spp]
    if supervisor:
        return [*supervisor_stack, _flag("SUM", value, C.MSTATUS_SUM, 2), _flag("MXR", value, C.MSTATUS_MXR, 2)]
    mpp = Field("MPP", f"MPP={_priv((value & C.MSTATUS_MPP) >> C.MSTATUS_MPP_SHIFT)}")
    return [
        _flag("MIE", value, C.MSTATUS_MIE), _flag("MPIE", value, C.MSTATUS_MPIE), mpp, *supervisor_stack,
        _flag("MPRV", value, C.MSTATUS_MPRV, 2), _flag("SUM", value, C.MSTATUS_SUM, 2),
        _flag("MXR", value, C.MSTATUS_MXR, 2), _flag("TVM", value, C.MSTATUS_TVM, 2),
        _flag("TW", value, C.MSTATUS_TW, 2), _flag("TSR", value, C.MSTATUS_TSR, 2),
    ]  # fmt: skip


def satp_fields(value: int) -> list[Field]:
    """satp (4.1.11): MODE (Bare or Sv32), ASID, and the root page table's PPN, with
    the guest-physical address that PPN names."""
    ppn = value & C.SATP_PPN
    sv32 = bool(value & C.SATP_MODE)
    fields = [Field("MODE", "Sv32" if sv32 else "Bare", sv32),
              Field("ASID", f"ASID={(value & C.SATP_ASID) >> 22}"), Field("PPN", f"PPN={ppn:#x}")]  # fmt: skip
    if sv32:
        fields.append(Field("root", f"(root table at {ppn << 12:#010x})", group=1))
    else:
        fields.append(Field("root", "(no translation)", False, group=1))
    return fields


# Interrupt bits of mip/mie by the names the spec gives them, lowest bit first.
INTERRUPTS = (("SSI", C.SSIP), ("MSI", C.MSIP), ("STI", C.STIP), ("MTI", C.MTIP), ("SEI", C.SEIP), ("MEI", C.MEIP))


def interrupt_fields(value: int, *, supervisor_only: bool = False) -> list[Field]:
    """mip or mie: a flag per interrupt (SSI, MSI, STI, MTI, SEI, MEI); for mideleg,
    `supervisor_only` (only S-level interrupts can be delegated)."""
    return [_flag(name, value, 1 << bit) for name, bit in INTERRUPTS
            if not supervisor_only or (1 << bit) & C.S_INTERRUPTS]  # fmt: skip


def number_ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 3, 12, 13, 15] -> "0–3 12 13 15" (runs of three or more as a range)."""
    parts: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{numbers[i]}–{numbers[j]}")
        else:
            parts.extend(str(n) for n in numbers[i : j + 1])
        i = j + 1
    return " ".join(parts)


def medeleg_fields(value: int) -> list[Field]:
    """medeleg: the exception causes handed straight to S-mode, by number."""
    causes = [n for n in range(32) if value >> n & 1]
    if not causes:
        return [Field("causes", "none: every exception goes to M", False)]
    return [Field("causes", f"causes {number_ranges(causes)} go to S")]


def tvec_fields(value: int) -> list[Field]:
    """mtvec/stvec: BASE and MODE (direct: every trap to BASE; vectored: interrupts
    to BASE + 4 x cause)."""
    mode = {0: "direct", 1: "vectored"}.get(value & 3, "reserved")
    return [Field("BASE", f"base {value & ~3:#010x}"), Field("MODE", mode)]


def cause_fields(value: int) -> list[Field]:
    """mcause/scause: the cause's name (an interrupt when bit 31 is set)."""
    return [Field("cause", C.cause_name(value))]


DECODERS: dict[str, Callable[[int], list[Field]]] = {
    "mstatus": status_fields,
    "sstatus": lambda value: status_fields(value, supervisor=True),
    "satp": satp_fields,
    "mie": interrupt_fields,
    "mip": interrupt_fields,
    "mideleg": lambda value: interrupt_fields(value, supervisor_only=True),
    "medeleg": medeleg_fields,
    "mtvec": tvec_fields,
    "stvec": tvec_fields,
    "mcause": cause_fields,
    "scause": cause_fields,
}


def decode(name: str, value: int) -> list[Field]:
    """CSR `name`'s fields for `value`; none for registers that are one number (the
    epcs, tvals, scratches)."""
    decoder = DECODERS.get(name)
    return decoder(value) if decoder is not None else []
