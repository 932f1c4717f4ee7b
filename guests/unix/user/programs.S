# The user programs, embedded in the kernel image: each ELF file built from this
# directory (guest.mk) is included whole, and `programs` lists them for exec.c
# as { name, start, end } ending with a 0 name.  The assembler finds the files
# through -I $(BUILD)/unix/user.

    .macro program name
    .section .rodata
    .balign 4
\name\()_elf:
    .incbin "\name\().elf"
\name\()_end:
    .section .rodata.str1.1, "aMS", @progbits, 1
\name\()_name:
    .string "\name"
    .endm

    program sh
    program echo
    program ps
    program kill
    program mem
    program uptime
    program bench
    program fault
    program spin
    program sleep
    program ls
    program cat
    program write
    program rm
    program ping
    program udp
    program heap
    program syscalls

    .section .rodata
    .balign 4
    .globl programs
programs:
    .irp name, sh, echo, ps, kill, mem, uptime, bench, fault, spin, sleep, ls, cat, write, rm, ping, udp, heap, syscalls
    .word \name\()_name, \name\()_elf, \name\()_end
    .endr
    .word 0, 0, 0
