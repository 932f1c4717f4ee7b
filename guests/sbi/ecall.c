// The SBI extensions (SBI spec 2.0), one function each, for a single hart (id 0).
//
//   0x10        Base    the spec version, who we are, which extensions exist
//   "TIME"      Timer   program the next timer interrupt
//   "sPI"       IPI     software interrupts to harts (here only ourselves)
//   "RFNC"      RFENCE  fences on other harts (here only ourselves)
//   "HSM"       Hart state management: start, stop, suspend, ask about a hart
//   "SRST"      System reset: shutdown, cold and warm reboot
//   "DBCN"      Debug console: bytes to and from the UART, by physical address
//   0x00-0x0F   the legacy extensions of SBI 0.1 (set_timer, putchar, getchar,
//               shutdown): older kernels, and Linux's early console, use them
//
// Unknown extensions and functions answer SBI_ERR_NOT_SUPPORTED.
#include "sbi.h"

#define EXT_BASE 0x10
#define EXT_TIME 0x54494D45
#define EXT_IPI  0x735049
#define EXT_RFNC 0x52464E43
#define EXT_HSM  0x48534D
#define EXT_SRST 0x53525354
#define EXT_DBCN 0x4442434E
#define LEGACY_SET_TIMER  0x00
#define LEGACY_PUTCHAR    0x01
#define LEGACY_GETCHAR    0x02
#define LEGACY_SHUTDOWN   0x08

static const uint32 extensions[] = {EXT_BASE, EXT_TIME, EXT_IPI, EXT_RFNC, EXT_HSM, EXT_SRST, EXT_DBCN,
                                    LEGACY_SET_TIMER, LEGACY_PUTCHAR, LEGACY_GETCHAR, LEGACY_SHUTDOWN};

static struct sbiret ok(long value) { return (struct sbiret){SBI_SUCCESS, value}; }
static struct sbiret err(long error) { return (struct sbiret){error, 0}; }

// Base: the only extension every SBI must have.  probe_extension answers 1 for
// an extension we implement and 0 otherwise (not an error: "absent" is news).
static struct sbiret base(uint32 fid, uint32 *a) {
  switch (fid) {
  case 0: return ok(SBI_SPEC_VERSION);
  case 1: return ok(SBI_IMPL_ID);
  case 2: return ok(SBI_IMPL_VERSION);
  case 3:
    for (uint32 i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
      if (extensions[i] == a[0])
        return ok(1);
    return ok(0);
  case 4: return ok(r_mvendorid()); // S-mode cannot read these CSRs itself
  case 5: return ok(r_marchid());
  case 6: return ok(r_mimpid());
  }
  return err(SBI_ERR_NOT_SUPPORTED);
}

// Does (hart_mask, hart_mask_base) name harts that exist?  Bit i of the mask
// stands for hart base + i; base = -1 means every hart.  We have hart 0 only.
static int harts_valid(uint32 mask, uint32 mask_base, int *us) {
  *us = 0;
  if (mask_base == 0xffffffff) {
    *us = 1;
    return 1;
  }
  for (uint32 i = 0; i < 32; i++) {
    if (!(mask & (1u << i)))
      continue;
    if (mask_base + i != 0)
      return 0;
    *us = 1;
  }
  return 1;
}

// IPI: send_ipi raises the supervisor software interrupt (SSIP) on each hart.
static struct sbiret ipi(uint32 fid, uint32 *a) {
  int us;
  if (fid != 0)
    return err(SBI_ERR_NOT_SUPPORTED);
  if (!harts_valid(a[0], a[1], &us))
    return err(SBI_ERR_INVALID_PARAM);
  if (us)
    mip_set(MIP_SSIP);
  return ok(0);
}

// RFENCE: make other harts see new code (fence.i) or new page tables (sfence.vma).
// Our only hart is the caller, so a local fence does it; flushing the whole TLB
// (or a whole address space) is always a correct answer for a given range.
static struct sbiret rfence(uint32 fid, uint32 *a) {
  int us;
  if (fid > 2)
    return err(SBI_ERR_NOT_SUPPORTED); // 3..6 are the hypervisor's fences: no H extension
  if (!harts_valid(a[0], a[1], &us))
    return err(SBI_ERR_INVALID_PARAM);
  if (!us)
    return ok(0);
  if (fid == 0)
    asm volatile("fence.i" ::: "memory");
  else if (fid == 1)
    asm volatile("sfence.vma zero, zero" ::: "memory");
  else
    asm volatile("sfence.vma zero, %0" : : "r"(a[4]) : "memory");
  return ok(0);
}

// HSM for one hart that is always running.  Starting it again is "already
// available"; other hart ids do not exist.  Stopping the only hart would leave
// nothing running, with no one left to start it again: we refuse (FAILED).
// A default retentive suspend (type 0) is a WFI: it returns to the caller when an
// interrupt is pending, every register kept, as the spec allows.
#define HSM_STARTED 0
static struct sbiret hsm(uint32 fid, uint32 *a) {
  switch (fid) {
  case 0: // hart_start(hartid, start_addr, opaque)
    return err(a[0] == 0 ? SBI_ERR_ALREADY_AVAILABLE : SBI_ERR_INVALID_PARAM);
  case 1: // hart_stop()
    return err(SBI_ERR_FAILED);
  case 2: // hart_get_status(hartid)
    return a[0] == 0 ? ok(HSM_STARTED) : err(SBI_ERR_INVALID_PARAM);
  case 3: // hart_suspend(type, resume_addr, opaque)
    if (a[0] == 0) {
      asm volatile("wfi");
      return ok(0);
    }
    if (a[0] == 0x80000000)
      return err(SBI_ERR_NOT_SUPPORTED); // non-retentive: not implemented
    return err(SBI_ERR_INVALID_PARAM);
  }
  return err(SBI_ERR_NOT_SUPPORTED);
}

// SRST: the board's sifive_test device powers off (0x5555), fails (0x3333 with a
// code: QEMU and ours exit with that status) or resets (0x7777).  A shutdown for
// a "system failure" reason powers off with a failure code, so a test sees it.
static struct sbiret srst(uint32 fid, uint32 *a) {
  if (fid != 0)
    return err(SBI_ERR_NOT_SUPPORTED);
  uint32 type = a[0], reason = a[1];
  if (type > 2 || (reason > 1 && reason < 0xF0000000))
    return err(SBI_ERR_INVALID_PARAM);
  if (type == 0 && reason == 1)
    fail(1);
  if (type == 0)
    poweroff();
  reboot(); // cold and warm reboot: the board has one kind of reset
  return err(SBI_ERR_FAILED);
}

// DBCN: the buffers are physical addresses (base_lo, base_hi), which must lie in
// RAM and outside the firmware; we read or write them from M-mode.  Returns the
// number of bytes done: write waits for the UART, read takes what is there.
static int buffer_ok(uint32 n, uint32 lo, uint32 hi) {
  return hi == 0 && lo >= ram_base + FW_SIZE && lo - ram_base <= ram_size && n <= ram_base + ram_size - lo;
}

static struct sbiret dbcn(uint32 fid, uint32 *a) {
  uint32 n = a[0];
  if (fid == 2) { // write_byte(byte)
    console_putc(a[0] & 0xff);
    return ok(0);
  }
  if (fid > 1)
    return err(SBI_ERR_NOT_SUPPORTED);
  if (!buffer_ok(n, a[1], a[2]))
    return err(SBI_ERR_INVALID_PARAM);
  uint8 *buf = (uint8 *)a[1];
  if (fid == 0) { // write(num_bytes, base_lo, base_hi)
    for (uint32 i = 0; i < n; i++)
      console_putc(buf[i]);
    return ok(n);
  }
  uint32 i = 0; // read(num_bytes, base_lo, base_hi)
  int c;
  while (i < n && (c = console_getc()) >= 0)
    buf[i++] = c;
  return ok(i);
}

// Legacy (SBI 0.1): one value back, in a0; getchar answers -1 when no byte waits.
static struct sbiret legacy(uint32 eid, uint32 *a) {
  switch (eid) {
  case LEGACY_SET_TIMER:
    set_timer(((uint64)a[1] << 32) | a[0]);
    return ok(0);
  case LEGACY_PUTCHAR:
    console_putc(a[0]);
    return ok(0);
  case LEGACY_GETCHAR:
    return err(console_getc());
  case LEGACY_SHUTDOWN:
    poweroff();
  }
  return err(SBI_ERR_NOT_SUPPORTED);
}

// One SBI call: extension `eid`, function `fid`, arguments a[0..5].
struct sbiret sbi_ecall(uint32 eid, uint32 fid, uint32 *a) {
  switch (eid) {
  case EXT_BASE: return base(fid, a);
  case EXT_TIME:
    if (fid != 0)
      return err(SBI_ERR_NOT_SUPPORTED);
    set_timer(((uint64)a[1] << 32) | a[0]); // set_timer(stime_value), 64-bit in a0/a1
    return ok(0);
  case EXT_IPI: return ipi(fid, a);
  case EXT_RFNC: return rfence(fid, a);
  case EXT_HSM: return hsm(fid, a);
  case EXT_SRST: return srst(fid, a);
  case EXT_DBCN: return dbcn(fid, a);
  }
  if (eid < 0x10)
    return legacy(eid, a);
  return err(SBI_ERR_NOT_SUPPORTED);
}
