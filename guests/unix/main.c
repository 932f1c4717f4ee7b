// S-mode's first C code, reached by start()'s mret.  One init call per line.

#include "defs.h"

// Bring the kernel up in dependency order, then become the scheduler.
void main(void)
{
    kinit();            // physical page allocator
    kvminit();          // kernel page table
    kvminithart();      // turn paging on
    consoleinit();      // uart and console
    printf("\nunix: %d KiB free, %d pages\n", kfree_count() * 4, kfree_count());
    procinit();         // empty process table
    trapinithart();     // install kernel trap vector
    clockinit();        // time since boot; the tick starts with the first process
    plicinit();         // route uart interrupts
    fsinit();           // disk and file system, if any
    netinit();          // network card, if any
    userinit();         // first user process
    scheduler();        // run processes, forever
}
