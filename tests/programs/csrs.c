// A table of CSR facts that the privileged spec (1.12) fixes for RV32IMA with
// S and U modes, Sv32 and no other extensions, so any conforming machine
// prints the same table.  Left out:
//   - values an implementation may choose: misa, mvendorid/marchid/mimpid,
//     ASID width and PPN bits of satp, PMP granularity, counter values;
//   - bits QEMU's CPU model adds with its extra extensions (F, D, C, V, H):
//     FS, VS, SD in mstatus, VS-level interrupts and guest page faults in the
//     delegation and interrupt registers (shown masked to our ISA's bits),
//     and mepc/sepc bit 1 (with C, IALIGN is 16);
//   - facts QEMU 7.2 gets wrong: medeleg[11] is writable there, mstatus.MPP
//     keeps the reserved value 2, and pmpcfg keeps its reserved bits 5-6.
// Illegal accesses trap to mtrap.S, which notes the cause and steps over.

#include "riscv.h"
#include "uart.h"

#define STANDARD_CAUSES (0xb3ffu)   // exceptions 0-9, 12, 13, 15 (table 3.6)
#define M_INTERRUPTS ((1u << IRQ_M_SOFT) | (1u << IRQ_M_TIMER) | (1u << IRQ_M_EXT))
#define S_INTERRUPTS ((1u << IRQ_S_SOFT) | (1u << IRQ_S_TIMER) | (1u << IRQ_S_EXT))
#define NOT_OURS (MSTATUS_SD | MSTATUS_FS | MSTATUS_XS | (3u << 9))    // FS, XS, VS, SD

extern char mtrapvec[];

static volatile unsigned trap_cause;   // mcause + 1 of the last trap, 0 if none

void machine_trap(unsigned vector)
{
    (void)vector;
    trap_cause = csr_read(mcause) + 1;
    csr_write(mepc, csr_read(mepc) + 4);
}

// "name ......... " in a column, then the value.
static void row(const char *name)
{
    int n = 0;
    while (name[n])
        n++;
    uart_puts(name);
    for (; n < 34; n++)
        uart_putc(' ');
}

static void hex_row(const char *name, unsigned value)
{
    row(name);
    printf("%08x\n", value);
}

static void trap_row(const char *name)
{
    row(name);
    if (trap_cause == 0)
        printf("no trap\n");
    else
        printf("trap, mcause %u\n", trap_cause - 1);
    trap_cause = 0;
}

// Write all ones and read back, restoring the old value: the writable bits.
#define WRITABLE(csr)                                 \
    ({                                                \
        unsigned _saved = csr_swap(csr, 0xffffffff);  \
        csr_swap(csr, _saved);                        \
    })

int main(void)
{
    csr_write(mtvec, mtrapvec);
    unsigned value;

    hex_row("mhartid", csr_read(mhartid));
    hex_row("mstatush", csr_read(mstatush));

    // With MIE set by the all-ones write, mie is 0: no interrupt is taken.
    hex_row("mstatus writable (our fields)", WRITABLE(mstatus) & ~NOT_OURS);
    hex_row("sstatus writable (our fields)", WRITABLE(sstatus) & ~NOT_OURS);
    unsigned old = csr_swap(sstatus, 0xffffffff);
    value = csr_read(mstatus);
    csr_write(mstatus, old);
    hex_row("mstatus after sstatus = ~0", value & ~NOT_OURS);

    hex_row("medeleg writable (std causes)", WRITABLE(medeleg) & STANDARD_CAUSES);
    hex_row("mideleg writable (S, M ints)", WRITABLE(mideleg) & (S_INTERRUPTS | M_INTERRUPTS));
    hex_row("mie writable (S, M ints)", WRITABLE(mie) & (S_INTERRUPTS | M_INTERRUPTS));
    csr_write(mip, S_INTERRUPTS);
    hex_row("mip S bits after mip = S ints", csr_read(mip) & S_INTERRUPTS);
    csr_write(mip, 0);

    // sie and sip are views of mie and mip through mideleg (3.1.9, 4.1.3).
    csr_write(mideleg, 0);
    csr_write(sie, 0xffffffff);
    hex_row("sie = ~0, mideleg 0", csr_read(sie));
    csr_write(mideleg, S_INTERRUPTS);
    csr_write(sie, 0xffffffff);
    hex_row("sie = ~0, mideleg S ints", csr_read(sie));
    hex_row("  mie then", csr_read(mie) & (S_INTERRUPTS | M_INTERRUPTS));
    csr_write(sip, 0xffffffff);     // only SSIP is writable through sip
    hex_row("sip = ~0, mideleg S ints", csr_read(sip));
    csr_write(sip, 0);
    csr_write(sie, 0);
    csr_write(mideleg, 0);

    // mtvec and stvec MODE: 2 and 3 are reserved, so never read back (3.1.7).
    old = csr_read(mtvec);
    csr_write(mtvec, (unsigned)mtrapvec | 2);
    hex_row("mtvec MODE after writing 2", csr_read(mtvec) & 3);
    csr_write(mtvec, (unsigned)mtrapvec | 3);
    hex_row("mtvec MODE after writing 3", csr_read(mtvec) & 3);
    csr_write(mtvec, old);
    csr_write(stvec, 0x80000002);
    hex_row("stvec MODE after writing 2", csr_read(stvec) & 3);

    hex_row("satp MODE after satp = ~0", WRITABLE(satp) >> 31);
    hex_row("mscratch after ~0", WRITABLE(mscratch));
    hex_row("sscratch after ~0", WRITABLE(sscratch));

    // Access rules (2.1, 2.8): writes to read-only CSRs trap, reads do not;
    // csrrs/csrrc with x0 and csrrsi/csrrci with 0 do not write.
    asm volatile("csrw mhartid, zero");
    trap_row("csrw mhartid");
    asm volatile("csrrs %0, mhartid, zero" : "=r"(value));
    trap_row("csrrs rd, mhartid, x0");
    asm volatile("csrrci %0, mimpid, 0" : "=r"(value));
    trap_row("csrrci rd, mimpid, 0");
    asm volatile("csrrs %0, fcsr, zero" : "=r"(value));
    trap_row("csrr fcsr (no F extension)");
    asm volatile("csrrs %0, 0x7c0, zero" : "=r"(value));
    trap_row("csrr 0x7c0 (custom, absent)");
    asm volatile("csrrw %0, cycle, zero" : "=r"(value));
    trap_row("csrw cycle (read-only)");
    return 0;
}
