// M-mode setup, then mret to main() in S-mode.  M-mode keeps only one job after
// this: the CLINT timer, whose interrupt only M-mode can take on this board.  The
// kernel arms mtimecmp itself for each clock tick it wants (clock.c); when one is
// due, M-mode's handler (timervec in vectors.S) disarms the timer and raises the
// S-mode software interrupt, which the kernel takes as the tick ("timer
// forwarding": works on QEMU 7.2, which lacks the Sstc extension, and on ours).

#include "defs.h"

__attribute__((aligned(16))) char stack0[4096];   // entry.S's boot stack

// timervec's scratch area, which mscratch points at: two saved registers, then
// the address of mtimecmp.
static uint32 timer_scratch[3];

extern char timervec[];

// Leave the timer disarmed (QEMU resets mtimecmp to 0, which would be due at
// once) and send its interrupt to timervec.
static void timerinit(void)
{
    volatile uint32 *mtimecmp = (volatile uint32 *)CLINT_MTIMECMP;
    mtimecmp[0] = 0xFFFFFFFF;           // all ones: the CLINT's "never"
    mtimecmp[1] = 0xFFFFFFFF;

    timer_scratch[2] = CLINT_MTIMECMP;
    w_mscratch((uint32)timer_scratch);
    w_mtvec((uint32)timervec);
    w_mstatus(r_mstatus() | MSTATUS_MIE);
    w_mie(r_mie() | MIE_MTIE);
}

// Entered from entry.S in M-mode on stack0; never returns.
void start(void)
{
    w_mstatus((r_mstatus() & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S);   // mret goes to S
    w_mepc((uint32)main);
    w_satp(0);                          // paging stays off until kvminithart()

    w_medeleg(0xFFFF);                  // every exception (but ecall from S/M) to S
    w_mideleg((1u << 1) | (1u << 5) | (1u << 9));   // S software, timer, external
    w_sie(SIE_SSIE | SIE_SEIE);

    w_pmpaddr0(0xFFFFFFFF);             // let S and U reach all of physical memory
    w_pmpcfg0(PMP_R | PMP_W | PMP_X | PMP_NAPOT);

    timerinit();

    asm volatile("mret");
    __builtin_unreachable();
}
