# The first instructions: QEMU (-bios none) and our board jump to 0x80000000 in
# M-mode with a0 = hartid.  The board has one hart, so no hart parks here.

#include "defs.h"

.section .text.entry
.globl _entry
_entry:
        # Zero .bss: the page tables and counters in it must start at zero, and a
        # test board may fill RAM with 0xAA to show reads of uninitialised memory.
        la t0, bss_start
        la t1, bss_end
1:      bgeu t0, t1, 2f
        sw zero, 0(t0)
        addi t0, t0, 4
        j 1b
2:
        # C needs a stack: stack0 (start.c), growing down from its end.
        la sp, stack0
        li t0, STACK_SIZE
        add sp, sp, t0
        call start              # M-mode setup; it mrets into main() and never returns
3:      j 3b

# M-mode trap vector (mtvec, direct mode: 4-byte aligned).  Every trap the kernel
# can handle is delegated to S-mode, so a trap here means something is broken:
# report it on a stack of its own and power off with failure.
.align 2
.globl machinevec
machinevec:
        la sp, mstack
        li t0, MSTACK_SIZE
        add sp, sp, t0
        call mtrap              # does not return
4:      j 4b
