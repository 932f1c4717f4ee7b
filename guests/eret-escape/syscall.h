// The contract between the user program (user.S) and the kernel (trap.c).
// Plain #defines, so assembly can include it too.
//
// A system call is `ecall` with its number in a7 and arguments in a0, a1.
#pragma once

#define SYS_REPORT 1   // a0 = attempt, a1 = what the user observed
#define SYS_EXIT   2   // the user is done; the kernel gives its verdict

// The user program's attempts, in the order it makes them.
#define ATTEMPT_SECRET  0   // (a)  load the kernel's secret word
#define ATTEMPT_SATP    1   // (b1) csrw satp, zero
#define ATTEMPT_SSTATUS 2   // (b2) csrr sstatus
#define NATTEMPTS       3

// What a result register holds before an attempt: if the attempt traps and the
// kernel skips the instruction, this is what the user reports.  No real secret
// or sstatus has every bit set (sstatus has reserved zero bits).
#define SENTINEL 0xFFFFFFFF
