"""CSR names GNU binutils 2.40 knows beyond the ones this machine implements.

objdump prints a CSR by name whenever binutils knows one for its number (for the newest
privileged spec, 1.12), whatever extensions the file was built for; GNU as accepts the
same names. The machine's own CSRs live in `csrs.CSR_NAMES`; this module adds the rest
(vector, hypervisor, AIA, debug, Sstc, state-enable ...) so the disassembler prints
what objdump prints and the assembler accepts what GNU as accepts. The list was taken
from riscv64-unknown-elf-objdump 2.40 by disassembling `csrrs` for all 4096 numbers.
"""

from __future__ import annotations

from machine.cpu.csrs import CSR_NAMES

_SINGLES = {
    # vector, entropy source
    0x008: "vstart", 0x009: "vxsat", 0x00A: "vxrm", 0x00F: "vcsr", 0x015: "seed",
    0xC20: "vl", 0xC21: "vtype", 0xC22: "vlenb",
    # supervisor: AIA, Sstc, Sscofpmf
    0x114: "sieh", 0x14D: "stimecmp", 0x150: "siselect", 0x151: "sireg", 0x154: "siph",
    0x15C: "stopei", 0x15D: "stimecmph", 0x5A8: "scontext", 0xDA0: "scountovf",
    0xDB0: "stopi",
    # virtual supervisor
    0x200: "vsstatus", 0x204: "vsie", 0x205: "vstvec", 0x214: "vsieh", 0x240: "vsscratch",
    0x241: "vsepc", 0x242: "vscause", 0x243: "vstval", 0x244: "vsip", 0x24D: "vstimecmp",
    0x250: "vsiselect", 0x251: "vsireg", 0x254: "vsiph", 0x25C: "vstopei",
    0x25D: "vstimecmph", 0x280: "vsatp", 0xEB0: "vstopi",
    # machine: AIA, hypervisor traps, Smepmp
    0x308: "mvien", 0x309: "mvip", 0x313: "midelegh", 0x314: "mieh", 0x318: "mvienh",
    0x319: "mviph", 0x34A: "mtinst", 0x34B: "mtval2", 0x350: "miselect", 0x351: "mireg",
    0x354: "miph", 0x35C: "mtopei", 0x747: "mseccfg", 0x757: "mseccfgh", 0xFB0: "mtopi",
    # hypervisor
    0x600: "hstatus", 0x602: "hedeleg", 0x603: "hideleg", 0x604: "hie",
    0x605: "htimedelta", 0x606: "hcounteren", 0x607: "hgeie", 0x608: "hvien",
    0x609: "hvictl", 0x60A: "henvcfg", 0x613: "hidelegh", 0x615: "htimedeltah",
    0x618: "hvienh", 0x61A: "henvcfgh", 0x643: "htval", 0x644: "hip", 0x645: "hvip",
    0x646: "hviprio1", 0x647: "hviprio2", 0x64A: "htinst", 0x655: "hviph",
    0x656: "hviprio1h", 0x657: "hviprio2h", 0x680: "hgatp", 0x6A8: "hcontext",
    0xE12: "hgeip",
    # debug and trigger
    0x7A0: "tselect", 0x7A1: "tdata1", 0x7A2: "tdata2", 0x7A3: "tdata3", 0x7A4: "tinfo",
    0x7A5: "tcontrol", 0x7A8: "mcontext", 0x7AA: "mscontext", 0x7B0: "dcsr",
    0x7B1: "dpc", 0x7B2: "dscratch0", 0x7B3: "dscratch1",
}  # fmt: skip

# Numbered runs: (prefix, suffix, first CSR number, first index, last index).
_RUNS = (
    ("sstateen", "", 0x10C, 0, 3),
    ("mstateen", "", 0x30C, 0, 3),
    ("mstateen", "h", 0x31C, 0, 3),
    ("hstateen", "", 0x60C, 0, 3),
    ("hstateen", "h", 0x61C, 0, 3),
    ("pmpcfg", "", 0x3A4, 4, 15),
    ("pmpaddr", "", 0x3C0, 16, 63),
    ("mhpmevent", "h", 0x723, 3, 31),
)

GNU_CSR_NAMES: dict[int, str] = dict(CSR_NAMES)
GNU_CSR_NAMES.update(_SINGLES)
for _prefix, _suffix, _first, _lo, _hi in _RUNS:
    for _n in range(_lo, _hi + 1):
        GNU_CSR_NAMES[_first + _n - _lo] = f"{_prefix}{_n}{_suffix}"

GNU_CSR_NUMBERS: dict[str, int] = {name: num for num, name in GNU_CSR_NAMES.items()}
