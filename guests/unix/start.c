// M-mode setup, then mret to main() in S-mode.  M-mode keeps only one job after
// this: the CLINT timer, which only M-mode can take on this board.  Its handler
// (timervec in vectors.S) re-arms mtimecmp and raises the S-mode software
// interrupt, which the kernel treats as its clock tick ("timer forwarding": works
// on QEMU 7.2, which lacks the Sstc extension, and on our machine).

#include "defs.h"

__attribute__((aligned(16))) char stack0[4096];   // entry.S's boot stack

// timervec's scratch area, which mscratch points at: four saved registers, then
// the address of mtimecmp and the interval between ticks.
static uint32 timer_scratch[6];

extern char timervec[];

// Arm the first tick and send the timer interrupt to timervec.
static void timerinit(void)
{
    volatile uint32 *mtime = (volatile uint32 *)CLINT_MTIME;
    volatile uint32 *mtimecmp = (volatile uint32 *)CLINT_MTIMECMP;
    uint32 hi, lo;
    do {                                // read 64-bit mtime as two halves, consistently
        hi = mtime[1];
        lo = mtime[0];
    } while (mtime[1] != hi);
    uint64 when = (((uint64)hi << 32) | lo) + TICK_INTERVAL;
    mtimecmp[0] = 0xFFFFFFFF;           // no early interrupt while the halves differ
    mtimecmp[1] = (uint32)(when >> 32);
    mtimecmp[0] = (uint32)when;

    timer_scratch[4] = CLINT_MTIMECMP;
    timer_scratch[5] = TICK_INTERVAL;
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
