# Every way into the kernel from a trap, and back out.
#
#   uservec / userret  a trap from U-mode: save the user registers in the process's
#                      trapframe (sscratch points at it), switch to its kernel stack,
#                      call usertrap(); userret does the reverse and srets.  The
#                      kernel is mapped in every page table, so satp stays as it is.
#   kernelvec          a trap while in S-mode (an interrupt while the scheduler
#                      idles, or a kernel bug): save caller-saved registers on the
#                      current stack, call kerneltrap(), restore, sret.
#   timervec           M-mode's timer interrupt: disarm the timer, raise S-mode's
#                      software interrupt, mret.

# Trapframe layout (proc.h): x1..x31 at 4*n, then epc at 128, kernel_sp at 132.
#define TF_EPC 128
#define TF_KSP 132

    .section .text
    .balign 4
    .globl uservec
uservec:
    csrrw   a0, sscratch, a0        # a0 = trapframe, sscratch = user a0
    sw      x1, 4(a0)
    sw      x2, 8(a0)
    sw      x3, 12(a0)
    sw      x4, 16(a0)
    sw      x5, 20(a0)
    sw      x6, 24(a0)
    sw      x7, 28(a0)
    sw      x8, 32(a0)
    sw      x9, 36(a0)
    sw      x11, 44(a0)
    sw      x12, 48(a0)
    sw      x13, 52(a0)
    sw      x14, 56(a0)
    sw      x15, 60(a0)
    sw      x16, 64(a0)
    sw      x17, 68(a0)
    sw      x18, 72(a0)
    sw      x19, 76(a0)
    sw      x20, 80(a0)
    sw      x21, 84(a0)
    sw      x22, 88(a0)
    sw      x23, 92(a0)
    sw      x24, 96(a0)
    sw      x25, 100(a0)
    sw      x26, 104(a0)
    sw      x27, 108(a0)
    sw      x28, 112(a0)
    sw      x29, 116(a0)
    sw      x30, 120(a0)
    sw      x31, 124(a0)
    csrr    t0, sscratch            # the user's a0
    sw      t0, 40(a0)
    csrr    t0, sepc
    sw      t0, TF_EPC(a0)
    lw      sp, TF_KSP(a0)          # top of this process's kernel stack
    call    usertrap                # never returns: ends in usertrapret -> userret

# userret(trapframe): sscratch and sepc are already set (usertrapret).
    .globl userret
userret:
    lw      x1, 4(a0)
    lw      x2, 8(a0)
    lw      x3, 12(a0)
    lw      x4, 16(a0)
    lw      x5, 20(a0)
    lw      x6, 24(a0)
    lw      x7, 28(a0)
    lw      x8, 32(a0)
    lw      x9, 36(a0)
    lw      x11, 44(a0)
    lw      x12, 48(a0)
    lw      x13, 52(a0)
    lw      x14, 56(a0)
    lw      x15, 60(a0)
    lw      x16, 64(a0)
    lw      x17, 68(a0)
    lw      x18, 72(a0)
    lw      x19, 76(a0)
    lw      x20, 80(a0)
    lw      x21, 84(a0)
    lw      x22, 88(a0)
    lw      x23, 92(a0)
    lw      x24, 96(a0)
    lw      x25, 100(a0)
    lw      x26, 104(a0)
    lw      x27, 108(a0)
    lw      x28, 112(a0)
    lw      x29, 116(a0)
    lw      x30, 120(a0)
    lw      x31, 124(a0)
    lw      a0, 40(a0)
    sret

    .balign 4
    .globl kernelvec
kernelvec:
    addi    sp, sp, -64
    sw      ra, 0(sp)
    sw      t0, 4(sp)
    sw      t1, 8(sp)
    sw      t2, 12(sp)
    sw      a0, 16(sp)
    sw      a1, 20(sp)
    sw      a2, 24(sp)
    sw      a3, 28(sp)
    sw      a4, 32(sp)
    sw      a5, 36(sp)
    sw      a6, 40(sp)
    sw      a7, 44(sp)
    sw      t3, 48(sp)
    sw      t4, 52(sp)
    sw      t5, 56(sp)
    sw      t6, 60(sp)
    call    kerneltrap              # callee-saved registers are C's to keep
    lw      ra, 0(sp)
    lw      t0, 4(sp)
    lw      t1, 8(sp)
    lw      t2, 12(sp)
    lw      a0, 16(sp)
    lw      a1, 20(sp)
    lw      a2, 24(sp)
    lw      a3, 28(sp)
    lw      a4, 32(sp)
    lw      a5, 36(sp)
    lw      a6, 40(sp)
    lw      a7, 44(sp)
    lw      t3, 48(sp)
    lw      t4, 52(sp)
    lw      t5, 56(sp)
    lw      t6, 60(sp)
    addi    sp, sp, 64
    sret

# M-mode's timer interrupt: the tick the kernel armed (clock.c) is due.  Disarm the
# timer, as only a store to mtimecmp lowers its interrupt, and raise S-mode's
# software interrupt; the kernel's clockintr() arms the next tick if it wants one.
# mscratch -> timer_scratch (start.c): [0..1] save area, [2] &mtimecmp.
    .balign 4
    .globl timervec
timervec:
    csrrw   a0, mscratch, a0
    sw      a1, 0(a0)
    sw      a2, 4(a0)

    lw      a1, 8(a0)               # a1 = &mtimecmp
    li      a2, -1
    sw      a2, 0(a1)               # all ones, the CLINT's "never"
    sw      a2, 4(a1)

    li      a1, 2                   # mip.SSIP: S-mode sees a software interrupt
    csrs    mip, a1

    lw      a2, 4(a0)
    lw      a1, 0(a0)
    csrrw   a0, mscratch, a0
    mret
