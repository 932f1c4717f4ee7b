// CSR access and the bit names the test programs use (privileged spec 1.12,
// chapters 3 and 4), in the manner of xv6's riscv.h.
#pragma once

#define csr_read(csr)                                        \
    ({                                                       \
        unsigned _csr_value;                                 \
        asm volatile("csrr %0, " #csr                        \
                     : "=r"(_csr_value)                      \
                     :                                       \
                     : "memory");                            \
        _csr_value;                                          \
    })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" : : "r"((unsigned)(v)) : "memory")
#define csr_set(csr, v)   asm volatile("csrs " #csr ", %0" : : "r"((unsigned)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" : : "r"((unsigned)(v)) : "memory")
// Write `v` and return the old value in one instruction.
#define csr_swap(csr, v)                                     \
    ({                                                       \
        unsigned _csr_old;                                   \
        asm volatile("csrrw %0, " #csr ", %1"                \
                     : "=r"(_csr_old)                        \
                     : "r"((unsigned)(v))                    \
                     : "memory");                            \
        _csr_old;                                            \
    })

// mstatus / sstatus
#define MSTATUS_SIE  (1u << 1)
#define MSTATUS_MIE  (1u << 3)
#define MSTATUS_SPIE (1u << 5)
#define MSTATUS_MPIE (1u << 7)
#define MSTATUS_SPP  (1u << 8)
#define MSTATUS_MPP  (3u << 11)
#define MSTATUS_MPP_S (1u << 11)
#define MSTATUS_FS   (3u << 13)
#define MSTATUS_XS   (3u << 15)
#define MSTATUS_MPRV (1u << 17)
#define MSTATUS_SUM  (1u << 18)
#define MSTATUS_MXR  (1u << 19)
#define MSTATUS_SD   (1u << 31)

// mie / mip bits, and mcause/scause values
#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define CAUSE_INTERRUPT (1u << 31)

#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_ECALL_U          8
#define CAUSE_INSN_PAGE_FAULT  12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15

// Sv32 (4.3): satp and page table entries
#define SATP_SV32 (1u << 31)
#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_U (1u << 4)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
#define PA2PTE(pa) (((unsigned)(pa) >> 12) << 10)
#define PGSIZE 4096

static inline void intr_on(void)  { csr_set(mstatus, MSTATUS_MIE); }
static inline void intr_off(void) { csr_clear(mstatus, MSTATUS_MIE); }
static inline void wfi(void)      { asm volatile("wfi" ::: "memory"); }
static inline void fence(void)    { asm volatile("fence rw, rw" ::: "memory"); }
