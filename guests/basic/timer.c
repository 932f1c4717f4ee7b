// The CLINT timer, in M-mode: mtime counts at TIMEBASE_HZ, and the timer
// interrupts while mtime >= mtimecmp (privileged spec 3.2.1).
//
// Time is read, not counted: TICKS is the number of hundredths of a second mtime
// has passed since boot.  The timer itself is an alarm, armed only while PAUSE
// waits, so basic at its prompt sleeps in WFI with no timer armed at all and
// costs nothing until a key arrives.  Disarmed is mtimecmp all ones, the
// CLINT's "never" (and what it is at power-on on our machine; QEMU's is 0).

#include "basic.h"

#define INTERVAL (TIMEBASE_HZ / TICK_HZ)    // mtime units in a tick
#define NEVER 0xFFFFFFFFFFFFFFFFull
// mtime gaps are divided as uint32: larger ones are counted in strides of this
// many ticks first (40000 ticks are 4e9 mtime units, less than 2^32).
#define STRIDE_TICKS 40000u

static uint32 ticks;                    // tick boundaries passed, as of `last`
static unsigned long long last;         // mtime at boundary number `ticks`

static unsigned long long read_mtime(void)
{
    uint32 hi, lo;
    do {                            // two halves: retry if the low one wrapped
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return (unsigned long long)hi << 32 | lo;
}

// Setting the low half first to all ones keeps mtimecmp from passing through
// a value below both the old and the new one (and firing early) between the
// stores.
static void set_mtimecmp(unsigned long long when)
{
    REG32(CLINT_MTIMECMP) = 0xFFFFFFFF;
    REG32(CLINT_MTIMECMP + 4) = (uint32)(when >> 32);
    REG32(CLINT_MTIMECMP) = (uint32)when;
}

// Time starts now, at tick 0, with no alarm.
void timer_init(void)
{
    set_mtimecmp(NEVER);
    last = read_mtime();
}

// Ticks since timer_init(), read from mtime.  Only the interpreter calls it (the
// interrupt handler does not), so it needs no protection from interrupts.
uint32 timer_ticks(void)
{
    unsigned long long elapsed = read_mtime() - last;
    while (elapsed >= (unsigned long long)STRIDE_TICKS * INTERVAL) {
        ticks += STRIDE_TICKS;
        last += (unsigned long long)STRIDE_TICKS * INTERVAL;
        elapsed -= (unsigned long long)STRIDE_TICKS * INTERVAL;
    }
    uint32 n = (uint32)elapsed / INTERVAL;
    ticks += n;
    last += (unsigned long long)n * INTERVAL;
    return ticks;
}

// Arm the alarm: a timer interrupt once n ticks have passed since tick `start`,
// a value timer_ticks() returned.
void timer_alarm(uint32 start, uint32 n)
{
    unsigned long long begun = last - (unsigned long long)(ticks - start) * INTERVAL;
    set_mtimecmp(begun + (unsigned long long)n * INTERVAL);
}

void timer_alarm_off(void)
{
    set_mtimecmp(NEVER);
}

// The timer interrupt: the alarm rang.  Disarm it, which lowers the interrupt;
// whoever armed it looks at the time again.
void timer_intr(void)
{
    set_mtimecmp(NEVER);
}
