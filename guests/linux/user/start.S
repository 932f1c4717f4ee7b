# _start: where the kernel's ELF loader starts every program (the ELF entry).
#
# The kernel leaves nothing in registers; it builds the stack (fs/binfmt_elf.c,
# create_elf_tables) as:
#     sp ->  argc
#            argv[0] ... argv[argc-1], 0
#            envp[0] ... 0
#            auxv pairs ...
# We call main(argc, argv, envp) and pass its return value to exit_group.
    .section .text._start
    .globl _start
_start:
    # gp: the linker relaxes some accesses to gp-relative ones; set it before
    # anything that may use it (with relaxation off for this one instruction).
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    lw      a0, 0(sp)           # argc
    addi    a1, sp, 4           # argv
    slli    t0, a0, 2
    add     a2, a1, t0
    addi    a2, a2, 4           # envp: past argv's terminating 0
    andi    sp, sp, -16         # the ABI's 16-byte stack alignment
    call    start_main
    # not reached: start_main exits
1:  j       1b
