# The user program of paging.c.  The kernel copies the bytes between user_begin
# and user_end to a page of its own and runs them in U-mode there, so the code
# uses pc-relative addresses only.  System calls: a7 = number, a0 = argument.

#define SYS_PUTS   1                # a0: a NUL-terminated string
#define SYS_PUTHEX 2                # a0: a number, printed in hex

    .section .text
    .balign 4
    .globl user_begin, user_end
user_begin:
    lla     a0, hello
    li      a7, SYS_PUTS
    ecall

    # The page is the user's own to write.
    lla     t0, counter
    li      t1, 0x1234
    sw      t1, 0(t0)
    lla     a0, counter_is
    li      a7, SYS_PUTS
    ecall
    lw      a0, 0(t0)
    li      a7, SYS_PUTHEX
    ecall
    lla     a0, newline
    li      a7, SYS_PUTS
    ecall

    # Supervisor state is out of reach: an illegal instruction, which the
    # kernel reports and steps over.
    csrr    t1, sstatus

    lla     a0, touching
    li      a7, SYS_PUTS
    ecall
    li      t0, 0x80000000          # kernel memory: mapped, but without U
    lw      t1, 0(t0)               # a load page fault, which ends the run

    lla     a0, survived
    li      a7, SYS_PUTS
    ecall
1:  j       1b

hello:      .asciz "user: hello from U-mode\n"
counter_is: .asciz "user: counter = "
newline:    .asciz "\n"
touching:   .asciz "user: reading kernel memory\n"
survived:   .asciz "user: BUG: the kernel load did not fault\n"
    .balign 4
counter:    .word 0
user_end:
