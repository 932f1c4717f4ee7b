// tuivmm sbi: our own M-mode firmware.  It sets the machine up, edits the device
// tree, then runs its payload (Linux, or any S-mode program) in S-mode and serves
// the payload's SBI calls (the RISC-V Supervisor Binary Interface, spec 2.0).
//
//   start.S    entry: stack, BSS, the trap vector that saves S-mode's registers
//   main.c     boot: PMP, delegation, counters, the device tree, mret into S-mode
//   trap.c     traps into M-mode: the timer interrupt, SBI calls, fatal faults
//   ecall.c    the SBI extensions, one function each
//   fdt.c      a small flattened-device-tree reader and editor
//   console.c  the NS16550A UART, polled, and a tiny printf
#pragma once

#include "riscv.h"
#include "memlayout.h"

typedef unsigned char uint8;
typedef unsigned long long uint64;
typedef int int32;

// CSRs riscv.h does not name.
CSR(mip)
CSR(mcounteren)
CSR(pmpaddr1)
CSR(mvendorid)
CSR(marchid)
CSR(mimpid)
#define MIP_SSIP (1u << 1)            // supervisor software interrupt: an IPI to S-mode
#define MIP_MTIP (1u << 7)            // machine timer: the CLINT's mtime >= mtimecmp
#define MIP_STIP (1u << 5)            // supervisor timer: only M-mode software sets it
#define MIP_SEIP (1u << 9)            // supervisor external: the PLIC's S-mode context
#define MIE_MTIE MIP_MTIP

// Set and clear bits of mip with one csrs/csrc, never csrr + csrw: a read of mip
// gives the software-writable SEIP OR'd with the PLIC's line (privileged spec 3.1.9),
// so writing back what was read would latch a passing external interrupt into the
// software bit, pending for ever (an interrupt storm).  csrs/csrc change only the
// bits named.
static inline void mip_set(uint32 bits) { asm volatile("csrs mip, %0" : : "r"(bits)); }
static inline void mip_clear(uint32 bits) { asm volatile("csrc mip, %0" : : "r"(bits)); }
#define IRQ_M_TIMER 7

// The firmware's own memory: linked at RAM_BASE, kept from S-mode by PMP and from
// Linux by a /reserved-memory node.  A power of two, for one NAPOT PMP entry.
#define FW_SIZE       0x40000u        // 256 KiB (sbi.ld checks the firmware fits)
#define PAYLOAD_BASE  0x80400000u     // where RV32 Linux wants to be loaded: 4 MiB aligned

// Who we are, for sbi_get_impl_id.  The SBI spec keeps a table of implementation
// ids (0 BBL, 1 OpenSBI, 2 Xvisor, 3 KVM, 4 RustSBI, ...); ours is not in it, so we
// take a number far from the registered ones: "tuiv" in ASCII.
#define SBI_IMPL_ID       0x74756976u
#define SBI_IMPL_VERSION  0x00000001u  // 0.1
#define SBI_SPEC_VERSION  0x02000000u  // 2.0: major in bits 30:24, minor in 23:0

// Error codes every SBI function returns in a0 (spec 3.2).
#define SBI_SUCCESS               0
#define SBI_ERR_FAILED           -1
#define SBI_ERR_NOT_SUPPORTED    -2
#define SBI_ERR_INVALID_PARAM    -3
#define SBI_ERR_DENIED           -4
#define SBI_ERR_INVALID_ADDRESS  -5
#define SBI_ERR_ALREADY_AVAILABLE -6

// What start.S saves on a trap: x1..x31 at regs[1..31]; regs[0] is unused.
struct frame {
  uint32 regs[32];
};
#define REG_SP 2
#define REG_A0 10
#define REG_A1 11

// The result of one SBI call: a0 and a1 on the way back.
struct sbiret {
  long error;
  long value;
};

// What the firmware learnt at boot, for the SBI calls that check addresses.
extern uint32 ram_base, ram_size;

// console.c
void console_putc(int c);
int console_getc(void);          // -1 when no byte is waiting
void printf(const char *fmt, ...);

// fdt.c
int fdt_check(void *dtb);        // 0 when a valid DTB header is there
int fdt_memory(void *dtb, uint32 *base, uint32 *size);
int fdt_reserve(void *dtb, uint32 base, uint32 size, uint32 room_end);

// trap.c, ecall.c
void sbi_trap(struct frame *f);
struct sbiret sbi_ecall(uint32 eid, uint32 fid, uint32 *a);
void set_timer(uint64 when);
void poweroff(void);
void fail(int code);
void reboot(void);

// string.c
void *memcpy(void *dst, const void *src, unsigned int n);
void *memmove(void *dst, const void *src, unsigned int n);
void *memset(void *dst, int c, unsigned int n);
int strcmp(const char *a, const char *b);
unsigned int strlen(const char *s);

extern volatile int probing;  // main.c: a CSR probe is under way (trap.c skips its fault)
extern int sstc;              // main.c: the hart has Sstc, and S-mode may use it
