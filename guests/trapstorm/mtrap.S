# M-mode trap entry: trapstorm's only vector (mtvec, direct mode).  Switches
# to M-mode's stack (mscratch holds its top while S-mode runs), keeps the
# caller-saved registers there as a struct mframe (mtrap.c), and calls
# machine_trap(frame); whatever it leaves in the frame goes back to S-mode.

    .section .text
    .balign 4
    .globl mtrapvec
mtrapvec:
    csrrw   sp, mscratch, sp        # sp <- M stack, mscratch <- S-mode's sp
    addi    sp, sp, -64
    sw      ra, 0(sp)
    sw      t0, 4(sp)
    sw      t1, 8(sp)
    sw      t2, 12(sp)
    sw      t3, 16(sp)
    sw      t4, 20(sp)
    sw      t5, 24(sp)
    sw      t6, 28(sp)
    sw      a0, 32(sp)
    sw      a1, 36(sp)
    sw      a2, 40(sp)
    sw      a3, 44(sp)
    sw      a4, 48(sp)
    sw      a5, 52(sp)
    sw      a6, 56(sp)
    sw      a7, 60(sp)

    mv      a0, sp
    call    machine_trap            # s0-s11 are kept by the C calling convention

    lw      ra, 0(sp)
    lw      t0, 4(sp)
    lw      t1, 8(sp)
    lw      t2, 12(sp)
    lw      t3, 16(sp)
    lw      t4, 20(sp)
    lw      t5, 24(sp)
    lw      t6, 28(sp)
    lw      a0, 32(sp)
    lw      a1, 36(sp)
    lw      a2, 40(sp)
    lw      a3, 44(sp)
    lw      a4, 48(sp)
    lw      a5, 52(sp)
    lw      a6, 56(sp)
    lw      a7, 60(sp)
    addi    sp, sp, 64
    csrrw   sp, mscratch, sp        # back to S-mode's sp; mscratch <- M stack top
    mret
