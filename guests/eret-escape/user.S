# The user program: runs in U-mode in its own page (.user.text, mapped with U at
# its identity address), with the next page as its stack.  It knows where the
# secret is (the kernel printed it; here it is a symbol), and makes three
# attempts on kernel state.  Before each attempt it puts SENTINEL in the result
# register a1, so an attempt the kernel stops and skips reports SENTINEL; after
# each it reports a1 with SYS_REPORT.
#include "syscall.h"

.macro report attempt
        li a0, \attempt
        li a7, SYS_REPORT
        ecall
.endm

.section .user.text, "ax"
.globl user_main
user_main:
        # (a) load the secret word through the kernel's own mapping of it.
        la t0, secret
        li a1, SENTINEL
.globl user_read_secret
user_read_secret:
        lw a1, 0(t0)
        report ATTEMPT_SECRET

        # (b) turn translation off, which would unlock all of memory.
        li a1, SENTINEL
.globl user_write_satp
user_write_satp:
        csrw satp, zero
        report ATTEMPT_SATP

        # (b) read the kernel's status register.
        li a1, SENTINEL
.globl user_read_sstatus
user_read_sstatus:
        csrr a1, sstatus
        report ATTEMPT_SSTATUS

        li a7, SYS_EXIT
        ecall
1:      j 1b                    # SYS_EXIT does not return

# The stack page (kernel.ld aligns it).
.section .user.stack, "aw", @nobits
        .space 4096
