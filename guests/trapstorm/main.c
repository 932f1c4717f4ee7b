// The storm, in S-mode: rounds of sscratch writes and reads (each one a trap
// under a trap-and-emulate VMM, none on bare hardware), each round ended by an
// ecall to M-mode and back, while CLINT timer interrupts arrive in M-mode.
// At the end, the counts: identical on every correct machine.

#include "riscv.h"
#include "trapstorm.h"

#define PAIRS_PER_ROUND (CSR_OPS / ECALLS / 2)     // write + read = 2 ops

static void fail(const char *what)
{
    uart_puts("trapstorm: ");
    uart_puts(what);
    uart_puts("\n");
    power_off(1);
}

// One round trip to M-mode; returns the handler's count of ecalls so far.
static unsigned ecall(void)
{
    register unsigned a0 asm("a0");
    asm volatile("ecall" : "=r"(a0) : : "memory");
    return a0;
}

void smain(void)
{
    unsigned csr_ops = 0;

    uart_puts("trapstorm: in S-mode; every trap goes to M-mode\n");
    for (unsigned round = 0; round < ECALLS; round++) {
        for (unsigned k = 0; k < PAIRS_PER_ROUND; k++) {
            unsigned value = round * 0x9e3779b9u + k;     // a different value each time
            csr_write(sscratch, value);
            if (csr_read(sscratch) != value)
                fail("sscratch lost a write");
            csr_ops += 2;
        }
        if (ecall() != round + 1)
            fail("ecall came back with the wrong count");
    }

    // The timer is still ticking on its own clock; wait for the last tick,
    // after which M-mode turns it off.
    while (timer_ticks < TIMER_TICKS)
        ;

    uart_puts("trapstorm: ");
    uart_putu(csr_ops);
    uart_puts(" csr ops, ");
    uart_putu(ecalls_taken);
    uart_puts(" ecalls, ");
    uart_putu(timer_ticks);
    uart_puts(" timer interrupts\n");
    power_off(0);
}
