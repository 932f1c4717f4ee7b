// M-mode trap handling: count ecalls from S-mode and CLINT timer interrupts.
// Any other trap is a bug in trapstorm (or in the machine under it).

#include "memlayout.h"
#include "riscv.h"
#include "trapstorm.h"

// 2 ms at the 10 MHz timebase.  On tuivmm, whose mtime counts retired
// instructions, the ticks land inside the storm; on QEMU, where it is real
// time, mostly after it.  Either way S-mode waits for exactly TIMER_TICKS.
#define TIMER_INTERVAL 20000

volatile unsigned ecalls_taken;
volatile unsigned timer_ticks;

// The registers mtrap.S saved, in its order.
struct mframe {
    unsigned ra, t0, t1, t2, t3, t4, t5, t6;
    unsigned a0, a1, a2, a3, a4, a5, a6, a7;
};

// mtime is 64 bits read as two halves: read until no carry came in between.
static unsigned long long mtime(void)
{
    unsigned hi, lo;
    do {
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return (unsigned long long)hi << 32 | lo;
}

// High half to all ones first, so mtimecmp never passes through a value below
// mtime on its way to `when` (privileged spec 3.2.1).
static void set_mtimecmp(unsigned long long when)
{
    REG32(CLINT_MTIMECMP + 4) = 0xffffffff;
    REG32(CLINT_MTIMECMP) = (unsigned)when;
    REG32(CLINT_MTIMECMP + 4) = (unsigned)(when >> 32);
}

// Arm the first timer interrupt and enable it (M-mode, called before S-mode runs).
void timer_start(void)
{
    set_mtimecmp(mtime() + TIMER_INTERVAL);
    csr_set(mie, MIE_MTIE);
}

// Called by mtrap.S with the interrupted registers in `f`.
void machine_trap(struct mframe *f)
{
    unsigned cause = csr_read(mcause);

    if (cause == CAUSE_ECALL_FROM_S) {
        f->a0 = ++ecalls_taken;                 // S-mode checks the round trip
        csr_write(mepc, csr_read(mepc) + 4);    // resume after the ecall
    } else if (cause == CAUSE_M_TIMER) {
        timer_ticks++;
        if (timer_ticks < TIMER_TICKS) {
            set_mtimecmp(mtime() + TIMER_INTERVAL);
        } else {                                // enough: silence the timer
            set_mtimecmp(~0ull);
            csr_clear(mie, MIE_MTIE);
        }
    } else {
        uart_puts("trapstorm: unexpected trap, mcause ");
        uart_putx(cause);
        uart_puts(" mepc ");
        uart_putx(csr_read(mepc));
        uart_puts("\n");
        power_off(1);
    }
}
