// The RISC-V machinery guests touch: one tiny accessor pair per CSR, next to the
// names of its bits, in the manner of xv6's riscv.h.  Numbers are from the
// privileged spec 1.12 (chapter 3 for M-mode, 4 for S-mode and Sv32).
#pragma once

typedef unsigned int uint32;   // one XLEN register: RV32, ilp32

// CSR(name) makes r_name() and w_name(x).  The "memory" clobber keeps the
// compiler from moving loads and stores across a CSR write that changes how
// memory is translated or protected (satp, pmp*).
#define CSR(name)                                                           \
  static inline uint32 r_##name(void) {                                     \
    uint32 x;                                                               \
    asm volatile("csrr %0, " #name : "=r"(x) : : "memory");                 \
    return x;                                                               \
  }                                                                         \
  static inline void w_##name(uint32 x) {                                   \
    asm volatile("csrw " #name ", %0" : : "r"(x) : "memory");               \
  }

// ---- Machine mode (3.1) ----
CSR(mhartid)
CSR(mstatus)
#define MSTATUS_MPP_MASK (3u << 11)   // previous mode, restored by mret
#define MSTATUS_MPP_M    (3u << 11)
#define MSTATUS_MPP_S    (1u << 11)
#define MSTATUS_MPP_U    (0u << 11)
#define MSTATUS_MIE      (1u << 3)
CSR(medeleg)                          // exceptions handed straight to S-mode
CSR(mideleg)                          // interrupts handed straight to S-mode
CSR(mie)
CSR(mtvec)
CSR(mepc)
CSR(mcause)
CSR(mtval)
CSR(mscratch)

// Physical memory protection (3.7): with no entry set, S and U can reach nothing.
CSR(pmpcfg0)
CSR(pmpaddr0)
#define PMP_R     (1u << 0)
#define PMP_W     (1u << 1)
#define PMP_X     (1u << 2)
#define PMP_NAPOT (3u << 3)           // address field encodes base and size

// ---- Supervisor mode (4.1): sstatus is a view of mstatus ----
CSR(sstatus)
#define SSTATUS_SPP  (1u << 8)        // previous mode: 1 = S, 0 = U; sret returns there
#define SSTATUS_SPIE (1u << 5)
#define SSTATUS_SIE  (1u << 1)
#define SSTATUS_SUM  (1u << 18)       // S may load/store U pages
CSR(sie)
CSR(sip)
CSR(stvec)
CSR(sscratch)
CSR(sepc)
CSR(scause)
CSR(stval)
CSR(satp)

// Exception causes (table 3.6), the bit numbers of medeleg.
#define CAUSE_INSN_ACCESS_FAULT  1
#define CAUSE_ILLEGAL_INSN       2
#define CAUSE_BREAKPOINT         3
#define CAUSE_LOAD_ACCESS_FAULT  5
#define CAUSE_STORE_ACCESS_FAULT 7
#define CAUSE_ECALL_FROM_U       8
#define CAUSE_ECALL_FROM_S       9
#define CAUSE_ECALL_FROM_M       11
#define CAUSE_INSN_PAGE_FAULT    12
#define CAUSE_LOAD_PAGE_FAULT    13
#define CAUSE_STORE_PAGE_FAULT   15
#define CAUSE_INTERRUPT          (1u << 31)

// ---- Sv32 (4.3): two levels of 1024 four-byte entries, 4 KiB pages ----
#define SATP_SV32   (1u << 31)
#define MAKE_SATP(root) (SATP_SV32 | ((uint32)(root) >> 12))
#define PGSIZE      4096u
#define PGROUNDDOWN(a) ((uint32)(a) & ~(PGSIZE - 1))
#define PGROUNDUP(a)   (((uint32)(a) + PGSIZE - 1) & ~(PGSIZE - 1))

#define PTE_V (1u << 0)               // valid
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)               // R|W|X all clear: points to the next level
#define PTE_U (1u << 4)               // U-mode may use it (and S may not execute it)
#define PTE_G (1u << 5)
#define PTE_A (1u << 6)               // accessed
#define PTE_D (1u << 7)               // dirty

#define PA2PTE(pa)  (((uint32)(pa) >> 12) << 10)   // PPN into bits 31:10
#define PTE2PA(pte) (((uint32)(pte) >> 10) << 12)
#define VPN(level, va) (((uint32)(va) >> (12 + 10 * (level))) & 0x3FF)

// Flush every cached translation; needed after changing satp or a PTE.
static inline void sfence_vma(void) { asm volatile("sfence.vma zero, zero" : : : "memory"); }
