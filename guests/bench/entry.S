# The benchmark programs' first instructions: the board enters here, at
# 0x8000_0000, in M-mode.  Give C a stack and zeroed globals, then main(),
# which prints its answer and powers the machine off.  No traps, no devices
# but the UART and the finisher: only the program's own work.

    .section .text.entry, "ax"
    .globl _entry
_entry:
    la      sp, stack_top

    # C expects .bss to be zero, whatever RAM held.
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    main
    call    power_off               # not reached: main powers off itself
