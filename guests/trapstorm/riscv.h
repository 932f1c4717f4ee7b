// The CSRs and bits trapstorm touches (privileged spec 1.12, chapters 3 and 4),
// one accessor per idea, as in xv6's riscv.h.
#pragma once

#define csr_read(csr)                                                   \
    ({                                                                  \
        unsigned _v;                                                    \
        asm volatile("csrr %0, " #csr : "=r"(_v) : : "memory");         \
        _v;                                                             \
    })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" : : "r"((unsigned)(v)) : "memory")
#define csr_set(csr, v)   asm volatile("csrs " #csr ", %0" : : "r"((unsigned)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" : : "r"((unsigned)(v)) : "memory")

// mstatus.MPP: the privilege mret returns to.
#define MSTATUS_MPP_MASK (3u << 11)
#define MSTATUS_MPP_S    (1u << 11)

// mie / mip: the M-mode timer interrupt, raised while mtime >= mtimecmp.
#define MIE_MTIE (1u << 7)

// mcause values trapstorm expects; anything else is a bug.
#define CAUSE_INTERRUPT     (1u << 31)
#define CAUSE_M_TIMER       (CAUSE_INTERRUPT | 7)
#define CAUSE_ECALL_FROM_S  9

// PMP entry 0 as NAPOT over all of memory with R, W and X: without a matching
// entry, S-mode may touch nothing (privileged spec 3.7.1).
#define PMPADDR_ALL  0xffffffffu
#define PMPCFG_RWX_NAPOT 0x1f

#define REG8(a)  (*(volatile unsigned char *)(a))
#define REG32(a) (*(volatile unsigned int *)(a))
