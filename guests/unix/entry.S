# The board enters here, at 0x8000_0000, in M-mode with a0 = hartid.  Give C a
# stack (stack0, in start.c) and zeroed globals, then start().

    .section .text.entry, "ax"
    .globl _entry
_entry:
    la      sp, stack0
    li      t0, 4096
    add     sp, sp, t0              # the stack grows down from the top of stack0

    la      t0, __bss_start         # C expects globals to start at zero
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    start
3:  j       3b                      # start() never returns: it mrets to main()
