# setjmp/longjmp, our own, for the interpreter's errors: an error deep inside
# an expression jumps straight back to the READY loop (repl.c), as the BASICs
# of the 1980s reset their stack pointer on an error.
#
# A jmp_buf holds what the caller expects to survive a call: ra, sp and the
# callee-saved s0-s11 (RISC-V psABI), 14 words.  setjmp returns 0 when called
# and `value` (never 0) when longjmp comes back to it.

    .section .text
    .balign 4

    .globl setjmp
setjmp:                             # int setjmp(jmp_buf env)
    sw      ra, 0(a0)
    sw      sp, 4(a0)
    sw      s0, 8(a0)
    sw      s1, 12(a0)
    sw      s2, 16(a0)
    sw      s3, 20(a0)
    sw      s4, 24(a0)
    sw      s5, 28(a0)
    sw      s6, 32(a0)
    sw      s7, 36(a0)
    sw      s8, 40(a0)
    sw      s9, 44(a0)
    sw      s10, 48(a0)
    sw      s11, 52(a0)
    li      a0, 0
    ret

    .globl longjmp
longjmp:                            # void longjmp(jmp_buf env, int value)
    lw      ra, 0(a0)
    lw      sp, 4(a0)
    lw      s0, 8(a0)
    lw      s1, 12(a0)
    lw      s2, 16(a0)
    lw      s3, 20(a0)
    lw      s4, 24(a0)
    lw      s5, 28(a0)
    lw      s6, 32(a0)
    lw      s7, 36(a0)
    lw      s8, 40(a0)
    lw      s9, 44(a0)
    lw      s10, 48(a0)
    lw      s11, 52(a0)
    seqz    t0, a1                  # longjmp(env, 0) still returns 1
    add     a0, a1, t0
    ret
