// M-mode setup, the second runner in the boot relay (entry.S -> start -> main):
// open memory to the lower modes, hand the kernel its traps, then mret into the
// S-mode kernel.  M-mode keeps nothing for itself but a panic.
#include "riscv.h"
#include "memlayout.h"
#include "defs.h"

__attribute__((aligned(16))) char stack0[STACK_SIZE];
__attribute__((aligned(16))) char mstack[MSTACK_SIZE];

void machinevec(void);

// The exceptions the S-mode kernel handles: the user's attempts end in one of
// the faults, its system calls are ecalls.  Ecall from S is here too: should
// the user program ever run with S privilege (the ERET flaw under a naive VMM),
// its system calls must still reach the kernel so the verdict gets printed.
#define DELEGATED_EXCEPTIONS                                                   \
  ((1u << CAUSE_ILLEGAL_INSN) | (1u << CAUSE_BREAKPOINT) |                     \
   (1u << CAUSE_LOAD_ACCESS_FAULT) | (1u << CAUSE_STORE_ACCESS_FAULT) |        \
   (1u << CAUSE_ECALL_FROM_U) | (1u << CAUSE_ECALL_FROM_S) |                   \
   (1u << CAUSE_INSN_PAGE_FAULT) | (1u << CAUSE_LOAD_PAGE_FAULT) |             \
   (1u << CAUSE_STORE_PAGE_FAULT))

// entry.S jumps here in M-mode on stack0.
void start(void) {
  print("eret-escape: M-mode: open PMP, delegate traps to S-mode, mret to the kernel\n");

  // PMP (3.7.1): once any mode below M exists, memory with no matching PMP
  // entry is closed to it.  One NAPOT entry of all ones covers everything.
  w_pmpaddr0(0xFFFFFFFF);
  w_pmpcfg0(PMP_NAPOT | PMP_R | PMP_W | PMP_X);

  w_medeleg(DELEGATED_EXCEPTIONS);
  w_mideleg(0);                     // this demo uses no interrupts
  w_mie(0);
  w_mtvec((uint32)machinevec);

  // mret "returns" to S-mode at main(), with translation off until main
  // builds its page table.
  w_satp(0);
  w_mstatus((r_mstatus() & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S);
  w_mepc((uint32)main);
  asm volatile("mret");
}

// machinevec (entry.S) calls this for any trap that reaches M-mode.
void mtrap(void) {
  static const char *mode[4] = {"U", "S", "?", "M"};
  print("eret-escape: unexpected trap into M-mode from ");
  print(mode[(r_mstatus() & MSTATUS_MPP_MASK) >> 11]);
  print("-mode: mcause ");
  printhex(r_mcause());
  print(" mepc ");
  printhex(r_mepc());
  print(" mtval ");
  printhex(r_mtval());
  print("\n");
  panic("mtrap: trap not delegated to the kernel");
}
