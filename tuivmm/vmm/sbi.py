"""The RISC-V Supervisor Binary Interface, as the VMM sees it: names for the calls.

An S-mode kernel asks its firmware for services with ECALL: a7 holds the extension
(EID), a6 the function in it (FID), a0-a5 the arguments; the firmware answers with an
error code in a0 and a value in a1 (the SBI specification, v2.0, chapter 3).  The
legacy extensions (EIDs 0x00-0x0F, SBI v0.1) are one function each, named by the EID.

Under the VMM an ECALL from virtual S-mode is an exit; when the guest's own firmware
(in virtual M-mode) handles it, the VMM injects it there, and the trap log names the
call from a7/a6: "sbi set_timer", "sbi console_putchar", "sbi remote_sfence_vma".
"""

from __future__ import annotations

from tuivmm.vmm.traplog import SBI_CALL

# The legacy calls, one per EID.
LEGACY = {
    0x00: "set_timer (legacy)",
    0x01: "console_putchar",
    0x02: "console_getchar",
    0x03: "clear_ipi",
    0x04: "send_ipi (legacy)",
    0x05: "remote_fence_i (legacy)",
    0x06: "remote_sfence_vma (legacy)",
    0x07: "remote_sfence_vma_asid (legacy)",
    0x08: "shutdown",
}

BASE = 0x10
TIME = 0x54494D45  # "TIME"
IPI = 0x735049  # "sPI"
RFENCE = 0x52464E43  # "RFNC"
HSM = 0x48534D  # "HSM"
SRST = 0x53525354  # "SRST"
PMU = 0x504D55  # "PMU"
DBCN = 0x4442434E  # "DBCN"
SUSP = 0x53555350  # "SUSP"
CPPC = 0x43505043  # "CPPC"

# EID -> (the extension's name, its functions by FID)
EXTENSIONS: dict[int, tuple[str, tuple[str, ...]]] = {
    BASE: ("base", ("get_spec_version", "get_impl_id", "get_impl_version", "probe_extension",
                    "get_mvendorid", "get_marchid", "get_mimpid")),
    TIME: ("time", ("set_timer",)),
    IPI: ("ipi", ("send_ipi",)),
    RFENCE: ("rfence", ("remote_fence_i", "remote_sfence_vma", "remote_sfence_vma_asid",
                        "remote_hfence_gvma_vmid", "remote_hfence_gvma", "remote_hfence_vvma_asid",
                        "remote_hfence_vvma")),
    HSM: ("hsm", ("hart_start", "hart_stop", "hart_get_status", "hart_suspend")),
    SRST: ("srst", ("system_reset",)),
    PMU: ("pmu", ("num_counters", "counter_get_info", "counter_config_matching", "counter_start",
                  "counter_stop", "counter_fw_read", "counter_fw_read_hi", "snapshot_set_shmem")),
    DBCN: ("dbcn", ("console_write", "console_read", "console_write_byte")),
    SUSP: ("susp", ("system_suspend",)),
    CPPC: ("cppc", ("probe", "read", "read_hi", "write")),
}  # fmt: skip

# The words a trap-log detail starts with for an SBI call.
PREFIX = SBI_CALL


def call_name(eid: int, fid: int) -> str:
    """The call a7 = `eid`, a6 = `fid` makes: "set_timer", "console_putchar",
    "probe_extension"; for one this table does not know, the numbers
    ("eid 0x0a000000 fid 1", "dbcn fid 9")."""
    if eid in LEGACY:
        return LEGACY[eid]
    extension = EXTENSIONS.get(eid)
    if extension is None:
        return f"eid {eid:#010x} fid {fid}"
    name, functions = extension
    return functions[fid] if 0 <= fid < len(functions) else f"{name} fid {fid}"


def describe(eid: int, fid: int) -> str:
    """The trap log's detail for the call: "sbi set_timer"."""
    return PREFIX + call_name(eid, fid)


# What the calls a kernel makes most ask of the firmware, for the trap inspector.
MEANING = {
    "set_timer": "arm the timer: interrupt the kernel (STIP) once the time reaches a0 (a1 holds the high "
                 "half on RV32); the firmware programs the CLINT's mtimecmp, or stimecmp where the hart has "
                 "Sstc",
    "set_timer (legacy)": "the v0.1 form of set_timer",
    "console_putchar": "print the character in a0 on the firmware's console (the v0.1 call earlycon=sbi uses)",
    "console_getchar": "read a character from the firmware's console (-1 if none)",
    "console_write": "print the a0 bytes at physical address a1 (a2 the high half) on the firmware's console",
    "console_write_byte": "print the byte in a0 on the firmware's console",
    "send_ipi": "raise a software interrupt (SSIP) on the harts in the mask a0 (from hart a1)",
    "remote_fence_i": "make the harts in the mask run FENCE.I: code was written",
    "remote_sfence_vma": "make the harts in the mask run SFENCE.VMA for a1..a1+a2: page tables changed",
    "remote_sfence_vma_asid": "as remote_sfence_vma, for address space a3 only",
    "probe_extension": "is the extension a0 there? (a1 = nonzero if so)",
    "get_spec_version": "which SBI version the firmware implements",
    "get_impl_id": "which firmware this is (its implementation id)",
    "get_impl_version": "the firmware's own version",
    "get_mvendorid": "the hart's mvendorid, an M-mode CSR the kernel cannot read",
    "get_marchid": "the hart's marchid, an M-mode CSR the kernel cannot read",
    "get_mimpid": "the hart's mimpid, an M-mode CSR the kernel cannot read",
    "hart_start": "start hart a0 at address a1 in S-mode",
    "hart_stop": "stop the calling hart",
    "hart_get_status": "is hart a0 started, stopped or suspended?",
    "hart_suspend": "suspend the calling hart",
    "system_reset": "power off (a0 = 0) or reboot (a0 = 1 cold, 2 warm) the machine",
    "shutdown": "power the machine off (v0.1)",
}  # fmt: skip


def meaning(eid: int, fid: int) -> str:
    """What the call asks of the firmware, in words ("" if this table has none)."""
    return MEANING.get(call_name(eid, fid), "")
