// Everything the user program does ends up here: its system calls, and each of
// its attempts on kernel state, which correct hardware (or a correct VMM) turns
// into a trap.  The kernel narrates each attempt, skips the stopped instruction
// so the user can try the next one, and gives the verdict when the user exits.
#include "riscv.h"
#include "memlayout.h"
#include "defs.h"
#include "syscall.h"

// The user's registers live at the top of this stack while the kernel, below
// them on the same stack, handles the trap (trap.S).
static char trapstack[2048] __attribute__((aligned(16)));
#define TRAPFRAME ((struct trapframe *)(trapstack + sizeof trapstack) - 1)

static const char *attempt_what[NATTEMPTS] = {
  "(a) read the secret", "(b) write satp", "(b) read sstatus",
};
static int trapped[NATTEMPTS];                  // did the attempt trap?
static uint32 observed[NATTEMPTS] = {SENTINEL, SENTINEL, SENTINEL};  // its report

// Which attempt's instruction is at epc, or -1.
static int attempt_at(uint32 epc) {
  char *insn[NATTEMPTS] = {user_read_secret, user_write_satp, user_read_sstatus};
  for (int n = 0; n < NATTEMPTS; n++)
    if (epc == (uint32)insn[n])
      return n;
  return -1;
}

// The faults that stop an attempt, named for the student; 0 for any other cause.
static const char *fault_name(uint32 cause) {
  switch (cause) {
  case CAUSE_ILLEGAL_INSN:       return "illegal instruction";
  case CAUSE_LOAD_ACCESS_FAULT:  return "load access fault";
  case CAUSE_STORE_ACCESS_FAULT: return "store access fault";
  case CAUSE_LOAD_PAGE_FAULT:    return "load page fault";
  case CAUSE_STORE_PAGE_FAULT:   return "store page fault";
  default:                       return 0;
  }
}

// A trap the kernel did not expect: show it, then panic.
static void bad_trap(const char *why) {
  print(GUEST ": scause ");
  printhex(r_scause());
  print(" sepc ");
  printhex(r_sepc());
  print(" stval ");
  printhex(r_stval());
  print("\n");
  panic(why);
}

// The user's exit: did anything get past the kernel?
static void verdict(void) {
  uint32 satp = r_satp();
  int leaked_secret = is_secret(observed[ATTEMPT_SECRET]);
  int leaked_satp = satp != kernel_satp;
  int leaked_sstatus = !trapped[ATTEMPT_SSTATUS] && observed[ATTEMPT_SSTATUS] != SENTINEL;

  print(GUEST ": user program exited\n");
  if (!leaked_secret && !leaked_satp && !leaked_sstatus) {
    print("ERET-ESCAPE: PROTECTED\n");
  } else {
    print("ERET-ESCAPE: ESCAPED");
    if (leaked_secret) { print(" secret="); printhex(observed[ATTEMPT_SECRET]); }
    if (leaked_satp) { print(" satp="); printhex(satp); }
    if (leaked_sstatus) { print(" sstatus="); printhex(observed[ATTEMPT_SSTATUS]); }
    print("\n");
  }
  poweroff(FINISHER_PASS);   // the demo ran to its verdict, whichever it is
}

// SYS_REPORT: the user tells what attempt n gave it.  A trapped attempt was
// already narrated; one that was not stopped is narrated here.
static void report(uint32 n, uint32 value) {
  if (n >= NATTEMPTS)
    panic("report: no such attempt");
  observed[n] = value;
  if (trapped[n])
    return;
  print("user: ");
  print(attempt_what[n]);
  print(" ... NOT STOPPED: ");
  if (n == ATTEMPT_SATP) {
    print("satp is now ");
    printhex(r_satp());
  } else {
    print("got ");
    printhex(value);
  }
  print("\n");
}

// An attempt that trapped: note it and tell the student how it was stopped.
static void attempt_stopped(uint32 cause, uint32 epc) {
  int n = attempt_at(epc);
  if (n < 0 || fault_name(cause) == 0)
    bad_trap("usertrap: unexpected trap from the user program");
  trapped[n] = 1;
  print("user: ");
  print(attempt_what[n]);
  print(" ... trapped: ");
  print(fault_name(cause));
  print(" at ");
  printhex(epc);
  if (cause != CAUSE_ILLEGAL_INSN) {   // a fault's stval is the address tried
    print(", address ");
    printhex(r_stval());
  }
  print("\n");
}

static void syscall(struct trapframe *tf) {
  if (tf->a7 == SYS_REPORT)
    report(tf->a0, tf->a1);
  else if (tf->a7 == SYS_EXIT)
    verdict();
  else
    bad_trap("syscall: unknown system call number");
}

// uservec (trap.S) calls this with the user's registers saved in tf.
void usertrap(struct trapframe *tf) {
  uint32 cause = r_scause(), epc = r_sepc();
  static int warned;

  if (r_sstatus() & SSTATUS_SPP) {
    // Only the user program traps here.  If it trapped from S-mode, it is
    // running with the kernel's privilege: say so, and keep serving it.
    if (cause != CAUSE_ECALL_FROM_S)
      bad_trap("usertrap: trap from S-mode");
    if (!warned++)
      print(GUEST ": the user's system call came from S-mode: "
            "it runs with kernel privilege!\n");
  }

  if (cause == CAUSE_ECALL_FROM_U || cause == CAUSE_ECALL_FROM_S)
    syscall(tf);
  else
    attempt_stopped(cause, epc);
  w_sepc(epc + 4);   // past the ecall, or past the stopped instruction
}

// Enter the user program for the first time: all registers zero but sp, in
// U-mode (SPP = 0) at user_main, with traps going to uservec.
void userinit(void) {
  struct trapframe *tf = TRAPFRAME;
  uint32 *reg = (uint32 *)tf;
  for (uint32 i = 0; i < sizeof *tf / sizeof *reg; i++)
    reg[i] = 0;                       // no kernel values leak into user registers
  tf->sp = (uint32)user_end;          // top of the user stack page
  w_stvec((uint32)uservec);
  w_sepc((uint32)user_main);
  w_sstatus(r_sstatus() & ~SSTATUS_SPP);
  userret(tf);                        // loads the registers, sret
}
