# The kernel's trap entry and exit (stvec = uservec).  The trap frame (struct
# trapframe, defs.h) is the top TF_SIZE bytes of trap.c's trap stack; while the
# user runs, sscratch points TF_SSCRATCH bytes into it (defs.h: its end, or a6).
#include "defs.h"

.section .text
.align 2                        # stvec direct mode: 4-byte aligned
.globl uservec
uservec:
        csrrw sp, sscratch, sp  # sp = TF_SSCRATCH into the frame, sscratch = the user's sp
        addi sp, sp, -TF_SSCRATCH  # sp = the trap frame
        .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        sw x\n, 4*\n(sp)
        .endr
        csrr t0, sscratch
        sw t0, 4*2(sp)          # the user's sp
        mv a0, sp
        call usertrap           # C runs on the stack below the frame
        mv a0, sp               # back to the frame: fall into userret

# userret(tf): resume the user with the registers in tf, at sepc, in the mode
# sstatus.SPP names.  tf must be the frame at the top of the trap stack.
.globl userret
userret:
        addi t0, a0, TF_SSCRATCH
        csrw sscratch, t0       # the next trap starts here
        .irp n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        lw x\n, 4*\n(a0)
        .endr
        lw a0, 4*10(a0)         # a0 (x10) last: it held the frame's address
        SUPERVISOR_RETURN       # sret, or the HV_SRET hypercall (defs.h)
