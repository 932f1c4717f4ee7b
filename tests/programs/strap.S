# S-mode trap entry for paging.c.  Traps come from U-mode (system calls, faults)
# and from S-mode itself (faults the kernel provokes on purpose), so the entry
# switches to a stack of its own rather than trusting sp.  All 32 registers go
# into a trap frame (x_n at 4*n) that supervisor_trap(frame) may change; they
# are restored from it before SRET.

    .section .text
    .balign 4
    .globl strapvec
strapvec:
    csrw    sscratch, sp            # the interrupted sp, for the frame
    la      sp, strap_stack_top
    addi    sp, sp, -128
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sw      x\n, 4*\n(sp)
    .endr
    csrr    t0, sscratch
    sw      t0, 8(sp)
    mv      a0, sp
    call    supervisor_trap
    .irp n, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw      x\n, 4*\n(sp)
    .endr
    lw      sp, 8(sp)
    sret

    .section .bss
    .balign 16
    .space  4096
strap_stack_top:
