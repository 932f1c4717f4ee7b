# M-mode trap entry for programs that stay in M-mode.
#   mtrapvec   for mtvec in direct mode (MODE 0)
#   mvectors   for mtvec in vectored mode (MODE 1): the table of 16 jumps
# Either way the caller-saved registers are kept on the current stack and
# machine_trap(vector) is called, `vector` being the slot the hart entered:
# 0 for direct mode and for every exception, the cause for a vectored interrupt.

    .section .text
    .balign 64
    .globl mvectors
mvectors:
    .option push
    .option norvc               # the hart enters slot n at mvectors + 4n: 4-byte jumps
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       vector\n
    .endr
    .option pop

    .globl mtrapvec
mtrapvec:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
vector\n:
    addi    sp, sp, -64
    sw      a0, 0(sp)
    li      a0, \n
    j       save_rest
    .endr

save_rest:
    sw      ra, 4(sp)
    sw      t0, 8(sp)
    sw      t1, 12(sp)
    sw      t2, 16(sp)
    sw      t3, 20(sp)
    sw      t4, 24(sp)
    sw      t5, 28(sp)
    sw      t6, 32(sp)
    sw      a1, 36(sp)
    sw      a2, 40(sp)
    sw      a3, 44(sp)
    sw      a4, 48(sp)
    sw      a5, 52(sp)
    sw      a6, 56(sp)
    sw      a7, 60(sp)
    call    machine_trap
    lw      a0, 0(sp)
    lw      ra, 4(sp)
    lw      t0, 8(sp)
    lw      t1, 12(sp)
    lw      t2, 16(sp)
    lw      t3, 20(sp)
    lw      t4, 24(sp)
    lw      t5, 28(sp)
    lw      t6, 32(sp)
    lw      a1, 36(sp)
    lw      a2, 40(sp)
    lw      a3, 44(sp)
    lw      a4, 48(sp)
    lw      a5, 52(sp)
    lw      a6, 56(sp)
    lw      a7, 60(sp)
    addi    sp, sp, 64
    mret
