// Sv32 paging with a kernel in S-mode and a program in U-mode.
//
// M-mode (main) delegates the traps S-mode handles, opens all of memory to
// S and U through PMP entry 0, and MRETs to S-mode.  The kernel (supervisor_main)
// builds page tables, turns on translation and checks these, each fault
// provoked on purpose and caught by its own trap handler (strap.S):
//   a superpage and a 4 KiB page mapped at addresses other than their own,
//   a store to a read-only page, a load from an execute-only page with and
//   without sstatus.MXR, a misaligned superpage, sstatus.SUM (kernel loads
//   of user memory), and that S-mode never executes a user page.
// Then it SRETs to the user program (user.S), which prints through system
// calls and ends by touching kernel memory: the page fault powers off.
//
//   virtual                    physical
//   0x0000_0000 4 MiB super -> 0x0000_0000   finisher          RW
//   0x1000_0000 4 MiB super -> 0x1000_0000   UART              RW
//   0x4000_0000 4 KiB       -> user_page                        RWXU
//   0x4000_1000 4 KiB       -> ro_page                          R
//   0x4000_2000 4 KiB       -> ro_page                          X
//   0x8000_0000 4 MiB in 4 KiB pages, identity: the kernel     RWX
//   0xc000_0000 4 MiB super -> 0x8040_0000                      RW
//   0xc040_0000 4 MiB super -> 0x8040_1000: misaligned, so invalid

#include <stddef.h>
#include "memlayout.h"
#include "riscv.h"
#include "uart.h"

#define USER_VA  0x40000000u
#define RO_VA    0x40001000u
#define XO_VA    0x40002000u
#define ALIAS_VA 0xc0000000u
#define ALIAS_PA 0x80400000u
#define BAD_VA   0xc0400000u
#define BAD_PA   0x80401000u         // a superpage must start on a 4 MiB boundary
#define VPN1(va) ((unsigned)(va) >> 22)
#define VPN0(va) (((unsigned)(va) >> 12) & 0x3ff)

#define SYS_PUTS   1
#define SYS_PUTHEX 2

struct trapframe {
    unsigned x[32];                 // x[n] is register xn; x[0] unused
};
enum { RA = 1, A0 = 10, A7 = 17 };

void *memcpy(void *dst, const void *src, size_t n);
extern char mtrapvec[], strapvec[], user_begin[], user_end[];

static unsigned root[1024] __attribute__((aligned(PGSIZE)));
static unsigned kernel_l0[1024] __attribute__((aligned(PGSIZE)));
static unsigned user_l0[1024] __attribute__((aligned(PGSIZE)));
static unsigned char user_page[PGSIZE] __attribute__((aligned(PGSIZE)));
static unsigned ro_page[PGSIZE / 4] __attribute__((aligned(PGSIZE)));

// Set by the trap handler when a fault the kernel provoked has happened.
static volatile unsigned fault_cause, fault_addr;

// --- M-mode -------------------------------------------------------------------

// Nothing should trap into M-mode once S-mode runs.
void machine_trap(unsigned vector)
{
    (void)vector;
    printf("paging: unexpected M-mode trap mcause=%x mepc=%x mtval=%x\n", csr_read(mcause),
           csr_read(mepc), csr_read(mtval));
    power_off(1);
}

static void __attribute__((noreturn)) supervisor_main(void);

int main(void)
{
    csr_write(mtvec, mtrapvec);
    csr_write(medeleg, (1u << CAUSE_ILLEGAL_INSN) | (1u << CAUSE_ECALL_U) |
                           (1u << CAUSE_INSN_PAGE_FAULT) | (1u << CAUSE_LOAD_PAGE_FAULT) |
                           (1u << CAUSE_STORE_PAGE_FAULT));
    // PMP entry 0: NAPOT over all of memory, R W X (privileged spec 3.7).
    csr_write(pmpaddr0, 0xffffffff);
    csr_write(pmpcfg0, 0x1f);
    csr_write(satp, 0);
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, MSTATUS_MPP_S);
    csr_write(mepc, supervisor_main);
    asm volatile("mret");
    __builtin_unreachable();
}

// --- S-mode -------------------------------------------------------------------

static void map_tables(void)
{
    unsigned rw = PTE_R | PTE_W | PTE_A | PTE_D | PTE_V;
    root[VPN1(0)] = PA2PTE(0) | rw;
    root[VPN1(UART0)] = PA2PTE(UART0) | rw;
    for (unsigned i = 0; i < 1024; i++)
        kernel_l0[i] = PA2PTE(RAMBASE + i * PGSIZE) | rw | PTE_X;
    root[VPN1(RAMBASE)] = PA2PTE(kernel_l0) | PTE_V;     // a pointer: no R W X
    root[VPN1(ALIAS_VA)] = PA2PTE(ALIAS_PA) | rw;
    root[VPN1(BAD_VA)] = PA2PTE(BAD_PA) | rw;
    user_l0[VPN0(USER_VA)] = PA2PTE(user_page) | rw | PTE_X | PTE_U;
    user_l0[VPN0(RO_VA)] = PA2PTE(ro_page) | PTE_R | PTE_A | PTE_V;
    user_l0[VPN0(XO_VA)] = PA2PTE(ro_page) | PTE_X | PTE_A | PTE_V;
    root[VPN1(USER_VA)] = PA2PTE(user_l0) | PTE_V;
}

// Load or store a word at `va`; the fault's cause, or 0 if there was none.
static unsigned probe_load(unsigned va, unsigned *value)
{
    unsigned v = 0;
    fault_cause = 0;
    asm volatile("lw %0, 0(%1)" : "+r"(v) : "r"(va) : "memory");
    *value = v;
    return fault_cause;
}

static unsigned probe_store(unsigned va, unsigned value)
{
    fault_cause = 0;
    asm volatile("sw %0, 0(%1)" : : "r"(value), "r"(va) : "memory");
    return fault_cause;
}

static void report(const char *what, unsigned cause)
{
    if (cause)
        printf("%s: fault scause=%u stval=0x%x\n", what, cause, fault_addr);
    else
        printf("%s: no fault\n", what);
}

static void __attribute__((noreturn)) supervisor_main(void)
{
    csr_write(stvec, strapvec);
    *(volatile unsigned *)(ALIAS_PA + 0x10) = 0x5a5aa5a5;
    ro_page[2] = 0x600df00d;
    memcpy(user_page, user_begin, user_end - user_begin);
    map_tables();
    csr_write(satp, SATP_SV32 | ((unsigned)root >> 12));
    asm volatile("sfence.vma zero, zero");
    printf("kernel: paging on, satp mode %u\n", csr_read(satp) >> 31);

    unsigned value;
    unsigned cause = probe_load(ALIAS_VA + 0x10, &value);
    report("superpage alias load", cause);
    printf("  read 0x%x\n", value);
    cause = probe_load(RO_VA + 8, &value);
    report("read-only page load", cause);
    printf("  read 0x%x\n", value);
    report("read-only page store", probe_store(RO_VA + 8, 1));
    report("execute-only page load", probe_load(XO_VA + 8, &value));
    csr_set(sstatus, MSTATUS_MXR);  // make executable readable (4.3.2 step 5)
    cause = probe_load(XO_VA + 8, &value);
    csr_clear(sstatus, MSTATUS_MXR);
    report("execute-only page load with MXR", cause);
    printf("  read 0x%x\n", value);
    report("misaligned superpage load", probe_load(BAD_VA, &value));

    csr_clear(sstatus, MSTATUS_SUM);
    report("user page load without SUM", probe_load(USER_VA, &value));
    csr_set(sstatus, MSTATUS_SUM);
    cause = probe_load(USER_VA, &value);
    report("user page load with SUM", cause);
    printf("  first word is the user code: %s\n",
           value == *(unsigned *)user_begin ? "yes" : "no");
    // S-mode may never execute a user page, SUM or not: the handler returns
    // from the call as if it had come back.
    fault_cause = 0;
    ((void (*)(void))USER_VA)();
    report("kernel call into user page", fault_cause);

    printf("kernel: entering U-mode\n");
    csr_clear(sstatus, MSTATUS_SPP);
    csr_write(sepc, USER_VA);
    asm volatile("mv sp, %0; sret" : : "r"(USER_VA + PGSIZE));
    __builtin_unreachable();
}

static void syscall(struct trapframe *f)
{
    unsigned arg = f->x[A0];
    switch (f->x[A7]) {
    case SYS_PUTS:
        if (arg - USER_VA >= PGSIZE) {
            printf("kernel: bad string pointer %x\n", arg);
            power_off(1);
        }
        uart_puts((const char *)arg);   // reads user memory: sstatus.SUM is set
        break;
    case SYS_PUTHEX:
        printf("0x%x", arg);
        break;
    default:
        printf("kernel: unknown system call %u\n", f->x[A7]);
        power_off(1);
    }
}

// Called by strapvec for every trap delegated to S-mode.
void supervisor_trap(struct trapframe *f)
{
    unsigned cause = csr_read(scause), epc = csr_read(sepc), tval = csr_read(stval);
    int from_user = !(csr_read(sstatus) & MSTATUS_SPP);
    int page_fault = cause == CAUSE_INSN_PAGE_FAULT || cause == CAUSE_LOAD_PAGE_FAULT ||
                     cause == CAUSE_STORE_PAGE_FAULT;
    if (from_user && cause == CAUSE_ECALL_U) {
        syscall(f);
        csr_write(sepc, epc + 4);
    } else if (from_user && cause == CAUSE_ILLEGAL_INSN) {
        printf("kernel: illegal instruction in U-mode at 0x%x\n", epc);
        csr_write(sepc, epc + 4);
    } else if (from_user && page_fault) {
        printf("kernel: page fault at 0x%x scause=%u sepc=0x%x\n", tval, cause, epc);
        power_off(0);
    } else if (!from_user && page_fault) {
        // One of the kernel's probes: note it and go on after the instruction
        // (or, for a fetch, back to the caller).
        fault_cause = cause;
        fault_addr = tval;
        csr_write(sepc, cause == CAUSE_INSN_PAGE_FAULT ? f->x[RA] : epc + 4);
    } else {
        printf("kernel: unexpected trap scause=%x sepc=%x stval=%x from %s\n", cause, epc, tval,
               from_user ? "U" : "S");
        power_off(1);
    }
}
