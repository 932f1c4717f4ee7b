// The CLINT timer, TICK_HZ times a second, in M-mode: mtime counts at
// TIMEBASE_HZ and interrupts when it reaches mtimecmp (privileged spec 3.2.1).
// The tick count is all basic keeps; TICKS reads it, PAUSE waits on it.

#include "basic.h"

#define INTERVAL (TIMEBASE_HZ / TICK_HZ)

volatile uint32 ticks;
static unsigned long long next;     // mtimecmp's next value

static unsigned long long read_mtime(void)
{
    uint32 hi, lo;
    do {                            // two halves: retry if the low one wrapped
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return (unsigned long long)hi << 32 | lo;
}

// Setting the high half first to all ones keeps mtimecmp from passing through
// a small value (and firing early) between the two stores.
static void set_mtimecmp(unsigned long long when)
{
    REG32(CLINT_MTIMECMP + 4) = 0xFFFFFFFF;
    REG32(CLINT_MTIMECMP) = (uint32)when;
    REG32(CLINT_MTIMECMP + 4) = (uint32)(when >> 32);
}

void timer_init(void)
{
    next = read_mtime() + INTERVAL;
    set_mtimecmp(next);
}

// The timer interrupt: count a tick and ask for the next one.
void timer_intr(void)
{
    ticks++;
    next += INTERVAL;
    set_mtimecmp(next);
}
