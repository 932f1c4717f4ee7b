# Entry for the test programs: M-mode, hart 0, a0 = hartid, on QEMU virt with
# -bios none and on tuivmm's bare machine alike.

#define FINISHER      0x100000      /* sifive_test */
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333        /* written as (code << 16) | FAIL */
#define STACK_SIZE    4096

    .section .text.start, "ax"
    .globl _start
_start:
    la      sp, stack_top

    # C expects .bss to be zero; RAM may hold anything.
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    main

    # main's return value is the exit status of the whole machine.
    li      t0, FINISHER
    bnez    a0, 3f
    li      t1, FINISHER_PASS
    sw      t1, 0(t0)
    j       4f
3:  slli    t1, a0, 16
    li      t2, FINISHER_FAIL
    or      t1, t1, t2
    sw      t1, 0(t0)
4:  wfi                         # the finisher should have stopped us
    j       4b

    .section .bss
    .balign 16
stack:
    .space  STACK_SIZE
stack_top:
