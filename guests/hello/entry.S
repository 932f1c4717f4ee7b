# hello: the smallest tuivmm guest.  The board (QEMU virt, -bios none, or
# tuivmm's bare machine) jumps here, to 0x8000_0000, in M-mode; C needs only
# a stack, and main never returns: it powers the machine off.

    .section .text.entry, "ax"
    .globl _entry
_entry:
    la      sp, stack_top
    call    main
1:  j       1b                  # not reached
