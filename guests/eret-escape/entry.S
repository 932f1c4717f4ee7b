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

#ifndef PARAVIRT
# M-mode trap vector (mtvec, direct mode: 4-byte aligned).  Every trap the kernel can
# handle is delegated to S-mode, so one here means something is broken: report it.
.align 2
.globl machinevec
machinevec:
        la sp, mstack
        li t0, MSTACK_SIZE
        add sp, sp, t0
        call mtrap              # does not return
4:      j 4b
#else
# The PARAVIRT build's M-mode trap vector: the shim that serves the kernel's
# HV_SRET hypercall (hypercall.h).  The kernel makes the call with the user's
# registers already loaded, so the shim keeps every one: it saves them all in a
# struct trapframe on M-mode's stack, lets hvtrap (start.c) do SRET's work there
# (it changes only a6 and a7, to the save area's), loads them back and mrets.
# Any other trap is a broken kernel: hvtrap reports it and powers off.
.align 2
.globl machinevec
machinevec:
        csrw mscratch, sp       # the caller's sp, until it is in the frame
        la sp, mstack + MSTACK_SIZE - TF_SIZE   # sp = the frame, at the stack's top
        .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        sw x\n, 4*\n(sp)
        .endr
        csrr t0, mscratch
        sw t0, 4*2(sp)          # the caller's sp
        mv a0, sp
        call hvtrap             # C runs on the stack below the frame; returns only from HV_SRET
        .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        lw x\n, 4*\n(sp)
        .endr
        lw sp, 4*2(sp)          # sp (x2) last: it held the frame's address
        mret                    # to sepc, in the mode SPP named: hvtrap set mepc and MPP
#endif
