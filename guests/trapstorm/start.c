// M-mode setup, then a drop to S-mode, where the storm runs (main.c).
// Nothing is delegated: every ecall and every timer interrupt from S-mode
// goes to M-mode's handler (mtrap.S, mtrap.c) and back.

#include "memlayout.h"
#include "riscv.h"
#include "trapstorm.h"

extern char mtrapvec[];         // mtrap.S
extern char mstack_top[];       // kernel.ld

// Entered from entry.S in M-mode; never returns.
void start(void)
{
    csr_write(pmpaddr0, PMPADDR_ALL);       // let S-mode reach all memory
    csr_write(pmpcfg0, PMPCFG_RWX_NAPOT);
    csr_write(satp, 0);                     // S-mode runs on physical addresses
    csr_write(medeleg, 0);                  // every trap stays with M-mode
    csr_write(mideleg, 0);
    csr_write(mscratch, mstack_top);        // the handler's own stack
    csr_write(mtvec, mtrapvec);             // direct mode: every trap to one entry

    timer_start();                          // first tick; M interrupts are always
                                            // enabled while S-mode runs (3.1.6.1)

    // mret "returns" to smain in S-mode, on this same stack.
    unsigned status = csr_read(mstatus);
    csr_write(mstatus, (status & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S);
    csr_write(mepc, smain);
    asm volatile("mret");
    for (;;)
        ;
}
