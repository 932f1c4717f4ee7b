// The clock: time since boot, and the clock tick, which runs only while someone
// needs it (a "tickless idle", as Linux's NO_HZ_IDLE).
//
// Time is read, never counted: clock_ticks() is the number of TICK_INTERVALs the
// CLINT's mtime has passed since clockinit(), however many timer interrupts there
// were (none at all while the machine idles), so uptime and sleep stay right
// across an idle stretch of any length.
//
// The tick is a timer interrupt every TICK_INTERVAL, on the boot-time grid.  It
// exists for two reasons: preemption (trap.c makes a process that is interrupted
// by a tick in user mode yield) and processes that wait for time (clock_sleep:
// the sleep system call, ping's and udp's timeouts).  So it runs while a process
// runs or is runnable, or sleeps on the clock; when the scheduler finds nothing
// to run and no one waits for time, clock_idle() stops it, and the machine sleeps
// in WFI with no timer armed until a device interrupts (a key, a frame).  The
// scheduler calls clock_busy() before it runs a process, which restarts it.
//
// Who touches mtimecmp.  On this board the CLINT's timer interrupts M-mode only
// (QEMU 7.2 has no Sstc), so the timer is used one-shot:
//   - S-mode (this file) arms mtimecmp for the next tick, through the kernel's
//     mapping of the CLINT (vm.c), and disarms it to stop the tick.  Going through
//     M-mode with an ecall instead (as SBI's set_timer does) would cost a trap
//     each time, and M-mode has no reason to check what we ask.
//   - When mtime reaches mtimecmp, M-mode's timervec (vectors.S) disarms the timer
//     (that is the only way to lower its interrupt) and raises S-mode's software
//     interrupt, which trap.c hands to clockintr().
// "Disarmed" is all ones, the CLINT's "never".  The two can never undo each
// other's work: timervec runs only when the armed time has come, M-mode preempts
// S-mode at once, and S-mode always writes the low half as all ones first (see
// set_mtimecmp), so no half-written value is ever due.  A timer that fires just
// as S-mode disarms it leaves a software interrupt pending; clockintr() then
// counts time and, the tick being stopped, arms nothing.
//
// The kernel runs with interrupts off, so nothing here needs a lock.

#include "defs.h"

#define NEVER 0xFFFFFFFFFFFFFFFFull     // mtimecmp's "no timer interrupt"
// mtime read back as uint32 differences: larger gaps are counted in strides of
// this many ticks first (40000 ticks are 4e9 mtime units, less than 2^32).
#define STRIDE_TICKS 40000u

static uint32 ticks;                    // tick boundaries passed, as of `last`
static uint64 last;                     // mtime at boundary number `ticks`
static int ticking;                     // the tick is on: armed, or being served

static uint64 read_mtime(void)
{
    uint32 hi, lo;
    do {                                // two halves: retry if the low one wrapped
        hi = DEVREG32(CLINT_MTIME + 4);
        lo = DEVREG32(CLINT_MTIME);
    } while (DEVREG32(CLINT_MTIME + 4) != hi);
    return (uint64)hi << 32 | lo;
}

// Low half all ones first: mtimecmp never passes through a value below both the
// old and the new one, so no store of ours can make the timer fire early.
static void set_mtimecmp(uint64 when)
{
    DEVREG32(CLINT_MTIMECMP) = 0xFFFFFFFF;
    DEVREG32(CLINT_MTIMECMP + 4) = (uint32)(when >> 32);
    DEVREG32(CLINT_MTIMECMP) = (uint32)when;
}

// Start the clock at 0 ticks now.  The tick starts stopped (start.c left the
// timer disarmed); the scheduler starts it when it first runs a process.
void clockinit(void)
{
    last = read_mtime();
    ticks = 0;
}

// Ticks since clockinit(), read from mtime.
uint32 clock_ticks(void)
{
    uint64 elapsed = read_mtime() - last;
    while (elapsed >= (uint64)STRIDE_TICKS * TICK_INTERVAL) {   // a long idle stretch
        ticks += STRIDE_TICKS;
        last += (uint64)STRIDE_TICKS * TICK_INTERVAL;
        elapsed -= (uint64)STRIDE_TICKS * TICK_INTERVAL;
    }
    uint32 n = (uint32)elapsed / TICK_INTERVAL;                // 32-bit division
    ticks += n;
    last += (uint64)n * TICK_INTERVAL;
    return ticks;
}

// Sleep until the next tick.  May return early (a kill); the caller re-checks
// what it waits for, as with sleep().  The tick keeps running while anyone
// sleeps here (clock_idle), so it always ends.
void clock_sleep(void)
{
    sleep(&ticks);
}

// The tick's interrupt (trap.c, on timervec's software interrupt): count the
// time, arm the next tick if the tick is on, and wake those waiting for time.
void clockintr(void)
{
    clock_ticks();
    if (ticking)
        set_mtimecmp(last + TICK_INTERVAL);
    wakeup(&ticks);
}

// The scheduler is about to run a process: make sure the tick is on, so the
// process can be preempted.  The first tick comes at the next boundary.
void clock_busy(void)
{
    if (ticking)
        return;
    ticking = 1;
    clock_ticks();
    set_mtimecmp(last + TICK_INTERVAL);
}

// The scheduler has nothing to run: stop the tick, unless a process sleeps on
// the clock.  The caller then sleeps in WFI.
void clock_idle(void)
{
    if (!ticking || sleeping_on(&ticks))
        return;
    ticking = 0;
    set_mtimecmp(NEVER);
}
