# trapstorm's first instructions: the board enters here, at 0x8000_0000, in
# M-mode with a0 = hartid.  Give C a stack and zeroed globals, then start().

    .section .text.entry, "ax"
    .globl _entry
_entry:
    la      sp, stack_top

    # The trap counters live in .bss and must start at zero, whatever RAM held.
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    start
3:  j       3b                  # start() never returns: it drops to S-mode
