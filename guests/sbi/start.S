# The firmware's first instructions and its trap vector.
#
# The board (QEMU's reset vector, or ours) jumps here in M-mode with a0 = hart id
# and a1 = the device tree's address.  Hart 0 boots; any other hart parks, since
# this firmware serves a single hart.

        .section .text.entry
        .globl _start
_start:
        bnez a0, park
        la   sp, stack_top
        # Zero the BSS: the loader may have, but the C code must not depend on it.
        la   t0, _bss_start
        la   t1, _bss_end
1:      bgeu t0, t1, 2f
        sw   zero, 0(t0)
        addi t0, t0, 4
        j    1b
2:      call sbi_main          # main.c: sbi_main(hartid, dtb); it never returns
park:   wfi
        j    park

# The trap vector: every trap into M-mode comes here (mtvec, direct mode).
#
# mscratch holds the top of the firmware's stack while S-mode runs.  Swapping it
# with sp gives us a stack and keeps S-mode's sp in mscratch.  We then save all
# 31 registers, so S-mode finds every register as it left it; an SBI call changes
# only a0 and a1, which sbi_trap writes into the saved frame.
        .align 2
        .globl trap_vector
trap_vector:
        csrrw sp, mscratch, sp
        addi sp, sp, -128
        sw   x1, 4(sp)
        sw   x3, 12(sp)
        sw   x4, 16(sp)
        sw   x5, 20(sp)
        sw   x6, 24(sp)
        sw   x7, 28(sp)
        sw   x8, 32(sp)
        sw   x9, 36(sp)
        sw   x10, 40(sp)
        sw   x11, 44(sp)
        sw   x12, 48(sp)
        sw   x13, 52(sp)
        sw   x14, 56(sp)
        sw   x15, 60(sp)
        sw   x16, 64(sp)
        sw   x17, 68(sp)
        sw   x18, 72(sp)
        sw   x19, 76(sp)
        sw   x20, 80(sp)
        sw   x21, 84(sp)
        sw   x22, 88(sp)
        sw   x23, 92(sp)
        sw   x24, 96(sp)
        sw   x25, 100(sp)
        sw   x26, 104(sp)
        sw   x27, 108(sp)
        sw   x28, 112(sp)
        sw   x29, 116(sp)
        sw   x30, 120(sp)
        sw   x31, 124(sp)
        csrr t0, mscratch      # S-mode's sp, for the fault report
        sw   t0, 8(sp)

        mv   a0, sp
        call sbi_trap          # trap.c: sbi_trap(struct frame *)

        lw   x1, 4(sp)
        lw   x3, 12(sp)
        lw   x4, 16(sp)
        lw   x5, 20(sp)
        lw   x6, 24(sp)
        lw   x7, 28(sp)
        lw   x8, 32(sp)
        lw   x9, 36(sp)
        lw   x10, 40(sp)
        lw   x11, 44(sp)
        lw   x12, 48(sp)
        lw   x13, 52(sp)
        lw   x14, 56(sp)
        lw   x15, 60(sp)
        lw   x16, 64(sp)
        lw   x17, 68(sp)
        lw   x18, 72(sp)
        lw   x19, 76(sp)
        lw   x20, 80(sp)
        lw   x21, 84(sp)
        lw   x22, 88(sp)
        lw   x23, 92(sp)
        lw   x24, 96(sp)
        lw   x25, 100(sp)
        lw   x26, 104(sp)
        lw   x27, 108(sp)
        lw   x28, 112(sp)
        lw   x29, 116(sp)
        lw   x30, 120(sp)
        lw   x31, 124(sp)
        addi sp, sp, 128
        csrrw sp, mscratch, sp # sp is S-mode's again, mscratch our stack top
        mret

# The firmware's one stack: sbi_main runs on it, and once S-mode runs, every trap.
        .section .bss.stack
        .align 4
        .space 8192
        .globl stack_top
stack_top:
