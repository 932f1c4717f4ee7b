// Boot: make the machine ready for an S-mode kernel, then become its SBI.
//
// What a kernel expects of its firmware (the SBI spec, and the RISC-V boot
// conventions Linux documents in Documentation/riscv/boot.rst):
//   - it starts in S-mode at its load address, a0 = hart id, a1 = the device
//     tree's physical address, satp = 0 (no translation), interrupts off;
//   - the firmware's memory is described as reserved in that tree;
//   - the traps and interrupts S-mode can handle itself go straight to it
//     (medeleg, mideleg): M-mode sees only SBI calls and its own timer.
#include "sbi.h"

extern char trap_vector[], stack_top[];
extern char sbi_payload_start[], sbi_payload_end[];

uint32 ram_base, ram_size;

// Delegated to S-mode: faults it handles itself (misaligned accesses, access and
// page faults, illegal instructions, breakpoints) and U-mode's system calls.
// Not ecall from S (that is an SBI call, ours) nor from M.
#define DELEGATED_EXCEPTIONS                                                                  \
  ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |       \
   (1u << 7) | (1u << CAUSE_ECALL_FROM_U) | (1u << CAUSE_INSN_PAGE_FAULT) |                   \
   (1u << CAUSE_LOAD_PAGE_FAULT) | (1u << CAUSE_STORE_PAGE_FAULT))

// PMP (privileged spec 3.7).  Entry 0 covers the firmware with no permission, so
// S and U can neither read nor run it; it is not locked, so M-mode is not bound.
// Entry 1 covers everything (NAPOT with every address bit 1) with R, W and X: the
// lowest-numbered matching entry wins, so the rest of memory and the devices are
// S-mode's.  Without a matching entry S and U could reach nothing at all.
static void setup_pmp(void) {
  w_pmpaddr0((RAM_BASE >> 2) | ((FW_SIZE >> 3) - 1)); // NAPOT: base | (size/8 - 1)
  w_pmpaddr1(0xffffffff);
  w_pmpcfg0(((PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 8) | PMP_NAPOT);
}

// Sstc: a hart with it (QEMU's has) gives S-mode its own timer compare register,
// stimecmp, and Linux uses it whenever the device tree's riscv,isa names sstc -- but
// only M-mode can let S-mode touch it, with menvcfg.STCE (bit 63; on RV32, bit 31
// of menvcfgh).  Our hart has no Sstc: reading stimecmp is an illegal instruction,
// which the trap handler skips while `probing` (as OpenSBI probes CSRs).
volatile int probing;
int sstc;  // S-mode has its own timer compare: set_timer writes stimecmp (trap.c)

static void enable_sstc(void) {
  uint32 value;
  probing = 1;
  asm volatile("csrr %0, 0x14d" : "=r"(value));  // stimecmp: there, or it traps
  sstc = probing;  // still 1: the read did not trap
  probing = 0;
  if (sstc)
    asm volatile("csrs 0x31a, %0" : : "r"(1u << 31));  // menvcfgh.STCE
}

void sbi_main(uint32 hartid, void *dtb) {
  w_mtvec((uint32)trap_vector);
  w_mscratch((uint32)stack_top);

  if (fdt_check(dtb) != 0) {
    printf("tuivmm sbi: no device tree at a1 (%x): a kernel needs one; stopping\n", (uint32)dtb);
    fail(1);
  }
  if (fdt_memory(dtb, &ram_base, &ram_size) != 0) {
    printf("tuivmm sbi: the device tree has no /memory node; stopping\n");
    fail(1);
  }
  if (fdt_reserve(dtb, RAM_BASE, FW_SIZE, ram_base + ram_size) != 0) {
    printf("tuivmm sbi: cannot add /reserved-memory to the device tree at %x; stopping\n", (uint32)dtb);
    fail(1);
  }

  setup_pmp();
  w_medeleg(DELEGATED_EXCEPTIONS);
  w_mideleg(MIP_SSIP | MIP_STIP | MIP_SEIP);
  w_mie(0);             // set_timer enables MTIE when S-mode first asks for a timer
  w_mip(0);
  w_mcounteren(7);      // S-mode may read cycle, time and instret (Linux reads time)
  enable_sstc();

  printf("tuivmm sbi: SBI 2.0, %u MiB RAM at %x, payload at %x (%u KiB), dtb at %x\n",
         ram_size >> 20, ram_base, (uint32)sbi_payload_start,
         (uint32)(sbi_payload_end - sbi_payload_start) >> 10, (uint32)dtb);

  // Into S-mode: mret goes to mepc in the mode mstatus.MPP names.  MPIE = 0 keeps
  // M-mode interrupts "disabled" (they still reach M while S runs: a lower mode
  // can never mask a higher mode's interrupts).
  w_satp(0);
  w_stvec(0);
  w_sie(0);
  uint32 s = r_mstatus();
  s &= ~(MSTATUS_MPP_MASK | MSTATUS_MIE | (1u << 7) /* MPIE */ | (1u << 17) /* MPRV */);
  s |= MSTATUS_MPP_S;
  w_mstatus(s);
  w_mepc((uint32)sbi_payload_start);
  register uint32 a0 asm("a0") = hartid;
  register uint32 a1 asm("a1") = (uint32)dtb;
  asm volatile("mret" : : "r"(a0), "r"(a1));
  __builtin_unreachable();
}
