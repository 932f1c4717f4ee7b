// The kernel's constants, shared types and every function one file offers another,
// grouped by the file that defines it (xv6's defs.h).
#pragma once

#include "memlayout.h"
#include "riscv.h"

typedef unsigned char uint8;
typedef unsigned short uint16;
typedef unsigned long long uint64;
typedef uint32 pte_t;
typedef uint32 *pagetable_t;        // 1024 PTEs: one Sv32 page-table page

// RAM: we detect nothing.  Both `tuivmm bare` and QEMU virt give 128 MiB by default
// (tests/toolchain.py passes -m 128M); a smaller machine would fault in kinit.
#define PHYSTOP   (RAM_BASE + 128u * 1024 * 1024)

// Virtual memory of every address space (vm.c):
//   0x0000_0000  unmapped page: a null pointer faults
//   0x0000_1000  user program text, data, guard page, stack, then the sbrk heap
//   0x8000_0000  RAM, mapped at its physical address, kernel only (no PTE_U)
//   0xE000_0000 + device's physical address: the devices, kernel only
// The kernel sits in the upper half of every process's page table, so a trap needs
// no page-table switch (no trampoline, unlike xv6); user pointers are checked and
// translated in software (copyin/copyout), never dereferenced.
#define USERBASE  0x1000u
#define USERTOP   RAM_BASE                     // user addresses are below this
#define KDEV_OFFSET 0xE0000000u
#define USTACK_PAGES 2

#define NPROC     16
#define MAXARG    16
#define TICK_HZ   100                           // clock ticks per second (clock.c)
#define TICK_INTERVAL (TIMEBASE_HZ / TICK_HZ)   // in mtime units

// Supervisor interrupt bits (sie/sip, 4.1.3) and M-mode ones (mie/mip, 3.1.9).
CSR(mip)
#define SIE_SSIE (1u << 1)
#define SIE_SEIE (1u << 9)
#define MIP_SSIP (1u << 1)
#define MIE_MTIE (1u << 7)
#define IRQ_S_SOFT     (CAUSE_INTERRUPT | 1)
#define IRQ_S_EXTERNAL (CAUSE_INTERRUPT | 9)
#define VIRTIO_NET_IRQ (VIRTIO_IRQ_BASE + VIRTIO_NET_SLOT)   // a PLIC source

// Clear bits of sip in one instruction, so none set meanwhile (timervec's SSIP) is lost.
static inline void sip_clear(uint32 bits) { asm volatile("csrc sip, %0" : : "r"(bits) : "memory"); }
static inline void intr_on(void)  { w_sstatus(r_sstatus() | SSTATUS_SIE); }
static inline void intr_off(void) { w_sstatus(r_sstatus() & ~SSTATUS_SIE); }

// A device register, reached through the kernel's device window once paging is on
// (vm.c sets kdev_offset) and at its physical address before.
extern uint32 kdev_offset;
#define DEVREG8(pa)  (*(volatile uint8 *)((pa) + kdev_offset))
#define DEVREG32(pa) (*(volatile uint32 *)((pa) + kdev_offset))

struct proc;
struct procinfo;

// clock.c
void clockinit(void);
uint32 clock_ticks(void);
void clock_sleep(void);
void clockintr(void);
void clock_busy(void);
void clock_idle(void);

// console.c
void consoleinit(void);
void consoleintr(int c);
int consoleread(uint32 dst, int n);
int consolewrite(uint32 src, int n);

// exec.c
int exec(const char *name, char **argv);

// fs.c
void fsinit(void);
int fs_present(void);
int fs_open(const char *name, int create);
int fs_truncate(uint32 inum);
int fs_read(uint32 inum, int user, uint32 dst, uint32 off, uint32 n);
int fs_write(uint32 inum, int user, uint32 src, uint32 off, uint32 n);
int fs_unlink(const char *name);
int fs_listdir(uint32 index, char *name, uint32 *size);

// kalloc.c
void kinit(void);
void *kalloc(void);
void kfree(void *pa);
uint32 kfree_count(void);
uint32 ktotal_count(void);

// main.c
void main(void);

// net.c
void netinit(void);
void netintr(void);
int net_ping(uint32 ip, uint32 seq);
#define UDP_MAX 512                 // the largest UDP payload sent or kept
struct datagram { uint32 ip; uint16 port, len; uint8 data[UDP_MAX]; };
int udp_bind(uint32 port, int pid);
int udp_unbind(uint32 port, int pid);
int udp_send(uint32 sport, uint32 ip, uint32 dport, const void *data, uint32 n, int pid);
int udp_recv(uint32 port, int pid, struct datagram *d, uint32 timeout);

// plic.c
void plicinit(void);
void plic_enable(int irq);
int plic_claim(void);
void plic_complete(int irq);

// printf.c
void printf(const char *fmt, ...);
void panic(const char *why) __attribute__((noreturn));
void poweroff(uint32 code) __attribute__((noreturn));

// proc.c
extern struct proc *initproc;
struct proc *myproc(void);
void procinit(void);
void userinit(void);
void scheduler(void) __attribute__((noreturn));
void sched(void);
void yield(void);
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(uint32 status_addr);
int kill(int pid);
int kill_console_jobs(void);
int killed(struct proc *p);
void setkilled(struct proc *p);
void sleep(void *chan);
void wakeup(void *chan);
int sleeping_on(void *chan);
int growproc(int n);
int procs_snapshot(struct procinfo *out, int max);
int file_is_open(uint32 inum);

// string.c
void *memset(void *dst, int c, uint32 n);
void *memcpy(void *dst, const void *src, uint32 n);
void *memmove(void *dst, const void *src, uint32 n);
int strcmp(const char *a, const char *b);
uint32 strlen(const char *s);
char *safestrcpy(char *dst, const char *src, int n);

// syscall.c
void syscall(void);

// trap.c
void trapinithart(void);
void usertrapret(void) __attribute__((noreturn));

// uart.c
void uartinit(void);
void uartputc(int c);
void uartintr(void);
void uart_rx_enable(int on);

// virtio_disk.c
int virtio_disk_init(void);
uint32 virtio_disk_blocks(void);
int virtio_disk_readonly(void);
void virtio_disk_rw(void *buf, uint32 blockno, int write);

// virtio_net.c
int virtio_net_init(uint8 mac[6]);
void virtio_net_ack(void);
void virtio_net_send(const void *frame, uint32 len);
uint32 virtio_net_recv(void *buf, uint32 max);

// vm.c
void kvminit(void);
void kvminithart(void);
pte_t *walk(pagetable_t pt, uint32 va, int alloc);
uint32 walkaddr(pagetable_t pt, uint32 va);
pagetable_t uvmcreate(void);
uint32 uvmalloc(pagetable_t pt, uint32 oldsz, uint32 newsz, uint32 perm);
uint32 uvmdealloc(pagetable_t pt, uint32 oldsz, uint32 newsz);
void uvmfree(pagetable_t pt, uint32 sz);
int uvmcopy(pagetable_t old, pagetable_t new, uint32 sz);
void uvmclear(pagetable_t pt, uint32 va);
int copyout(pagetable_t pt, uint32 dstva, const void *src, uint32 len);
int copyin(pagetable_t pt, void *dst, uint32 srcva, uint32 len);
int copyinstr(pagetable_t pt, char *dst, uint32 srcva, uint32 max);
