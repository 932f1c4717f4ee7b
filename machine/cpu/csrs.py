"""CSR numbers, names and bit fields (privileged spec 1.12, chapter 2 and 3).

The address itself encodes access rules (spec 2.1): bits [11:10] == 0b11 means
read-only, bits [9:8] give the lowest privilege that may access it.
"""

# Unprivileged counters
CYCLE, TIME, INSTRET = 0xC00, 0xC01, 0xC02
CYCLEH, TIMEH, INSTRETH = 0xC80, 0xC81, 0xC82
HPMCOUNTER3, HPMCOUNTER31 = 0xC03, 0xC1F
HPMCOUNTER3H, HPMCOUNTER31H = 0xC83, 0xC9F

# Supervisor
SSTATUS, SIE, STVEC, SCOUNTEREN = 0x100, 0x104, 0x105, 0x106
SENVCFG = 0x10A
SSCRATCH, SEPC, SCAUSE, STVAL, SIP = 0x140, 0x141, 0x142, 0x143, 0x144
SATP = 0x180

# Machine
MVENDORID, MARCHID, MIMPID, MHARTID, MCONFIGPTR = 0xF11, 0xF12, 0xF13, 0xF14, 0xF15
MSTATUS, MISA, MEDELEG, MIDELEG, MIE, MTVEC, MCOUNTEREN = 0x300, 0x301, 0x302, 0x303, 0x304, 0x305, 0x306
MSTATUSH = 0x310
MENVCFG, MENVCFGH = 0x30A, 0x31A
MCOUNTINHIBIT = 0x320
MSCRATCH, MEPC, MCAUSE, MTVAL, MIP = 0x340, 0x341, 0x342, 0x343, 0x344
PMPCFG0, PMPADDR0 = 0x3A0, 0x3B0
MCYCLE, MINSTRET = 0xB00, 0xB02
MHPMCOUNTER3, MHPMCOUNTER31 = 0xB03, 0xB1F
MCYCLEH, MINSTRETH = 0xB80, 0xB82
MHPMCOUNTER3H, MHPMCOUNTER31H = 0xB83, 0xB9F
MHPMEVENT3, MHPMEVENT31 = 0x323, 0x33F
# Debug triggers (Sdtrig, debug spec 1.0 chapter 5)
TSELECT, TDATA1, TDATA2, TDATA3, TINFO = 0x7A0, 0x7A1, 0x7A2, 0x7A3, 0x7A4

# mstatus fields (RV32)
MSTATUS_SIE = 1 << 1
MSTATUS_MIE = 1 << 3
MSTATUS_SPIE = 1 << 5
MSTATUS_UBE = 1 << 6
MSTATUS_MPIE = 1 << 7
MSTATUS_SPP = 1 << 8
MSTATUS_MPP_SHIFT = 11
MSTATUS_MPP = 3 << 11
MSTATUS_FS = 3 << 13
MSTATUS_XS = 3 << 15
MSTATUS_MPRV = 1 << 17
MSTATUS_SUM = 1 << 18
MSTATUS_MXR = 1 << 19
MSTATUS_TVM = 1 << 20
MSTATUS_TW = 1 << 21
MSTATUS_TSR = 1 << 22
MSTATUS_SD = 1 << 31

# What software can change in mstatus, and the subset visible through sstatus.
MSTATUS_WRITABLE = (
    MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP
    | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
)  # fmt: skip
SSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_SD | MSTATUS_FS | MSTATUS_XS | MSTATUS_UBE

# Interrupt bits in mip/mie (and cause numbers with the interrupt bit set)
SSIP, MSIP, STIP, MTIP, SEIP, MEIP = 1, 3, 5, 7, 9, 11
IRQ_S_SOFT, IRQ_M_SOFT, IRQ_S_TIMER, IRQ_M_TIMER, IRQ_S_EXT, IRQ_M_EXT = 1, 3, 5, 7, 9, 11
ALL_INTERRUPTS = (1 << SSIP) | (1 << MSIP) | (1 << STIP) | (1 << MTIP) | (1 << SEIP) | (1 << MEIP)
S_INTERRUPTS = (1 << SSIP) | (1 << STIP) | (1 << SEIP)
# mip bits software may write directly: the S-level ones (M-level ones are wired to devices).
MIP_WRITABLE = S_INTERRUPTS
# Priority when several are pending and enabled (spec 3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
INTERRUPT_PRIORITY = (IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER)
INTERRUPT_BIT = 1 << 31

# Exception causes (spec table 3.6)
INSN_MISALIGNED = 0
INSN_ACCESS_FAULT = 1
ILLEGAL_INSN = 2
BREAKPOINT = 3
LOAD_MISALIGNED = 4
LOAD_ACCESS_FAULT = 5
STORE_MISALIGNED = 6
STORE_ACCESS_FAULT = 7
ECALL_FROM_U = 8
ECALL_FROM_S = 9
ECALL_FROM_M = 11
INSN_PAGE_FAULT = 12
LOAD_PAGE_FAULT = 13
STORE_PAGE_FAULT = 15

CAUSE_NAMES = {
    INSN_MISALIGNED: "instruction address misaligned",
    INSN_ACCESS_FAULT: "instruction access fault",
    ILLEGAL_INSN: "illegal instruction",
    BREAKPOINT: "breakpoint",
    LOAD_MISALIGNED: "load address misaligned",
    LOAD_ACCESS_FAULT: "load access fault",
    STORE_MISALIGNED: "store/AMO address misaligned",
    STORE_ACCESS_FAULT: "store/AMO access fault",
    ECALL_FROM_U: "environment call from U-mode",
    ECALL_FROM_S: "environment call from S-mode",
    ECALL_FROM_M: "environment call from M-mode",
    INSN_PAGE_FAULT: "instruction page fault",
    LOAD_PAGE_FAULT: "load page fault",
    STORE_PAGE_FAULT: "store/AMO page fault",
}
INTERRUPT_NAMES = {
    IRQ_S_SOFT: "supervisor software interrupt",
    IRQ_M_SOFT: "machine software interrupt",
    IRQ_S_TIMER: "supervisor timer interrupt",
    IRQ_M_TIMER: "machine timer interrupt",
    IRQ_S_EXT: "supervisor external interrupt",
    IRQ_M_EXT: "machine external interrupt",
}


def cause_name(cause: int) -> str:
    if cause & INTERRUPT_BIT:
        return INTERRUPT_NAMES.get(cause & 0x7FFF_FFFF, f"interrupt {cause & 0x7FFF_FFFF}")
    return CAUSE_NAMES.get(cause, f"exception {cause}")


# Privilege levels
U, S, M = 0, 1, 3
PRIV_NAMES = {U: "U", S: "S", M: "M"}

# satp (Sv32)
SATP_MODE = 1 << 31
SATP_ASID = 0x1FF << 22
SATP_PPN = 0x3F_FFFF

# Names objdump prints for CSR numbers this machine implements (or that it knows).
CSR_NAMES: dict[int, str] = {
    0x001: "fflags", 0x002: "frm", 0x003: "fcsr",
    CYCLE: "cycle", TIME: "time", INSTRET: "instret",
    CYCLEH: "cycleh", TIMEH: "timeh", INSTRETH: "instreth",
    SSTATUS: "sstatus", SIE: "sie", STVEC: "stvec", SCOUNTEREN: "scounteren", SENVCFG: "senvcfg",
    SSCRATCH: "sscratch", SEPC: "sepc", SCAUSE: "scause", STVAL: "stval", SIP: "sip", SATP: "satp",
    MVENDORID: "mvendorid", MARCHID: "marchid", MIMPID: "mimpid", MHARTID: "mhartid",
    MCONFIGPTR: "mconfigptr",
    MSTATUS: "mstatus", MISA: "misa", MEDELEG: "medeleg", MIDELEG: "mideleg", MIE: "mie",
    MTVEC: "mtvec", MCOUNTEREN: "mcounteren", MSTATUSH: "mstatush",
    MENVCFG: "menvcfg", MENVCFGH: "menvcfgh", MCOUNTINHIBIT: "mcountinhibit",
    MSCRATCH: "mscratch", MEPC: "mepc", MCAUSE: "mcause", MTVAL: "mtval", MIP: "mip",
    MCYCLE: "mcycle", MINSTRET: "minstret", MCYCLEH: "mcycleh", MINSTRETH: "minstreth",
    TSELECT: "tselect", TDATA1: "tdata1", TDATA2: "tdata2", TDATA3: "tdata3", TINFO: "tinfo",
}  # fmt: skip
for _n in range(4):
    CSR_NAMES[PMPCFG0 + _n] = f"pmpcfg{_n}"
for _n in range(16):
    CSR_NAMES[PMPADDR0 + _n] = f"pmpaddr{_n}"
for _n in range(3, 32):
    CSR_NAMES[0xC00 + _n] = f"hpmcounter{_n}"
    CSR_NAMES[0xC80 + _n] = f"hpmcounter{_n}h"
    CSR_NAMES[0xB00 + _n] = f"mhpmcounter{_n}"
    CSR_NAMES[0xB80 + _n] = f"mhpmcounter{_n}h"
    CSR_NAMES[0x320 + _n] = f"mhpmevent{_n}"
CSR_NUMBERS = {name: num for num, name in CSR_NAMES.items()}
