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
// the faults, its system calls are ecalls.  Ecall from S too (should the user
// ever run with S privilege, the ERET flaw under a naive VMM, its calls must reach
// the kernel for the verdict), except in the PARAVIRT build (defs.h).
#define DELEGATED_EXCEPTIONS                                                   \
  ((1u << CAUSE_ILLEGAL_INSN) | (1u << CAUSE_BREAKPOINT) |                     \
   (1u << CAUSE_LOAD_ACCESS_FAULT) | (1u << CAUSE_STORE_ACCESS_FAULT) |        \
   (1u << CAUSE_ECALL_FROM_U) | DELEGATED_ECALL_FROM_S |                       \
   (1u << CAUSE_INSN_PAGE_FAULT) | (1u << CAUSE_LOAD_PAGE_FAULT) |             \
   (1u << CAUSE_STORE_PAGE_FAULT))

// entry.S jumps here in M-mode on stack0.
void start(void) {
  print(GUEST ": M-mode: " M_MODE_PLAN "\n");

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

// Any trap that reaches M-mode comes here: from machinevec (entry.S), or hvtrap.
void mtrap(void) {
  static const char *mode[4] = {"U", "S", "?", "M"};
  print(GUEST ": unexpected trap into M-mode from ");
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

#ifdef PARAVIRT
// HV_SRET (hypercall.h): what SRET would do (priv spec 3.3.2), done from M-mode
// as an mret that lands where the SRET would have: at sepc, in the mode SPP
// names, with SIE <- SPIE, SPIE <- 1 and SPP <- U.  mret itself restores MIE as
// it was, and SRET leaves MIE alone too.  mf->a6 and mf->a7, the registers the
// hypercall took, get the save area's words back.
static void hv_sret(struct trapframe *mf) {
  uint32 area = r_sscratch();   // physical, and the kernel's virtual address too
  if (area % 4 != 0 || area < RAM_BASE || area + 8 > (uint32)kernel_end)
    panic("hvtrap: HV_SRET save area (sscratch) outside the kernel's memory");
  mf->a6 = ((uint32 *)area)[0];
  mf->a7 = ((uint32 *)area)[1];

  uint32 status = r_mstatus();
  uint32 next = status & ~(MSTATUS_MPP_MASK | SSTATUS_SPP | SSTATUS_SIE);
  next |= (status & SSTATUS_SPP) ? MSTATUS_MPP_S : MSTATUS_MPP_U;
  if (status & SSTATUS_SPIE)
    next |= SSTATUS_SIE;
  next |= SSTATUS_SPIE;
  w_mstatus(next);
  w_mepc(r_sepc());
}

// machinevec (entry.S, PARAVIRT build) calls this for every trap into M-mode,
// with the trapped code's registers in mf; it loads them back from mf after.
// The kernel's HV_SRET is the one trap M-mode serves; anything else panics.
void hvtrap(struct trapframe *mf) {
  if (r_mcause() != CAUSE_ECALL_FROM_S)
    mtrap();                    // reports the trap and powers off
  if (mf->a7 != TUIVMM_HV_EID || mf->a6 != HV_SRET) {
    print(GUEST ": M-mode: ecall from S-mode is no hypercall it serves: a7 ");
    printhex(mf->a7);
    print(" a6 ");
    printhex(mf->a6);
    print("\n");
    panic("hvtrap: unknown hypercall");
  }
  hv_sret(mf);
}
#endif
