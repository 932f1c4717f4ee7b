// What eret-escape's files share: sizes, the trap frame, linker symbols and
// each file's functions.  The sizes come first so assembly can include this.
#pragma once

#define STACK_SIZE  4096    // the boot stack: M-mode start, then the S-mode kernel
#define MSTACK_SIZE 1024    // M-mode's own stack, used only to report a broken trap
#define TF_SIZE     128     // struct trapframe: 32 registers of 4 bytes

#ifndef __ASSEMBLER__
#include "riscv.h"

// The user's registers while the kernel handles its trap, x0..x31 at 4*n bytes
// (trap.S saves and restores them in this order).
struct trapframe {
  uint32 zero, ra, sp, gp, tp, t0, t1, t2, s0, s1, a0, a1, a2, a3, a4, a5,
         a6, a7, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, t3, t4, t5, t6;
};

// kernel.ld: the edges of the regions vm.c maps.
extern char user_text[], user_stack[], user_end[], kernel_end[];

// user.S: the user program's entry and the instruction of each attempt.
extern char user_main[], user_read_secret[], user_write_satp[], user_read_sstatus[];

// console.c
void print(const char *s);
void printhex(uint32 x);
void poweroff(uint32 code) __attribute__((noreturn));
void panic(const char *why) __attribute__((noreturn));

// main.c
extern volatile uint32 secret;
void main(void);
int is_secret(uint32 value);

// vm.c
extern uint32 kernel_satp;
void kvminit(void);
uint32 *walk(uint32 va);

// trap.c, trap.S
void usertrap(struct trapframe *tf);
void userinit(void) __attribute__((noreturn));
void uservec(void);
void userret(struct trapframe *tf) __attribute__((noreturn));
#endif
