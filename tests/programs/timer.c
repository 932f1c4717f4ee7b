// M-mode timer interrupts from the CLINT, through mtvec in vectored mode: the
// timer must arrive at slot 7 of the vector table (mtrap.S), and each one sets
// mtimecmp = mtime + INTERVAL for the next, until TICKS have come.  Then the
// `time` CSR (rdtime) and the CLINT's mtime are read in turn: both must be one
// clock, never going backwards.  Only facts that hold at any speed are printed.

#include "memlayout.h"
#include "riscv.h"
#include "uart.h"

#define TICKS    5
#define INTERVAL 200000             // 20 ms at the 10 MHz timebase: long enough
                                    // that a slow host never sees MTIP come back early

extern char mvectors[];

static volatile int ticks;

static unsigned long long mtime(void)
{
    unsigned hi, lo;
    do {                            // read the halves until no carry came in between
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return (unsigned long long)hi << 32 | lo;
}

static unsigned long long rdtime(void)
{
    unsigned hi, lo;
    do {
        hi = csr_read(timeh);
        lo = csr_read(time);
    } while (hi != csr_read(timeh));
    return (unsigned long long)hi << 32 | lo;
}

static unsigned long long mtimecmp(void)
{
    return (unsigned long long)REG32(CLINT_MTIMECMP + 4) << 32 | REG32(CLINT_MTIMECMP);
}

// Writing the high half first to all ones keeps mtimecmp from passing through a
// value below mtime while it changes (privileged spec 3.2.1).
static void set_mtimecmp(unsigned long long when)
{
    REG32(CLINT_MTIMECMP + 4) = 0xffffffff;
    REG32(CLINT_MTIMECMP) = (unsigned)when;
    REG32(CLINT_MTIMECMP + 4) = (unsigned)(when >> 32);
}

void machine_trap(unsigned vector)
{
    unsigned cause = csr_read(mcause);
    if (cause != (CAUSE_INTERRUPT | IRQ_M_TIMER) || vector != IRQ_M_TIMER) {
        printf("timer: unexpected trap mcause=%x vector=%u mepc=%x\n", cause, vector,
               csr_read(mepc));
        power_off(1);
    }
    int due = mtime() >= mtimecmp();
    int pending = (csr_read(mip) >> IRQ_M_TIMER) & 1;
    ticks++;
    printf("tick %d: mtime>=mtimecmp %s, mip.MTIP %d\n", ticks, due ? "yes" : "no", pending);
    if (ticks < TICKS) {
        set_mtimecmp(mtime() + INTERVAL);
    } else {
        set_mtimecmp(~0ull);        // no more
        csr_clear(mie, 1u << IRQ_M_TIMER);
    }
    // A new mtimecmp in the future takes MTIP down at once.
    printf("  after rearm mip.MTIP %d\n", (csr_read(mip) >> IRQ_M_TIMER) & 1);
}

int main(void)
{
    csr_write(mtvec, (unsigned)mvectors | 1);
    printf("mtvec mode %u\n", csr_read(mtvec) & 3);
    set_mtimecmp(mtime() + INTERVAL);
    csr_set(mie, 1u << IRQ_M_TIMER);

    // Interrupts stay off while `ticks` is looked at; WFI still wakes for the
    // pending timer, which is then taken when they come back on.
    intr_off();
    while (ticks < TICKS) {
        wfi();
        intr_on();
        intr_off();
    }
    printf("%d ticks\n", ticks);

    int ok = 1;
    unsigned long long before = rdtime();
    for (int i = 0; i < 100; i++) {
        unsigned long long t1 = rdtime(), m = mtime(), t2 = rdtime();
        ok &= before <= t1 && t1 <= m && m <= t2;
        before = t2;
    }
    printf("time %s\n", ok ? "ok" : "BAD");
    return ok ? 0 : 2;
}
