// An S-mode program for our SBI firmware (guests/sbi): the payload that
// tests/test_sbi.py links behind it.  It calls every SBI function it can test
// and prints what came back, so the console can be compared between QEMU, our
// bare machine and a guest of the VMM; it ends with an SRST shutdown.  Its last
// lines are the device tree it was handed in a1, in hex ("dtb: ..."), which the
// test feeds to dtc.  Built with: -march=rv32imac_zicsr -mabi=ilp32 -O2
// -ffreestanding -fno-builtin -nostdlib -T sbi_payload.ld -Wl,--no-relax, then
// objcopy -O binary.

typedef unsigned int u32;
typedef unsigned long long u64;

struct ret {
  long error, value;
};

static struct ret sbi(u32 eid, u32 fid, u32 x0, u32 x1, u32 x2, u32 x3, u32 x4) {
  register u32 a0 asm("a0") = x0;
  register u32 a1 asm("a1") = x1;
  register u32 a2 asm("a2") = x2;
  register u32 a3 asm("a3") = x3;
  register u32 a4 asm("a4") = x4;
  register u32 a6 asm("a6") = fid;
  register u32 a7 asm("a7") = eid;
  asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a3), "r"(a4), "r"(a6), "r"(a7) : "memory");
  return (struct ret){(long)a0, (long)a1};
}

#define BASE 0x10
#define TIME 0x54494D45
#define IPI  0x735049
#define RFNC 0x52464E43
#define HSM  0x48534D
#define SRST 0x53525354
#define DBCN 0x4442434E

#define csrr(name) ({ u32 v_; asm volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define csrs(name, v) asm volatile("csrs " #name ", %0" : : "r"(v))
#define csrc(name, v) asm volatile("csrc " #name ", %0" : : "r"(v))
#define csrw(name, v) asm volatile("csrw " #name ", %0" : : "r"(v))

// --- output: through DBCN write, with physical addresses (satp is 0 here) ---------

static u32 len(const char *s) {
  u32 n = 0;
  while (s[n])
    n++;
  return n;
}

static void puts(const char *s) { sbi(DBCN, 0, len(s), (u32)s, 0, 0, 0); }

static void hex(u32 x) {
  static char buf[11] = "0x";
  for (int i = 0; i < 8; i++)
    buf[2 + i] = "0123456789abcdef"[(x >> (28 - 4 * i)) & 15];
  puts(buf);
}

static void dec(long v) {
  char buf[12];
  int n = 11;
  int neg = v < 0;
  u32 x = neg ? -v : v;
  buf[n] = 0;
  do
    buf[--n] = '0' + x % 10;
  while (x /= 10);
  if (neg)
    buf[--n] = '-';
  puts(buf + n);
}

static void show(const char *what, struct ret r) {
  puts(what);
  puts(": error ");
  dec(r.error);
  puts(", value ");
  dec(r.value);
  puts("\n");
}

// --- S-mode traps: strap (below, in assembly) stores scause here -------------------

volatile u32 last_cause;

void s_fatal(void) {
  puts("payload: unexpected trap, scause ");
  hex(csrr(scause));
  puts(" sepc ");
  hex(csrr(sepc));
  puts("\n");
  sbi(SRST, 0, 0, 1, 0, 0, 0); // shutdown, reason: system failure
}

// The trap entry: note the cause; for the timer, mask it (STIP stays pending until
// the next set_timer); for the software interrupt, clear SSIP.  A load access fault
// (the firmware's memory, which PMP keeps from us) is noted and the 4-byte load
// skipped; any other fault is fatal.
asm(".align 2\n"
    "strap:\n"
    "  addi sp, sp, -16\n"
    "  sw t0, 0(sp)\n"
    "  sw t1, 4(sp)\n"
    "  csrr t0, scause\n"
    "  bgez t0, 1f\n"
    "2: sw t0, last_cause, t1\n"
    "  li t0, 0x20\n"
    "  csrc sie, t0\n"
    "  li t0, 0x2\n"
    "  csrc sip, t0\n"
    "  lw t0, 0(sp)\n"
    "  lw t1, 4(sp)\n"
    "  addi sp, sp, 16\n"
    "  sret\n"
    "1: li t1, 5\n"
    "  bne t0, t1, 3f\n"
    "  csrr t1, sepc\n"
    "  addi t1, t1, 4\n"
    "  csrw sepc, t1\n"
    "  j 2b\n"
    "3: j s_fatal\n");
extern char strap[];

// Does an SBI call keep every register but a0 and a1?  Fills the others with
// known values, calls get_spec_version, compares; 0 if all survived.
u32 regs_survive(void);
asm(".globl regs_survive\n"
    "regs_survive:\n"
    "  addi sp, sp, -64\n"
    "  sw s0, 0(sp); sw s1, 4(sp); sw s2, 8(sp); sw s3, 12(sp); sw s4, 16(sp); sw s5, 20(sp)\n"
    "  sw s6, 24(sp); sw s7, 28(sp); sw s8, 32(sp); sw s9, 36(sp); sw s10, 40(sp); sw s11, 44(sp)\n"
    "  sw ra, 48(sp); sw gp, 52(sp); sw tp, 56(sp)\n"
    "  li ra, 101; li gp, 103; li tp, 104; li t0, 105; li t1, 106; li t2, 107\n"
    "  li s0, 108; li s1, 109; li a2, 112; li a3, 113; li a4, 114; li a5, 115\n"
    "  li a6, 0; li a7, 0x10; li s2, 118; li s3, 119; li s4, 120; li s5, 121\n"
    "  li s6, 122; li s7, 123; li s8, 124; li s9, 125; li s10, 126; li s11, 127\n"
    "  li t3, 128; li t4, 129; li t5, 130; li t6, 131\n"
    "  mv a0, sp\n"
    "  ecall\n"
    "  li a0, 0\n"
    "  li a1, 101; sub a1, a1, ra; or a0, a0, a1\n"
    "  li a1, 103; sub a1, a1, gp; or a0, a0, a1\n"
    "  li a1, 104; sub a1, a1, tp; or a0, a0, a1\n"
    "  li a1, 105; sub a1, a1, t0; or a0, a0, a1\n"
    "  li a1, 106; sub a1, a1, t1; or a0, a0, a1\n"
    "  li a1, 107; sub a1, a1, t2; or a0, a0, a1\n"
    "  li a1, 108; sub a1, a1, s0; or a0, a0, a1\n"
    "  li a1, 109; sub a1, a1, s1; or a0, a0, a1\n"
    "  li a1, 112; sub a1, a1, a2; or a0, a0, a1\n"
    "  li a1, 113; sub a1, a1, a3; or a0, a0, a1\n"
    "  li a1, 114; sub a1, a1, a4; or a0, a0, a1\n"
    "  li a1, 115; sub a1, a1, a5; or a0, a0, a1\n"
    "  li a1, 0; sub a1, a1, a6; or a0, a0, a1\n"
    "  li a1, 0x10; sub a1, a1, a7; or a0, a0, a1\n"
    "  li a1, 118; sub a1, a1, s2; or a0, a0, a1\n"
    "  li a1, 119; sub a1, a1, s3; or a0, a0, a1\n"
    "  li a1, 120; sub a1, a1, s4; or a0, a0, a1\n"
    "  li a1, 121; sub a1, a1, s5; or a0, a0, a1\n"
    "  li a1, 122; sub a1, a1, s6; or a0, a0, a1\n"
    "  li a1, 123; sub a1, a1, s7; or a0, a0, a1\n"
    "  li a1, 124; sub a1, a1, s8; or a0, a0, a1\n"
    "  li a1, 125; sub a1, a1, s9; or a0, a0, a1\n"
    "  li a1, 126; sub a1, a1, s10; or a0, a0, a1\n"
    "  li a1, 127; sub a1, a1, s11; or a0, a0, a1\n"
    "  li a1, 128; sub a1, a1, t3; or a0, a0, a1\n"
    "  li a1, 129; sub a1, a1, t4; or a0, a0, a1\n"
    "  li a1, 130; sub a1, a1, t5; or a0, a0, a1\n"
    "  li a1, 131; sub a1, a1, t6; or a0, a0, a1\n"
    "  lw s0, 0(sp); lw s1, 4(sp); lw s2, 8(sp); lw s3, 12(sp); lw s4, 16(sp); lw s5, 20(sp)\n"
    "  lw s6, 24(sp); lw s7, 28(sp); lw s8, 32(sp); lw s9, 36(sp); lw s10, 40(sp); lw s11, 44(sp)\n"
    "  lw ra, 48(sp); lw gp, 52(sp); lw tp, 56(sp)\n"
    "  addi sp, sp, 64\n"
    "  ret\n");

// Wait for an S-mode interrupt with sstatus.SIE clear, so one that comes between
// the test and the WFI is not lost (WFI wakes on a pending interrupt regardless),
// then open SIE for an instant to take it.
static void wait_for_interrupt(void) {
  while (last_cause == 0) {
    asm volatile("wfi");
    csrs(sstatus, 0x2);
    csrc(sstatus, 0x2);
  }
}

static u64 now(void) {
  u32 hi, lo;
  do {
    hi = csrr(timeh);
    lo = csrr(time);
  } while (hi != csrr(timeh));
  return ((u64)hi << 32) | lo;
}

static u32 be32(const unsigned char *p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

static void dump_dtb(const unsigned char *dtb) {
  u32 used = be32(dtb + 12) + be32(dtb + 32); // off_dt_strings + size_dt_strings
  static char line[80];
  for (u32 i = 0; i < used; i += 32) {
    char *p = line;
    *p++ = 'd', *p++ = 't', *p++ = 'b', *p++ = ':', *p++ = ' ';
    for (u32 j = i; j < i + 32 && j < used; j++) {
      *p++ = "0123456789abcdef"[dtb[j] >> 4];
      *p++ = "0123456789abcdef"[dtb[j] & 15];
    }
    *p++ = '\n', *p = 0;
    puts(line);
  }
}

void main(u32 hartid, const unsigned char *dtb) {
  puts("payload: in S-mode, hart ");
  dec(hartid);
  puts(", dtb magic ");
  hex(be32(dtb));
  puts("\n");

  // Base.
  struct ret r = sbi(BASE, 0, 0, 0, 0, 0, 0);
  puts("base: spec version ");
  dec(r.value >> 24);
  puts(".");
  dec(r.value & 0xffffff);
  puts("\n");
  show("base: impl id", sbi(BASE, 1, 0, 0, 0, 0, 0));
  show("base: impl version", sbi(BASE, 2, 0, 0, 0, 0, 0));
  static const u32 probes[] = {BASE, TIME, IPI, RFNC, HSM, SRST, DBCN, 0x00, 0x01, 0x02, 0x08, 0x12345678, 0x504D55};
  for (u32 i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    puts("base: probe ");
    hex(probes[i]);
    show("", sbi(BASE, 3, probes[i], 0, 0, 0, 0));
  }
  puts("base: mvendorid/marchid/mimpid errors ");
  dec(sbi(BASE, 4, 0, 0, 0, 0, 0).error);
  dec(sbi(BASE, 5, 0, 0, 0, 0, 0).error);
  dec(sbi(BASE, 6, 0, 0, 0, 0, 0).error);
  puts("\n");
  show("base: unknown function", sbi(BASE, 99, 0, 0, 0, 0, 0));
  show("unknown extension", sbi(0x12345678, 0, 0, 0, 0, 0, 0));
  puts("registers kept across a call: ");
  puts(regs_survive() == 0 ? "yes\n" : "NO\n");

  // Console.
  const char *legacy = "legacy putchar\n";
  for (const char *p = legacy; *p; p++)
    sbi(0x01, 0, *p, 0, 0, 0, 0);
  puts("legacy getchar: ");
  dec(sbi(0x02, 0, 0, 0, 0, 0, 0).error);
  puts("\n");
  for (const char *p = "dbcn write_byte\n"; *p; p++)
    sbi(DBCN, 2, *p, 0, 0, 0, 0);
  show("dbcn write", sbi(DBCN, 0, 11, (u32)"dbcn write\n", 0, 0, 0));
  static char in[4];
  show("dbcn read with nothing typed", sbi(DBCN, 1, sizeof in, (u32)in, 0, 0, 0));
  show("dbcn write from the firmware's memory", sbi(DBCN, 0, 4, 0x80000000, 0, 0, 0));
  show("dbcn write above 4 GiB", sbi(DBCN, 0, 4, (u32)in, 1, 0, 0));

  csrw(stvec, (u32)strap);

  // PMP: the firmware's memory is not ours to read.
  last_cause = 0;
  u32 word = 0x12345678;
  asm volatile(".option push\n.option norvc\nlw %0, 0(%1)\n.option pop" : "+r"(word) : "r"(0x80000000) : "memory");
  puts("pmp: reading the firmware: scause ");
  hex(last_cause);
  puts(word == 0x12345678 ? ", nothing read\n" : ", READ\n");

  // TIME: an interrupt 1 ms from now, taken in S-mode.
  u64 deadline = now() + 10000;
  last_cause = 0;
  show("time: set_timer", sbi(TIME, 0, (u32)deadline, deadline >> 32, 0, 0, 0));
  csrs(sie, 0x20);
  wait_for_interrupt();
  puts("time: interrupt, scause ");
  hex(last_cause);
  puts(now() >= deadline ? ", at or after the deadline\n" : ", EARLY\n");

  // Legacy set_timer, the same way.
  deadline = now() + 5000;
  last_cause = 0;
  sbi(0x00, 0, (u32)deadline, deadline >> 32, 0, 0, 0);
  csrs(sie, 0x20);
  wait_for_interrupt();
  puts("legacy set_timer: interrupt, scause ");
  hex(last_cause);
  puts("\n");

  // IPI: to ourselves; the interrupt comes as soon as the call returns.
  last_cause = 0;
  csrs(sie, 0x2);
  csrs(sstatus, 0x2);
  show("ipi: send_ipi to hart 0", sbi(IPI, 0, 1, 0, 0, 0, 0));
  csrc(sstatus, 0x2);
  puts("ipi: scause ");
  hex(last_cause);
  puts("\n");
  show("ipi: send_ipi to hart 1", sbi(IPI, 0, 1, 1, 0, 0, 0));

  // RFENCE.
  show("rfence: fence.i", sbi(RFNC, 0, 1, 0, 0, 0, 0));
  show("rfence: sfence.vma", sbi(RFNC, 1, 1, 0, 0, 0xffffffff, 0));
  show("rfence: sfence.vma asid", sbi(RFNC, 2, 1, 0, 0x1000, 0x1000, 0));
  show("rfence: all harts", sbi(RFNC, 1, 0, 0xffffffff, 0, 0xffffffff, 0));
  show("rfence: hfence.gvma", sbi(RFNC, 3, 1, 0, 0, 0, 0));

  // HSM.
  show("hsm: status of hart 0", sbi(HSM, 2, 0, 0, 0, 0, 0));
  show("hsm: status of hart 1", sbi(HSM, 2, 1, 0, 0, 0, 0));
  show("hsm: start hart 0", sbi(HSM, 0, 0, 0x80400000, 0, 0, 0));
  deadline = now() + 5000;
  sbi(TIME, 0, (u32)deadline, deadline >> 32, 0, 0, 0);
  csrs(sie, 0x20); // pending wakes the suspended hart; sstatus.SIE stays 0
  show("hsm: retentive suspend", sbi(HSM, 3, 0, 0, 0, 0, 0));
  puts(csrr(sip) & 0x20 ? "hsm: woken by the timer\n" : "hsm: woken EARLY\n");
  sbi(TIME, 0, 0xffffffff, 0xffffffff, 0, 0, 0); // no timer: STIP cleared
  puts(csrr(sip) & 0x20 ? "time: STIP still pending\n" : "time: set_timer cleared STIP\n");
  csrc(sie, 0x22);
  show("hsm: non-retentive suspend", sbi(HSM, 3, 0x80000000, 0x80400000, 0, 0, 0));

  show("srst: bad type", sbi(SRST, 0, 7, 0, 0, 0, 0));
  dump_dtb(dtb);
  puts("srst: shutdown\n");
  sbi(SRST, 0, 0, 0, 0, 0, 0);
  puts("srst: still here\n");
  for (;;)
    ;
}

// Entry (sbi_payload.ld puts it first, at 0x80400000): a stack, then main(a0, a1),
// the hart id and the device tree.
asm(".section .text.start, \"ax\"\n"
    ".globl _start\n"
    "_start:\n"
    "  la sp, stack + 4096\n"
    "  j main\n");
static char stack[4096] __attribute__((used, aligned(16)));
