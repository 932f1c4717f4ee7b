// The S-mode kernel, entered by mret from start().  It keeps a secret, turns on
// paging so the secret's page is kernel-only, and hands the hart to a user
// program that tries to get past that (user.S).  trap.c judges the outcome.
#include "riscv.h"
#include "memlayout.h"
#include "defs.h"

// The secret: a recognisable word, alone in a page-aligned section (kernel.ld)
// so that its page's PTE can say "kernel only" (no U bit).
#define SECRET_WORD 0x005EC2E7
__attribute__((section(".secret"))) volatile uint32 secret = SECRET_WORD;

void main(void) {
  print(GUEST ": kernel running in S-mode\n");
  kvminit();                        // page table, paging on
  print(GUEST ": Sv32 paging on, satp ");
  printhex(r_satp());
  print("\n");

  print(GUEST ": kernel holds a secret at ");
  printhex((uint32)&secret);
  print(" (kernel-only page: PTE ");
  printhex(*walk((uint32)&secret));
  print(", U bit clear)\n");

  print(GUEST ": user program at ");
  printhex((uint32)user_main);
  print(", stack page ");
  printhex((uint32)user_stack);
  print(" (pages with U set)\n");

  print(GUEST ": entering user mode with " SUPERVISOR_RETURN_NAME "\n");
  userinit();                       // never returns: the user's exit ends the run
}

// Whether the user program saw the secret (trap.c asks, at its exit).
int is_secret(uint32 value) { return value == SECRET_WORD; }
