# basic's first instructions and its trap vector.
#
# The board enters _entry at 0x8000_0000 in M-mode with a0 = hartid.  basic
# never leaves M-mode: there is no paging and no other privilege level, so a
# trap (always an interrupt, unless something is broken) arrives on the very
# stack the interrupted code was using.

    .section .text.entry, "ax"
    .globl _entry
_entry:
    la      sp, stack_top

    # The interpreter's globals live in .bss and must start at zero, whatever
    # RAM held at power-on.
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    main
3:  j       3b                      # main() never returns: BYE powers off

# trapvec: mtvec points here (direct mode).  Keeps the registers a C function
# may clobber (ra, t0-t6, a0-a7) below the interrupted code's sp, calls
# machine_trap() in trap.c, and puts them back.  s0-s11 are kept by the C
# calling convention.  The frame is 64 bytes, a multiple of 16 as the ABI
# wants of sp.

    .section .text
    .balign 4
    .globl trapvec
trapvec:
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

    call    machine_trap

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
    mret
