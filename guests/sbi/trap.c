// Traps into M-mode.  With the delegation main.c set up, only three kinds arrive:
//   - ecall from S-mode: an SBI call (a7 = extension, a6 = function, a0..a5 the
//     arguments; we answer in a0 = error and a1 = value, and return after the
//     ecall: mepc + 4);
//   - the machine timer interrupt: S-mode's timer, which only M-mode can program
//     on this board (CLINT), so we pass it on as mip.STIP;
//   - anything else: something the firmware cannot fix (a fault in the firmware
//     itself, say; S-mode's faults, even on the firmware's memory, are delegated).
//     We say what happened and stop the machine.
// The hart does misaligned accesses itself and has the time CSR, so no instruction
// needs emulating here (OpenSBI emulates both on harts that lack them).
#include "sbi.h"

#define FINISHER ((volatile uint32 *)FINISHER_BASE)

void poweroff(void) {
  for (;;)
    *FINISHER = FINISHER_PASS;
}

void fail(int code) {
  for (;;)
    *FINISHER = FINISHER_FAIL | (code << 16);
}

void reboot(void) {
  for (;;)
    *FINISHER = FINISHER_RESET;
}

// Program the CLINT's 64-bit mtimecmp for S-mode's next timer interrupt.  On RV32
// it is two 32-bit registers, written one at a time, and a compare between the two
// writes could fire early.  The privileged spec's sequence (3.2.1): the low word
// to all ones first, so that in between the compare value is never below both the
// old and the new one; then the high word; then the low word.  The pending STIP
// belongs to the old deadline, and the SBI spec says set_timer clears it.  MTIE on,
// so the new deadline reaches us.
void set_timer(uint64 when) {
  if (sstc) {
    // With Sstc on, S-mode's timer interrupt comes from stimecmp (STIP follows it, and
    // M-mode cannot set it by hand): the same three writes, to stimecmp/stimecmph.
    asm volatile("csrw 0x14d, %0" : : "r"(0xffffffffu));
    asm volatile("csrw 0x15d, %0" : : "r"((uint32)(when >> 32)));
    asm volatile("csrw 0x14d, %0" : : "r"((uint32)when));
    return;
  }
  volatile uint32 *mtimecmp = (volatile uint32 *)CLINT_MTIMECMP;
  mtimecmp[0] = 0xffffffff;
  mtimecmp[1] = when >> 32;
  mtimecmp[0] = (uint32)when;
  mip_clear(MIP_STIP);
  w_mie(r_mie() | MIE_MTIE);
}

static const char *const mode_name[] = {"U", "S", "?", "M"};

void sbi_trap(struct frame *f) {
  uint32 cause = r_mcause();
  uint32 epc = r_mepc();

  if (cause == (CAUSE_INTERRUPT | IRQ_M_TIMER)) {
    // mtime reached mtimecmp: hand S-mode its timer interrupt, and stop ours (MTIP
    // stays pending until the next set_timer moves mtimecmp, which re-enables it).
    mip_set(MIP_STIP);
    w_mie(r_mie() & ~MIE_MTIE);
    return;
  }

  uint32 mpp = (r_mstatus() & MSTATUS_MPP_MASK) >> 11;
  if (cause == CAUSE_ILLEGAL_INSN && mpp == 3 && probing) {
    probing = 0;  // the CSR main.c probed does not exist: go on after it
    w_mepc(epc + 4);
    return;
  }
  if (cause == CAUSE_ECALL_FROM_S) {
    uint32 *a = &f->regs[REG_A0];
    struct sbiret ret = sbi_ecall(a[7], a[6], a);
    a[0] = ret.error;
    // Legacy extensions (0x00-0x0F) return one value, in a0; a1 is left alone.
    if (a[7] >= 0x10)
      a[1] = ret.value;
    w_mepc(epc + 4);
    return;
  }

  printf("tuivmm sbi: unexpected trap from %s-mode: mcause %x, mepc %x, mtval %x, sp %x\n",
         mode_name[mpp], cause, epc, r_mtval(), f->regs[REG_SP]);
  fail(2);
}
