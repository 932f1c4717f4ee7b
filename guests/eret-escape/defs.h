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

// ---- The paravirtual build (eret-escape-pv: guest.mk builds it with -DPARAVIRT) ----
// Its kernel never executes SRET: where it would, it makes the HV_SRET hypercall
// (hypercall.h), served by M-mode (entry.S machinevec, start.c hvtrap) or by a
// VMM.  Everything in which the two builds differ is named here.
#include "hypercall.h"
#ifdef PARAVIRT
#define GUEST "eret-escape-pv"             // what the kernel's lines start with
// Ecall from S is the hypercall, for M-mode: not delegated to the kernel.
#define DELEGATED_ECALL_FROM_S 0
#define M_MODE_PLAN "open PMP, delegate traps to S-mode (all but its HV_SRET hypercalls), " \
                    "mret to the kernel"
// While the user runs, sscratch points at the frame's a6: with a7 after it, the
// hypercall's save area.  The user's a6 and a7 wait there, saved by uservec like
// every register, and HV_SRET resumes the user with them.
#define TF_SSCRATCH (4 * 16)
#define SUPERVISOR_RETURN li a6, HV_SRET; li a7, TUIVMM_HV_EID; ecall
#define SUPERVISOR_RETURN_NAME "the HV_SRET hypercall instead of sret"
#else
#define GUEST "eret-escape"
#define DELEGATED_ECALL_FROM_S (1u << CAUSE_ECALL_FROM_S)
#define M_MODE_PLAN "open PMP, delegate traps to S-mode, mret to the kernel"
#define TF_SSCRATCH TF_SIZE                // sscratch: the trap stack's top, past the frame
#define SUPERVISOR_RETURN sret
#define SUPERVISOR_RETURN_NAME "sret"
#endif
